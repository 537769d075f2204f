"""Printed results write the derivatives of built-in functions out (printing/textbook.py, by
the rules of rules/derivatives.rules): every form equals f′ or f″ numerically on the function's
domain, with and without a named output, and results read as a textbook writes them; abstract
functions and relu keep f′."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import bound_functions

import matgrad
from matgrad.errors import RuleError
from matgrad.functions import ELEMENTWISE
from matgrad.ir.evaluate import Environment, evaluate
from matgrad.ir.expr import Apply, Sym
from matgrad.printing.textbook import textbook
from matgrad.rewrite.derivative_forms import derivative_forms, forms_of
from matgrad.rewrite.rules import load_rule_texts

FORMS = derivative_forms()


@pytest.mark.parametrize(("fn", "order"), sorted(FORMS.rules))
@pytest.mark.parametrize("named", [True, False])
def test_form_equals_the_derivative(fn: str, order: int, named: bool) -> None:
    # On the function's own domain (tests/test_rules.py checks every rule at 0.5–1.5 too).
    low, high = ELEMENTWISE[fn].domain
    x = np.random.default_rng(len(fn)).uniform(low, high, size=(3, 4))
    shapes = {"X": ("n", "m"), "Z": ("n", "m")}
    definitions = {"Z": Apply(fn, Sym("X"))} if named else {}
    written = textbook(Apply(fn, Sym("X"), order), shapes, definitions)
    assert not any(isinstance(node, Apply) and node.order for node in written.walk()), written
    assert named == (Sym("Z") in written.walk()) or not FORMS.reads_output(fn, order)
    values = {"X": x, "Z": np.asarray(evaluate(Apply(fn, Sym("X")),
                                               Environment({"X": x}, {"n": 3, "m": 4})))}
    env = Environment(values, {"n": 3, "m": 4}, bound_functions({}))  # type: ignore[arg-type]
    expected = evaluate(Apply(fn, Sym("X"), order), env)
    np.testing.assert_allclose(np.broadcast_to(evaluate(written, env), x.shape), expected,
                               rtol=1e-12, atol=1e-14)


def test_every_built_in_has_its_second_derivative_and_all_but_relu_and_abs_the_first() -> None:
    # relu′ has no closed form in the language; abs′ = sign is a tidy rule, applied in deriving.
    assert {fn for fn, order in FORMS.rules if order == 1} == set(ELEMENTWISE) - {"relu", "abs"}
    assert {fn for fn, order in FORMS.rules if order == 2} == set(ELEMENTWISE)
    assert {fn for fn in ELEMENTWISE if FORMS.reads_output(fn, 1)} == {
        "tanh", "sigmoid", "exp", "expm1", "sqrt"}


@pytest.mark.parametrize(("text", "message"), [
    ("bad (t) : tanh(X) => tanh(X)", r"reads f′\(X\) or f′′\(X\) of a built-in"),
    ("bad (t) : f'(X) => f'(X)", "of a built-in"),
    ("one (t) : exp'(X) => exp(X)\ntwo (t) : exp'(X) => exp(X) + 0", "has a rule for that"),
])
def test_bad_derivative_rules_are_rejected(text: str, message: str) -> None:
    rules = load_rule_texts([("bad.rules", "@phase derivatives\n" + text + "\n")])
    with pytest.raises(RuleError, match=message):
        forms_of(rules)


@pytest.mark.parametrize(("source", "printed"), [
    ("X: t x n, data; Y: t x m, data; W: n x m\nJ = 1/2*||tanh(X*W) - Y||^2",
     "∂J/∂W = Xᵀ((Z − Y) ⊙ (𝟏 − Z ⊙ Z))"),
    ("X: t x n, data; y: t x 1, data; w: n x 1\nJ = 1/2*||sigmoid(X*w) - y||^2",
     "∂J/∂w = Xᵀ((Z − y) ⊙ (Z ⊙ (𝟏 − Z)))"),
    ("x: n x 1\nJ = sum(exp(x))", "∂J/∂x = exp(x)"),
    ("p: n x 1\nJ = sum(log(p))", "∂J/∂p = 𝟏 ./ p"),
    ("x: n x 1\nJ = sum(sin(x))", "∂J/∂x = cos(x)"),
    ("x: n x 1\nJ = sum(softplus(x))", "∂J/∂x = sigmoid(x)"),
    ("x: n x 1\nJ = sum(square(x))", "∂J/∂x = 2x"),
    ("x: n x 1\nJ = sum(f(x))", "∂J/∂x = f′(x)"),
    ("x: n x 1\nJ = sum(relu(x))", "∂J/∂x = relu′(x)"),
])
def test_results_read_as_a_textbook_writes_them(source: str, printed: str) -> None:
    assert str(matgrad.derive(source)).splitlines()[0] == printed


def test_latex_results_are_written_out_too() -> None:
    derivation = matgrad.derive("X: t x n, data; Y: t x m, data; W: n x m\n"
                                "J = 1/2*||tanh(X*W) - Y||^2")
    final = derivation.latex().splitlines()[-2]
    assert "\\tanh}'" not in final and "\\mathbf{1} - \\mathbf{Z} \\odot \\mathbf{Z}" in final


@pytest.mark.parametrize(("source", "printed"), [
    ("X: n x n, spd\nJ = logdet(X)", {"X": "X⁻¹"}),
    ("X: n x n\nJ = logdet(X)", {"X": "X⁻¹ᵀ"}),  # no declaration: no simplification
    ("x: n x 1\nA: n x n, symmetric, data\nJ = x'*A*x", {"x": "2A x"}),
    # on the symmetric matrices: sym(−X⁻ᵀa bᵀX⁻ᵀ), the unconstrained gradient projected
    ("X: n x n, symmetric\na: n x 1, data\nb: n x 1, data\nJ = a'*inv(X)*b",
     {"X": "(1/2)(−X⁻¹a bᵀX⁻¹ − X⁻¹b aᵀX⁻¹)"}),
])
def test_symmetric_declarations_simplify_printed_results(source: str,
                                                         printed: dict[str, str]) -> None:
    # Sᵀ = S and S⁻ᵀ = S⁻¹ for S declared spd or symmetric: exact for a result (a value at
    # such an S), checked against central differences at a symmetric point.
    derivation = matgrad.derive(source)
    for name, text in printed.items():
        assert f"∂J/∂{name} = {text}\n" in str(derivation) + "\n", str(derivation)
    assert matgrad.check(derivation).passed


def test_a_symmetric_declaration_must_be_square() -> None:
    with pytest.raises(matgrad.UsageError, match="a symmetric matrix is square"):
        matgrad.derive("X: n x m, spd\nJ = sum(X)")


@pytest.mark.parametrize(("source", "printed"), [
    ("a: n x 1; x: n x 1\nJ = x'*diag(a)*x", "∂J/∂x = (a𝟏ᵀ ⊙ I + 𝟏aᵀ ⊙ I) x"),
    ("X: t x n, data; Wq: n x k; Wk: n x k; Wv: n x m; Y: t x m, data\n"
     "Q = X*Wq; K = X*Wk; V = X*Wv\nP = softmax(Q*K'/sqrt(k))\nJ = 1/2*||P*V - Y||^2",
     "  Δ = ΔP ⊙ P − (ΔP ⊙ P)𝟏 𝟏ᵀ ⊙ P"),
])
def test_a_row_of_ones_is_1t_only_as_a_row_of_sums(source: str, printed: str) -> None:
    # `(ΔP ⊙ P)𝟏 1ᵀ` mixed the bold column with a plain 1ᵀ that reads as a row of sums.
    assert printed in str(matgrad.derive(source)).splitlines()
