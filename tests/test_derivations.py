"""Derivations checked against central differences: hand-picked objectives from the guide and
the wider matrix calculus, and random well-shaped programs from the hypothesis generator."""

from __future__ import annotations

import pytest
from helpers import FUZZ_EXAMPLES, assert_gradients_match
from hypothesis import HealthCheck, given, settings
from programs import programs

import matgrad

OBJECTIVES = {
    "least squares": "X: t x n; W: n x m; Y: t x m\nJ = 1/2*||X*W - Y||^2",
    "quadratic form": "x: n x 1; A: n x n\nJ = x'*A*x",
    "bilinear form": "a: n x 1; X: n x m; b: m x 1\nJ = a'*X*b",
    "frobenius": "A: n x m; X: n x m\nJ = <A, X>",
    "hadamard square": "X: n x m\nJ = sum(X .* X .* X)",
    "scaled activation": "X: t x n; W: n x m; alpha: scalar\nZ = alpha * tanh(X*W)\nJ = sum(Z)",
    "broadcast column": "X: t x n; W: n x m; c: t x 1\nJ = sum(sigmoid(X*W + c))",
    "broadcast scalar": "X: t x n; s: scalar\nJ = sum(softplus(X - s))",
    "division by scalar": "X: n x m; s: scalar\nJ = sum(X) / (1 + s^2)",
    "elementwise division": "X: n x m; Y: n x m\nJ = sum(X ./ (2 + Y .* Y))",
    "norm": "X: n x m\nJ = norm2(X)",
    "power of a sum": "X: n x m\nJ = (1 + sum(X .* X))^(3/2)",
    "row-wise logsumexp": "X: t x n; W: n x m\nJ = sum(logsumexp(X*W))",
    "row-wise product": "A: t x n; B: t x n\nJ = sum(rowdot(A, B) .* rowdot(A, A))",
    "column sums": "X: t x n\nJ = 1'*tanh(X)*ones(n, 1)",
    "dimension as value": "X: t x n\nJ = 1/t * sum(X .* X)",
    "transposed parameter": "X: n x m; W: n x m\nJ = sum((X'*W)')",
    "reused let-bindings": "X: t x n; W: n x m\nA = X*W\nZ = tanh(A)\nJ = sum(Z .* A) + <Z, Z>",
    "two layers": ("X: t x n; W1: n x h; b1: 1 x h; W2: h x m; b2: 1 x m; Y: t x m\n"
                   "A1 = X*W1 + b1; Z1 = tanh(A1); A2 = Z1*W2 + b2; Z2 = A2\n"
                   "J = 1/(2*t) * ||Z2 - Y||^2"),
}


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_objective_matches_central_differences(name: str) -> None:
    derivation = matgrad.derive(OBJECTIVES[name])
    assert_gradients_match(derivation, seed=11)


def test_quadratic_form_reads_like_the_textbook() -> None:
    derivation = matgrad.derive(OBJECTIVES["quadratic form"], wrt=["x"])
    assert str(derivation.gradients["x"]) == "(A + Aᵀ) x"


def test_least_squares_reads_like_the_textbook() -> None:
    derivation = matgrad.derive(OBJECTIVES["least squares"], wrt=["W"])
    assert str(derivation.gradients["W"]) == "Xᵀ(X W − Y)"


def test_two_layers_name_the_adjoint_delta() -> None:
    derivation = matgrad.derive(OBJECTIVES["two layers"], wrt=["W1", "b1", "W2", "b2"])
    assert list(derivation.adjoints) == ["Δ2"]
    assert str(derivation.gradients["W2"]) == "Z₁ᵀΔ₂"
    assert str(derivation.gradients["W1"]) == "Xᵀ(Δ₂W₂ᵀ ⊙ tanh′(A₁))"




@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_match_central_differences(source: str) -> None:
    derivation = matgrad.derive(source)
    assert_gradients_match(derivation, seed=5, rtol=1e-5, atol=1e-6)
