"""The resolver's tables (front/expressions.py, front/calls.py, front/resolve.py) cover what the
grammar produces: every operator alias, every node class, every special call, every kind of
statement — and hold no entry the grammar never produces (issue 30 #4)."""

from __future__ import annotations

import dataclasses

from matgrad.front.calls import SIZED_OR_PAIRED, SPECIAL
from matgrad.front.expressions import BINARY, EXPRESSIONS, UNARY
from matgrad.front.resolve import STATEMENTS
from matgrad.front.scope import SPECIAL_CALLS
from matgrad.front.syntax import SBinary, SExpr, SUnary, parse_program

# One program that writes every operator of the grammar, in each of its spellings.
EVERY_OPERATOR = """A: n x n; B: n x n; x: n x 1; s: scalar
wrt A
P = A*B + A B - A/s + A.*B + A./B + A^2 + A.^2 + (-A) + A' + Aᵀ + A⁻¹ + A²
Q = <A, B> + A : B + A · B + ‖A‖ + ||A||_F + ‖x‖₁ + ||x||_2 + f′(A) + sum(f'(A)) + 𝟏ᵀx
objective Q
"""


def _nodes(value: object) -> list[SExpr]:
    """Every surface expression node under `value`, depth first."""
    found: list[SExpr] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, SExpr):
            found.append(item)
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, tuple):
            stack.extend(item)
    return found


STATEMENT_LIST = parse_program(EVERY_OPERATOR)
NODES = [node for statement in STATEMENT_LIST
         for node in _nodes(getattr(statement, "value", None))]


def test_every_operator_the_grammar_writes_has_an_entry() -> None:
    binary = {node.op for node in NODES if isinstance(node, SBinary)}
    unary = {node.op for node in NODES if isinstance(node, SUnary)} - {"prime"}
    assert binary == set(BINARY)  # every alias resolved, and no entry the grammar never makes
    assert unary == set(UNARY)


def test_every_node_class_and_statement_kind_has_an_entry() -> None:
    assert {type(node) for node in NODES} == set(EXPRESSIONS)
    assert {type(statement) for statement in STATEMENT_LIST} == set(STATEMENTS)


def test_every_special_call_has_a_method() -> None:
    assert set(SPECIAL) | set(SIZED_OR_PAIRED) == SPECIAL_CALLS
    assert not set(SPECIAL) & set(SIZED_OR_PAIRED)
