"""Row blocks of a program with a layer loop at symbolic depth (the Dask backend's loops).

The split is decided on the program written out at `CHECK_DEPTH` (every layer is the same
program, so a layer that keeps rows local there does at any depth), one term of the objective
as written at a time: each term is a sum over the rows or reads no data row (a penalty), else
the program is refused.  The block program is the loop program itself — derived at symbolic
depth like any other — with two constants added: `first_block`, 1 on one block and 0 on the
others, multiplying the penalty terms (so Σ_b J_b = data terms + p), and `all_rows`, the whole
t, read wherever t is read as a number (1/t), since in a block t is the block's rows.

Invariants: the user's statements are not changed (new ones are built); a construct whose
meaning would change on a block and that this module does not rewrite (`mean`, which reads the
rows from a shape) is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from matgrad.engine.layers import derive_layers
from matgrad.engine.results import Derivation, LoopDerivation, LoopProduct, Product
from matgrad.engine.rows import (
    RowBlocks,
    RowDecomposition,
    row_blocks,
    row_decomposition,
    split_terms,
)
from matgrad.errors import UnsupportedError
from matgrad.front.loops import expand, statement_names
from matgrad.front.resolve import resolve_program
from matgrad.front.syntax import Decl, Let, Loop, SBinary, SCall, SExpr, SName, SSum, Statement
from matgrad.rewrite.rules import RuleSet

CHECK_DEPTH = 3
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


def _loop_parts(derivation: LoopDerivation) -> tuple[str, list[Statement], int, Let]:
    layered = derivation.layers.layered
    statements: list[Statement] = [*layered.prologue, layered.loop, *layered.epilogue]
    index = max(i for i, s in enumerate(statements)
                if isinstance(s, Let) and s.name == derivation.objective)
    objective = statements[index]
    assert isinstance(objective, Let)
    return layered.source, statements, index, objective


def _written_out(derivation: LoopDerivation, rows: str | None
                 ) -> tuple[RowDecomposition, tuple[str, ...], dict[str, int]]:
    """The split of the program written out at CHECK_DEPTH, its parameters and the depth."""
    source, statements, _, _ = _loop_parts(derivation)
    depth = {derivation.layers.layered.depth_symbol: CHECK_DEPTH}
    written = resolve_program(source, expand(statements, depth))
    wrt = tuple(name for name in written.parameters
                if not written.attributes.get(name, frozenset()) & {"data", "const"})
    whole = row_decomposition(written, wrt, rows)
    return replace(whole, written_out_depth=CHECK_DEPTH), wrt, depth


def row_decomposition_of(derivation: Derivation, rows: str | None = None) -> RowDecomposition:
    """The split of a derivation's objective, flat or layered (a layered one as decided with
    its layers written out)."""
    first = derivation.first_order
    if not isinstance(first, LoopDerivation):
        return row_decomposition(first.program, first.wrt, rows)
    return _written_out(first, rows)[0]


def _loop_product_blocks(derivation: Derivation, rules: RuleSet, rows: str | None = None
                         ) -> RowBlocks:
    raise UnsupportedError(
        "the Dask backend splits a loop's gradient but not yet its Hessian-vector product: "
        "write the layers out (depth={'k': 3}, --depth k=3) or use another backend.")


def row_blocks_of(derivation: Derivation, rules: RuleSet, rows: str | None = None
                  ) -> RowBlocks:
    """The row-block split of any kind of derivation: flat (engine/rows.py) or a loop at
    symbolic depth (here)."""
    return ROW_BLOCKS[type(derivation)](derivation, rules, rows)


def loop_row_blocks(derivation: LoopDerivation, rules: RuleSet, rows: str | None = None
                    ) -> RowBlocks:
    """The row-block split of a loop derivation at symbolic depth: the split decided on the
    layers written out, the block derivation a loop derivation of the weighted program."""
    source, statements, index, objective = _loop_parts(derivation)
    whole, wrt, depth = _written_out(derivation, rows)
    summed: list[tuple[bool, SExpr]] = []
    penalty: list[tuple[bool, SExpr]] = []
    for sign, term in _terms(objective.value):
        alone = resolve_program(source, expand(_with_objective(statements, index, term), depth))
        split = split_terms(alone, wrt, whole.rows, data_required=False)
        if split.summed and split.penalty:
            raise UnsupportedError(
                f"the term {term.pos.text(source)} of {objective.name} adds a sum over the "
                "rows to a term on the parameters only; write them as separate terms "
                f"({objective.name} = … + λ‖W‖²) for the Dask backend.")
        (summed if split.summed else penalty).append((sign, term))

    taken = {name for s in statements for name in statement_names(s)}
    taken |= set(whole.block_program.dims)
    weight, total = _fresh("first_block", taken), _fresh("all_rows", taken)
    terms = summed
    if penalty:
        pos = objective.pos
        terms = [*summed, (False, SBinary(pos, "*", SName(pos, weight),
                                          SSum(pos, tuple(penalty))))]
    value = terms[0][1] if len(terms) == 1 and not terms[0][0] else SSum(objective.pos,
                                                                         tuple(terms))
    block_statements: list[Statement] = [
        Decl(weight, None, ("const",), objective.pos),
        Decl(total, None, ("const",), objective.pos)]
    for statement in _with_objective(statements, index, value):
        if isinstance(statement, Let):
            statement = replace(statement,
                                value=_with_total_rows(statement.value, whole.rows, total))
        elif isinstance(statement, Loop):
            statement = replace(statement, body=tuple(
                replace(inner, value=_with_total_rows(inner.value, whole.rows, total))
                if isinstance(inner, Let) else inner for inner in statement.body))
        block_statements.append(statement)
    block = derive_layers(source, block_statements, derivation.wrt, rules)
    return RowBlocks(whole, block, None, weight=weight, total_rows=total)


# The split of each kind of result (every kind has an entry: tests/test_kinds.py).
ROW_BLOCKS: dict[type[Derivation], Callable[[Any, RuleSet, str | None], RowBlocks]] = {
    Derivation: row_blocks, Product: row_blocks, LoopDerivation: loop_row_blocks,
    LoopProduct: _loop_product_blocks}


__all__ = ["CHECK_DEPTH", "loop_row_blocks", "row_blocks_of", "row_decomposition_of"]
