"""Symmetric variables (`S: n x n, symmetric` or `spd`): the gradient on the symmetric matrices
under both conventions, against JAX's directional derivatives along symmetric directions
(an independent autodiff), as the textbooks write it; Hessian-vector products and Hessian blocks
on the symmetric space; the check with symmetric directions; the refusals."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import matgrad
from matgrad.check import _compared_symmetric, check_hessian

jax = pytest.importorskip("jax", reason="the references are JAX's directional derivatives")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

N = 4
RNG = np.random.default_rng(5)


def _spd() -> np.ndarray:
    base = RNG.normal(size=(N, N))
    return base @ base.T + N * np.eye(N)


def _symmetric() -> np.ndarray:
    base = RNG.normal(size=(N, N))
    return base + base.T


A = RNG.normal(size=(N, N))
X = RNG.normal(size=(N, 1))
# (program, the value of S, the objective in jax.numpy of S)
CORPUS: list[tuple[str, np.ndarray, Callable[[Any], Any]]] = [
    ("S: n x n, spd\nJ = logdet(S)", _spd(), lambda S: jnp.linalg.slogdet(S)[1]),
    ("S: n x n, symmetric; A: n x n, const\nJ = tr(S*A)", _symmetric(),
     lambda S: jnp.trace(S @ A)),
    ("S: n x n, symmetric; x: n x 1, const\nJ = x'*S*x", _symmetric(),
     lambda S: (X.T @ S @ X)[0, 0]),
    ("S: n x n, spd; A: n x n, const\nJ = tr(inv(S)*A)", _spd(),
     lambda S: jnp.trace(jnp.linalg.inv(S) @ A)),
    ("S: n x n, symmetric; A: n x n, const\nJ = ||S*A||^2", _symmetric(),
     lambda S: jnp.sum((S @ A) ** 2)),
    ("S: n x n, spd; A: n x n, const\nJ = tr(A*logm(S))", _spd(),
     lambda S: jnp.trace(A @ _jax_logm_spd(S))),
    ("S: n x n, symmetric; A: n x n, const\nJ = sum(tanh(S*A))", _symmetric(),
     lambda S: jnp.sum(jnp.tanh(S @ A))),
    ("S: n x n, spd; x: n x 1, const\nJ = x'*inv(S)*x + logdet(S)", _spd(),
     lambda S: (X.T @ jnp.linalg.inv(S) @ X)[0, 0] + jnp.linalg.slogdet(S)[1]),
]


def _jax_logm_spd(s: Any) -> Any:
    values, vectors = jnp.linalg.eigh(s)
    return (vectors * jnp.log(values)) @ vectors.T


def _directional(objective: Callable[[Any], Any], s: np.ndarray, v: np.ndarray) -> float:
    return float(jax.jvp(objective, (jnp.asarray(s),), (jnp.asarray(v),))[1])


def _arguments(s: np.ndarray) -> dict[str, np.ndarray]:
    return {"S": s, "A": A, "x": X}


@pytest.mark.parametrize(("source", "s", "objective"), CORPUS,
                         ids=[source.split("\n")[-1] for source, _, _ in CORPUS])
def test_both_conventions_against_jax_along_symmetric_directions(
        source: str, s: np.ndarray, objective: Callable[[Any], Any]) -> None:
    derivation = matgrad.derive(source, wrt=["S"])
    arguments = {name: value for name, value in _arguments(s).items()
                 if name in derivation.python_names}
    frobenius = np.asarray(derivation.compile()(**arguments)[1]["S"])
    elementwise = np.asarray(matgrad.derive(source, wrt=["S"], symmetric="elementwise")
                             .compile()(**arguments)[1]["S"])
    np.testing.assert_allclose(frobenius, frobenius.T, atol=1e-10)  # on the space
    for i in range(N):
        for j in range(N):
            direction = np.zeros((N, N))
            direction[i, j] = direction[j, i] = 1.0
            along = _directional(objective, s, direction)
            # the distinct entry Sᵢⱼ = Sⱼᵢ moved: the entry-wise convention is that derivative
            assert elementwise[i, j] == pytest.approx(along, rel=1e-8, abs=1e-10)
            assert np.vdot(frobenius, direction) == pytest.approx(along, rel=1e-8, abs=1e-10)
    assert matgrad.check(derivation).passed
    assert matgrad.check(matgrad.derive(source, wrt=["S"], symmetric="elementwise")).passed


def test_the_textbook_forms() -> None:
    def text(source: str, convention: str = "frobenius") -> str:
        return matgrad.derive(source, symmetric=convention).text().splitlines()[0]

    assert text("S: n x n, spd\nJ = logdet(S)") == "∂J/∂S = S⁻¹"
    # the Matrix Cookbook's (2.8.2) form: 2S⁻¹ − S⁻¹ ∘ I
    assert text("S: n x n, spd\nJ = logdet(S)", "elementwise") == "∂J/∂S = 2S⁻¹ − S⁻¹ ⊙ I"
    assert text("S: n x n, symmetric; A: n x n, const\nJ = tr(S*A)") == \
        "∂J/∂S = (1/2)(Aᵀ + A)"
    assert text("S: n x n, symmetric; x: n x 1, const\nJ = x'*S*x") == "∂J/∂S = x xᵀ"


def test_the_convention_is_a_cited_step_and_named_in_the_output() -> None:
    derivation = matgrad.derive("S: n x n, symmetric; A: n x n, const\nJ = tr(S*A)")
    assert "by (symmetric gradient)" in derivation.steps_text()
    assert "sym(G) = (G + Gᵀ)/2" in derivation.text()
    elementwise = matgrad.derive("S: n x n, spd\nJ = logdet(S)", symmetric="elementwise")
    assert "Matrix Cookbook 2.8.2" in elementwise.steps_text()
    assert "each distinct entry" in elementwise.text()


def test_a_gradient_off_the_symmetric_space_fails_the_check() -> None:
    """The check's comparison sees a gradient that is right along symmetric directions on
    average but not symmetric (Aᵀ for tr(S A), unprojected)."""
    gradient = RNG.normal(size=(3, 3))
    projected = (gradient + gradient.T) / 2

    def along(direction: np.ndarray) -> float:
        return float(np.vdot(gradient, direction))

    got, expected = _compared_symmetric(projected, along, RNG, "frobenius")
    np.testing.assert_allclose(got, expected)
    got, expected = _compared_symmetric(gradient, along, RNG, "frobenius")
    assert not np.allclose(got, expected)


@pytest.mark.parametrize(("source", "s", "objective"), CORPUS[:5],
                         ids=[source.split("\n")[-1] for source, _, _ in CORPUS[:5]])
def test_hessian_vector_product_on_the_symmetric_space(
        source: str, s: np.ndarray, objective: Callable[[Any], Any]) -> None:
    """(∇²J V)_S for symmetric V is sym of the unconstrained Hessian applied to V."""
    derivation = matgrad.derive(source, wrt=["S"])
    product = derivation.hvp()
    arguments = {name: value for name, value in _arguments(s).items()
                 if name in derivation.python_names}
    direction = _symmetric()
    got = np.asarray(product.compile()(**arguments, V_S=direction)["S"])
    full = jax.jvp(jax.grad(objective), (jnp.asarray(s),), (jnp.asarray(direction),))[1]
    expected = (np.asarray(full) + np.asarray(full).T) / 2
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)
    assert matgrad.check(product).passed
    assert check_hessian(derivation.hessian()).passed


def test_second_order_of_the_elementwise_convention_is_refused() -> None:
    derivation = matgrad.derive("S: n x n, spd\nJ = logdet(S)", symmetric="elementwise")
    with pytest.raises(matgrad.UnsupportedError, match="Frobenius inner product"):
        derivation.hvp()


def test_a_loop_is_not_read_with_the_elementwise_convention_silently() -> None:
    source = ("X: t x n, data\nZ[0] = X\nfor j in 1..k:\n    W[j]: n x n, symmetric\n"
              "    Z[j] = tanh(Z[j-1]*W[j])\nend\nJ = sum(Z[k])")
    with pytest.raises(matgrad.UsageError, match="frobenius convention only"):
        matgrad.derive(source, symmetric="elementwise")


def test_cli_symmetric_option_and_an_unknown_convention() -> None:
    result = subprocess.run([sys.executable, "-m", "matgrad", "-e",
                             "S: n x n, spd\nJ = logdet(S)", "--symmetric", "elementwise",
                             "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "∂J/∂S = 2S⁻¹ − S⁻¹ ⊙ I" in result.stdout and "passed" in result.stdout
    with pytest.raises(matgrad.UsageError, match="unknown symmetric"):
        matgrad.derive("S: n x n, spd\nJ = logdet(S)", symmetric="upper")
