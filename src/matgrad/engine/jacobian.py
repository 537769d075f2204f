"""Jacobians of matrix-valued expressions, read off the vector-Jacobian product.

For a constant U of F's shape, φ = ⟨U, F⟩ = U · F is a scalar; its gradient with respect to a
parameter X is the vector-Jacobian product Jᵀ vec(U), derived by the engine like any gradient
(every step a cited rule, through U · dF).  It is linear in U, so the Kronecker reader of the
Hessian blocks (engine/kronecker.py) reads the map U ↦ ∇_X φ, whose matrix is J_Xᵀ; its adjoint
(ir/kronecker.adjoint) is J_X = ∂vec(F)/∂vec(X)ᵀ, and J_X applied to dX writes the differential
in the guide's notation: dF = −X⁻¹ dX X⁻¹ for F = X⁻¹, and J_X = −(X⁻ᵀ ⊗ X⁻¹).

Invariants: the program read is not changed (φ's program adds U and φ); a block is exact or
None with the reason, never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from matgrad.engine.derive import derivation_of
from matgrad.engine.kronecker import KroneckerReader, NoClosedForm
from matgrad.engine.results import Jacobian, fields_of
from matgrad.engine.second_order import fresh
from matgrad.errors import UsageError
from matgrad.front.program import Program
from matgrad.ir.dims import SCALAR
from matgrad.ir.expr import Diff, Expr, Frob, Sym, add
from matgrad.ir.kronecker import KroneckerForm, adjoint, applied
from matgrad.rewrite.rules import RuleSet

COTANGENT = "U"  # the constant of F's shape in φ = U · F (fresh if the program uses U)
PHI = "φ"


def vjp_program(program: Program) -> tuple[Program, str]:
    """φ = U · F over the program's values, U a constant parameter of F's shape; U's name."""
    output = program.objective
    taken = set(program.shapes) | set(program.dims) | set(program.definitions)
    cotangent = fresh(COTANGENT, taken)
    objective = fresh(PHI, taken | {cotangent})
    shapes = {**program.shapes, cotangent: program.shapes[output], objective: SCALAR}
    definitions = {**program.definitions, objective: Frob(Sym(cotangent), Sym(output))}
    attributes = {**program.attributes, cotangent: frozenset({"const"})}
    return replace(program, shapes=shapes, definitions=definitions, objective=objective,
                   attributes=attributes, parameters=(*program.parameters, cotangent),
                   unused=program.unused), cotangent


def jacobian_of(program: Program, wrt: Sequence[str], rules: RuleSet) -> Jacobian:
    """The Jacobian of the program's matrix-valued objective with respect to `wrt`."""
    if program.shapes[program.objective] == SCALAR:
        raise UsageError(f"{program.objective} is a scalar: its Jacobian is its gradient "
                         "(transposed); derive it without --jacobian.")
    extended, cotangent = vjp_program(program)
    vjp = derivation_of(extended, tuple(wrt), rules)
    reader = KroneckerReader(vjp, cotangent, frozenset({cotangent}), rules)
    blocks: dict[str, KroneckerForm | None] = {}
    reasons: dict[str, str] = {}
    tidy = reader.tidier.tidy  # Xᵀᵀ = X and −1·A = −A, silently, as after every step
    for name in vjp.wrt:
        try:
            transposed = adjoint(reader.block(vjp.gradients[name]))
        except NoClosedForm as exc:
            blocks[name], reasons[name] = None, f"no closed matrix form found: {exc}"
            continue
        blocks[name] = reader.tidied(transposed)
    differential: Expr | None = None
    if all(block is not None for block in blocks.values()):
        differential = tidy(add([applied(block, Diff(Sym(name)))
                                 for name, block in blocks.items() if block is not None]))
    return Jacobian(**fields_of(vjp), output=program.objective, cotangent=cotangent,
                    blocks=blocks, reasons=reasons, differential=differential)


__all__ = ["COTANGENT", "jacobian_of", "vjp_program"]
