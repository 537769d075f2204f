"""Issue 29's leftovers, each a regression test: long error lines clipped around the column, a
family bound by its base name (--bind f=tanh for f1 … f4, and with --depth), a row-wise
function declared twice, lone carriage returns, arguments of the wrong type, a `wrt` string,
and Greek letters drawn like Latin ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import matgrad

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "matgrad.cli", *args], capture_output=True,
                          text=True, check=False, encoding="utf-8")


def test_a_long_line_is_clipped_around_the_column() -> None:
    # A 180 KB one-line program with a stray $ printed a 360 KB error.
    source = "W: n x n; J = sum(W)" + " + sum(W)" * 20_000 + " $ + sum(W)" * 10
    with pytest.raises(matgrad.MatgradSyntaxError) as info:
        matgrad.derive(source)
    message = str(info.value)
    assert len(message) < 600
    excerpt, caret = message.splitlines()[-2:]
    assert excerpt.startswith("    …") and excerpt.endswith("…")
    assert excerpt[caret.index("^")] == "$"


@pytest.mark.parametrize(("example", "options"), [
    ("regression_3layer.mg", []),                 # f1, f2, f3 bound by f
    ("regression_loop.mg", ["--depth", "k=3"]),  # f[j] written out as f1 … f3
    ("regression_loop.mg", []),
])
def test_a_base_name_binds_its_family(example: str, options: list[str]) -> None:
    result = cli(str(EXAMPLES / example), "--check", "--bind", "f=tanh", *options)
    assert result.returncode == 0 and result.stdout.rstrip().endswith("passed"), result.stderr


def test_a_member_keeps_its_own_binding() -> None:
    derivation = matgrad.derive((EXAMPLES / "regression_3layer.mg").read_text())
    source = derivation.numpy_source(bind={"f": "tanh", "f2": "sigmoid"})
    assert "np.tanh" in source and ("sigmoid" in source or "expit" in source
                                    or "np.exp" in source)


def test_a_row_wise_function_declared_twice_is_refused() -> None:
    with pytest.raises(matgrad.MatgradError, match="'ell' is declared twice"):
        matgrad.derive("ell: rowwise; ell: rowwise; X: t x n\nJ = sum(ell(X))")


def test_lone_carriage_returns_end_lines() -> None:
    derivation = matgrad.derive("W: n x n\rJ = sum(W .* W)\r")
    assert str(derivation).startswith("∂J/∂W = 2W")
    with pytest.raises(matgrad.MatgradSyntaxError, match="line 2, column"):
        matgrad.derive("W: n x n\rJ = sum(W *)\r")


@pytest.mark.parametrize("source", [None, 3, b"W: n x n; J = sum(W)", ["J = 1"]])
def test_a_program_that_is_not_text_is_refused(source: object) -> None:
    with pytest.raises(matgrad.MatgradError, match="the program must be text"):
        matgrad.derive(source)  # type: ignore[arg-type]


def test_bindings_are_text() -> None:
    derivation = matgrad.derive("W: n x n; J = sum(f(W))")
    with pytest.raises(matgrad.MatgradError, match="bindings name functions by text"):
        derivation.compile(bind={3: "tanh"})  # type: ignore[dict-item]


def test_a_wrt_string_is_names_not_letters() -> None:
    source = "W: n x n; b: n x 1; J = sum(W .* W) + sum(b)"
    with pytest.raises(matgrad.MatgradError, match="'Wb'"):
        matgrad.derive(source, wrt="Wb")  # was read as ['W', 'b']
    assert matgrad.derive(source, wrt="W, b").wrt == ("W", "b")
    assert matgrad.derive(source, wrt="W").wrt == ("W",)


@pytest.mark.parametrize(("source", "letter"), [
    ("A: n x n; Α: n x n; J = sum(A .* Α)", "A"),
    ("Ρ: n x n; J = sum(Ρ)", "P"),
    ("xο: n x 1; J = sum(xο)", "o"),
])
def test_greek_letters_drawn_like_latin_ones_are_refused(source: str, letter: str) -> None:
    with pytest.raises(matgrad.MatgradSyntaxError, match=f"prints like the Latin {letter}"):
        matgrad.derive(source)
    assert matgrad.derive("α: scalar; W: n x n; J = α*sum(W)").compile()(
        alpha=2.0, W=np.ones((2, 2)))[0] == pytest.approx(8.0)
