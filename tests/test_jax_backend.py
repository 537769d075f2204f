"""The JAX backend against the NumPy backend: every flat example and representative program, the
random-program property, float64 (x64) and float32, under `jax.jit` and `jax.vmap`, stable at
logits ±1000; the module imports only jax and passes ruff.

Tolerances: float64 1e-10 relative (the same formulas, a different BLAS and fusion); float32
2e-4 relative to the gradient's size.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from backend_cases import FLAT, PROGRAMS, assert_close, assert_ruff_clean, both
from helpers import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from programs import programs

import matgrad
from matgrad.backends import registry

# One XLA thread: the suite runs one pytest worker per core, and XLA's thread pool would take
# the cores from the other worker.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")
os.environ.setdefault("PJRT_NPROC", "1")
jax = pytest.importorskip("jax", reason="jax is not installed (pip install 'matgrad[jax]')")
jax.config.update("jax_enable_x64", True)

ROOT = Path(__file__).resolve().parent.parent


def _both(source: str, dtype: str = "float64", seed: int = 0) -> Any:
    return both(source, "jax", dtype, seed)


_assert_close = assert_close


@pytest.mark.parametrize("name", ["single_layer", "softmax_regression", "trace_inverse"])
def test_jax_agrees_with_numpy(name: str) -> None:
    """Eagerly (op by op, slow in JAX: three programs); every program is compared under jit."""
    expected, got, _, _ = _both(FLAT[name])
    _assert_close(expected, got, 1e-10)


# Compiled, every flat example and golden program (0.1–0.5 s each to compile; op by op, JAX takes
# longer, so only three run eagerly above).
@pytest.mark.parametrize("name", sorted(FLAT))
def test_jax_under_jit_agrees_with_numpy(name: str) -> None:
    expected, got, _, _ = both(FLAT[name], "jax", seed=1, wrap=jax.jit)
    _assert_close(expected, got, 1e-10)


@pytest.mark.parametrize("name", ["single_layer", "logistic_regression"])
def test_jax_float32_stays_float32(name: str) -> None:
    expected, got, _, _ = _both(FLAT[name], dtype="float32", seed=2)
    assert all(np.asarray(gradient).dtype == np.float32 for gradient in got[1].values())
    _assert_close(expected, got, 2e-4)


def test_jax_vmaps_over_a_batch_of_weights() -> None:
    derivation = matgrad.derive(FLAT["single_layer"])
    function = derivation.compile(bind={"f": "tanh"}, backend="jax")
    rng = np.random.default_rng(3)
    X, Y, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 2)), rng.normal(size=(1, 2))
    weights = rng.normal(size=(4, 3, 2))
    batched = jax.vmap(lambda W: function(X, Y, W, b))(weights)
    numpy_function = derivation.compile(bind={"f": "tanh"})
    for index in range(4):
        value, gradients = numpy_function(X, Y, weights[index], b)
        assert float(batched[0][index]) == pytest.approx(value, rel=1e-12)
        np.testing.assert_allclose(np.asarray(batched[1]["W"][index]), gradients["W"],
                                   rtol=1e-12)


def test_jax_softmax_is_stable_at_large_logits() -> None:
    source = PROGRAMS["softmax_regression"]
    derivation = matgrad.derive(source)
    function = derivation.compile(backend="jax")
    X = np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [3.0, 1.0]])
    Y = np.eye(3)[[0, 1, 2]]
    W = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, -1.0]])
    value, gradients = function(X, Y, W)
    assert np.isfinite(float(value)) and np.all(np.isfinite(np.asarray(gradients["W"])))
    expected, expected_gradients = derivation.compile()(X, Y, W)
    assert float(value) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(np.asarray(gradients["W"]), expected_gradients["W"], rtol=1e-12)


def test_the_jax_module_imports_only_jax_and_passes_ruff(tmp_path: Path) -> None:
    derivation = matgrad.derive(FLAT["gaussian_nll"])
    source = derivation.source("jax")
    imports = [node for node in ast.walk(ast.parse(source))
               if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [ast.unparse(node) for node in imports] == ["import jax.numpy as jnp"]
    assert "np." not in source.replace("jnp.", "")
    assert_ruff_clean(source, tmp_path)


def test_jax_loops_generate_and_unknown_backends_are_refused_with_the_reason() -> None:
    loop = matgrad.derive((ROOT / "examples" / "regression_loop.mg").read_text())
    source = loop.source("jax", bind={"f[j]": "tanh"})  # tests/test_backend_loops.py runs it
    assert "import jax.numpy as jnp" in source and "for j in range(" in source
    with pytest.raises(matgrad.UsageError, match="the backends are numpy, jax"):
        loop.source("tensorflow")


def test_a_missing_library_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(registry.importlib.util, "find_spec",
                        lambda name, *rest: None if name == "jax" else real(name, *rest))
    derivation = matgrad.derive(FLAT["least_squares"])
    with pytest.raises(matgrad.UsageError, match=r"pip install \"matgrad\[jax\]\""):
        derivation.compile(backend="jax")


# Eager JAX dispatches op by op (about 1 s a program): 5 by default, more in long runs.
@settings(max_examples=FUZZ_EXAMPLES // 30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_jax_agrees_with_numpy_on_random_programs(source: str) -> None:
    expected, got, _, _ = _both(source, seed=4)
    _assert_close(expected, got, 1e-9)


def test_the_cli_prints_the_jax_module() -> None:
    result = subprocess.run([sys.executable, "-m", "matgrad", str(ROOT / "examples" /
                                                                 "single_layer.mg"),
                             "--backend", "jax", "--bind", "f=tanh"],
                            capture_output=True, text=True, check=False, encoding="utf-8")
    assert result.returncode == 0, result.stderr
    assert "import jax.numpy as jnp" in result.stdout and "jnp.tanh(A)" in result.stdout
    loop = subprocess.run([sys.executable, "-m", "matgrad", str(ROOT / "examples" /
                                                               "regression_loop.mg"),
                           "--backend", "array-api", "--bind", "f[j]=tanh"],
                          capture_output=True, text=True, check=False, encoding="utf-8")
    assert loop.returncode == 0, loop.stderr
    assert "xp = array_namespace(X, Y, *W, *b)" in loop.stdout
