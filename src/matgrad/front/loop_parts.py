"""A layered program made ready for its derivation at symbolic depth: the loop analysed, the
shapes of its carried matrices probed, and the two programs the recursion (23) is derived from
resolved — the body for a generic layer j, `J_b = ΔZ[j] · Z[j]` with ΔZ[j] = ∂J/∂Z[j] an input,
and the code after the loop with the loop's result Z[k] a parameter.  The engine
(engine/layers.py) derives both; it never reads surface syntax.

Shapes of the carried matrices come from a probe: the program unrolled at three layers is
resolved as an ordinary one, and the middle layer's shapes are written back with indices.

Invariants: a loop the derivation cannot handle exactly raises a MatgradError here or in
`analyse` and never yields a wrong recursion; the user's statements are not changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from matgrad.errors import ShapeError, UnsupportedError, UsageError
from matgrad.front.loops import (
    LayeredProgram,
    analyse,
    carried_adjoint,
    expand,
    statement_names,
    stop_value,
)
from matgrad.front.program import Program, differentiated_by_default
from matgrad.front.resolve import resolve_program
from matgrad.front.syntax import Decl, Let, Loop, Objective, SBinary, SName, SSum, Statement, Wrt
from matgrad.ir import indexing
from matgrad.ir.dims import Dim
from matgrad.ir.indexing import Index

PROBE_LAYERS = 3


# ---- shapes by probing -------------------------------------------------------------------


@dataclass(frozen=True)
class _Probe:
    program: Program
    depth: int
    layer: int                                       # the probed generic layer j₀
    origins: dict[str, list[tuple[str, dict[str, int]]]]  # concrete name → (indexed, values)

    def symbolic_dim(self, dim: Dim, layered: LayeredProgram, relative_to: str) -> Dim:
        """A probed size written back with an index: n2 at j₀ = 2 → n[j] (body) or, after the
        loop, relative to the depth: n3 at k = 3 → n[k]."""
        if not isinstance(dim, str) or dim not in self.origins:
            return dim
        candidates = self.origins[dim]
        order = ([layered.var, layered.depth_symbol] if relative_to == layered.var
                 else [layered.depth_symbol, layered.var])
        for symbol in order:
            for name, values in candidates:
                base, index = indexing.split(name)  # type: ignore[misc]
                if index.symbol != symbol:
                    continue
                value = index.value(values)
                anchor = self.layer if relative_to == layered.var else self.depth
                return indexing.make(base, Index(relative_to, value - anchor))
        name, values = candidates[0]
        base, index = indexing.split(name)  # type: ignore[misc]
        return indexing.make(base, Index(None, index.value(values)))

    def shape(self, concrete_name: str, layered: LayeredProgram,
              relative_to: str) -> tuple[str | int, str | int]:
        rows, cols = self.program.shapes[concrete_name]
        symbolic = (self.symbolic_dim(rows, layered, relative_to),
                    self.symbolic_dim(cols, layered, relative_to))
        assert all(isinstance(dim, (str, int)) for dim in symbolic), "resolved shapes are named"
        return symbolic  # type: ignore[return-value]


def _probe(layered: LayeredProgram, statements: list[Statement]) -> _Probe:
    loop = layered.loop
    depth = loop.start + PROBE_LAYERS - 1 - loop.stop[1]
    values = {layered.depth_symbol: depth}
    origins: dict[str, list[tuple[str, dict[str, int]]]] = {}

    def record(statement: Statement, at: dict[str, int]) -> None:
        for name in statement_names(statement):
            made = indexing.concrete(name, at)
            if made is not None:
                origins.setdefault(made, []).append((name, dict(at)))

    for statement in statements:
        if isinstance(statement, Loop):
            for layer in range(loop.start, stop_value(loop, values) + 1):
                for inner in statement.body:
                    record(inner, {**values, loop.var: layer})
        else:
            record(statement, values)
    try:
        program = resolve_program(layered.source, expand(statements, values))
    except ShapeError as error:
        raise ShapeError(f"{error} (in the layers written out for {layered.depth_symbol} = "
                         f"{depth})") from None
    return _Probe(program, depth, loop.start + 1, origins)


# ---- the two derivations -------------------------------------------------------------------


def _top_declarations(layered: LayeredProgram) -> list[Decl]:
    return [s for s in (*layered.prologue, *layered.epilogue) if isinstance(s, Decl)]


def _wanted(wrt: Sequence[str] | None, attributes: frozenset[str]) -> Callable[[str], bool]:
    def wanted(name: str) -> bool:
        if wrt is None:
            return differentiated_by_default(attributes)
        return name in wrt or indexing.base_of(name) in wrt
    return wanted


def _body_statements(layered: LayeredProgram, probe: _Probe, objective: str) -> list[Statement]:
    loop = layered.loop
    statements: list[Statement] = list(_top_declarations(layered))
    statements += [s for s in loop.body if isinstance(s, Decl)]
    frob_terms: list[tuple[bool, SBinary]] = []
    for base in layered.carried:
        before = indexing.make(base, Index(None, probe.layer - 1))
        made_before = indexing.concrete(before, {}) or before
        made_here = indexing.concrete(indexing.make(base, Index(None, probe.layer)), {}) or base
        statements.append(Decl(layered.at(base, -1), probe.shape(made_before, layered, loop.var),
                               (), loop.pos))
        adjoint = carried_adjoint(base, layered)
        statements.append(Decl(adjoint, probe.shape(made_here, layered, loop.var), ("data",),
                               loop.pos))
        frob_terms.append((False, SBinary(loop.pos, "frob", SName(loop.pos, adjoint),
                                          SName(loop.pos, layered.at(base, 0)))))
    statements += [s for s in loop.body if isinstance(s, Let)]
    total = frob_terms[0][1] if len(frob_terms) == 1 else SSum(loop.pos, tuple(frob_terms))
    statements.append(Let(objective, total, loop.pos))
    return statements


def _epilogue_statements(layered: LayeredProgram, probe: _Probe) -> list[Statement]:
    statements: list[Statement] = list(_top_declarations(layered))
    for base in layered.carried:
        final = layered.final(base)
        made = indexing.concrete(final, {layered.depth_symbol: probe.depth}) or final
        statements.append(Decl(final, probe.shape(made, layered, layered.depth_symbol), (),
                               layered.loop.pos))
    statements += [s for s in layered.epilogue if not isinstance(s, (Decl, Wrt))]
    return statements


def _objective_name(layered: LayeredProgram) -> str:
    named = [s.name for s in layered.epilogue if isinstance(s, Objective)]
    lets = [s.name for s in layered.epilogue if isinstance(s, Let)]
    if named:
        return named[-1]
    if not lets:
        raise UsageError("after the loop, bind the objective, e.g. J = 1/(2*t) * ||Z[k] - Y||^2.")
    return lets[-1]


@dataclass(frozen=True)
class LayerParts:
    """What the engine derives a loop from: the two resolved programs, the names that join
    them (the carried inputs Z[j-1] of the body, the finals Z[k] of the epilogue) and which
    parameters are differentiated."""

    layered: LayeredProgram
    body: Program
    epilogue: Program
    carried_inputs: tuple[str, ...]
    finals: tuple[str, ...]
    wanted: Callable[[str], bool]


def layer_parts(source: str, statements: list[Statement], wrt: Sequence[str] | None
                ) -> LayerParts:
    """The loop of `statements` analysed and its two programs resolved (see the module);
    `wrt` (default: the program's `wrt` line, else every parameter not data or const)."""
    layered = analyse(source, statements)
    chosen_wrt = wrt
    if chosen_wrt is None:
        named = [s for s in statements if isinstance(s, Wrt)]
        chosen_wrt = named[-1].names if named else None
    probe = _probe(layered, statements)
    objective = _objective_name(layered)
    declared = {s.name: frozenset(s.attributes) for s in statements if isinstance(s, Decl)}
    declared.update((s.name, frozenset(s.attributes)) for s in layered.loop.body
                    if isinstance(s, Decl))

    def wants(name: str) -> bool:
        return _wanted(chosen_wrt, declared.get(name, frozenset()))(name)

    # The start values must not depend on what is differentiated: they are inputs of the loop.
    for start in layered.start_values.values():
        for name in statement_names(start):
            if name != start.name and name in declared and wants(name):
                raise UnsupportedError(
                    f"line {start.pos.line}: the start value {start.name} reads '{name}', which "
                    "is differentiated; matgrad derives loops whose start values are data "
                    f"(mark {name} as data, or write the layers out with --depth).")
    body_reads = {name for s in layered.loop.body if isinstance(s, Let)
                  for name in statement_names(s) if indexing.split(name) is None}
    for name in sorted(body_reads):
        if name in probe.program.parameters and wants(name):
            raise UnsupportedError(
                f"the loop body reads '{name}', a parameter shared by every layer: its gradient "
                "would be a sum over the layers, which matgrad does not derive in a loop yet; "
                f"give it an index ({name}[{layered.var}]) or write the layers out (--depth).")
    return LayerParts(
        layered, resolve_program(source, _body_statements(layered, probe, objective)),
        resolve_program(source, _epilogue_statements(layered, probe)),
        tuple(layered.at(base, -1) for base in layered.carried),
        tuple(layered.final(base) for base in layered.carried), wants)
