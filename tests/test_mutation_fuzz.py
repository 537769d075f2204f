"""No internal error for any input: programs mutated at random — characters deleted, doubled,
replaced or inserted from the language's own alphabet (operators, brackets, superscripts,
indices, keywords, Greek letters, digits) — either derive, print, generate code and pass
through the check, or are refused with a MatgradError.  Anything else is an internal error
(exit 3 from the CLI), which this property finds.

The seeds are the shipped examples and the user corpus (tests/corpus.py, 133 programs).  The
default run is deterministic; `HYPOTHESIS_PROFILE=random MATGRAD_FUZZ_EXAMPLES=30000 python -m
pytest -m slow tests/test_mutation_fuzz.py -p no:xdist` is the long run.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from corpus import CASES
from helpers import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matgrad

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SEEDS = sorted({path.read_text(encoding="utf-8") for path in EXAMPLES.glob("*.mg")}
               | {case.source for case in CASES})
# What a mutation inserts: the language's tokens and near-misses of them.
PIECES = ["(", ")", "[", "]", "[j]", "[kk]", "[k-1]", "[0]", "*", ".*", "⊙", "/", "./", "^",
          ".^", "'", "ᵀ", "′", "⁻¹", "²", "³", "₁", "‖", "||", "<", ">", ",", ";", "\n", "\r",
          ":", "=", "+", "-", "−", "·", " ", "x", "n", "t", "k", "1", "0", "2.5", "1e400",
          "1e-400", "for j in 1..k:", "end", "scalar", "function", "rowwise", "spd", "data",
          "onehot", "wrt", "of", "tr(", "inv(", "logdet(", "softmax(", "sum(", "f(", "eye(n)",
          "ones(t, 1)", "Α", "α", "λ", "∇", "ℓ", "$", "#", "\t", "\x00", "€"]


@st.composite
def mutants(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "double"]))
        if kind == "insert" or not text:
            text = text[:where] + draw(st.sampled_from(PIECES)) + text[where:]
            continue
        where = min(where, len(text) - 1)
        span = draw(st.integers(1, 6))
        if kind == "delete":
            text = text[:where] + text[where + span:]
        elif kind == "replace":
            text = text[:where] + draw(st.sampled_from(PIECES)) + text[where + span:]
        else:
            text = text[:where + span] + text[where:]
    return text


def _bind(derivation: matgrad.Derivation) -> dict[str, str]:
    program = derivation.program
    return {fn: "logsumexp" if fn in program.row_functions else "tanh"
            for fn in program.abstract_functions}


def exercise(source: str) -> None:
    """Everything a user does with a program; only MatgradErrors may come out."""
    try:
        derivation = matgrad.derive(source)
    except matgrad.MatgradError:
        return
    bind = _bind(derivation)
    steps = [lambda: str(derivation), derivation.steps_text, derivation.latex,
             lambda: derivation.numpy_source(bind=bind),
             lambda: matgrad.check(derivation, bind=bind)]
    for step in steps:
        with contextlib.suppress(matgrad.MatgradError):
            step()


def test_the_seeds_are_many_and_derive() -> None:
    assert len(SEEDS) >= 58  # the examples and ≥ 50 programs of the corpus
    for source in SEEDS[:10]:
        exercise(source)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(mutants())
def test_mutated_programs_give_only_matgrad_errors(source: str) -> None:
    exercise(source)


@pytest.mark.slow
@settings(max_examples=max(FUZZ_EXAMPLES, 30_000), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(mutants())
def test_mutated_programs_long_run(source: str) -> None:
    exercise(source)
