"""Numerics at the edges of the generated code: scaled norms, logdet's sign, singular inverses,
scalars with NumPy's semantics, every declared dimension checked (issue 17 #14–#16)."""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest

import matgrad


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1.0])
def test_norms_are_scaled(scale: float) -> None:
    # ‖W‖ = sqrt(vdot(W, W)) overflowed at entries of 1e200 and underflowed at 1e-200.
    value, gradients = matgrad.derive("W: n x m\nJ = norm2(W)").compile()(np.full((2, 3), scale))
    assert value == pytest.approx(np.sqrt(6) * scale, rel=1e-14)
    assert np.allclose(gradients["W"], 1 / np.sqrt(6), rtol=1e-14)


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
def test_logdet_is_log_abs_det_in_value_and_gradient(backend: str) -> None:
    # logdet(X) at det X < 0 was nan (with a RuntimeWarning) while its gradient was the finite
    # X⁻ᵀ: value and gradient meant two things.  Both are log |det X| now (as slogdet), in
    # every backend: d log |det X| = tr(X⁻¹ dX) wherever det X ≠ 0.
    library = pytest.importorskip(backend)
    function = matgrad.derive("X: n x n\nJ = logdet(X)").compile(backend=backend)
    for diagonal in ([1.0, -2.0], [2.0, 3.0], [-1.0, -4.0]):
        X = np.diag(diagonal)
        argument = library.asarray(X) if backend != "jax" else library.numpy.asarray(X)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no nan, no warning
            value, gradients = function(argument)
        assert float(value) == pytest.approx(np.log(abs(np.prod(diagonal))), rel=1e-6)
        np.testing.assert_allclose(np.asarray(gradients["X"]), np.linalg.inv(X).T, rtol=1e-6)
    numpy_function = matgrad.derive("X: n x n\nJ = logdet(X)").compile()
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        numpy_function(np.zeros((2, 2)))  # log 0 = −inf, and the gradient X⁻ᵀ does not exist


@pytest.mark.parametrize("source", ["X: n x n\nJ = det(X)",
                                    "X: n x n\nb: n x 1\nJ = sum(inv(X)*b)"])
def test_a_singular_matrix_is_a_clear_error(source: str) -> None:
    derivation = matgrad.derive(source)
    arguments = [np.zeros((2, 2))] + ([np.ones((2, 1))] if "b:" in source else [])
    with pytest.raises(np.linalg.LinAlgError, match="singular at these inputs"):
        derivation.compile()(*arguments)


def test_scalars_follow_numpy() -> None:
    # Scalars were Python floats: s ** 400 raised OverflowError, 1/s at 0 ZeroDivisionError.
    function = matgrad.derive("x: n x 1\ns: scalar\nJ = s^400 * (x'*x) + 1/s").compile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, _ = function(np.ones((2, 1)), 10.0)
        assert value == np.inf
        value, _ = function(np.ones((2, 1)), 0.0)
        assert value == np.inf
    sized = matgrad.derive("X: t x n\nJ = 1/t * sum(X .* X)").compile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, _ = sized(np.ones((0, 2)))  # no rows: 0/0, not ZeroDivisionError
    assert np.isnan(value)


def test_scalars_keep_float32() -> None:
    function = matgrad.derive("X: t x n\nlam: scalar\nJ = lam * sum(X .* X) / t").compile()
    value, gradients = function(np.ones((3, 2), np.float32), 0.5)
    assert gradients["X"].dtype == np.float32
    assert isinstance(value, float) and isinstance(gradients["lam"], float)


def test_every_declared_dimension_is_checked() -> None:
    # `X: n x n` accepted a 2×3 matrix when the code did not need n.
    function = matgrad.derive("X: n x n\nJ = sum(X .* X)").compile()
    with pytest.raises(ValueError, match="X must be n x n"):
        function(np.ones((2, 3)))
    assert function(np.ones((2, 2)))[0] == 4.0


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax", "array-api"])
@pytest.mark.parametrize("source", ["W: n x m\nJ = norm2(W)",
                                    "W: n x m\nN = ||W||\nJ = N + sum(W)",
                                    "W: n x m; X: n x m, data\nJ = sum(X .* W) + 0.1*||W||"])
def test_a_norm_at_zero_has_the_subgradient_zero(source: str, backend: str) -> None:
    # ∇‖W‖ = W/‖W‖ was nan at W = 0 (0/0), while relu, abs and ‖·‖₁ take the subgradient 0:
    # a λ‖W‖ term at a zero initialisation poisoned the whole gradient.
    library = pytest.importorskip("array_api_compat" if backend == "array-api" else backend)
    derivation = matgrad.derive(source)
    function = derivation.compile(backend=backend)
    convert = (library.as_tensor if backend == "torch" else
               importlib.import_module("jax.numpy").asarray if backend == "jax" else np.asarray)
    arguments = {"W": convert(np.zeros((2, 3)))}
    if "X:" in source:
        arguments["X"] = convert(np.ones((2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        value, gradients = function(**arguments)
    expected = np.ones((2, 3)) if ("sum(W)" in source or "X:" in source) else np.zeros((2, 3))
    assert float(value) == 0.0
    np.testing.assert_array_equal(np.asarray(gradients["W"], dtype=float), expected)
    assert matgrad.check(derivation).passed  # away from 0, the gradient W/‖W‖ as before


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax", "array-api"])
def test_masked_logits_with_one_hot_targets_give_the_finite_loss(backend: str) -> None:
    # A logit masked with −inf where the one-hot target is 0 gave J = nan in every backend
    # (0 · (−inf) in Σ Y ⊙ A), where the loss is finite, as PyTorch's class-index
    # cross-entropy gives it: ⟨Y, A⟩ is taken over Y's nonzero entries.
    library = pytest.importorskip("array_api_compat" if backend == "array-api" else backend)
    scipy_special = pytest.importorskip("scipy.special")
    source = ("X: t x n, data; Y: t x m, data, onehot; W: n x m; M: t x m, data\n"
              "A = X*W + M\nJ = -sum(Y .* log(softmax(A)))")
    rng = np.random.default_rng(0)
    X, W = rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
    Y = np.eye(3)[[0, 1, 2, 1]]
    M = np.zeros((4, 3))
    M[0, 2] = M[3, 0] = -np.inf  # masked classes, never the target
    A = X @ W + M
    expected = -np.sum(scipy_special.log_softmax(A, axis=1)[Y == 1])
    expected_gradient = X.T @ (scipy_special.softmax(A, axis=1) - Y)
    convert = (library.as_tensor if backend == "torch" else
               importlib.import_module("jax.numpy").asarray if backend == "jax" else np.asarray)
    function = matgrad.derive(source).compile(backend=backend)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        value, gradients = function(**{name: convert(array) for name, array in
                                       {"X": X, "Y": Y, "W": W, "M": M}.items()})
    tolerance = 1e-5 if backend == "jax" else 1e-12
    assert float(value) == pytest.approx(expected, rel=tolerance)
    np.testing.assert_allclose(np.asarray(gradients["W"], dtype=float), expected_gradient,
                               rtol=tolerance, atol=tolerance)


SINGULAR_CASES = ["X: n x n\nJ = det(X)", "X: n x n\nb: n x 1, data\nJ = sum(inv(X)*b)",
                  "X: n x n\nJ = logdet(X)"]


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax"])
@pytest.mark.parametrize("source", SINGULAR_CASES)
def test_a_singular_matrix_behaves_alike_in_every_backend(source: str, backend: str) -> None:
    # The table of docs/language.md: NumPy and PyTorch raise their LinAlgError with matgrad's
    # message (PyTorch raised its raw _LinAlgError), JAX — whose compiled code cannot raise —
    # gives non-finite numbers.
    library = pytest.importorskip(backend)
    convert = (library.as_tensor if backend == "torch" else
               importlib.import_module("jax.numpy").asarray if backend == "jax" else np.asarray)
    arguments = {"X": convert(np.zeros((2, 2)))}
    if "b:" in source:
        arguments["b"] = convert(np.ones((2, 1)))
    function = matgrad.derive(source).compile(backend=backend)
    if backend == "jax":
        value, gradients = function(**arguments)
        assert not (np.all(np.isfinite(np.asarray(value)))
                    and np.all(np.isfinite(np.asarray(gradients["X"]))))
        return
    error = (np.linalg.LinAlgError if backend == "numpy" else library.linalg.LinAlgError)
    with warnings.catch_warnings(), pytest.raises(error, match="singular at these inputs"):
        warnings.simplefilter("ignore", RuntimeWarning)  # log 0 before the inverse
        function(**arguments)
