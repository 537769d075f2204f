"""The Hessian-vector product of a layer loop at symbolic depth, derived once for any k.

The first derivation has a body (J_b = ⟨ΔZ[j], Z[j]⟩ with ΔZ[j] = ∂J/∂Z[j] an input) and an
epilogue (J with the loop's result Z[k] a parameter).  Forward-over-reverse carries a tangent
with every value: Ż[j] along the forward sweep, Δ̇Z[j] along the backward one.  Both come out of
one product derivation of the body (engine/second_order.py) in which ΔZ[j] is differentiated
too, with ∂J_b/∂ΔZ[j] = Z[j] exactly and the directions of the carried values being their
tangents — V_{Z[j-1]} = Ż[j-1], V_{ΔZ[j]} = Δ̇Z[j]:

    its ΔZ[j] component is Ż[j] (the forward tangent: ∂φ/∂ΔZ[j] = dZ[j] along V),
    its Z[j-1] component is Δ̇Z[j-1] (the backward tangent, one layer down),
    its W[j], b[j] components are (∇²J V)_W[j], (∇²J V)_b[j];

and the epilogue's product gives Δ̇Z[k] (its Z[k] component, V_{Z[k]} = Ż[k]) and the
components of the epilogue's parameters.  Ż[0] = 0: start values are data.

Invariants: both parts are products derived by the engine (every step cited); the renaming of
directions to tangents is a substitution of names only; the first derivation is not changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from matgrad.engine.results import (
    Derivation,
    Jacobian,
    Layers,
    LoopDerivation,
    LoopProduct,
    Product,
    flat_fields,
)
from matgrad.engine.second_order import DIRECTION_PREFIX, DOT, THIRD_ORDER, hvp_derivation
from matgrad.errors import UnsupportedError
from matgrad.front.loops import carried_adjoint
from matgrad.ir import indexing
from matgrad.ir.expr import Expr, Sym
from matgrad.rewrite.rules import RuleSet


def tangent_base(base: str) -> str:
    """Ż for Z, Δ̇Z for ΔZ: a dot over the first letter."""
    return base[:1] + DOT + base[1:]


def _renamed(derivation: Derivation, names: dict[str, str]) -> Derivation:
    """The derivation with the symbols `names` maps renamed, everywhere a result reads them."""
    def rename(expr: Expr) -> Expr:
        return indexing.rename(expr, lambda name: names.get(name, name)) if names else expr

    shapes = {names.get(name, name): shape for name, shape in derivation.shapes.items()}
    program = replace(derivation.program, shapes={names.get(n, n): s for n, s in
                                                  derivation.program.shapes.items()},
                      definitions={name: rename(value) for name, value in
                                   derivation.program.definitions.items()},
                      parameters=tuple(names.get(n, n) for n in derivation.program.parameters))
    return replace(derivation, program=program, shapes=shapes,
                   gradients={name: rename(value) for name, value in
                              derivation.gradients.items()},
                   adjoints={name: rename(value) for name, value in
                             derivation.adjoints.items()})


def loop_product(first: LoopDerivation, rules: RuleSet) -> LoopProduct:
    """The products of `first`'s body and epilogue (see the module), as one result."""
    layers = first.layers
    layered = layers.layered
    body, epilogue = layers.body, layers.epilogue
    forward = {base: tangent_base(base) for base in layered.carried}
    backward = {base: tangent_base(carried_adjoint(base, layered).split("[")[0])
                for base in layered.carried}
    extra: dict[str, Expr] = {}
    for base in layered.carried:
        # J_b = Σ ⟨ΔZ[j], Z[j]⟩: its gradient with respect to the input ΔZ[j] is Z[j].
        extra[carried_adjoint(base, layered)] = Sym(layered.at(base, 0))
    extended = replace(body, wrt=(*body.wrt, *extra), gradients={**body.gradients, **extra})
    body_product = hvp_derivation(extended, rules)
    epilogue_product = hvp_derivation(epilogue, rules)
    body_names: dict[str, str] = {}
    for base in layered.carried:
        body_names[body_product.directions[layered.at(base, -1)]] = indexing.make(
            forward[base], indexing.Index(layered.var, -1))
        body_names[body_product.directions[carried_adjoint(base, layered)]] = indexing.make(
            backward[base], indexing.Index(layered.var, 0))
    epilogue_names = {epilogue_product.directions[layered.final(base)]: indexing.make(
        forward[base], indexing.split(layered.final(base))[1])  # type: ignore[index]
        for base in layered.carried}
    for name in (*body_product.adjoints, *epilogue_product.adjoints):
        if name in body_names.values() or name in epilogue_names.values():
            raise UnsupportedError(f"internal: the tangent name {name} is taken; write the "
                                   "layers out (--depth k=3).")
    directions = {name: direction for name, direction in body_product.directions.items()
                  if name in layers.parameters}
    directions.update((name, direction) for name, direction in
                      epilogue_product.directions.items() if name in layers.parameters)
    product_layers = _declared(layers, forward, directions, _renamed(body_product, body_names),
                               _renamed(epilogue_product, epilogue_names))
    return LoopProduct(**flat_fields(product_layers), layers=product_layers, first=first,
                       forward=forward, backward=backward, directions=directions)


def _declared(first: Layers, forward: dict[str, str], directions: dict[str, str],
              body: Derivation, epilogue: Derivation) -> Layers:
    """The products' Layers: the loop's program with the directions declared and the forward
    tangents bound (front/loops.py), so that the loop module's signature and entry checks
    cover them."""
    return Layers(first.layered.with_directions(directions, forward), body, epilogue,
                  first.parameters)


def _third_order(derivation: Derivation, rules: RuleSet) -> Derivation:
    raise UnsupportedError(THIRD_ORDER)


# The Hessian-vector product of each kind of result (every kind has an entry:
# tests/test_kinds.py); a product's own product would be a third derivative.
PRODUCTS: dict[type[Derivation], Callable[[Any, RuleSet], Derivation]] = {
    Derivation: hvp_derivation, Product: _third_order, LoopDerivation: loop_product,
    LoopProduct: _third_order,
    Jacobian: hvp_derivation}  # which refuses a Jacobian, saying what to take instead

__all__ = ["DIRECTION_PREFIX", "PRODUCTS", "loop_product", "tangent_base"]
