"""The work budget of every stage, in one table: each limit is counted before or while the work
is done (characters, brackets, operations, steps, values, entries), never timed, and an input
past one is refused with an error that names it (`exceeded`).

Invariants: every stage of the pipeline (read, resolve, unroll, derive, tidy, generate, check)
has at least one limit here; each limit is tested by an input that meets it
(tests/test_bounded_work.py) and listed in docs/errors.md by `python -m matgrad.docgen`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    """One bound: `value` `counts` at `stage`."""

    name: str
    value: int
    stage: str
    counts: str


MAX_SOURCE_CHARS = 200_000
MAX_DEPTH = 200
MAX_WRITTEN_SIZE = 1_000_000_000
MAX_NODES = 20_000
MAX_MATRIX_POWER = 16
MAX_UNROLLED_DEPTH = 1000
MAX_STEPS = 200_000
MAX_TIDY_ROUNDS = 10_000
MAX_PROGRAM_VALUES = 200_000
MAX_CHECK_SIZE = 2_000
MAX_CHECK_ENTRIES = 10_000_000

LIMITS: dict[str, Limit] = {limit.name: limit for limit in (
    Limit("MAX_SOURCE_CHARS", MAX_SOURCE_CHARS, "read", "characters of a program"),
    Limit("MAX_DEPTH", MAX_DEPTH, "read", "brackets open at once"),
    Limit("MAX_WRITTEN_SIZE", MAX_WRITTEN_SIZE, "read", "a size written as a number"),
    Limit("MAX_NODES", MAX_NODES, "resolve", "operations of the resolved program"),
    Limit("MAX_MATRIX_POWER", MAX_MATRIX_POWER, "resolve",
          "the exponent of a matrix power, nested powers multiplied"),
    Limit("MAX_UNROLLED_DEPTH", MAX_UNROLLED_DEPTH, "unroll", "layers of a written-out loop"),
    Limit("MAX_STEPS", MAX_STEPS, "derive", "rewriting steps of a derivation"),
    Limit("MAX_TIDY_ROUNDS", MAX_TIDY_ROUNDS, "tidy", "rewrites of one expression by the tidy "
          "rules"),
    Limit("MAX_PROGRAM_VALUES", MAX_PROGRAM_VALUES, "generate",
          "values of the array program a module computes"),
    Limit("MAX_CHECK_SIZE", MAX_CHECK_SIZE, "check", "one size of `--check`'s random inputs"),
    Limit("MAX_CHECK_ENTRIES", MAX_CHECK_ENTRIES, "check",
          "numbers in `--check`'s random inputs, all sizes multiplied"),
)}


def exceeded(name: str, found: int | None = None) -> str:
    """The words that end an error for an input past the limit `name`."""
    limit = LIMITS[name]
    seen = f"{found:,} here; " if found is not None else ""
    return f"({seen}matgrad's limit {name} allows {limit.value:,} {limit.counts})"
