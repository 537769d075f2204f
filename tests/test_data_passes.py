"""First order reads each data matrix as often as a hand-written gradient (issue 31 #5): a
product chain is bracketed around the values already computed (yᵀX w is yᵀA with A = X w)
and a common factor is pulled out of a sum (Xᵀσ(A) − Xᵀy is Xᵀ(σ(A) − y)) — planner rules of
the array program (codegen/chain.py, codegen/factor.py), checked here by counting the
products that read X in the generated module, and numerically against the hand-written
formulas."""

from __future__ import annotations

import ast

import numpy as np
import pytest

import matgrad
from matgrad.codegen.factor import common_factor
from matgrad.ir.expr import Add, MatMul, Neg, Sym, Transpose

# name: (program, products reading X a hand-written gradient has)
OBJECTIVES = {
    "logistic": ("X: t x n, data; y: t x 1, data; w: n x 1\nJ = sum(softplus(X*w)) - y'*X*w",
                 2),
    "ridge": ("X: t x n, data; y: t x 1, data; w: n x 1; lambda: scalar, const\n"
              "J = ||X*w - y||^2 + lambda*||w||^2", 2),
    "Poisson GLM": ("X: t x n, data; y: t x 1, data; w: n x 1\nJ = sum(exp(X*w)) - y'*X*w", 2),
    "softmax regression": ("X: t x n, data; Y: t x m, data, onehot; W: n x m\n"
                           "J = -sum(Y .* log(softmax(X*W)))", 2),
    "two penalised terms": ("X: t x n, data; y: t x 1, data; z: t x 1, data; w: n x 1\n"
                            "J = sum(softplus(X*w)) - y'*X*w - z'*X*w", 2),
}


def _products_reading(source: str, name: str) -> int:
    """How many matrix products of the module's body read `name` (Xᵀ included)."""
    tree = ast.parse(source)
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            for side in (node.left, node.right):
                inner = side.value if isinstance(side, ast.Attribute) and side.attr == "T" \
                    else side
                count += isinstance(inner, ast.Name) and inner.id == name
    return count


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_the_data_is_read_as_often_as_by_hand(objective: str) -> None:
    source, by_hand = OBJECTIVES[objective]
    module = matgrad.derive(source).source()
    assert _products_reading(module, "X") == by_hand, module


def test_a_chain_uses_the_value_at_hand() -> None:
    module = matgrad.derive(OBJECTIVES["logistic"][0]).source()
    assert "y.T @ A" in module and "y.T @ X" not in module


def test_a_common_factor_is_pulled_out() -> None:
    X, a, b, c = Sym("X"), Sym("a"), Sym("b"), Sym("c")
    left = common_factor(Add((MatMul(Transpose(X), a), Neg(MatMul(Transpose(X), b)), c)),
                         lambda expr: False)
    assert left == Add((MatMul(Transpose(X), Add((a, Neg(b)))), c))
    right = common_factor(Add((MatMul(Transpose(a), X), MatMul(Transpose(b), X))),
                          lambda expr: False)
    assert right == MatMul(Add((Transpose(a), Transpose(b))), X)
    # A product already computed is not formed again.
    known = MatMul(Transpose(X), a)
    assert common_factor(Add((known, MatMul(Transpose(X), b))), lambda e: e == known) is None


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_the_values_are_the_hand_written_ones(objective: str) -> None:
    source, _ = OBJECTIVES[objective]
    rng = np.random.default_rng(0)
    t, n, m = 40, 5, 3
    X = rng.normal(size=(t, n))
    values = {"X": X, "y": rng.random((t, 1)), "z": rng.random((t, 1)),
              "Y": np.eye(m)[rng.integers(0, m, t)], "w": 0.3 * rng.normal(size=(n, 1)),
              "W": 0.3 * rng.normal(size=(n, m)), "lambda": 0.1}
    derivation = matgrad.derive(source)
    names = derivation.python_names
    value, gradients = derivation.compile()(**{names[name]: values[name] for name in names})
    w = values["w"]
    if objective == "softmax regression":
        A = X @ values["W"]
        P = np.exp(A - A.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        expected = -np.sum(values["Y"] * np.log(P))
        np.testing.assert_allclose(gradients["W"], X.T @ (P - values["Y"]), rtol=1e-12)
    else:
        A = X @ w
        y, z = values["y"], values["z"]
        expected, gradient = {
            "logistic": (np.logaddexp(0, A).sum() - (y * A).sum(),
                         X.T @ (1 / (1 + np.exp(-A)) - y)),
            "ridge": (np.sum((A - y) ** 2) + 0.1 * np.sum(w * w),
                      2 * X.T @ (A - y) + 0.2 * w),
            "Poisson GLM": (np.exp(A).sum() - (y * A).sum(), X.T @ (np.exp(A) - y)),
            "two penalised terms": (np.logaddexp(0, A).sum() - (y * A).sum() - (z * A).sum(),
                                    X.T @ (1 / (1 + np.exp(-A)) - y - z)),
        }[objective]
        np.testing.assert_allclose(gradients["w"], gradient, rtol=1e-12)
    assert value == pytest.approx(expected, rel=1e-12)
