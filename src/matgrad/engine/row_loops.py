"""Row blocks of a program with a layer loop at symbolic depth (the Dask backend's loops).

The split is decided on the program written out at `CHECK_DEPTH` (every layer is the same
program, so a layer that keeps rows local there does at any depth), one term of the objective
as written at a time: each term is a sum over the rows or reads no data row (a penalty), else
the program is refused.  The block program is the loop program itself — derived at symbolic
depth like any other — with two constants added: `first_block`, 1 on one block and 0 on the
others, multiplying the penalty terms (so Σ_b J_b = data terms + p), and `all_rows`, the whole
t, read wherever t is read as a number (1/t), since in a block t is the block's rows.

The statements are read and rewritten by the front end (front/loop_terms.py); here the
split is decided and the block program derived.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from matgrad.engine.layers import derive_layers
from matgrad.engine.results import Derivation, Jacobian, LoopDerivation, LoopProduct, Product
from matgrad.engine.rows import (
    RowBlocks,
    RowDecomposition,
    row_blocks,
    row_decomposition,
    split_terms,
)
from matgrad.errors import UnsupportedError
from matgrad.front.loop_terms import LoopObjective, ObjectiveTerm
from matgrad.front.program import differentiated_by_default
from matgrad.rewrite.rules import RuleSet

CHECK_DEPTH = 3


def _written_out(derivation: LoopDerivation, rows: str | None
                 ) -> tuple[RowDecomposition, tuple[str, ...], dict[str, int]]:
    """The split of the program written out at CHECK_DEPTH, its parameters and the depth."""
    depth = {derivation.layers.layered.depth_symbol: CHECK_DEPTH}
    written = LoopObjective(derivation.layers.layered, derivation.objective).written_out(depth)
    wrt = tuple(name for name in written.parameters
                if differentiated_by_default(written.attributes.get(name, frozenset())))
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
    loop = LoopObjective(derivation.layers.layered, derivation.objective)
    whole, wrt, depth = _written_out(derivation, rows)
    summed: list[ObjectiveTerm] = []
    penalty: list[ObjectiveTerm] = []
    for term in loop.terms():
        split = split_terms(loop.alone(term, depth), wrt, whole.rows, data_required=False)
        if split.summed and split.penalty:
            name = derivation.objective
            raise UnsupportedError(
                f"the term {term.text(loop.source)} of {name} adds a sum over the rows to a "
                f"term on the parameters only; write them as separate terms ({name} = … + "
                "λ‖W‖²) for the Dask backend.")
        (summed if split.summed else penalty).append(term)
    parts, weight, total = loop.blocks(summed, penalty, whole.rows, whole.block_program.dims,
                                       derivation.wrt)
    block = derive_layers(parts, rules)
    return RowBlocks(whole, block, None, weight=weight, total_rows=total)


# The split of each kind of result (every kind has an entry: tests/test_kinds.py).
ROW_BLOCKS: dict[type[Derivation], Callable[[Any, RuleSet, str | None], RowBlocks]] = {
    Derivation: row_blocks, Product: row_blocks, LoopDerivation: loop_row_blocks,
    LoopProduct: _loop_product_blocks,
    Jacobian: row_blocks}  # the vector-Jacobian product's U · F over row blocks


__all__ = ["CHECK_DEPTH", "loop_row_blocks", "row_blocks_of", "row_decomposition_of"]
