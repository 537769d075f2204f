"""Derivation of a layered program at symbolic depth: the recursion (23) derived once, for any k.

The loop body is derived once, for a generic layer j, as the program `J = ΔZ[j] · Z[j]` in which
ΔZ[j] = ∂J/∂Z[j] is an input: the engine gives ∂J/∂W[j], ∂J/∂b[j], the layer's adjoints (Δ[j])
and ∂J/∂Z[j-1].  The code after the loop (the epilogue) is derived once with the loop's result
Z[k] as a parameter, which gives ∂J/∂Z[k].  The adjoint recursion joins the two, as the guide's
(20)–(22) unroll:
    ΔZ[k] = ∂J/∂Z[k] (epilogue),     ΔZ[j] = (∂J/∂Z[j-1] of the body) at layer j+1, for j < k.
Both programs come resolved from the front end (front/loop_parts.py).

Invariants: both parts are ordinary derivations by the rules (every step cited); nothing is
specialised to a network shape; a loop the derivation cannot handle exactly raises a
MatgradError and never yields a wrong recursion — the tests check this result against the
unrolled programs for k = 1…8.
"""

from __future__ import annotations

from collections.abc import Callable

from matgrad.engine.derive import derivation_of
from matgrad.engine.results import (
    Derivation,
    Layers,
    LoopDerivation,
    layered_derivation,
)
from matgrad.errors import UnsupportedError, UsageError
from matgrad.front.loop_parts import LayerParts
from matgrad.front.loops import ADJOINT_PREFIX
from matgrad.front.program import Program
from matgrad.ir import indexing
from matgrad.ir.expr import Sym
from matgrad.rewrite.rules import RuleSet


def _derive_part(program: Program, wrt_of: Callable[[Program], list[str]],
                 rules: RuleSet, outer_nodes: list[str]) -> Derivation:
    return derivation_of(program, tuple(wrt_of(program)), rules, frozenset(outer_nodes))


def derive_layers(parts: LayerParts, rules: RuleSet) -> LoopDerivation:
    """The loop derivation of `parts` (front/loop_parts.py): both programs derived by the
    rules, joined by the recursion."""
    layered, carried_inputs, finals, wants = (parts.layered, list(parts.carried_inputs),
                                              list(parts.finals), parts.wanted)
    body = _derive_part(
        parts.body,
        lambda program: carried_inputs + [name for name in program.parameters
                                          if name not in carried_inputs and wants(name)
                                          and not indexing.base_of(name).startswith(
                                              ADJOINT_PREFIX)],
        rules, carried_inputs)
    epilogue = _derive_part(
        parts.epilogue,
        lambda program: finals + [name for name in program.parameters
                                  if name not in finals and wants(name)],
        rules, finals)
    # Every name the recursion shifts (j → j+1) must be an indexed name, or the shift would
    # silently miss it and print a wrong recursion: refuse instead.
    names = list(body.adjoints) + [node.name for expr in (*body.gradients.values(),
                                                          *body.adjoints.values())
                                   for node in expr.walk() if isinstance(node, Sym)]
    for name in names:
        if "[" in name and indexing.split(name) is None:
            raise UnsupportedError(f"internal: the layer's result names '{name}', which is "
                                   "not an indexed name; write the layers out (--depth).")
    parameters = tuple(name for name in (*body.wrt, *epilogue.wrt)
                       if name not in carried_inputs and name not in finals)
    if not parameters:
        raise UsageError("there is nothing to differentiate: no layer or epilogue parameter is "
                         "free (all are marked data/const, or wrt names none).")
    return layered_derivation(Layers(layered, body, epilogue, parameters))
