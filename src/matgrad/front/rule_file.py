"""A rule file as the front end reads it: each rule's name, citations, guards and phase, and its
two sides resolved (in one shape context) on request — the rewrite layer never sees surface
syntax.

Invariant: `RuleText.resolved` returns IR (`ResolvedPattern`); the text is parsed once.
"""

from __future__ import annotations

from dataclasses import dataclass

from matgrad.front.resolve import ResolvedPattern, resolve_rule
from matgrad.front.syntax import RuleSource, parse_rules


@dataclass(frozen=True)
class RuleText:
    """One rule as written in a rule file."""

    source: RuleSource
    text: str

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def cites(self) -> tuple[str, ...]:
        return self.source.cites

    @property
    def guards(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return self.source.guards

    @property
    def phase(self) -> str:
        return self.source.phase

    @property
    def line(self) -> int:
        return self.source.pos.line

    def resolved(self, same_shape: bool = True) -> ResolvedPattern:
        """Both sides as IR patterns, normally of the same shape."""
        square = tuple(arg for guard, args in self.guards if guard == "square" for arg in args)
        return resolve_rule(self.text, self.source.lhs, self.source.rhs, same_shape, square)


def read_rule_file(text: str, where: str) -> list[RuleText]:
    """The rules of a rule file, in order (a syntax error names `where` and the line)."""
    return [RuleText(source, text) for source in parse_rules(text, where)]
