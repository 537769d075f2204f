"""The states of dJ a derivation went through, kept as edits so that memory stays linear.

The engine holds dJ as a list of terms and changes one term per step; a printed derivation
shows the whole list after each step.  Storing every state would cost (steps × terms) memory —
quadratic for a long sum — so `History` records only what each change did (`Edit`) and a `Step`
rebuilds its states on demand, by replaying the edits (sequential reads, as printing does them,
cost one edit each).

Invariants: `History.state(k)` is exactly the list the engine held after its k-th change;
substitutions recorded by `inline` apply to the steps of their range only, both before and after
(what the engine did when it inlined an adjoint into the steps that introduced it); a `Step`'s
`before`/`after` are tuples, equal to what an eager record would have stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from matgrad.ir.expr import Expr, substitute


@dataclass(frozen=True)
class Edit:
    """Positions of the previous state replaced: each index by the given terms (none: deleted)."""

    replaced: tuple[tuple[int, tuple[Expr, ...]], ...]


@dataclass(frozen=True)
class _Inline:
    """Steps first..last-1 show their states with `mapping` substituted (each distinct term
    substituted once: `done` remembers)."""

    first: int
    last: int
    mapping: dict[Expr, Expr]
    done: dict[Expr, Expr] = field(default_factory=dict)

    def __call__(self, term: Expr) -> Expr:
        known = self.done.get(term)
        if known is None:
            known = self.done[term] = substitute(term, self.mapping)
        return known


class History:
    """The initial state of dJ and every change to it, in order."""

    def __init__(self) -> None:
        self._edits: list[Edit] = []
        self._inlines: list[_Inline] = []
        self._cursor: tuple[int, list[Expr]] = (0, [])

    @property
    def now(self) -> int:
        """The index of the current state (the number of changes so far)."""
        return len(self._edits)

    def record(self, edit: Edit) -> None:
        self._edits.append(edit)

    def inline(self, first: int, last: int, mapping: dict[Expr, Expr]) -> None:
        self._inlines.append(_Inline(first, last, dict(mapping)))

    def state(self, index: int) -> list[Expr]:
        """A copy of the state after `index` changes."""
        at, terms = self._cursor
        if index < at:
            at, terms = 0, []
        for edit in self._edits[at:index]:  # each edit builds a new list: the cursor's stays
            terms = _applied(terms, edit)
        self._cursor = (index, terms)
        return list(terms)

    def shown(self, step_index: int, terms: Sequence[Expr]) -> tuple[Expr, ...]:
        """`terms` as step `step_index` shows them: with the inlined adjoints of its range."""
        shown = tuple(terms)
        for inline in self._inlines:
            if inline.first <= step_index < inline.last:
                shown = tuple(map(inline, shown))
        return shown


def _applied(terms: list[Expr], edit: Edit) -> list[Expr]:
    if len(edit.replaced) == 1:
        (index, new), = edit.replaced
        return [*terms[:index], *new, *terms[index + 1:]]
    changes = dict(edit.replaced)
    result: list[Expr] = []
    for index, term in enumerate(terms):
        result.extend(changes.get(index, (term,)))
    return result


@dataclass(frozen=True)
class Step:
    """One rewrite: `rule` (citing `cites`) turned the term at `focus` of `before` into `after`.

    `before`/`after` are rebuilt from the derivation's `History` (states `before_at` and
    `after_at`; a read-off step's `after` is its `result`); `shown_term` replaces one term of
    `before` by what the reader should see there (G · dN before dN is expanded).
    """

    rule: str
    cites: tuple[str, ...]
    node: str
    focus: int
    path: tuple[int, ...]
    tidied: tuple[str, ...]
    expands: str | None
    index: int
    before_at: int
    after_at: int | None
    result: tuple[Expr, ...] = ()
    shown_term: tuple[int, Expr] | None = None
    history: History = field(default_factory=History, compare=False, repr=False)
    # The phase of the rule (rules/*.rules `@phase`): differentiate, isolate or readoff.
    phase: str = "isolate"

    @property
    def before(self) -> tuple[Expr, ...]:
        terms = self.history.state(self.before_at)
        if self.shown_term is not None:
            position, term = self.shown_term
            terms[position] = term
        return self.history.shown(self.index, terms)

    @property
    def after(self) -> tuple[Expr, ...]:
        if self.after_at is None:
            return self.result
        return self.history.shown(self.index, self.history.state(self.after_at))


__all__ = ["Edit", "History", "Step"]
