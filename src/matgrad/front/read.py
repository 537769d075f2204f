"""Program text → resolved Program in one call (a layered program unrolled at a depth first).

Used by the façades; the check of a loop derivation draws its random inputs from the layers
written out at the depth it checks (`written_out`, from the derivation's own statements: the
source text is not read again).
"""

from __future__ import annotations

from collections.abc import Mapping

from matgrad.errors import UsageError
from matgrad.front.loops import LayeredProgram, expand, has_layers
from matgrad.front.program import Program
from matgrad.front.resolve import resolve_program
from matgrad.front.syntax import parse_program

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
