"""The front end's one entry: program text → a resolved Program, or a layer loop's two
resolved programs (front/loop_parts.py) when it is derived at symbolic depth; and the rule of
which parameters are differentiated by default.

Used by the façades; the check of a loop derivation draws its random inputs from the layers
written out at the depth it checks (`written_out`, from the derivation's own statements: the
source text is not read again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Literal

from matgrad.errors import UsageError
from matgrad.front.loop_parts import LayerParts, layer_parts
from matgrad.front.loops import LayeredProgram, expand, has_layers, statement_names
from matgrad.front.naming import name_layer_arguments
from matgrad.front.program import Program, differentiated_by_default
from matgrad.front.resolve import resolve_program
from matgrad.front.syntax import Loop, Statement, parse_program
from matgrad.ir import indexing

TOO_DEEP = "the program is nested too deeply to derive; split it into let-bindings such as `A = …`."


def read_program(source: str, depth: Mapping[str, int] | None = None) -> Program:
    """Parse and resolve a program (shapes inferred, broadcasting made explicit); a layered
    program is unrolled at `depth` first (W[j] of layer 2 becomes W2)."""
    try:
        statements = parse_program(source)
        if has_layers(statements):
            statements = expand(statements, depth or {})
        return resolve_program(source, statements)
    except RecursionError:
        raise UsageError(TOO_DEEP) from None


def written_out(layered: LayeredProgram, depth: int) -> Program:
    """The layered program with its loop written out at `depth` layers (W[j] of layer 2 is
    W2), resolved from the statements the derivation analysed."""
    statements = [*layered.prologue, layered.loop, *layered.epilogue]
    try:
        return resolve_program(layered.source,
                               expand(statements, {layered.depth_symbol: depth}))
    except RecursionError:
        raise UsageError(TOO_DEEP) from None


def _is_symbolic(statements: list[Statement]) -> bool:
    """A loop to a size name (`1..k`) or an index in a name that only a depth would fix."""
    if any(isinstance(s, Loop) and s.stop[0] is not None for s in statements):
        return True
    loop_vars = {s.var for s in statements if isinstance(s, Loop)}
    return any((parts := indexing.split(name)) is not None and parts[1].symbol is not None
               and parts[1].symbol not in loop_vars
               for s in statements for name in statement_names(s))


def read_for_derivation(source: str, wrt: Sequence[str] | None = None,
                        depth: Mapping[str, int] | None = None,
                        names: Literal["guide", "inline"] = "guide",
                        matrix_objective: bool = False,
                        symmetric: str = "frobenius") -> Program | LayerParts:
    """What the engine derives: the resolved program, or — for a layer loop to a size name,
    derived once for any depth — its two programs (`wrt` decides which loop parameters are
    differentiated there; a flat program's is chosen by `chosen_wrt`).  A `depth` writes the
    layers out first."""
    statements = parse_program(source)
    if depth and not has_layers(statements):
        raise UsageError(f"a depth ({', '.join(sorted(depth))}) is for a program with a "
                         "layer loop (for j in 1..k: … end), and this one has none: leave "
                         "it out.")
    if has_layers(statements):
        if matrix_objective:
            raise UsageError("Jacobians of a program with a layer loop are not derived yet: "
                             "derive a scalar objective of its result instead.")
        if symmetric != "frobenius":
            raise UsageError("a program with a layer loop reads symmetric parameters with the "
                             "frobenius convention only: leave symmetric= (--symmetric) out.")
        if names == "guide":
            statements = name_layer_arguments(statements)
        if depth is None and _is_symbolic(statements):
            return layer_parts(source, statements, wrt)
        statements = expand(statements, depth or {})
    program = resolve_program(source, statements, names, matrix_objective)
    return replace(program, symmetric_gradient=symmetric)


def chosen_wrt(program: Program, wrt: Sequence[str] | None) -> tuple[str, ...]:
    """The parameters differentiated: `wrt` as given, else the program's `wrt` line, else
    every free symbol not marked data or const; a name that is let-bound or not read is an
    error that says what to write."""
    if wrt is None:
        if program.wrt is not None:
            wrt = program.wrt
        else:
            wrt = [name for name in program.parameters
                   if differentiated_by_default(program.attributes.get(name, frozenset()))]
    chosen = tuple(dict.fromkeys(wrt))
    known = set(program.parameters)
    refuse_let_bound(program, chosen)
    for name in chosen:
        if name not in known:
            candidates = ", ".join(program.parameters) or "(none)"
            raise UsageError(f"cannot differentiate with respect to '{name}': the objective "
                             f"{program.objective} does not use it. Its free symbols are: "
                             f"{candidates}.")
    if not chosen:
        raise UsageError(f"there is nothing to differentiate: the objective {program.objective} "
                         "has no free symbols (or all are marked data/const).")
    return chosen


def refuse_let_bound(program: Program, wrt: Sequence[str]) -> None:
    """A let-bound name cannot be differentiated with respect to: say what can."""
    for name in wrt:
        if name in program.definitions:
            raise UsageError(f"'{name}' is defined by a let-binding; gradients are taken with "
                             "respect to free symbols such as "
                             f"{', '.join(program.parameters) or 'W'}.")
