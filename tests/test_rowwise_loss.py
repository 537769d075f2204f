"""User losses ℓ applied row-wise (the guide's (19)): `ell: rowwise` declares an abstract
vector-to-scalar function; identity (16) gives d ℓ(Z) = ∇ℓ(Z) ⊙ dZ row by row, and binding ℓ to a
built-in row function must reproduce that function's own derivation."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_gradients_match, generated_arguments, random_inputs

import matgrad
from matgrad.errors import MatgradError

SOURCE = """X: t x n, data; Y: t x m, data; W: n x m; b: 1 x m
ell: rowwise
A = X*W + b; Z = tanh(A)
J = 1/t * sum(ell(Z - Y))"""


def test_rowwise_loss_prints_its_gradient() -> None:
    derivation = matgrad.derive(SOURCE)
    assert str(derivation.gradients["W"]) == "Xᵀ((1 / t)∇ell(Z − Y) ⊙ tanh′(A))"
    assert "d-rowwise" in {step.rule for step in derivation.steps}


@pytest.mark.parametrize("bound", ["sumsq", "logsumexp"])
def test_bound_loss_matches_central_differences(bound: str) -> None:
    assert_gradients_match(matgrad.derive(SOURCE), seed=4, bind={"ell": bound})
    assert matgrad.check(matgrad.derive(SOURCE), bind={"ell": bound}).passed


def test_bound_loss_equals_the_written_out_loss() -> None:
    # ℓ = sumsq is ‖·‖² row by row, so J is (1/t)‖Z − Y‖²: both programs, same gradients.
    written = SOURCE.replace("ell: rowwise\n", "").replace("sum(ell(Z - Y))", "||Z - Y||^2")
    sizes = {"t": 5, "n": 3, "m": 4}
    values = random_inputs(matgrad.parse(written), sizes, np.random.default_rng(1))
    abstract = matgrad.derive(SOURCE)
    concrete = matgrad.derive(written)
    value_a, grads_a = abstract.compile(bind={"ell": "sumsq"})(
        **generated_arguments(abstract, values, sizes))
    value_c, grads_c = concrete.compile()(**generated_arguments(concrete, values, sizes))
    assert value_a == pytest.approx(value_c, rel=1e-12)
    for name in ("W", "b"):
        np.testing.assert_allclose(grads_a[name], grads_c[name], rtol=1e-12)


def test_binding_a_rowwise_loss_to_an_elementwise_function_is_refused() -> None:
    with pytest.raises(MatgradError, match="row-wise functions"):
        matgrad.derive(SOURCE).compile(bind={"ell": "tanh"})


def test_rowwise_function_cannot_carry_attributes() -> None:
    with pytest.raises(MatgradError, match="row-wise function"):
        matgrad.derive(SOURCE.replace("ell: rowwise", "ell: rowwise, data"))
