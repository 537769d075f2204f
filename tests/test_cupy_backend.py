"""The CuPy backend: NumPy's table through `cupy`.  Where CuPy and a CUDA device exist the
module runs on the device against the NumPy backend; everywhere, the same module runs with NumPy
standing in for `cupy` (every name the module calls is NumPy's too), which checks every
spelling, helper and in-place update on every flat example and representative program.

Tolerances: float64 1e-10 relative (the stand-in is exact; the device 1e-10).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from backend_cases import FLAT, assert_close, assert_ruff_clean, both

import matgrad
from matgrad.backends import registry


def _cuda_device() -> Any:
    try:
        cupy = importlib.import_module("cupy")  # optional: only where CuPy is installed
    except ImportError:
        return None
    try:
        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:  # CuPy without a driver raises its own runtime errors
        return None


CUPY = _cuda_device()


@pytest.fixture
def numpy_as_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    """`import cupy as cp` gives NumPy while the test runs."""
    monkeypatch.setitem(sys.modules, "cupy", np)


@pytest.mark.parametrize("name", sorted(FLAT))
def test_the_cupy_module_agrees_with_numpy(name: str, numpy_as_cupy: None) -> None:
    expected, got, _, _ = both(FLAT[name], "cupy")
    assert_close(expected, got, 1e-12)


def test_the_module_imports_only_cupy_and_is_ruff_clean(tmp_path: Path) -> None:
    source = matgrad.derive(FLAT["classification_2layer"]).source(
        backend="cupy", bind={"f1": "tanh"})
    imports = {line for line in source.splitlines() if line.startswith(("import", "from"))}
    assert imports == {"import cupy as cp"}
    assert "np." not in source
    assert_ruff_clean(source, tmp_path)


def test_a_missing_cupy_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = registry.importlib.util.find_spec
    monkeypatch.setattr(registry.importlib.util, "find_spec",
                        lambda name, *rest: None if name == "cupy" else real(name, *rest))
    with pytest.raises(matgrad.MatgradError, match="cupy-cuda12x"):
        matgrad.derive(FLAT["single_layer"]).compile(bind={"f": "tanh"}, backend="cupy")


@pytest.mark.skipif(CUPY is None, reason="no CUDA device (or CuPy is not installed)")
@pytest.mark.parametrize("name", sorted(FLAT))
def test_cupy_on_the_device_agrees_with_numpy(name: str) -> None:
    assert CUPY is not None
    expected, got, _, _ = both(FLAT[name], "cupy", convert=CUPY.asarray)
    assert all(isinstance(gradient, CUPY.ndarray) or np.isscalar(gradient)
               for gradient in got[1].values())
    assert_close(expected, (got[0], {key: CUPY.asnumpy(value) if isinstance(
        value, CUPY.ndarray) else value for key, value in got[1].items()}), 1e-10)
