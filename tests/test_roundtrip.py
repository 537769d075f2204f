"""Printing an expression and parsing it back gives the same expression (both notations)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from programs import DECLARATIONS, expressions, programs, scalar_objectives

import matgrad
from matgrad.printing.text import to_text

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _roundtrip(source: str) -> None:
    program = matgrad.parse(source)
    for style in ("unicode", "ascii"):
        lines = [DECLARATIONS] + [f"{name} = {to_text(expr, style, exact=True)}"
                                  for name, expr in program.definitions.items()]
        reparsed = matgrad.parse("\n".join(lines))
        assert reparsed.definitions == program.definitions, (style, "\n".join(lines))


@SETTINGS
@given(scalar_objectives())
def test_objectives_round_trip(objective: str) -> None:
    _roundtrip(f"{DECLARATIONS}J = {objective}")


@SETTINGS
@given(expressions(("t", "m"), depth=4))
def test_matrix_expressions_round_trip(expression: str) -> None:
    _roundtrip(f"{DECLARATIONS}Z = {expression}\nJ = sum(Z)")


@settings(max_examples=100, deadline=None)
@given(programs())
def test_programs_round_trip(source: str) -> None:
    _roundtrip(source)
