"""The backends by name: the module source and the compiled function of a derivation.

Flat and layered derivations alike: the caller names a backend and never branches on the kind
of derivation.  Adding a backend is one module (its `Backend` table) and one line here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

from matgrad.backends.base import Backend
from matgrad.backends.emit import NumpyGenerator, load_function
from matgrad.backends.jax import JAX
from matgrad.backends.numpy import NUMPY
from matgrad.backends.numpy_loop import loop_numpy_source
from matgrad.backends.torch import TORCH
from matgrad.codegen.signature import Signature, signature_of
from matgrad.engine.derivation import Derivation
from matgrad.errors import UnsupportedError, UsageError

BACKENDS: dict[str, Backend] = {backend.name: backend for backend in (NUMPY, JAX, TORCH)}


def backend_named(name: str) -> Backend:
    if name not in BACKENDS:
        raise UsageError(f"unknown backend '{name}'; the backends are "
                         f"{', '.join(BACKENDS)}.")
    return BACKENDS[name]


def module_source(derivation: Derivation, name: str = "value_and_grad",
                  bind: Mapping[str, str] | None = None, backend: str = "numpy",
                  signature: Signature | None = None, checks: bool = True) -> str:
    """A self-contained module defining `name(...)` → (J, {parameter: gradient}), called as
    `signature` says (by default the derivation's, worked out here).  `checks=False` leaves
    out the conversion and shape tests of array arguments at entry (flat programs)."""
    chosen = backend_named(backend)
    signature = signature or signature_of(derivation, name)
    if signature.function_name != name:
        raise UsageError(f"the signature is for {signature.function_name}, not {name}.")
    if derivation.layers is not None:
        if chosen is not NUMPY:
            raise UnsupportedError(f"the {chosen.name} backend generates programs without a "
                                   "layer loop so far; write the layers out (depth={'k': 4}, "
                                   "--depth k=4) or use the numpy backend.")
        if not checks:
            raise UsageError("checks=False is for programs without a layer loop: the loop "
                             "module reads its depth and sizes in its entry checks.")
        return loop_numpy_source(derivation.layers, name, dict(bind or {}), signature)
    return NumpyGenerator(derivation, name, dict(bind or {}), signature=signature,
                          checks=checks, backend=chosen).generate()


def compiled(derivation: Derivation, name: str = "value_and_grad",
             bind: Mapping[str, str] | None = None, backend: str = "numpy",
             signature: Signature | None = None,
             checks: bool = True) -> Callable[..., Any]:
    """The generated function, executed in a fresh namespace (its library must be installed:
    a missing one is an error that says how to install it)."""
    chosen = backend_named(backend)
    if importlib.util.find_spec(chosen.library) is None:
        raise UsageError(f"the {chosen.name} backend needs {chosen.library}, which is not "
                         f"installed: {chosen.install}.")
    return load_function(module_source(derivation, name, bind, backend, signature, checks),
                         name)
