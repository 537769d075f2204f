"""The cross-backend table of src/matgrad/edges.py, run: at every edge case, every backend's
module returns what NumPy's returns (nan and ±inf in the same places), or behaves as the table
says it differs — and never a finite number where NumPy has none.  The same table is printed in
docs/errors.md (issue 29 #5).

CuPy runs with NumPy standing in for `cupy` where there is no CUDA device (as in
test_cupy_backend.py); Dask runs with the synchronous scheduler on blocks of one row.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import matgrad
from matgrad.docgen import edges_markdown
from matgrad.edges import EDGE_BACKENDS, EDGE_CASES, EdgeCase, as_array
from matgrad.functions import ELEMENTWISE

CASES = {case.what: case for case in EDGE_CASES}


def _converter(backend: str) -> Callable[[np.ndarray], Any]:
    if backend == "torch":
        torch = pytest.importorskip("torch")
        return torch.as_tensor
    if backend == "jax":
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
        return jax.numpy.asarray  # type: ignore[no-any-return]
    if backend == "array-api":
        strict = pytest.importorskip("array_api_strict")
        return strict.asarray  # type: ignore[no-any-return]
    return lambda array: array


def _run(case: EdgeCase, backend: str) -> tuple[float, dict[str, np.ndarray]]:
    """The case's value and gradients from `backend`'s module, as float64 NumPy."""
    function = matgrad.derive(case.source).compile(backend=backend)
    convert = _converter(backend)
    arguments = {name: convert(as_array(entries)) for name, entries in case.inputs.items()}
    extra: dict[str, Any] = {"block_rows": 1} if backend == "dask" else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's warnings at inf and nan
        value, gradients = function(**arguments, **extra)
    return float(value), {name: np.asarray(gradient, dtype=np.float64)
                          for name, gradient in gradients.items()}


def _assert_same_numbers(case: EdgeCase, value: float, gradients: dict[str, np.ndarray]
                         ) -> None:
    assert case.value is not None
    np.testing.assert_array_equal(value, case.value, err_msg=f"{case.what}: the value")
    for name, expected in case.gradients.items():
        np.testing.assert_allclose(gradients[name], as_array(expected), rtol=1e-12, atol=0,
                                   equal_nan=True, err_msg=f"{case.what}: ∂J/∂{name}")


@pytest.mark.parametrize("what", sorted(CASES))
def test_numpy_returns_what_the_table_says(what: str) -> None:
    case = CASES[what]
    if case.value is None:
        with pytest.raises(np.linalg.LinAlgError, match="singular"):
            _run(case, "numpy")
        return
    _assert_same_numbers(case, *_run(case, "numpy"))


@pytest.mark.parametrize("backend", [name for name in EDGE_BACKENDS if name != "numpy"])
@pytest.mark.parametrize("what", sorted(CASES))
def test_every_backend_behaves_as_the_table_says(what: str, backend: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    case = CASES[what]
    if backend == "cupy":
        monkeypatch.setitem(sys.modules, "cupy", np)  # no CUDA device here: NumPy stands in
    if backend == "dask":
        pytest.importorskip("dask", reason="the dask extra is not installed")
    difference = case.differences.get(backend)
    if difference and difference.startswith("not applicable"):
        with pytest.raises(matgrad.MatgradError):
            matgrad.derive(case.source).compile(backend=backend)
        return
    if difference is None and case.value is None:
        with pytest.raises(Exception, match="singular"):
            _run(case, backend)
        return
    if difference is None:
        _assert_same_numbers(case, *_run(case, backend))
        return
    # A backend that differs by the table may raise its library's error or return non-finite
    # numbers, but never finite numbers where NumPy has none.
    try:
        value, gradients = _run(case, backend)
    except Exception as error:  # the library's own error, as the table says
        assert "own" in difference, f"{backend} raised {error!r}; the table says {difference}"
        return
    assert not all(np.all(np.isfinite(gradient)) for gradient in gradients.values()) or \
        not np.isfinite(value), f"{backend} returned finite numbers at {what}"


def test_the_table_covers_each_edge_the_issue_names() -> None:
    words = " ".join(CASES)
    for edge in ("no rows", "+inf", "−inf", "NaN", "singular", "‖x‖ at x = 0", "one-hot"):
        assert edge in words, edge


def test_the_table_is_in_the_error_document() -> None:
    table = edges_markdown()
    for case in EDGE_CASES:
        assert case.what in table
    assert table.count("\n|") == len(EDGE_CASES) + 2


ELEMENTWISE_NAMES = sorted(ELEMENTWISE)
EDGE_ROW = np.array([[np.nan, np.inf, -np.inf, 0.0, 0.5]])


@pytest.mark.parametrize("backend", ["torch", "jax", "array-api", "cupy", "dask"])
@pytest.mark.parametrize("function", ELEMENTWISE_NAMES)
def test_every_function_at_nan_and_inf_agrees_with_numpy(function: str, backend: str,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    # f and f′ at nan, ±inf, 0 and 0.5 (relu′ at nan was 0 in PyTorch and nan in NumPy).
    if backend == "cupy":
        monkeypatch.setitem(sys.modules, "cupy", np)
    if backend == "dask":
        pytest.importorskip("dask", reason="the dask extra is not installed")
    case = EdgeCase(f"{function} at the edges",
                    f"X: t x n, data\nb: 1 x n\nJ = sum({function}(X + b))",
                    {"X": tuple(map(tuple, EDGE_ROW.tolist())), "b": ((0.0,) * 5,)}, None)
    expected_value, expected = _run(case, "numpy")
    value, gradients = _run(case, backend)
    np.testing.assert_array_equal(value, expected_value)
    np.testing.assert_allclose(gradients["b"], expected["b"], rtol=1e-12, equal_nan=True)
