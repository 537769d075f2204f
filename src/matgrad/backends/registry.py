"""The backends by name: the module source and the compiled function of a derivation.

Flat and layered derivations alike: the caller names a backend and never branches on the kind
of derivation.  Adding a backend is one module (its `Backend` table) and one line here; the
Dask backend (row blocks of NumPy code reduced by a tree) is assembled by backends/dask.py
from the NumPy code of the derivation's row-block split.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

from matgrad.backends.array_api import ARRAY_API
from matgrad.backends.cupy import CUPY
from matgrad.backends.dask import dask_module_source
from matgrad.backends.jax import JAX
from matgrad.backends.numpy import NUMPY, NUMPY_BATCHED
from matgrad.backends.torch import TORCH
from matgrad.codegen.backend import Backend
from matgrad.codegen.computation import computation_of
from matgrad.codegen.emit import (
    PythonEmitter,
    accepting_declared_names,
    checked_source,
    load_function,
)
from matgrad.codegen.hessian_module import hessian_source
from matgrad.codegen.loop_module import loop_module_source
from matgrad.codegen.loop_product_module import loop_product_source
from matgrad.codegen.signature import Signature, signature_of
from matgrad.engine.hessian import Hessian
from matgrad.engine.results import Derivation, Jacobian, LoopDerivation, LoopProduct, Product
from matgrad.engine.row_loops import row_blocks_of
from matgrad.errors import UsageError
from matgrad.rewrite.rules import load_rules

BACKENDS: dict[str, Backend] = {backend.name: backend
                                 for backend in (NUMPY, JAX, TORCH, CUPY, ARRAY_API)}
# Backends that are not a table of spellings: name → (library to import, how to install it).
ASSEMBLED = {"dask": ("dask", 'pip install "matgrad[dask]"')}
BACKEND_NAMES = (*BACKENDS, *ASSEMBLED)


def backend_named(name: str) -> Backend:
    if name not in BACKENDS:
        raise UsageError(f"unknown backend '{name}'; the backends are "
                         f"{', '.join(BACKEND_NAMES)}.")
    return BACKENDS[name]


def _dask_source(derivation: Derivation, name: str, bind: Mapping[str, str] | None,
                 signature: Signature, rows: str | None) -> str:
    split = row_blocks_of(derivation, load_rules(), rows)
    return dask_module_source(derivation, split, name, dict(bind or {}), signature)


def module_source(derivation: Derivation, name: str = "value_and_grad",
                  bind: Mapping[str, str] | None = None, backend: str = "numpy",
                  signature: Signature | None = None, checks: bool = True,
                  rows: str | None = None) -> str:
    """A self-contained module defining `name(...)` → (J, {parameter: gradient}), called as
    `signature` says (by default the derivation's, worked out here).  `checks=False` leaves
    out the conversion and shape tests of array arguments at entry (flat programs); `rows`
    names the dimension the Dask backend splits into blocks (default: the data's rows)."""
    return checked_source(_module_text(derivation, name, bind, backend, signature, checks, rows),
                          name)


def _module_text(derivation: Derivation, name: str, bind: Mapping[str, str] | None,
                 backend: str, signature: Signature | None, checks: bool,
                 rows: str | None) -> str:
    if backend in ASSEMBLED:
        signature = signature or signature_of(derivation, name)
        return _dask_source(derivation, name, bind, signature, rows)
    chosen = backend_named(backend)
    signature = signature or signature_of(derivation, name)
    if signature.function_name != name:
        raise UsageError(f"the signature is for {signature.function_name}, not {name}.")
    return MODULES[type(derivation)](derivation, name, dict(bind or {}), signature, chosen,
                                     checks)


def _flat_module(derivation: Derivation, name: str, bind: dict[str, str], signature: Signature,
                 backend: Backend, checks: bool) -> str:
    return PythonEmitter(computation_of(derivation), backend, name, bind, signature=signature,
                         checks=checks).module().source


def _loop_checks(checks: bool) -> None:
    if not checks:
        raise UsageError("checks=False is for programs without a layer loop: the loop "
                         "module reads its depth and sizes in its entry checks.")


def _loop_module(derivation: LoopDerivation, name: str, bind: dict[str, str],
                 signature: Signature, backend: Backend, checks: bool) -> str:
    _loop_checks(checks)
    return loop_module_source(derivation.layers, backend, name, bind, signature)


def _loop_product_module(derivation: LoopProduct, name: str, bind: dict[str, str],
                         signature: Signature, backend: Backend, checks: bool) -> str:
    _loop_checks(checks)
    return loop_product_source(derivation, backend, name, bind, signature)


# The module of each kind of result (every kind has an entry: tests/test_kinds.py).
MODULES: dict[type[Derivation], Callable[[Any, str, dict[str, str], Signature, Backend, bool],
                                         str]] = {
    Derivation: _flat_module, Product: _flat_module, LoopDerivation: _loop_module,
    LoopProduct: _loop_product_module,
    # A Jacobian's module is its vector-Jacobian product: the gradient of U · F.
    Jacobian: _flat_module}


def hessian_module_source(hessian: Hessian, name: str = "hessian",
                          bind: Mapping[str, str] | None = None) -> str:
    """The NumPy module of a Hessian's blocks (codegen/hessian_module.py)."""
    return hessian_source(hessian, NUMPY, name, bind, NUMPY_BATCHED)


def compiled(derivation: Derivation, name: str = "value_and_grad",
             bind: Mapping[str, str] | None = None, backend: str = "numpy",
             signature: Signature | None = None,
             checks: bool = True, rows: str | None = None) -> Callable[..., Any]:
    """The generated function, executed in a fresh namespace (its library must be installed:
    a missing one is an error that says how to install it)."""
    library, install = ASSEMBLED.get(backend) or (backend_named(backend).library,
                                                  backend_named(backend).install)
    if importlib.util.find_spec(library) is None:
        raise UsageError(f"the {backend} backend needs {library}, which is not "
                         f"installed: {install}.")
    signature = signature or signature_of(derivation, name)
    # Compiled once: load_function's compile refuses a module that cannot compile as
    # module_source's check does, in the same words.
    function = load_function(_module_text(derivation, name, bind, backend, signature, checks,
                                          rows), name)
    return accepting_declared_names(function, signature.arguments)
