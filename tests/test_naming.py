"""One-line objectives derive like their let-bound forms: the front end names the argument and
the value of each activation (the guide's Aⱼ and Zⱼ) and repeated subexpressions, so an inline
network prints the recursion (23) with output size and derivation time linear in depth."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_gradients_match, bind_for

import matgrad
from matgrad.api import Derivation
from matgrad.ir.expr import Expr
from matgrad.rewrite.match import Bindings, Matcher

EXAMPLES = Path(__file__).parent.parent / "examples"

# Each flat example of examples/ written as one expression (its declarations kept).
INLINE_EXAMPLES = {
    "single_layer.mg": "J = 1/2 * ||f(X*W + b) - Y||^2",
    "regression_3layer.mg": "J = 1/(2*t) * ||f3(f2(f1(X*W1 + b1)*W2 + b2)*W3 + b3) - Y||^2",
    "classification_2layer.mg": "J = -1/t * sum(Y .* log(softmax(f1(X*W1 + b1)*W2 + b2)))",
    "tied_autoencoder.mg":
        "J = 1/(2*t) * ||f4(f3(f2(f1(X*W1 + b1)*W2 + b2)*W2' + b3)*W1' + b4) - X||^2",
    "scaled_autoencoder.mg":
        "J = 1/(2*t) * ||alpha4 * f4((alpha3 * f3((alpha2 * f2(f1(X*W1 + b1)*W2 + b2))*W2' "
        "+ b3))*W1' + b4) - X||^2",
}


def declarations(path: Path) -> str:
    return "\n".join(line for line in path.read_text(encoding="utf-8").splitlines()
                     if ":" in line.split("#")[0] and "=" not in line)


def printed(derivation: Derivation) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Gradients, adjoints and the definitions they use, as printed (order aside)."""
    definitions = {name: str(expr) for name, expr in derivation.program.definitions.items()
                   if name != derivation.objective}
    return ({name: str(g) for name, g in derivation.gradients.items()},
            {name: str(a) for name, a in derivation.adjoints.items()}, definitions)


@pytest.mark.parametrize("example", sorted(INLINE_EXAMPLES))
def test_inline_example_prints_like_the_let_bound_example(example: str) -> None:
    path = EXAMPLES / example
    let_bound = matgrad.derive(path.read_text(encoding="utf-8"))
    inline = matgrad.derive(declarations(path) + "\n" + INLINE_EXAMPLES[example])
    assert printed(inline) == printed(let_bound)
    assert code_body(inline) == code_body(let_bound)


BIND = {"f": "tanh", "f1": "tanh", "f2": "sigmoid", "f3": "tanh", "f4": "sigmoid"}


def code_body(derivation: Derivation) -> tuple[str, set[str]]:
    """The generated function's code, and the entries of the gradient dictionary it returns
    (listed in the order the parameters first appear, which the notation may change)."""
    code = derivation.numpy_source(bind=bind_for(derivation, BIND)).split('"""')[-1]
    body, _, returned = code.rpartition("return ")
    mapping = ast.parse(returned.strip()).body[0].value.elts[1]  # type: ignore[attr-defined]
    return body, {f"{ast.unparse(key)}: {ast.unparse(value)}"
                  for key, value in zip(mapping.keys, mapping.values, strict=True)}


def inline_network(depth: int) -> str:
    weights = "; ".join(f"W{i}: n x n" for i in range(1, depth + 1))
    expression = "X"
    for i in range(1, depth + 1):
        expression = f"tanh({expression}*W{i})"
    return f"X: t x n, data; Y: t x n, data; {weights}\nJ = 1/2*||{expression} - Y||^2"


def named_network(depth: int) -> str:
    weights = "; ".join(f"W{i}: n x n" for i in range(1, depth + 1))
    lines = [f"X: t x n, data; Y: t x n, data; {weights}"]
    previous = "X"
    for i in range(1, depth + 1):
        lines.append(f"A{i} = {previous}*W{i}; Z{i} = tanh(A{i})")
        previous = f"Z{i}"
    lines.append(f"J = 1/2*||{previous} - Y||^2")
    return "\n".join(lines)


@pytest.mark.parametrize("depth", [2, 3, 5, 8, 13, 21, 32])
def test_inline_layers_print_the_recursion(depth: int) -> None:
    inline = matgrad.derive(inline_network(depth))
    assert printed(inline) == printed(matgrad.derive(named_network(depth)))
    assert inline.adjoints[f"Δ{depth - 1}"] if depth > 2 else True


def test_inline_output_size_is_linear_in_depth() -> None:
    sizes = {depth: len(str(matgrad.derive(inline_network(depth)))) for depth in (8, 16, 32)}
    # Linear: doubling the depth doubles the output, up to longer subscripts (W₁₀ …).
    assert sizes[16] <= 2.3 * sizes[8]
    assert sizes[32] <= 2.3 * sizes[16]
    assert sizes[32] < 3_000  # inline it would be hundreds of kilobytes


def test_inline_derivation_work_is_linear_in_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    # Work counted as pattern matches tried by the rewrite engine (a clock failed on loaded
    # machines): four times the depth is about four times the matches, not sixteen.
    matches = 0
    match = Matcher.match

    def counted(self: Matcher, pattern: Expr, expr: Expr, bindings: Bindings) -> object:
        nonlocal matches
        matches += 1
        return match(self, pattern, expr, bindings)

    monkeypatch.setattr(Matcher, "match", counted)

    def work(depth: int) -> int:
        nonlocal matches
        matches = 0
        matgrad.derive(inline_network(depth))
        return matches

    small, large = work(8), work(32)
    assert large < 6 * small  # quadratic growth would be 16×


def test_inline_network_is_right() -> None:
    assert_gradients_match(matgrad.derive(inline_network(3)), seed=3)


def test_names_never_clash_with_the_users() -> None:
    source = ("A: t x m; Z: t x m; X: t x n; W: n x m\n"
              "J = sum(A .* tanh(X*W)) + sum(Z .* (X*W))")
    derivation = matgrad.derive(source)
    invented = derivation.program.invented
    assert invented and not set(invented) & {"A", "Z", "X", "W", "t", "n", "m"}
    assert_gradients_match(derivation, seed=2)


def test_names_avoid_sizes_and_functions() -> None:
    derivation = matgrad.derive("X: A x n; W: n x m; J = sum(Z(X*W))\nZ: function")
    assert not set(derivation.program.invented) & {"A", "Z"}


def test_names_are_stable_and_idempotent() -> None:
    source = inline_network(3)
    first, second = matgrad.derive(source), matgrad.derive(source)
    assert first.program.definitions == second.program.definitions
    # The named program, written out, is named no further.
    lines = [f"{name} = {expr}" for name, expr in first.program.definitions.items()]
    again = matgrad.derive(source.split("\n")[0] + "\n" + "\n".join(lines))
    assert again.program.invented == ()
    assert printed(again) == printed(first)


def test_repeated_subexpressions_are_named_once() -> None:
    derivation = matgrad.derive("x: n x 1; A: n x n, data\nJ = (x'*A*x) * (x'*A*x) + x'*A*x")
    assert derivation.program.invented == ("S",)
    assert str(derivation.program.definitions["S"]) == "xᵀA x"
    assert_gradients_match(derivation, seed=5)


def test_log_and_losses_are_not_named() -> None:
    derivation = matgrad.derive("X: t x n, data; y: t x 1, data; w: n x 1\n"
                                "J = -sum(y .* log(sigmoid(X*w)))")
    # The logit and its sigmoid are named; log(Z) is looked through, so log σ(A) stays stable.
    assert derivation.program.invented == ("A", "Z")
    assert "sigmoid(−A)" in str(derivation)  # log σ(A) = −softplus(−A), written out
    ell = matgrad.derive("ell: rowwise; X: t x n; W: n x m\nJ = sum(ell(X*W))")
    assert ell.program.invented == ()


def test_binary_cross_entropy_is_stable_through_the_names() -> None:
    source = ("X: t x n, data; y: t x 1, data; w: n x 1\n"
              "J = -sum(y .* log(sigmoid(X*w)) + (1 - y) .* log(1 - sigmoid(X*w)))")
    for names in ("guide", "inline"):
        function = matgrad.derive(source, names=names).compile()
        X, y = np.array([[1.0], [-1.0]]), np.array([[0.0], [1.0]])
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            value, gradients = function(X=X, y=y, w=np.array([[1000.0]]))
        assert value == pytest.approx(2000.0)
        np.testing.assert_allclose(gradients["w"], [[2.0]])


def test_inline_option_substitutes_the_names() -> None:
    source = "X: t x n; Y: t x m; W: n x m; b: 1 x m\nJ = 1/2 * ||f(X*W + b) - Y||^2\nwrt W"
    assert matgrad.derive(source, names="inline").program.invented == ()
    result = subprocess.run([sys.executable, "-m", "matgrad.cli", "-e", source, "--inline"],
                            capture_output=True, text=True, check=False, encoding="utf-8")
    assert result.stdout == "∂J/∂W = Xᵀ((f(X W + b) − Y) ⊙ f′(X W + b))\n"
    with pytest.raises(matgrad.UsageError, match="unknown names"):
        matgrad.derive(source, names="short")  # type: ignore[call-overload]


def test_steps_and_latex_show_the_naming() -> None:
    derivation = matgrad.derive("X: t x n; Y: t x m; W: n x m; b: 1 x m\n"
                                "J = 1/2 * ||f(X*W + b) - Y||^2\nwrt W, b")
    assert derivation.steps_text().splitlines()[0] == \
        "where A = X W + b, Z = f(A)  (naming the intermediates)"
    assert r"\text{where } \mathbf{A} = " in derivation.latex()


LOOP_INLINE = """X: t x n[0], data
Y: t x n[k], data
Z[0] = X
for j in 1..k:
    W[j]: n[j-1] x n[j]; b[j]: 1 x n[j]
    Z[j] = f[j](Z[j-1]*W[j] + b[j])
end
J = 1/(2*t) * ||Z[k] - Y||^2"""


def test_an_inline_layer_loop_prints_like_the_example() -> None:
    example = matgrad.derive((EXAMPLES / "regression_loop.mg").read_text(encoding="utf-8"))
    inline = matgrad.derive(LOOP_INLINE)
    assert str(inline) == str(example)
    assert matgrad.check(inline, bind={"f": "tanh"}).passed
    # Written out at a depth, the same layers come out as A1, Z1, … like the flat examples.
    assert "A₂ = Z₁W₂ + b₂" in str(matgrad.derive(LOOP_INLINE, depth={"k": 3}))
    assert "Aⱼ" not in str(matgrad.derive(LOOP_INLINE, names="inline"))


def test_a_scaled_inline_layer_is_named() -> None:
    source = LOOP_INLINE.replace("b[j]: 1 x n[j]", "b[j]: 1 x n[j]; alpha[j]: scalar").replace(
        "Z[j] = f[j](", "Z[j] = alpha[j] * f[j](")
    assert "Aⱼ = Zⱼ₋₁Wⱼ + bⱼ" in str(matgrad.derive(source))
    # (Loop code for scalar layer parameters is not generated yet; the layers written out are.)
    layers = {f"f{j}": "tanh" for j in (1, 2, 3)}
    assert matgrad.check(matgrad.derive(source, depth={"k": 3}), bind=layers).passed
