"""Textbook forms of the built-in derivatives, for printed results.

The engine derives with f′ as a node of its own (identity 15), which is right for an abstract f
and what code generation reads.  A reader of a result expects the derivative of a built-in
written out, as the guide does: tanh′(A) is 1 − Z ⊙ Z when Z = tanh(A) is named (else
1 − tanh(A) ⊙ tanh(A)), exp′(x) is exp(x), log′(p) is 1 ./ p, sin′ is cos, softplus′ is σ.
`textbook` rewrites a printed expression so; one table row per function.

Second derivatives, which Hessian-vector products read, have a table of their own
(`SECOND`): tanh″ = −2Z ⊙ (1 − Z ⊙ Z), σ″ = Z ⊙ (1 − Z) ⊙ (1 − 2Z), softplus″ = σ ⊙ (1 − σ).
Code generation lowers f″ through it for every backend (so no backend spells f″).

Invariants: each form equals f′ (f″) exactly (a test evaluates both for every row); functions
without a row (relu′, whose derivative has no closed form in the language, and every abstract
function) keep f′ and f″; third derivatives are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction

from matgrad.ir.dims import Shape
from matgrad.ir.expr import (
    Add,
    Apply,
    Const,
    Expr,
    Hadamard,
    HadDiv,
    Inv,
    Neg,
    Ones,
    Scale,
    Sym,
    Transpose,
    Zero,
)
from matgrad.ir.shapes import shape_of
from matgrad.rewrite.simplify import collect_like_terms

# f′ in terms of the argument x, the output y = f(x) (a name when the program has one) and the
# matrix of ones of their shape.
Form = Callable[[Expr, Expr, Expr], Expr]
TWO = Const(Fraction(2))

TEXTBOOK: dict[str, Form] = {
    "tanh": lambda x, y, one: Add((one, Neg(Hadamard(y, y)))),
    "sigmoid": lambda x, y, one: Hadamard(y, Add((one, Neg(y)))),
    "exp": lambda x, y, one: y,
    "expm1": lambda x, y, one: Add((y, one)),
    "log": lambda x, y, one: HadDiv(one, x),
    "log1p": lambda x, y, one: HadDiv(one, Add((one, x))),
    "sqrt": lambda x, y, one: HadDiv(one, Scale(TWO, y)),
    "square": lambda x, y, one: Scale(TWO, x),
    "abs": lambda x, y, one: Apply("sign", x),
    "sin": lambda x, y, one: Apply("cos", x),
    "cos": lambda x, y, one: Neg(Apply("sin", x)),
    "sinh": lambda x, y, one: Apply("cosh", x),
    "cosh": lambda x, y, one: Apply("sinh", x),
    "softplus": lambda x, y, one: Apply("sigmoid", x),
    "arctan": lambda x, y, one: HadDiv(one, Add((one, Hadamard(x, x)))),
    "identity": lambda x, y, one: one,
    "sign": lambda x, y, one: Zero(*_shape_of_ones(one)),
}



def _complement(y: Expr, one: Expr) -> Expr:
    return Add((one, Neg(y)))


def _zero(x: Expr, y: Expr, one: Expr, first: Expr) -> Expr:
    return Zero(*_shape_of_ones(one))


# f″ in x, y and 𝟏 as above and f′(x) itself (`first`), so that code computing both shares f′:
# tanh″ = −2y ⊙ tanh′, σ″ = σ′ ⊙ (1 − 2y), log″ = −log′ ⊙ log′ (zero almost everywhere for the
# piecewise-linear relu, abs and sign).
SecondForm = Callable[[Expr, Expr, Expr, Expr], Expr]
SECOND: dict[str, SecondForm] = {
    "tanh": lambda x, y, one, first: Neg(Scale(TWO, Hadamard(y, first))),
    "sigmoid": lambda x, y, one, first: Hadamard(first, _complement(Scale(TWO, y), one)),
    "softplus": lambda x, y, one, first: Hadamard(first, _complement(first, one)),
    "exp": lambda x, y, one, first: y,
    "expm1": lambda x, y, one, first: Add((y, one)),
    "log": lambda x, y, one, first: Neg(Hadamard(first, first)),
    "log1p": lambda x, y, one, first: Neg(Hadamard(first, first)),
    "sqrt": lambda x, y, one, first: Neg(HadDiv(Hadamard(first, first), y)),
    "arctan": lambda x, y, one, first: Neg(Scale(TWO, Hadamard(x, Hadamard(first, first)))),
    "square": lambda x, y, one, first: Scale(TWO, one),
    "sin": lambda x, y, one, first: Neg(y),
    "cos": lambda x, y, one, first: Neg(y),
    "sinh": lambda x, y, one, first: y,
    "cosh": lambda x, y, one, first: y,
    "relu": _zero,
    "abs": _zero,
    "sign": _zero,
    "identity": _zero,
}


def _is_symmetric(expr: Expr, symmetric: frozenset[str]) -> bool:
    if isinstance(expr, Inv):
        return _is_symmetric(expr.x, symmetric)
    return isinstance(expr, Sym) and expr.name in symmetric


def _shape_of_ones(one: Expr) -> Shape:
    assert isinstance(one, Ones)
    return (one.rows, one.cols)


def textbook(expr: Expr, shapes: Mapping[str, Shape], definitions: Mapping[str, Expr],
             symmetric: frozenset[str] = frozenset()) -> Expr:
    """`expr` in textbook form (see `textbook_writer`, which to prefer for many expressions)."""
    return textbook_writer(shapes, definitions, symmetric)(expr)


def textbook_writer(shapes: Mapping[str, Shape], definitions: Mapping[str, Expr],
                    symmetric: frozenset[str] = frozenset()) -> Callable[[Expr], Expr]:
    """A function writing expressions of one program with every f′(x) of a built-in f written
    out (through a named f(x) if any), and Sᵀ = S, S⁻ᵀ = S⁻¹ for the `symmetric` names (declared
    spd or symmetric: a printed result is a value at such an S, never a differential, so the
    identity holds exactly).  The program's named outputs are gathered once, not per call."""
    outputs = {definition: Sym(name) for name, definition in definitions.items()
               if isinstance(definition, Apply) and definition.order == 0}
    memo: dict[Expr, Shape] = {}

    def rewrite(node: Expr) -> Expr:
        kids = node.children()
        if kids:
            node = node.with_children(tuple(rewrite(kid) for kid in kids))
        if isinstance(node, Transpose) and _is_symmetric(node.x, symmetric):
            return node.x
        if isinstance(node, Add) and symmetric:
            # (A + Aᵀ)x with A symmetric reads 2Ax, not (A + A)x.
            return collect_like_terms(node, lambda e: shape_of(e, shapes, memo)) or node
        if isinstance(node, Scale) and isinstance(node.s, Const) and isinstance(node.x, Scale) \
                and isinstance(node.x.s, Const):
            # (1/2)(2K), what collecting (Kᵀ + K)/2 gives, reads K; a product beyond floats
            # (1e-200 · 1e-200) stays a product, as the tidy rules keep it.
            product = node.s.value * node.x.s.value
            if max(abs(product.numerator), product.denominator) < 10**6:
                return node.x.x if product == 1 else Scale(Const(product), node.x.x)
        if not (isinstance(node, Apply) and ((node.order == 1 and node.fn in TEXTBOOK)
                                             or (node.order == 2 and node.fn in SECOND))):
            return node
        value = Apply(node.fn, node.arg)
        output = outputs.get(value, value)
        one = Ones(*shape_of(node.arg, shapes, memo))
        if node.order == 2:  # f″ reads f′, written out in its turn
            return rewrite(SECOND[node.fn](node.arg, output, one, Apply(node.fn, node.arg, 1)))
        return TEXTBOOK[node.fn](node.arg, output, one)

    return rewrite
