"""Numerical stability in every backend: softplus through logaddexp, log σ rewritten as
−softplus(−x), log(1 − σ) as −softplus, and the row-wise logsumexp shifted by its maximum, at
logits of ±1000, where the textbook forms overflow (exp(1000)) or take log 0.

Each backend's module is compared with an independent reference written with SciPy's stable
functions (logaddexp, expit, logsumexp, softmax): float64 to 1e-12 relative (NumPy, PyTorch,
the array API on NumPy arrays), JAX in its default float32 to 1e-5.  NumPy runs with floating
point errors raised, so an overflow inside the NumPy module fails the test.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy.special import expit, logsumexp, softmax

import matgrad

X = np.array([[1000.0, 0.0], [-1000.0, 0.0], [3.0, 1.0], [-2.0, 0.5]])
y = np.array([[0.0], [1.0], [1.0], [0.0]])
w = np.array([[1.0], [0.5]])
W = np.array([[1.0, -1.0, 0.0], [0.5, 0.0, 2.0]])
ARGUMENTS = {"X": X, "y": y, "w": w, "W": W}
A = X @ w  # logits of ±1000


def softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


Reference = tuple[float, dict[str, np.ndarray]]

CASES: dict[str, tuple[str, Callable[[], Reference]]] = {
    "softplus logistic loss": (
        "X: t x n, data; y: t x 1, data; w: n x 1\nJ = sum(softplus(X*w) - y .* (X*w))",
        lambda: (float(np.sum(softplus(A) - y * A)), {"w": X.T @ (expit(A) - y)})),
    "binary cross-entropy through log σ": (
        "X: t x n, data; y: t x 1, data; w: n x 1\n"
        "J = -sum(y .* log(sigmoid(X*w)) + (1 - y) .* log(1 - sigmoid(X*w)))",
        lambda: (float(np.sum(y * softplus(-A) + (1 - y) * softplus(A))),
                 {"w": X.T @ (expit(A) - y)})),
    "log-sigmoid": (
        "X: t x n, data; w: n x 1\nJ = -sum(log(sigmoid(X*w)))",
        lambda: (float(np.sum(softplus(-A))), {"w": -X.T @ expit(-A)})),
    # Textbook spellings, rewritten to their stable forms by rules/stable.rules (they
    # overflowed exp at z = 1000 with no warning).
    "log(1 + exp(z))": (
        "X: t x n, data; y: t x 1, data; w: n x 1\nJ = sum(log(1 + exp(X*w)) - y .* (X*w))",
        lambda: (float(np.sum(softplus(A) - y * A)), {"w": X.T @ (expit(A) - y)})),
    "log(exp(z) + 1)": (
        "X: t x n, data; w: n x 1\nJ = sum(log(exp(X*w) + 1))",
        lambda: (float(np.sum(softplus(A))), {"w": X.T @ expit(A)})),
    "log1p(exp(z))": (
        "X: t x n, data; w: n x 1\nJ = sum(log1p(exp(X*w)))",
        lambda: (float(np.sum(softplus(A))), {"w": X.T @ expit(A)})),
    "log(sum(exp(a))) of a column": (
        "X: t x n, data; w: n x 1\nJ = log(sum(exp(X*w)))",
        lambda: (float(logsumexp(A)), {"w": X.T @ softmax(A, axis=0)})),
    "log(sum(exp(a))) of a row": (
        "X: t x n, data; w: n x 1\nJ = log(sum(exp(w'*X')))",
        lambda: (float(logsumexp(A)), {"w": X.T @ softmax(A, axis=0)})),
    # Over a whole matrix: the logsumexp of the rows' logsumexps (it overflowed before).
    "log(sum(exp(A))) of a matrix": (
        "X: t x n, data; W: n x m\nJ = log(sum(exp(X*W)))",
        lambda: (float(logsumexp(X @ W)),
                 {"W": X.T @ np.exp(X @ W - logsumexp(X @ W))})),
    "row-wise logsumexp": (
        "X: t x n, data; W: n x m\nJ = sum(logsumexp(X*W))",
        lambda: (float(np.sum(logsumexp(X @ W, axis=1))), {"W": X.T @ softmax(X @ W, axis=1)})),
}


# In float32 a logit of 1000 carries a rounding of 1000·ε ≈ 6e-5 into exp(A − logsumexp): the
# matrix form subtracts two such logsumexps (as a hand-written exp(A − logsumexp(A)) would).
SINGLE_RTOL = {"log(sum(exp(A))) of a matrix": 1e-4}


def _torch_tensor(array: np.ndarray) -> Any:
    # torch is optional: imported when its case runs (after importorskip), not at collection.
    return importlib.import_module("torch").from_numpy(array)


BACKENDS: dict[str, tuple[str | None, Callable[[np.ndarray], Any]]] = {
    "numpy": (None, lambda array: array),
    "torch": ("torch", _torch_tensor),
    "jax": ("jax", lambda array: array),
    "array-api": ("array_api_compat", lambda array: array),
}


@pytest.mark.parametrize("backend", sorted(BACKENDS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_backend_is_stable_at_logits_of_1000(case: str, backend: str) -> None:
    library, convert = BACKENDS[backend]
    if library is not None:
        pytest.importorskip(library, reason=f"{library} is not installed")
    source, reference = CASES[case]
    derivation = matgrad.derive(source)
    function = derivation.compile(backend=backend)
    names = [name for name in derivation.program.shapes if name in ARGUMENTS]
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        value, gradients = function(**{name: convert(ARGUMENTS[name]) for name in names})
    expected_value, expected_gradients = reference()
    single = np.asarray(next(iter(gradients.values()))).dtype == np.float32
    rtol = SINGLE_RTOL.get(case, 1e-5) if single else 1e-12
    assert np.isfinite(float(value)) and float(value) > 900.0  # the ±1000 logits count
    assert float(value) == pytest.approx(expected_value, rel=rtol)
    assert set(gradients) == set(expected_gradients)
    for name, expected in expected_gradients.items():
        got = np.asarray(gradients[name], dtype=np.float64)
        assert np.all(np.isfinite(got)), name
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * np.abs(expected).max(),
                                   err_msg=name)
