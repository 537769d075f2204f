"""The conformance set (the Matrix Cookbook and matrixcalculus.org objectives of
tests/test_conformance.py) and the corpus of user objectives (tests/corpus.py) through every
backend, each module against the NumPy module at the same random inputs (SPD and positive
inputs where the program declares them).

PyTorch and the array API (under array-api-strict) run the whole conformance set in the
default suite, and PyTorch the corpus (the array API the corpus under `-m slow`); CuPy's module
is NumPy's text under another alias, tested on the examples.  JAX
runs eagerly op by op, about 0.4 s an objective, so the default suite runs one objective of each
Cookbook section and the whole set runs under the `slow` marker.

Tolerance: float64, 1e-9 relative (the same formulas through another library's BLAS and
LAPACK: inverses, solves and determinants of the SPD inputs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from backend_cases import assert_close, both
from corpus import CASES
from test_conformance import OBJECTIVES

import matgrad
from matgrad.ir.dims import SCALAR

RTOL = 1e-9

# One objective of each section (traces, inverses, determinants, forms, norms) and the
# matrixcalculus.org logistic regression: the JAX subset of the default suite.
JAX_DEFAULT = ["tr(X'AX)", "a'inv(X)b", "logdet(X)", "b'X'Xc", "||x||", "logistic regression"]


def _convert(backend: str) -> Callable[[np.ndarray], Any]:
    if backend == "torch":
        torch = pytest.importorskip("torch", reason="torch is not installed")
        return torch.from_numpy  # type: ignore[no-any-return]
    if backend == "array-api":
        strict = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed")
        pytest.importorskip("array_api_compat", reason="array-api-compat is not installed")
        return strict.asarray  # type: ignore[no-any-return]
    return lambda array: array


def _to_numpy(result: tuple[Any, dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    """Gradients as NumPy arrays: through DLPack (array-api-strict has no __array__), a float
    as it is."""
    value, gradients = result
    return float(value), {name: gradient if isinstance(gradient, float)
                          else np.from_dlpack(gradient) for name, gradient in gradients.items()}


def _agrees(name: str, backend: str) -> None:
    source = OBJECTIVES[name][0]
    expected, got, _, _ = both(source, backend, seed=5, convert=_convert(backend))
    assert_close(expected, _to_numpy(got), RTOL)


# The corpus of objectives users bring (tests/corpus.py: ML losses, Cookbook identities, odd
# names and spellings), each that matgrad derives rather than refuses.
DERIVED = {case.label: case for case in CASES if case.refused is None}


@pytest.mark.parametrize("backend", [
    "torch",
    # The array API module on the whole corpus under `-m slow` (the default run stays short).
    pytest.param("array-api", marks=pytest.mark.slow),
])
@pytest.mark.parametrize("label", sorted(DERIVED))
def test_the_corpus_agrees_with_numpy(label: str, backend: str) -> None:
    case = DERIVED[label]
    program = matgrad.derive(case.source).program
    if backend == "array-api" and all(program.shapes[name] == SCALAR
                                      for name in program.parameters):
        # The namespace comes from a matrix argument: numbers alone are refused, clearly.
        with pytest.raises(matgrad.MatgradError, match="namespace from a matrix argument"):
            both(case.source, backend, bind=case.bind)
        return
    expected, got, _, _ = both(case.source, backend, seed=2, convert=_convert(backend),
                               bind=case.bind)
    assert_close(expected, _to_numpy(got), 1e-8)


@pytest.mark.parametrize("backend", ["torch", "array-api"])
@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_the_conformance_set_agrees_with_numpy(name: str, backend: str) -> None:
    _agrees(name, backend)


def _jax() -> Any:
    jax = pytest.importorskip("jax", reason="jax is not installed")
    jax.config.update("jax_enable_x64", True)
    return jax


@pytest.mark.parametrize("name", JAX_DEFAULT)
def test_one_objective_of_each_section_through_jax_agrees_with_numpy(name: str) -> None:
    _jax()
    _agrees(name, "jax")


def _scalar_parameters(source: str) -> list[bool]:
    program = matgrad.derive(source).program
    return [program.shapes[name] == SCALAR for name in program.parameters]


# Programs with a scalar argument and a matrix one (numbers alone give no namespace: refused).
WITH_SCALARS = sorted(label for label, flags in ((label, _scalar_parameters(case.source))
                                                for label, case in DERIVED.items())
                      if any(flags) and not all(flags))


@pytest.mark.parametrize("label", WITH_SCALARS)
def test_the_array_api_module_on_torch_tensors_reads_scalars(label: str) -> None:
    # The array API module with PyTorch's namespace: x.size is a method there and the default
    # dtype float32 (a scalar argument was refused, or rounded, until both were handled).
    torch = pytest.importorskip("torch", reason="torch is not installed")
    case = DERIVED[label]
    expected, got, _, _ = both(case.source, "array-api", seed=2, convert=torch.from_numpy,
                               bind=case.bind)
    assert_close(expected, (got[0], {name: value if isinstance(value, float) else value.numpy()
                                     for name, value in got[1].items()}), 1e-10)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_the_conformance_set_through_jax_agrees_with_numpy(name: str) -> None:
    _jax()
    _agrees(name, "jax")
