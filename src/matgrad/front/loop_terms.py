"""The objective of a layered program term by term, for the row-block split of a loop (the
Dask backend's loops; engine/row_loops.py decides the split): each term alone written out at a
depth, and the block program — the loop program with its penalty terms weighted by
`first_block` (1 on one block, 0 on the others) and the rows read as a number replaced by
`all_rows` (in a block, t is the block's rows) — made ready for its derivation.

Invariants: the user's statements are not changed (new ones are built); a construct whose
meaning would change on a block and that is not rewritten here (`mean`, which reads the rows
from a shape) is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from matgrad.errors import UnsupportedError
from matgrad.front.loop_parts import LayerParts, layer_parts
from matgrad.front.loops import LayeredProgram, expand, statement_names
from matgrad.front.program import Program
from matgrad.front.resolve import resolve_program
from matgrad.front.syntax import Decl, Let, Loop, SBinary, SCall, SExpr, SName, SSum, Statement

# Calls whose arguments are sizes, not numbers: ones(t, 1) is a block's rows in a block.
SIZE_CALLS = frozenset({"ones", "zeros", "eye"})


def _map_surface(node: SExpr, change: Callable[[SExpr], SExpr | None]) -> SExpr:
    """`node` with every subexpression that `change` replaces (None: keep, look inside)."""
    changed = change(node)
    if changed is not None:
        return changed
    updates: dict[str, Any] = {}
    for field in fields(node):
        value = getattr(node, field.name)
        if isinstance(value, SExpr):
            updates[field.name] = _map_surface(value, change)
        elif isinstance(value, tuple):
            updates[field.name] = tuple(
                _map_surface(item, change) if isinstance(item, SExpr) else
                (item[0], _map_surface(item[1], change)) if isinstance(item, tuple) else item
                for item in value)
    return replace(node, **updates)


def _callee(node: SExpr) -> str | None:
    return node.callee.name if isinstance(node, SCall) and isinstance(node.callee, SName) \
        else None


def _with_total_rows(value: SExpr, rows: str, total: str) -> SExpr:
    """`value` with the size `rows` read as a number replaced by the scalar `total`."""
    def change(node: SExpr) -> SExpr | None:
        if _callee(node) == "mean":
            raise UnsupportedError(
                "mean(…) reads its count from a shape, which is a block's in a row block: "
                f"write sum(x)/{rows} for the Dask backend.")
        if _callee(node) in SIZE_CALLS:
            return node
        if isinstance(node, SName) and node.name == rows:
            return SName(node.pos, total)
        return None
    return _map_surface(value, change)


def _terms(value: SExpr) -> list[tuple[bool, SExpr]]:
    return list(value.terms) if isinstance(value, SSum) else [(False, value)]


def _fresh(stem: str, taken: set[str]) -> str:
    name, number = stem, 1
    while name in taken:
        number += 1
        name = f"{stem}{number}"
    taken.add(name)
    return name


def _with_objective(statements: list[Statement], index: int, value: SExpr) -> list[Statement]:
    objective = statements[index]
    assert isinstance(objective, Let)
    return [*statements[:index], Let(objective.name, value, objective.pos),
            *statements[index + 1:]]


@dataclass(frozen=True)
class ObjectiveTerm:
    """One term of the objective as written, with its sign."""

    negative: bool
    value: SExpr

    def text(self, source: str) -> str:
        return self.value.pos.text(source)


class LoopObjective:
    """A layered program's statements and its objective's terms."""

    def __init__(self, layered: LayeredProgram, objective: str) -> None:
        self.layered = layered
        self.source = layered.source
        self.statements: list[Statement] = [*layered.prologue, layered.loop, *layered.epilogue]
        self.index = max(i for i, s in enumerate(self.statements)
                         if isinstance(s, Let) and s.name == objective)
        let = self.statements[self.index]
        assert isinstance(let, Let)
        self.objective = let

    def terms(self) -> list[ObjectiveTerm]:
        return [ObjectiveTerm(negative, value) for negative, value in _terms(self.objective.value)]

    def written_out(self, depth: dict[str, int]) -> Program:
        return resolve_program(self.source, expand(self.statements, depth))

    def alone(self, term: ObjectiveTerm, depth: dict[str, int]) -> Program:
        """The program written out at `depth` with the objective this term alone."""
        return resolve_program(self.source, expand(
            _with_objective(self.statements, self.index, term.value), depth))

    def blocks(self, summed: list[ObjectiveTerm], penalty: list[ObjectiveTerm], rows: str,
               dims: Sequence[str], wrt: Sequence[str] | None) -> tuple[LayerParts, str, str]:
        """The block program made ready for its derivation, and the names of the weight of
        its penalty (`first_block`) and of the whole rows (`all_rows`)."""
        taken = {name for s in self.statements for name in statement_names(s)} | set(dims)
        weight, total = _fresh("first_block", taken), _fresh("all_rows", taken)
        terms = [(term.negative, term.value) for term in summed]
        pos = self.objective.pos
        if penalty:
            terms.append((False, SBinary(pos, "*", SName(pos, weight), SSum(pos, tuple(
                (term.negative, term.value) for term in penalty)))))
        value = terms[0][1] if len(terms) == 1 and not terms[0][0] else SSum(pos, tuple(terms))
        block: list[Statement] = [Decl(weight, None, ("const",), pos),
                                  Decl(total, None, ("const",), pos)]
        for statement in _with_objective(self.statements, self.index, value):
            if isinstance(statement, Let):
                statement = replace(statement,
                                    value=_with_total_rows(statement.value, rows, total))
            elif isinstance(statement, Loop):
                statement = replace(statement, body=tuple(
                    replace(inner, value=_with_total_rows(inner.value, rows, total))
                    if isinstance(inner, Let) else inner for inner in statement.body))
            block.append(statement)
        return layer_parts(self.source, block, wrt), weight, total
