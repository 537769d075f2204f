"""The backends by name: the module source and the compiled function of a derivation.

Flat and layered derivations alike: the caller names a backend and never branches on the kind
of derivation.  NumPy is the only backend so far.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from matgrad.backends.emit import load_function, numpy_source
from matgrad.backends.numpy_loop import loop_numpy_source
from matgrad.codegen.signature import Signature, signature_of
from matgrad.engine.derivation import Derivation
from matgrad.errors import UsageError

BACKENDS = ("numpy",)


def module_source(derivation: Derivation, name: str = "value_and_grad",
                  bind: Mapping[str, str] | None = None, backend: str = "numpy",
                  signature: Signature | None = None, checks: bool = True) -> str:
    """A self-contained module defining `name(...)` → (J, {parameter: gradient}), called as
    `signature` says (by default the derivation's, worked out here).  `checks=False` leaves
    out the conversion and shape tests of array arguments at entry (flat programs)."""
    signature = signature or signature_of(derivation, name)
    if signature.function_name != name:
        raise UsageError(f"the signature is for {signature.function_name}, not {name}.")
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend '{backend}'; the backends are "
                         f"{', '.join(BACKENDS)}.")
    if derivation.layers is not None:
        if not checks:
            raise UsageError("checks=False is for programs without a layer loop: the loop "
                             "module reads its depth and sizes in its entry checks.")
        return loop_numpy_source(derivation.layers, name, dict(bind or {}), signature)
    return numpy_source(derivation, name, dict(bind or {}), signature, checks)


def compiled(derivation: Derivation, name: str = "value_and_grad",
             bind: Mapping[str, str] | None = None,
             backend: str = "numpy", signature: Signature | None = None,
             checks: bool = True) -> Callable[..., Any]:
    """The generated function, executed in a fresh namespace."""
    return load_function(module_source(derivation, name, bind, backend, signature, checks),
                         name)
