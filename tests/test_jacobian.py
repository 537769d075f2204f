"""Jacobians of matrix-valued expressions (engine/jacobian.py): every block of a corpus against
`jax.jacobian` (an independent autodiff, float64), the differential and Kronecker forms as the
textbooks write them, the operator form (JVP) and the vector-Jacobian module in every backend
that has the operations, and the refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import jsonschema
import numpy as np
import pytest

import matgrad
from matgrad.printing.json_output import RESULT_SCHEMA

jax = pytest.importorskip("jax", reason="the reference Jacobians are jax.jacobian's")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

RNG = np.random.default_rng(11)


def _column_major(jacobian: Any) -> np.ndarray:
    """jax.jacobian's (p, q, n, m) array as ∂vec(F)/∂vec(X)ᵀ, vec stacking columns."""
    array = np.asarray(jacobian)
    p, q, n, m = array.shape
    return array.transpose(1, 0, 3, 2).reshape(p * q, n * m)


def _square(n: int = 3) -> np.ndarray:
    return np.eye(n) * 2 + 0.3 * RNG.normal(size=(n, n))


# (program, arguments, the same F in jax.numpy)
CORPUS: list[tuple[str, dict[str, np.ndarray], Callable[..., Any]]] = [
    ("X: n x n\nF = inv(X)", {"X": _square()}, jnp.linalg.inv),
    ("A: m x n; X: n x p; B: p x q\nF = A*X*B",
     {"A": RNG.normal(size=(2, 3)), "X": RNG.normal(size=(3, 4)), "B": RNG.normal(size=(4, 2))},
     lambda A, X, B: A @ X @ B),
    ("W: m x n; x: n x 1\nf = tanh(W*x)", {"W": RNG.normal(size=(3, 4)),
                                           "x": RNG.normal(size=(4, 1))},
     lambda W, x: jnp.tanh(W @ x)),
    ("X: t x n; W: n x m\nF = softmax(X*W)", {"X": RNG.normal(size=(4, 3)),
                                              "W": RNG.normal(size=(3, 2))},
     lambda X, W: jax.nn.softmax(X @ W, axis=1)),
    ("X: n x n\nF = X'*X", {"X": RNG.normal(size=(3, 3))}, lambda X: X.T @ X),
    ("X: n x m\nF = X .* X", {"X": RNG.normal(size=(3, 2))}, lambda X: X * X),
    ("X: n x n; A: n x n\nF = X*A*X'", {"X": RNG.normal(size=(3, 3)), "A": _square()},
     lambda X, A: X @ A @ X.T),
    ("X: n x n\nF = expm(X)", {"X": 0.5 * RNG.normal(size=(3, 3))},
     jax.scipy.linalg.expm),
    ("X: t x n; W: n x m; b: 1 x m\nZ = sigmoid(X*W + b)",
     {"X": RNG.normal(size=(4, 3)), "W": RNG.normal(size=(3, 2)), "b": RNG.normal(size=(1, 2))},
     lambda X, W, b: jax.nn.sigmoid(X @ W + b)),
    ("x: n x 1\nf = x / ||x||", {"x": RNG.normal(size=(4, 1))},
     lambda x: x / jnp.linalg.norm(x)),
    ("X: n x n\nF = X * inv(X + X')", {"X": _square()},
     lambda X: X @ jnp.linalg.inv(X + X.T)),
    ("X: n x m; w: m x 1\nf = exp(X*w) ./ sum(exp(X*w))",
     {"X": RNG.normal(size=(3, 2)), "w": RNG.normal(size=(2, 1))},
     lambda X, w: jnp.exp(X @ w) / jnp.sum(jnp.exp(X @ w))),
]


@pytest.mark.parametrize(("source", "values", "reference"), CORPUS,
                         ids=[source.split("\n")[-1] for source, _, _ in CORPUS])
def test_every_block_equals_jax_jacobian(source: str, values: dict[str, np.ndarray],
                                         reference: Callable[..., Any]) -> None:
    derivation = matgrad.derive(source, jacobian=True)
    blocks = derivation.jacobian().compile()(**values)
    names = list(values)
    arrays = [jnp.asarray(value) for value in values.values()]
    for name in derivation.wrt:
        expected = _column_major(jax.jacobian(reference, argnums=names.index(name))(*arrays))
        np.testing.assert_allclose(blocks[name], expected, rtol=1e-9, atol=1e-10,
                                   err_msg=name)
    assert matgrad.check(derivation).passed  # the VJP against central differences of U · F


def test_the_differential_and_the_kronecker_form_are_the_textbooks() -> None:
    inverse = matgrad.derive("X: n x n\nF = inv(X)", jacobian=True).text().splitlines()
    assert inverse[:2] == ["dF = −F dX F", "∂vec(F)/∂vec(X)ᵀ = −(Fᵀ ⊗ F)"]
    assert "  F = X⁻¹" in inverse
    product = matgrad.derive("A: m x n; X: n x p; B: p x q\nF = A*X*B", wrt=["X"],
                             jacobian=True).text().splitlines()
    assert product[:2] == ["dF = A dX B", "∂vec(F)/∂vec(X)ᵀ = Bᵀ ⊗ A"]


def test_the_steps_are_the_cited_derivation_of_u_dot_f() -> None:
    derivation = matgrad.derive("X: n x n\nF = inv(X)", jacobian=True)
    steps = derivation.steps_text()
    assert "U · F" in steps and "Matrix Cookbook 59" in steps
    assert "\\operatorname{vec}" in derivation.latex()
    assert derivation.latex(standalone=True).startswith("\\documentclass")


def test_the_operator_form_applies_the_jacobian_without_building_it() -> None:
    source, values, _ = CORPUS[1]
    jacobian = matgrad.derive(source, jacobian=True).jacobian()
    dense = jacobian.compile()(**values)
    operators = jacobian.compile(dense=False)(**values)
    direction = RNG.normal(size=values["X"].shape)
    np.testing.assert_allclose(operators["X"] @ direction.reshape(-1, order="F"),
                               dense["X"] @ direction.reshape(-1, order="F"))
    np.testing.assert_allclose(operators["X"].apply(direction),
                               values["A"] @ direction @ values["B"])
    cotangent = RNG.normal(size=(2, 2))  # F is 2×2: J.T @ vec(U) is the VJP, Aᵀ U Bᵀ
    np.testing.assert_allclose(operators["X"].T @ cotangent.reshape(-1, order="F"),
                               dense["X"].T @ cotangent.reshape(-1, order="F"))
    np.testing.assert_allclose(operators["X"].T.apply(cotangent),
                               values["A"].T @ cotangent @ values["B"].T)


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
def test_the_vector_jacobian_module_runs_in_every_backend(backend: str) -> None:
    pytest.importorskip(backend)
    source, values, _ = CORPUS[3]  # softmax(X W)
    derivation = matgrad.derive(source, jacobian=True)
    dense = derivation.jacobian().compile()(**values)
    cotangent = RNG.normal(size=(4, 2))
    _, vjp = derivation.compile(backend=backend)(**values, U=cotangent)
    for name in derivation.wrt:
        expected = (dense[name].T @ cotangent.reshape(-1, order="F")).reshape(
            values[name].shape, order="F")
        np.testing.assert_allclose(np.asarray(vjp[name]), expected, rtol=1e-6, atol=1e-9)


def test_json_of_a_jacobian_follows_the_schema() -> None:
    found = matgrad.derive("X: n x n\nF = inv(X)", jacobian=True).json(["numpy"])
    jsonschema.validate(found, RESULT_SCHEMA)
    assert found["kind"] == "jacobian"


def test_cli_jacobian_and_the_advice_without_it() -> None:
    source = "X: n x n\nF = inv(X)"
    result = subprocess.run([sys.executable, "-m", "matgrad", "-e", source, "--jacobian",
                             "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "∂vec(F)/∂vec(X)ᵀ = −(Fᵀ ⊗ F)" in result.stdout and "passed" in result.stdout
    refused = subprocess.run([sys.executable, "-m", "matgrad", "-e", source],
                             capture_output=True, text=True, check=False)
    assert refused.returncode == 2 and "--jacobian" in refused.stderr
    assert "Traceback" not in refused.stderr
    data = subprocess.run([sys.executable, "-m", "matgrad", "-e", source, "--jacobian",
                           "--json"], capture_output=True, text=True, check=False)
    assert json.loads(data.stdout)["kind"] == "jacobian"


@pytest.mark.parametrize(("source", "message"), [
    ("X: n x n\nJ = tr(X)", "is a scalar: its Jacobian is its gradient"),
    ("X: t x n, data\nZ[0] = X\nfor j in 1..k:\n    W[j]: n x n\n    Z[j] = tanh(Z[j-1]*W[j])\n"
     "end\nF = Z[k]", "layer loop"),
])
def test_what_has_no_jacobian_yet_is_refused(source: str, message: str) -> None:
    with pytest.raises(matgrad.MatgradError, match=message):
        matgrad.derive(source, jacobian=True)


def test_a_scalar_derivation_has_no_jacobian_view() -> None:
    with pytest.raises(matgrad.UsageError, match="jacobian=True"):
        matgrad.derive("X: n x n\nJ = tr(X)").jacobian()
