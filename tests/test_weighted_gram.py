"""A weighted Gram matrix Xᵀ((w𝟏ᵀ) ⊙ X) (the Hessian block of a GLM) is one value of the array
program (codegen/lower.py), which NumPy computes as a symmetric product where every weight is
at least 0 (backends/numpy_helpers.py `_weighted_gram`) and every other backend as the product
it is; the helper's paths, the modules that use it and every backend against NumPy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from backend_cases import assert_close, both
from helpers import numeric_jacobian
from test_conformance_backends import _convert, _jax, _to_numpy

import matgrad
from matgrad.backends.numpy_helpers import HELPERS

LOGISTIC = "X: t x n, data; y: t x 1, data; w: n x 1\nJ = sum(softplus(X*w)) - y'*X*w"
# sin″ = −sin changes sign: the weights of the Gram block are of both signs
SINE = "X: t x n, data; w: n x 1\nJ = sum(sin(X*w))"
GRAM_VALUE = "X: t x n, data; s: t x 1\nJ = tr(X'*((s*ones(1, n)) .* X))"


def _helper() -> Any:
    namespace: dict[str, Any] = {"np": np}
    exec(compile(HELPERS["_weighted_gram"], "<helper>", "exec"), namespace)
    return namespace["_weighted_gram"]


@pytest.mark.parametrize("signs", ["nonnegative", "mixed", "zero"])
def test_the_helper_is_the_weighted_product_and_exactly_symmetric(signs: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 6))
    weights = {"nonnegative": rng.random((40, 1)), "mixed": rng.normal(size=(40, 1)),
               "zero": np.zeros((40, 1))}[signs]
    gram = _helper()(x, weights)
    np.testing.assert_allclose(gram, x.T @ (weights * x), rtol=1e-12, atol=1e-12)
    if signs != "mixed":  # the symmetric product's result is symmetric to the last bit
        assert np.array_equal(gram, gram.T)


def test_a_nan_weight_gives_nan_never_a_dropped_row() -> None:
    x = np.ones((5, 2))
    weights = np.array([[1.0], [np.nan], [1.0], [1.0], [1.0]])
    assert np.isnan(_helper()(x, weights)).all()


def test_the_logistic_hessian_block_is_one_symmetric_product() -> None:
    module = matgrad.derive(LOGISTIC).hessian().source()
    assert "_weighted_gram(X, " in module and "X.T @" not in module


@pytest.mark.parametrize("source", [LOGISTIC, SINE], ids=["logistic", "sine"])
def test_a_gram_hessian_block_against_central_differences(source: str) -> None:
    # The Hessian is the Jacobian of the gradient: weights of one sign, and of both.
    derivation = matgrad.derive(source)
    rng = np.random.default_rng(4)
    values = {"X": rng.normal(size=(30, 5)), "w": rng.normal(size=(5, 1))}
    if "y" in derivation.program.shapes:
        values["y"] = (rng.random((30, 1)) < 0.5).astype(float)
    gradient = derivation.compile()
    block = derivation.hessian().compile()(**values)[("w", "w")]

    def flat_gradient(w: np.ndarray) -> np.ndarray:
        return np.asarray(gradient(**{**values, "w": w.reshape(5, 1)})[1]["w"]).reshape(-1)

    expected = numeric_jacobian(flat_gradient, values["w"].reshape(-1))
    np.testing.assert_allclose(block, expected, rtol=1e-6, atol=1e-6)


def test_a_gram_in_the_objective_uses_the_helper_in_numpy() -> None:
    module = matgrad.derive(GRAM_VALUE).source()
    assert "_weighted_gram(X, s)" in module


@pytest.mark.parametrize("backend", ["jax", "torch", "array-api"])
def test_every_backend_spells_the_gram_as_numpy_computes_it(backend: str) -> None:
    # A backend with no symmetric product spells xᵀ(w ⊙ x); its value and gradient agree.
    if backend == "jax":
        _jax()  # installed, with float64
    expected, got, _, _ = both(GRAM_VALUE, backend, convert=_convert(backend))
    assert_close(expected, _to_numpy(got), 1e-10)
    assert "_weighted_gram" not in matgrad.derive(GRAM_VALUE).source(backend=backend)
