"""Merging a Kronecker form's terms (ir/kronecker.py `merged_terms`) and the bound on what a
block's reading collects (engine/kronecker.py MAX_READ_TERMS): the merge gives exactly what
merging the first mergeable pair and starting over gives, with about n² tries instead of n² a
merge, and a reading that would collect thousands of chains stops and leaves the block to the
product — counted, never timed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_kronecker import assert_blocks_match_autograd

import matgrad
import matgrad.ir.kronecker as kronecker_terms
from matgrad.engine import kronecker
from matgrad.ir.kronecker import Term, merged_terms


def _restarting_merge(terms: list[Term], source: Any) -> list[Term]:
    """The reference: merge the first pair that merges (earliest term, earliest partner),
    then start over, until no two merge."""
    terms = list(terms)
    while True:
        pair = next(((i, j) for i in range(len(terms)) for j in range(i + 1, len(terms))
                     if kronecker_terms._merge_pair(terms[i], terms[j], source) is not None),
                    None)
        if pair is None:
            return terms
        i, j = pair
        merged = kronecker_terms._merge_pair(terms[i], terms[j], source)
        assert merged is not None
        terms[i] = merged
        del terms[j]


def _powers(levels: int) -> str:
    """X squared `levels` times, written out: each level reads the tangent before it twice."""
    lines, previous = ["X: n x n"], "X"
    for level in range(1, levels + 1):
        lines.append(f"Z{level} = {previous}*{previous}")
        previous = f"Z{level}"
    return "\n".join([*lines, f"J = tr({previous})"])


SOURCES = {
    "2-layer MLP": ("X: t x n, data; Y: t x n, data; W1: n x n; b1: 1 x n; W2: n x n; "
                    "b2: 1 x n\nZ1 = tanh(X*W1 + b1)\nJ = 1/2*||tanh(Z1*W2 + b2) - Y||^2"),
    "factorisation": "X: m x n, data; U: m x k; V: n x k\nJ = ||X - U*V'||^2",
    "centred variance": ("X: t x n; Y: t x n, data\nC = X - X*ones(n, n)/n\nV = (C .* C)\n"
                         "J = sum(V .* Y)"),
    "X to the 8th": _powers(3),
    "X to the 16th": _powers(4),
}
MERGING = {"2-layer MLP", "X to the 8th", "X to the 16th"}  # their readings have merges


@pytest.mark.parametrize("name", list(SOURCES))
def test_the_merge_is_the_restarting_merge_with_fewer_tries(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    collected: list[tuple[list[Term], Any]] = []
    block = kronecker.KroneckerReader.block

    def reading(self: Any, component: Any) -> Any:
        found = self.terms(component) or []
        collected.append((found, self.shapes[self.direction]))
        return block(self, component)

    monkeypatch.setattr(kronecker.KroneckerReader, "block", reading)
    matgrad.derive(SOURCES[name]).hessian()
    assert collected
    tries = [0]
    merge_pair = kronecker_terms._merge_pair

    def counted(*arguments: Any) -> Any:
        tries[0] += 1
        return merge_pair(*arguments)

    total_merges = 0
    for found, source in collected:
        terms = [Term(term.coefficient, kronecker_terms.shortened(term.factors))
                 for term in found]
        expected = _restarting_merge(terms, source)
        tries[0] = 0
        with monkeypatch.context() as patch:
            patch.setattr(kronecker_terms, "_merge_pair", counted)
            merged = merged_terms(terms, source)
        assert merged == expected
        count = len(terms)
        merges = count - len(merged)
        total_merges += merges
        assert tries[0] <= count * count + merges * count  # not n² a merge
    assert (total_merges > 0) == (name in MERGING), total_merges


def test_a_reading_past_the_bound_leaves_the_block_to_the_product() -> None:
    # X to the 32nd written out: 682 chains before merging (a minute to merge before the
    # bound); the block is assembled from the product, and right.
    derivation = matgrad.derive(_powers(5))
    hessian = derivation.hessian()
    assert hessian.blocks[("X", "X")] is None
    assert f"more than {kronecker.MAX_READ_TERMS} terms" in hessian.reasons[("X", "X")]
    values = {"X": np.random.default_rng(0).normal(size=(3, 3)) / 2}
    block = hessian.compile()(**values)[("X", "X")]
    assert block.shape == (9, 9) and np.isfinite(block).all()
    assert_blocks_match_autograd(derivation, require_closed=False)
