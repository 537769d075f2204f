"""Hypothesis strategies: random well-shaped matrix expressions in the input language.

Every generated expression type-checks against `DECLARATIONS`; the generator covers products
with the variable in any position, transposes, Hadamard products and divisions, nested
elementwise functions, broadcasting rows/columns/scalars, scalar factors and divisions, sums,
Frobenius products, norms, powers (scalar and Hadamard, any constant exponent), softmax,
square roots, inverses, det and logdet (of matrices kept well conditioned: X Xᵀ + 3I, I + X/10).
"""

from __future__ import annotations

from hypothesis import strategies as st

DECLARATIONS = ("A: t x n; B: t x n; W: n x m; V: n x m; Y: t x m; P: n x t; b: 1 x m; "
                "c: t x 1; s: scalar; M: n x n\n")
SYMBOLS = {
    ("t", "n"): ["A", "B"], ("n", "m"): ["W", "V"], ("t", "m"): ["Y"], ("n", "t"): ["P"],
    ("1", "m"): ["b"], ("t", "1"): ["c"], ("1", "1"): ["s"], ("n", "n"): ["M"],
}
DIMS = ["t", "n", "m", "1"]
FUNCTIONS = ["tanh", "sigmoid", "sin", "cos", "softplus", "square", "f", "g"]
Shape = tuple[str, str]


@st.composite
def expressions(draw: st.DrawFn, shape: Shape, depth: int = 3) -> str:
    leaves = SYMBOLS.get(shape, [])
    if depth <= 0 or draw(st.integers(0, 4)) == 0:
        if shape == ("1", "1"):
            return draw(st.sampled_from(["s", "2", "3", "1/2", "0.25"]))
        if leaves:
            return draw(st.sampled_from(leaves))
        if shape[0] == "1" or shape[1] == "1":
            rows, cols = shape
            return f"ones({rows}, {cols})"
    kind = draw(st.sampled_from(["add", "sub", "hadamard", "matmul", "transpose", "function",
                                 "scale", "divide", "broadcast", "neg", "hdiv", "hpow",
                                 "softmax", "sqrt", "inverse"]))
    sub = depth - 1
    if kind == "sqrt":
        return f"sqrt(2 + square({draw(expressions(shape, sub))}))"
    if kind == "inverse" and shape == ("n", "n"):
        inner = draw(expressions(shape, sub))
        return f"inv({inner} * ({inner})' + 3 * eye(n))"
    if kind == "inverse":
        kind = "neg"
    if kind in ("add", "sub", "hadamard"):
        op = {"add": "+", "sub": "-", "hadamard": ".*"}[kind]
        return f"({draw(expressions(shape, sub))} {op} {draw(expressions(shape, sub))})"
    if kind == "hdiv":
        return f"({draw(expressions(shape, sub))} ./ (2 + square({draw(expressions(shape, sub))})))"
    if kind == "hpow":  # a Hadamard power of a positive base, any constant exponent
        exponent = draw(st.sampled_from(["0.5", "1.5", "(-1/2)", "(1/3)"]))
        return f"((2 + square({draw(expressions(shape, sub))})) .^ {exponent})"
    if kind == "softmax" and shape[1] != "1":  # row-wise (24), its differential (25)
        # (over one column softmax is the constant 1, which only tests norm2 at 0)
        return f"softmax({draw(expressions(shape, sub))})"
    if kind == "softmax":
        return f"(-{draw(expressions(shape, sub))})"
    if kind == "matmul":
        inner = draw(st.sampled_from(DIMS))
        left = draw(expressions((shape[0], inner), sub))
        right = draw(expressions((inner, shape[1]), sub))
        return f"({left} * {right})"
    if kind == "transpose":
        return f"({draw(expressions((shape[1], shape[0]), sub))})'"
    if kind == "function":
        return f"{draw(st.sampled_from(FUNCTIONS))}({draw(expressions(shape, sub))})"
    if kind == "scale":
        return f"({draw(expressions(('1', '1'), sub))} * {draw(expressions(shape, sub))})"
    if kind == "divide":
        divisor = draw(expressions(("1", "1"), sub))
        return f"({draw(expressions(shape, sub))} / (2 + square({divisor})))"
    if kind == "neg":
        return f"(-{draw(expressions(shape, sub))})"
    # broadcast: a row, column or scalar added to a full matrix
    rows, cols = shape
    small = draw(st.sampled_from([("1", cols), (rows, "1"), ("1", "1")]))
    return f"({draw(expressions(shape, sub))} + {draw(expressions(small, sub))})"


@st.composite
def scalar_objectives(draw: st.DrawFn, depth: int = 3) -> str:
    kind = draw(st.sampled_from(["sum", "frob", "norm", "power", "quad", "logsumexp",
                                 "rowdot", "norm2", "colsum", "logdet", "det"]))
    shape = draw(st.sampled_from(list(SYMBOLS)))
    if kind == "sum":
        return f"sum({draw(expressions(shape, depth))})"
    if kind == "frob":
        return f"<{draw(expressions(shape, depth))}, {draw(expressions(shape, depth))}>"
    if kind == "norm":
        return f"1/2 * ||{draw(expressions(shape, depth))}||^2"
    if kind == "power":
        return f"(2 + sum(square({draw(expressions(shape, depth))})))^3"
    if kind == "logsumexp":  # row-wise (identity 16), softmax as its gradient
        return f"sum(logsumexp({draw(expressions(('t', 'm'), depth))}))"
    if kind == "rowdot":
        left, right = draw(expressions(("t", "n"), depth)), draw(expressions(("t", "n"), depth))
        return f"sum(rowdot({left}, {right}))"
    if kind == "norm2":
        return f"norm2(1 + {draw(expressions(shape, depth))})"
    if kind == "logdet":
        inner = draw(expressions(("n", "n"), depth))
        return f"logdet({inner} * ({inner})' + eye(n))"
    if kind == "det":
        return f"det(eye(n) + 1/10 * tanh({draw(expressions(('n', 'n'), depth))}))"
    if kind == "colsum":
        return f"1' * tanh({draw(expressions(('t', 'n'), depth))}) * ones(n, 1)"
    return f"c' * {draw(expressions(('t', 't'), depth))} * c"


@st.composite
def programs(draw: st.DrawFn, depth: int = 3) -> str:
    """A program with let-bindings that reuse earlier names."""
    first = draw(expressions(("t", "m"), depth - 1))
    second = draw(expressions(("t", "m"), depth - 1)).replace("Y", "H")
    objective = draw(scalar_objectives(depth - 1))
    extra = draw(st.sampled_from([" + sum(W)", " + sum(H .* G)", " + <G, H>",
                                  " + 1/2*||G - Y||^2"]))
    # `<W, V>` keeps at least one parameter in every objective.
    return (f"{DECLARATIONS}H = {first}\nG = f({second}) + H\n"
            f"J = {objective}{extra} + <W, V>\n")
