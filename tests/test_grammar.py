"""The grammar: conflict-free LALR, and the notations of the guide and of MATLAB read alike."""

from __future__ import annotations

import logging

import pytest
from lark import Lark, logger

import matgrad
from matgrad.resources import grammar_text


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _conflicts(grammar: str, start: list[str]) -> list[str]:
    # Lark resolves a shift/reduce conflict silently as a shift; it only logs it at DEBUG.
    handler = _Collect()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        Lark(grammar, parser="lalr", start=start)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    return [m for m in handler.messages if "conflict" in m.lower()]


def test_grammar_has_no_lalr_conflicts() -> None:
    assert _conflicts(grammar_text(), ["program", "rulefile"]) == []


def test_conflict_detection_works() -> None:
    ambiguous = 'start: e\ne: e "+" e | NAME\nNAME: /[a-z]+/\n'
    assert _conflicts(ambiguous, ["start"]) != []


DECLS = "X: t x n; Y: t x m; W: n x m; b: 1 x m; A: t x m; B: t x m; x: n x 1; M: n x n\n"


@pytest.mark.parametrize(("ascii_source", "unicode_source"), [
    ("J = 1/2 * ||X*W + b - Y||^2", "J = (1/2)(‖X W + b − Y‖²)"),
    ("J = sum(A .* B)", "J = sum(A ⊙ B)"),
    ("J = <A, B>", "J = A · B"),
    ("J = sum(X'*A)", "J = sum(XᵀA)"),
    ("J = sum(1'*A)", "J = sum(1ᵀA)"),
    ("J = x'*M*x", "J = xᵀM x"),
    ("J = sum(f'(A))", "J = sum(f′(A))"),
    ("J = A : B", "J = A · B"),
    ("J = sum(W1)", "J = sum(W₁)"),
])
def test_ascii_and_unicode_notations_agree(ascii_source: str, unicode_source: str) -> None:
    decls = DECLS + "W1: n x m\n"
    left = matgrad.parse(decls + ascii_source)
    right = matgrad.parse(decls + unicode_source)
    assert left.definitions == right.definitions


def test_statements_comments_and_separators() -> None:
    program = matgrad.parse("# a comment\n\nX: t x n ; W: n x m # trailing\n"
                            "Z = X*W;; J = sum(Z)  # the objective\n\n")
    assert program.objective == "J"
    assert list(program.definitions) == ["Z", "J"]
    assert program.shapes["Z"] == ("t", "m")


def test_objective_and_wrt_lines() -> None:
    program = matgrad.parse("W: n x m\nL = sum(W)\nJ = 2 * L\nobjective L\nwrt W")
    assert program.objective == "L"
    assert program.wrt == ("W",)


@pytest.mark.parametrize(("source", "expected"), [
    ("J = 1/2 * sum(A)", "Scale"),       # a 1×1 operand of * scales
    ("J = sum(A) * 3", "Scale"),
    ("J = sum(A / 4)", "Sum"),
    ("J = sum(A) ^ 2", "Power"),
])
def test_matlab_scalar_semantics(source: str, expected: str) -> None:
    program = matgrad.parse(DECLS + source)
    assert type(program.definitions["J"]).__name__ == expected


def test_broadcasting_is_explicit() -> None:
    program = matgrad.parse(DECLS + "Z = X*W + b\nJ = sum(Z + 1)")
    z = program.definitions["Z"]
    assert z == matgrad.parse(DECLS + "Z = X*W + ones(t, 1)*b\nJ = sum(Z)").definitions["Z"]
    j = program.definitions["J"]
    assert "Ones(rows='t', cols='m')" in repr(j)


def test_undeclared_symbols_get_unified_shapes() -> None:
    program = matgrad.parse("X: t x n\nJ = sum(X*W*V)")
    assert program.shapes["W"][0] == "n"
    assert program.shapes["V"][0] == program.shapes["W"][1]
    assert program.shapes["V"][1] not in ("t", "n")


def test_dimension_names_are_values() -> None:
    program = matgrad.parse("X: t x n\nJ = 1/t * sum(X)")
    assert "DimSize(dim='t')" in repr(program.definitions["J"])


def test_inverse_notations_agree() -> None:
    decls = "X: n x n; A: n x n\n"
    forms = ["J = tr(inv(X)*A)", "J = tr(X^-1*A)", "J = tr(X⁻¹ A)"]
    programs = [matgrad.parse(decls + form).definitions for form in forms]
    assert programs[0] == programs[1] == programs[2]
    assert str(programs[0]["J"]) == "tr(X⁻¹A)"
