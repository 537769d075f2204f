"""Shared by the backend tests: the flat programs every backend must generate (the examples and
the golden programs), and one comparison of a backend's function with the NumPy one at the
same random inputs."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import DEFAULT_BIND, bind_for
from test_golden_modules import BIND, PROGRAMS

import matgrad
from matgrad.check import random_arguments

ROOT = Path(__file__).resolve().parent.parent
LOOP = re.compile(r"^\s*for\s+\w+\s+in\b", re.MULTILINE)  # a layer loop, not a comment
FLAT = {path.stem: path.read_text() for path in sorted((ROOT / "examples").glob("*.mg"))
        if not LOOP.search(path.read_text())}
FLAT |= {name: source for name, source in PROGRAMS.items() if not LOOP.search(source)}

Result = tuple[Any, dict[str, Any]]


def both(source: str, backend: str, dtype: str = "float64", seed: int = 0,
         convert: Callable[[np.ndarray], Any] = lambda array: array,
         bind: dict[str, str] | None = None,
         wrap: Callable[[Callable[..., Any]], Callable[..., Any]] = lambda function: function,
         ) -> tuple[Result, Result, Callable[..., Any], dict[str, Any]]:
    """(NumPy's result, the backend's result, the backend's function, its arguments); `bind`
    overrides the default bindings of abstract functions; the backend's result is that of
    `wrap(function)` (jax.jit: compiled, never run op by op)."""
    derivation = matgrad.derive(source)
    bind = bind_for(derivation, {**DEFAULT_BIND, **BIND, **(bind or {})})
    sizes = {dim: 3 + index for index, dim in enumerate(derivation.program.dims)}
    values = random_arguments(derivation.program, sizes, np.random.default_rng(seed))
    names = derivation.python_names
    arrays = {names[name]: np.asarray(value, dtype=dtype) for name, value in values.items()}
    keywords = {keyword: sizes[dim] for dim, keyword in derivation.size_arguments.items()}
    function = derivation.compile(bind=bind, backend=backend)
    expected = derivation.compile(bind=bind)(**arrays, **keywords)
    arguments = {name: convert(array) for name, array in arrays.items()} | keywords
    return expected, wrap(function)(**arguments), function, arguments


def assert_close(expected: Result, got: Result, rtol: float) -> None:
    value, gradients = expected
    assert float(got[0]) == pytest.approx(value, rel=rtol, abs=rtol)
    assert set(got[1]) == set(gradients)
    for name, gradient in gradients.items():
        scale = max(1.0, float(np.max(np.abs(gradient))))
        np.testing.assert_allclose(np.asarray(got[1][name]), gradient, rtol=rtol,
                                   atol=rtol * scale, err_msg=name)


def assert_ruff_clean(source: str, folder: Path, *options: str) -> None:
    """A generated module passes ruff (pyflakes, pycodestyle, bugbear, pyupgrade; lines of at
    most 100 characters unless `options` say otherwise)."""
    path = folder / "generated.py"
    path.write_text(source, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
                             "--select", "E,F,W,B,UP", "--line-length", "100", *options,
                             str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
