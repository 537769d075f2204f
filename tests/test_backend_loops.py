"""Layer loops at symbolic depth in the JAX, PyTorch and CuPy backends (the one loop generator
with each backend's table) against the NumPy loop module: the two loop examples, weight decay
over every layer, residual layers that read Z[j-1] twice, and random loop bodies; depths 1 and
4; JAX also under `jax.jit`; float32 kept by PyTorch and JAX.  NumPy stands in for `cupy` where
there is no CUDA device (tests/test_cupy_backend.py).

Tolerances: float64 1e-10 relative; float32 2e-4.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from test_loop_bodies import loop_programs
from test_loops import WEIGHT_DECAY

import matgrad
from matgrad.check import random_arguments
from matgrad.codegen.signature import signature_of
from matgrad.engine.results import LoopDerivation

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = {
    "regression_loop": (ROOT / "examples" / "regression_loop.mg").read_text(),
    "classification_loop": (ROOT / "examples" / "classification_loop.mg").read_text(),
    "weight_decay": WEIGHT_DECAY,
    "residual": ("X: t x n, data; Y: t x n, data\nZ[0] = X\nfor j in 1..k:\n    W[j]: n x n\n"
                 "    Z[j] = Z[j-1] + tanh(Z[j-1]*W[j])\nend\nJ = 1/2 * ||Z[k] - Y||^2"),
}


def _converter(backend: str, dtype: str = "float64") -> Callable[[np.ndarray], Any]:
    if backend == "jax":
        jnp = pytest.importorskip("jax.numpy")
        return lambda array: jnp.asarray(array, dtype=dtype)
    if backend == "torch":
        torch = pytest.importorskip("torch")
        return lambda array: torch.from_numpy(np.ascontiguousarray(array, dtype=dtype))
    if backend == "array-api":
        strict = pytest.importorskip("array_api_strict")
        return lambda array: strict.asarray(np.asarray(array, dtype=dtype))
    return lambda array: np.asarray(array, dtype=dtype)


@pytest.fixture(autouse=True)
def _jax_x64_and_numpy_as_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", np)  # only the cupy backend imports it
    if "jax" in sys.modules:
        sys.modules["jax"].config.update("jax_enable_x64", True)


def compare(source: str, backend: str, depth: int, dtype: str = "float64",
            seed: int = 0, jit: bool = False) -> None:
    if backend == "jax":
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
    derivation = matgrad.derive(source)
    assert isinstance(derivation.result, LoopDerivation)
    bind = {"f[j]": "tanh"} if "f[j]" in source else {}
    program = matgrad.parse(source, {"k": depth})
    sizes = {dim: 3 + index for index, dim in enumerate(program.dims)}
    values = random_arguments(program, sizes, np.random.default_rng(seed))
    keywords = signature_of(derivation.result).keywords(values, sizes, depth)
    keywords = {key: [np.asarray(m, dtype=dtype) for m in value] if isinstance(value, list)
                else np.asarray(value, dtype=dtype) if isinstance(value, np.ndarray) else value
                for key, value in keywords.items()}
    expected = derivation.compile(bind=bind)(**keywords)
    convert = _converter(backend, dtype)
    function = derivation.compile(bind=bind, backend=backend)
    if jit:
        function = sys.modules["jax"].jit(function)
    got = function(**{key: [convert(m) for m in value] if isinstance(value, list)
                      else convert(value) if isinstance(value, np.ndarray) else value
                      for key, value in keywords.items()})
    rtol = 1e-10 if dtype == "float64" else 2e-4
    assert float(got[0]) == pytest.approx(expected[0], rel=rtol, abs=rtol)
    assert list(got[1]) == list(expected[1])
    for name, members in expected[1].items():
        for index, (mine, theirs) in enumerate(zip(got[1][name], members, strict=True)):
            mine = np.asarray(mine.cpu() if hasattr(mine, "cpu") else mine)
            assert mine.dtype == np.dtype(dtype), name
            scale = max(1.0, float(np.max(np.abs(theirs))))
            np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=rtol * scale,
                                       err_msg=f"{name}[{index}]")


@pytest.mark.parametrize("backend", ["jax", "torch", "cupy"])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("depth", [1, 4])
def test_loops_agree_with_numpy(name: str, backend: str, depth: int) -> None:
    if name == "classification_loop" and depth == 1:
        depth = 2  # its loop runs to k − 1
    compare(PROGRAMS[name], backend, depth)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_jax_loops_under_jit(name: str) -> None:
    compare(PROGRAMS[name], "jax", 3, jit=True)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_float32_loops_stay_float32(backend: str) -> None:
    if backend == "jax":
        pytest.importorskip("jax")
    compare(PROGRAMS["regression_loop"], backend, 3, dtype="float32", seed=4)


CANCELLING = ("X: t x n, data; Y: t x n, data\nZ[0] = X\nfor j in 1..k:\n    W[j]: n x n\n"
              "    Z[j] = tanh(Z[j-1]*W[j]) - tanh(Z[j-1]*W[j])\nend\nJ = sum(Z[k] .* Y)")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_torch_loop_creates_its_zero_layers_like_its_inputs(dtype: str) -> None:
    # Z[j] = 0 (what random bodies found refused before): torch.zeros with the inputs' dtype
    # and device.
    assert "device=float_device" in matgrad.derive(CANCELLING).source("torch")
    compare(CANCELLING, "torch", 3, dtype=dtype, seed=2)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_array_api_loops_under_array_api_strict(name: str) -> None:
    """The loop module takes its namespace from every input (`*W` of a list too) and defines
    `_float` after it: it runs on a library with nothing but the standard."""
    compare(PROGRAMS[name], "array-api", 3)


def test_array_api_loop_products_under_array_api_strict() -> None:
    strict = pytest.importorskip("array_api_strict")
    product = matgrad.derive(PROGRAMS["residual"]).hvp()
    program = matgrad.parse(PROGRAMS["residual"], {"k": 3})
    sizes = {dim: 3 + index for index, dim in enumerate(program.dims)}
    rng = np.random.default_rng(2)
    values = random_arguments(program, sizes, rng)
    values.update({f"V_W{j}": rng.normal(size=values[f"W{j}"].shape) for j in (1, 2, 3)})
    keywords = signature_of(product.result).keywords(values, sizes, 3)
    expected = product.compile()(**keywords)
    got = product.compile(backend="array-api")(**{
        key: [strict.asarray(m) for m in value] if isinstance(value, list) else
        strict.asarray(value) for key, value in keywords.items()})
    for mine, theirs in zip(got["W"], expected["W"], strict=True):
        np.testing.assert_allclose(np.asarray(mine), theirs, rtol=1e-10)


@settings(max_examples=FUZZ_EXAMPLES // 15,
          deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loop_programs())
def test_random_loop_bodies_in_torch(source: str) -> None:
    compare(source, "torch", 3, seed=1)
