"""A user's matrix named like a backend's library (`torch`, `jnp`, `cp`, `np`, `dask`, `da`,
`xp`, `array_namespace`) is renamed in the generated code of every backend, never shadowing
the module it calls."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import matgrad

ALIASES = ["np", "jnp", "torch", "cp", "dask", "da", "xp", "array_namespace"]
BACKENDS = {"numpy": None, "jax": "jax", "torch": "torch", "cupy": None,
            "array-api": "array_api_compat"}


@pytest.mark.parametrize("alias", ALIASES)
@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_a_matrix_named_like_a_library(alias: str, backend: str,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    if BACKENDS[backend]:
        pytest.importorskip(BACKENDS[backend])
    if backend == "cupy":
        monkeypatch.setitem(sys.modules, "cupy", np)  # NumPy stands in (test_cupy_backend.py)
    derivation = matgrad.derive(f"{alias}: n x 1\nJ = sum(square({alias}))")
    identifier = derivation.python_names[alias]
    assert identifier != alias
    value = np.arange(1.0, 4.0).reshape(3, 1)
    J, gradients = derivation.compile(backend=backend)(**{identifier: value})
    assert float(J) == pytest.approx(14.0)
    np.testing.assert_allclose(np.asarray(gradients[alias]), 2 * value)
