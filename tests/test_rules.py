"""Every rule in rules/ is checked numerically: both sides at random matrices of compatible
shapes (Herbie's habit), so a wrong identity cannot land.  A differential rule d(P) => R is
checked as a directional derivative: R with dX set to a random direction V equals the central
difference of P along V."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import directional_derivative

from matgrad.check import one_hot_rows
from matgrad.errors import RuleError
from matgrad.ir.dims import DimVar
from matgrad.ir.evaluate import Environment, evaluate
from matgrad.ir.expr import (
    Apply,
    Diff,
    Expr,
    Frechet,
    Frechet2,
    MatFun,
    RowApply,
    RowGrad,
    Transpose,
    Var,
)
from matgrad.rewrite.rules import Rule, load_rule_texts, load_rules

CONCRETE_FUNCTIONS = {"f": "tanh", "h": "sin", "g": "logsumexp"}
RULES = load_rules().rules


def concrete(expr: Expr) -> Expr:
    """Function variables replaced by real functions, so the rule can be evaluated."""
    if isinstance(expr, (Apply, RowApply, RowGrad)) and expr.fn in CONCRETE_FUNCTIONS:
        inner = concrete(expr.arg)
        if isinstance(expr, Apply):
            return Apply(CONCRETE_FUNCTIONS[expr.fn], inner, expr.order)
        return type(expr)(CONCRETE_FUNCTIONS[expr.fn], inner)
    kids = expr.children()
    return expr.with_children(tuple(concrete(kid) for kid in kids)) if kids else expr


def _dims(rule: Rule, rng: np.random.Generator) -> dict[DimVar, int]:
    sizes: dict[DimVar, int] = {}
    for shape in rule.var_shapes.values():
        for dim in shape:
            if isinstance(dim, DimVar) and dim not in sizes:
                sizes[dim] = int(rng.integers(2, 5))
    for node in (*rule.lhs.walk(), *rule.rhs.walk()):
        for dim in (getattr(node, "rows", None), getattr(node, "cols", None),
                    getattr(node, "size", None)):
            if isinstance(dim, DimVar) and dim not in sizes:
                sizes[dim] = int(rng.integers(2, 5))
    return sizes


def _size(dim: object, sizes: dict[DimVar, int]) -> int:
    return sizes[dim] if isinstance(dim, DimVar) else int(dim)  # type: ignore[arg-type, call-overload]


class _Sizes(dict):  # type: ignore[type-arg]
    """Environment.dims keyed by DimVar (rules have no named dimensions)."""


def matrix_function_arguments(rule: Rule) -> set[str]:
    """The rule's variables that a matrix function (or its Fréchet derivative) takes."""
    names = set()
    for node in (*rule.lhs.walk(), *rule.rhs.walk()):
        if isinstance(node, (MatFun, Frechet, Frechet2)):
            argument = node.x.x if isinstance(node.x, Transpose) else node.x
            if isinstance(argument, Var):
                names.add(argument.name)
    return names


def check_rule(rule: Rule, seed: int) -> None:
    rng = np.random.default_rng(seed)
    sizes = _dims(rule, rng)
    for guard, arg in rule.guards:  # row(X), column(X): that side of X is 1
        if guard in ("row", "column"):
            sizes[rule.var_shapes[arg][0 if guard == "row" else 1]] = 1  # type: ignore[index]
    const_vars = {arg for guard, arg in rule.guards if guard in ("const", "onehot")}
    onehot_vars = {arg for guard, arg in rule.guards if guard == "onehot"}
    values, directions = {}, {}
    for name, shape in rule.var_shapes.items():
        rows, cols = (_size(d, sizes) for d in shape)
        # Positive values keep divisions, norms and powers well conditioned.
        values[name] = (one_hot_rows(rows, cols, rng) if name in onehot_vars
                        else rng.uniform(0.5, 1.5, size=(rows, cols)))
        if name in matrix_function_arguments(rule):
            # Not symmetric, every eigenvalue in the right half-plane (Gershgorin): inside the
            # principal logarithm's and square root's domain, and Xᵀ ≠ X, so that a transpose
            # too many or too few in a rule shows.
            values[name] = values[name] + 2 * rows * np.eye(rows)
        directions[name] = (np.zeros((rows, cols)) if name in const_vars
                            else rng.normal(size=(rows, cols)))

    class Env(Environment):
        def dim(self, dim: object) -> int:  # type: ignore[override]
            return _size(dim, sizes)

    lhs, rhs = concrete(rule.lhs), concrete(rule.rhs)
    env = Env(values, {}, {}, directions)
    right = evaluate(rhs, env)
    if rule.phase == "differentiate":
        assert isinstance(lhs, Diff)
        left = directional_derivative(
            lambda moved: evaluate(lhs.x, Env(moved, {}, {}, directions)), values, directions)
        tolerance = 1e-6
    elif rule.phase == "readoff":
        # <A, dX> => A: the read-off coefficient must reproduce the linear form.
        left = evaluate(lhs, env)
        assert isinstance(lhs.b, Diff) and isinstance(lhs.b.x, Var)  # type: ignore[attr-defined]
        right = np.full((1, 1), float(np.sum(right * directions[lhs.b.x.name])))  # type: ignore[attr-defined]
        tolerance = 1e-12
    elif rule.phase == "symmetric":
        # G => sym-gradient: not an identity of G, but of the linear form on the symmetric
        # matrices V: sym(G) · V = G · V, and Σᵢ≤ⱼ (G + Gᵀ − I ⊙ G)ᵢⱼ Vᵢⱼ = G · V.
        gradient = evaluate(lhs, env)
        base = rng.normal(size=gradient.shape)
        symmetric = base + base.T
        left = np.full((1, 1), float(np.sum(gradient * symmetric)))
        weights = np.triu(np.ones(gradient.shape)) if "elementwise" in rule.name else \
            np.ones(gradient.shape)
        right = np.full((1, 1), float(np.sum(right * symmetric * weights)))
        tolerance = 1e-12
    else:
        left = evaluate(lhs, env)
        tolerance = 1e-12
    assert left.shape == right.shape, f"{rule.name}: shapes {left.shape} vs {right.shape}"
    np.testing.assert_allclose(left, right, rtol=tolerance, atol=tolerance,
                               err_msg=f"rule {rule.name} ({rule.source}) is not an identity")


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_rule_is_an_identity(rule: Rule) -> None:
    for seed in range(3):
        check_rule(rule, seed)


def test_every_guide_identity_is_a_rule() -> None:
    cited = {cite for rule in RULES for cite in rule.cites}
    for number in range(5, 18):
        assert str(number) in cited, f"identity ({number}) of the guide has no rule in rules/"


def test_a_wrong_rule_is_caught() -> None:
    # (5) with a division for a product: shapes fit, so only the numeric check can reject it.
    text = "@phase isolate\nbad-hadamard (5) : <G, B .* D> => <G ./ B, D> if has_d(D)\n"
    (rule,) = load_rule_texts([("bad.rules", text)]).rules
    with pytest.raises(AssertionError):
        for seed in range(3):
            check_rule(rule, seed)


def test_a_wrong_differential_is_caught() -> None:
    text = "@phase differentiate\nbad-matmul (12) : d(X * Y) => dX * Y\n"
    (rule,) = load_rule_texts([("bad.rules", text)]).rules
    with pytest.raises(AssertionError):
        check_rule(rule, 0)


@pytest.mark.parametrize(("text", "message"), [
    ("@phase tidy\nr1 (algebra) : X + Y => X + Z\n", "not bound on the left"),
    ("@phase tidy\nr1 (algebra) : X' => X * X\n", "different shapes"),
    # (6) with the transpose forgotten only type-checks for square B: rejected at load.
    ("@phase isolate\nr1 (6) : <G, B * D> => <B * G, D>\n", "different shapes"),
    ("@phase tidy\nr1 (algebra) : X => X\nr1 (algebra) : Y => Y\n", "already used"),
    ("@phase tidy\nr1 (algebra) : X => X if shiny(X)\n", "unknown guard"),
    ("@phase nonsense\nr1 (algebra) : X => X\n", "unknown phase"),
])
def test_bad_rule_files_are_rejected(text: str, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        load_rule_texts([("bad.rules", text)])
