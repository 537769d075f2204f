"""What a flat module computes, as code generation sees it: a `Computation` — the program, the
arrays it returns (a gradient's components, a product's (∇²J V)ₖ, a Hessian's parts), the named
values they read, and what the docstring says.  Code generation takes a Computation, never an
engine result; `COMPUTATIONS` builds one from each flat kind (a loop's module is assembled from
the computations of its parts, codegen/loop_module.py), and the Hessian module builds its own
(codegen/hessian_module.py) instead of dressing its parts up as a derivation.

Invariants: frozen; `outputs` are returned in their order; `objective` names J even for a
product (whose program's objective is φ); `directions` is None exactly when the module returns
J with its outputs (a gradient), else the product's direction names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from matgrad.engine.results import Derivation, Jacobian, Product
from matgrad.front.program import Program
from matgrad.ir.dims import Shape
from matgrad.ir.expr import Expr


@dataclass(frozen=True)
class Computation:
    """A flat module's content (see the module)."""

    program: Program
    shapes: dict[str, Shape]
    outputs: dict[str, Expr]        # returned, in order: name → value
    intermediates: dict[str, Expr]  # named values the outputs read (the adjoints Δ)
    node_adjoints: dict[str, Expr]  # forward node → its adjoint, for temporaries' names
    objective: str                  # the J the module's docstring names
    directions: dict[str, str] | None = None  # a product's directions; None: a gradient
    # Outputs only generated code reads (a Hessian's factors): returned as computed, never
    # copied (every other output is an array of its own the caller may change).
    read_only_outputs: frozenset[str] = frozenset()

    @property
    def returns_objective(self) -> bool:
        """Whether the module returns J beside its outputs (a gradient does; a product and a
        Hessian's parts do not)."""
        return self.directions is None


def _gradient(derivation: Derivation) -> Computation:
    return Computation(derivation.program, dict(derivation.shapes), dict(derivation.gradients),
                       dict(derivation.adjoints), dict(derivation.node_adjoints),
                       derivation.objective)


def _product(product: Product) -> Computation:
    return Computation(product.program, dict(product.shapes), dict(product.gradients),
                       dict(product.adjoints), dict(product.node_adjoints),
                       product.first.objective, dict(product.directions))


# The computation of each flat kind of result.
COMPUTATIONS: dict[type[Derivation], Callable[[Any], Computation]] = {
    Derivation: _gradient, Product: _product,
    Jacobian: _gradient}  # the vector-Jacobian product: the gradient of U · F


def computation_of(derivation: Derivation) -> Computation:
    """The computation of a flat result (a gradient or a Hessian-vector product)."""
    return COMPUTATIONS[type(derivation)](derivation)
