"""The array API backend under `array-api-strict` (a library with nothing but the standard)
against the NumPy backend: every flat example and representative program, the random-program
property, float32 kept, softmax stable at logits ±1000; the same module on NumPy arrays and on
PyTorch tensors through `array_api_compat`; it imports only `array_api_compat`, passes ruff.

Tolerances: float64 1e-10 relative; float32 2e-4 relative to the gradient's size.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from backend_cases import FLAT, PROGRAMS, assert_close, assert_ruff_clean, both
from helpers import FUZZ_EXAMPLES
from hypothesis import HealthCheck, assume, given, settings
from programs import programs

import matgrad

xs = pytest.importorskip("array_api_strict",
                         reason="array-api-strict is not installed (the test extra has it)")
pytest.importorskip("array_api_compat", reason="pip install 'matgrad[array-api]'")
STRICT_ARRAY = type(xs.asarray(0.0))


def _numpy(result: tuple[Any, dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    value, gradients = result
    return value, {name: gradient if isinstance(gradient, float) else np.from_dlpack(gradient)
                   for name, gradient in gradients.items()}


@pytest.mark.parametrize("name", sorted(FLAT))
def test_array_api_strict_agrees_with_numpy(name: str) -> None:
    expected, got, _, _ = both(FLAT[name], "array-api", convert=xs.asarray)
    assert isinstance(got[0], float)
    assert all(isinstance(gradient, (float, STRICT_ARRAY)) for gradient in got[1].values())
    assert_close(expected, _numpy(got), 1e-10)


@pytest.mark.parametrize("source", [
    "W: n x m; V: n x m\nJ = 1/2 * ||2||^2 + sum(W) + <W, V>",
    "W: n x m; V: n x m\nJ = norm2(1 + 2) + sum(W) + <W, V>",
])
def test_constant_terms_of_numbers_become_arrays_first(source: str) -> None:
    # ⟨2, 2⟩ and ‖3‖ of numbers: the standard's sum and the norm helper take arrays only
    # (found by the random-program property with random seeds).
    expected, got, _, _ = both(source, "array-api", convert=xs.asarray)
    assert_close(expected, _numpy(got), 1e-12)


@pytest.mark.parametrize("name", ["single_layer", "classification_2layer", "logistic_regression"])
def test_float32_stays_float32(name: str) -> None:
    expected, got, _, _ = both(FLAT[name], "array-api", "float32", seed=2, convert=xs.asarray)
    assert all(gradient.dtype == xs.float32 for gradient in got[1].values()
               if not isinstance(gradient, float))
    assert_close(expected, _numpy(got), 2e-4)


def test_the_same_module_runs_on_numpy_and_torch() -> None:
    torch = pytest.importorskip("torch")
    expected, got, _, _ = both(FLAT["single_layer"], "array-api")
    assert_close(expected, got, 1e-12)
    expected, got, _, _ = both(FLAT["single_layer"], "array-api",
                               convert=lambda a: torch.from_numpy(np.ascontiguousarray(a)))
    assert all(isinstance(gradient, torch.Tensor) for gradient in got[1].values())
    assert_close(expected, (got[0], {k: v.numpy() for k, v in got[1].items()}), 1e-10)


@pytest.mark.parametrize("scalar", [float, np.asarray, "tensor"])
def test_a_scalar_argument_on_torch_tensors_keeps_double_precision(scalar: Any) -> None:
    # PyTorch's x.size is a method (the check read it as an attribute and refused every scalar)
    # and its default dtype is float32 (a Python float lost 8 digits).
    torch = pytest.importorskip("torch")
    derivation = matgrad.derive(FLAT["ridge"])
    function = derivation.compile(backend="array-api")
    rng = np.random.default_rng(3)
    X, y, w = rng.normal(size=(6, 3)), rng.normal(size=(6, 1)), rng.normal(size=(3, 1))
    lam = 0.1234567891234
    given = torch.tensor(lam, dtype=torch.float64) if scalar == "tensor" else scalar(lam)
    value, gradients = function(*(torch.from_numpy(a) for a in (X, y, w)), given)
    expected, expected_gradients = derivation.compile()(X, y, w, lam)
    assert value == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(gradients["w"].numpy(), expected_gradients["w"], rtol=1e-13)
    with pytest.raises(ValueError, match="lam must be a scalar"):
        function(*(torch.from_numpy(a) for a in (X, y, w)), torch.ones(2, dtype=torch.float64))


def test_softmax_is_stable_at_large_logits() -> None:
    derivation = matgrad.derive(PROGRAMS["softmax_regression"])
    function = derivation.compile(backend="array-api")
    names = derivation.python_names
    X = np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [3.0, 1.0]])
    arguments = {names["X"]: X, names["Y"]: np.eye(3)[[0, 1, 2]][:, :3],
                 names["W"]: np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])}
    value, gradients = function(**{key: xs.asarray(v) for key, v in arguments.items()})
    assert np.isfinite(value)
    assert all(np.all(np.isfinite(np.from_dlpack(g))) for g in gradients.values())


def test_the_module_imports_only_array_api_compat_and_is_ruff_clean(tmp_path: Path) -> None:
    source = matgrad.derive(FLAT["classification_2layer"]).source(
        backend="array-api", bind={"f1": "tanh"})
    imports = {line for line in source.splitlines() if line.startswith(("import", "from"))}
    assert imports == {"from array_api_compat import array_namespace"}
    assert not re.search(r"\bnp\.|(?<!xp)\.sum\(", source)
    assert_ruff_clean(source, tmp_path)


@settings(max_examples=FUZZ_EXAMPLES // 12,
          deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_agree_with_numpy(source: str) -> None:
    try:
        expected, got, _, _ = both(source, "array-api", convert=xs.asarray)
    except (np.linalg.LinAlgError, FloatingPointError):
        assume(False)
        return
    value = expected[0]
    assume(np.isfinite(value) and all(np.all(np.isfinite(g)) for g in expected[1].values()))
    assert_close(expected, _numpy(got), 1e-8)
