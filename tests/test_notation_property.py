"""Every notation the language accepts reads as the same program.

Random expression trees (tests/notation_trees.py) are rendered once canonically (ASCII, explicit
`*`, every operand parenthesised) and many times in the other notations: juxtaposition with and
without spaces, Unicode operators, redundant parentheses around any factor, postfix marks on
parenthesised factors (`A (X B)ᵀ`, `(A)⁻¹`), `inv(X)`/`X⁻¹`/`X^-1`, `X^2`/`X²`, `<A, B>`/`A · B`/
`A : B`, subscripts `W₁`/`W1`.  Each rendering must resolve to the same program as the canonical
one; `sum(A .* B)` for ⟨A, B⟩ is a different tree, compared with the canonical rendering that
spells it so.

A juxtaposed matrix followed by a parenthesised factor with a postfix mark was read as a call
(`X A (X B)ᵀ` as X(A X B)ᵀ) until the grammar told calls from products; this property finds
that misreading in its first examples.  `-m slow` runs it long (random seeds).
"""

from __future__ import annotations

import pytest
from helpers import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from notation_trees import DECLARATIONS, Renderer, canonical, objectives

import matgrad

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=max(FUZZ_EXAMPLES, 20_000), deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow])


def _definitions(objective: str) -> dict[str, object]:
    return dict(matgrad.parse(f"{DECLARATIONS}J = {objective}").definitions)


def _check(tree: object, seed: int) -> None:
    reference = canonical(tree)
    expected = _definitions(reference)
    as_hadamard_sum = _definitions(canonical(tree, hadamard_sum=True))
    renderer = Renderer(seed)
    for _ in range(4):
        text = renderer.render_objective(tree)
        if renderer.same_tree:
            assert _definitions(text) == expected, (reference, text)
        else:  # ⟨A, B⟩ written sum(A .* B): the same as that spelling of the canonical form
            assert _definitions(text) == as_hadamard_sum, (reference, text)


@SETTINGS
@given(objectives(), st.integers(0, 2**32 - 1))
def test_every_notation_reads_as_the_canonical_program(tree: object, seed: int) -> None:
    _check(tree, seed)


@pytest.mark.slow
@LONG
@given(objectives(depth=4), st.integers(0, 2**32 - 1))
def test_every_notation_reads_alike_long_run(tree: object, seed: int) -> None:
    _check(tree, seed)
