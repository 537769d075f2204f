"""Every entry of the function table (src/matgrad/functions.py) is checked numerically: its
SymPy derivative against central differences of its SymPy definition, its NumPy template and
its NumPy derivative template against SymPy, and its LaTeX name against pdflatex — so a
mistyped template fails a test.  The written-out derivatives (rules/derivatives.rules) are
checked in tests/test_textbook.py and tests/test_rules.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import sympy
from helpers import directional_derivative, numeric_gradient

from matgrad.backends.numpy_spellings import NUMPY_SPELLINGS
from matgrad.front.scope import SPECIAL_CALLS
from matgrad.functions import ELEMENTWISE, FUNCTION_ALIASES, ROWWISE, x_symbol
from matgrad.ir.expr import Apply, Sym
from matgrad.printing.latex import to_latex

NAMES = sorted(ELEMENTWISE)


def points(name: str) -> np.ndarray:
    low, high = ELEMENTWISE[name].domain
    # Interior points away from the kinks of relu, abs and sign at 0.
    grid = np.linspace(low, high, 41)
    return grid[np.abs(grid) > 0.05]


def template(text: str, x: np.ndarray) -> np.ndarray:
    value = eval(text.format(x="x"), {"np": np, "x": x})
    return np.broadcast_to(np.asarray(value, dtype=float), x.shape)


def sympy_values(expr: sympy.Expr, x: np.ndarray) -> np.ndarray:
    function = sympy.lambdify(x_symbol(), expr, modules="numpy")
    return np.broadcast_to(np.asarray(function(x), dtype=float), x.shape)


@pytest.mark.parametrize("name", NAMES)
def test_sympy_derivative_matches_central_differences(name: str) -> None:
    fn, x = ELEMENTWISE[name], points(name)
    # elementwise: the derivative along the all-ones direction is f′ at every entry
    numeric = directional_derivative(lambda moved: sympy_values(fn.sympy_expr(), moved["x"]),
                                     {"x": x}, {"x": np.ones_like(x)})
    np.testing.assert_allclose(sympy_values(fn.sympy_expr(1), x), numeric, rtol=1e-6, atol=1e-8)


def test_every_function_has_a_numpy_spelling() -> None:
    assert set(NUMPY_SPELLINGS) == set(ELEMENTWISE)


@pytest.mark.parametrize("name", NAMES)
def test_numpy_template_matches_sympy(name: str) -> None:
    fn, x = ELEMENTWISE[name], points(name)
    value, _ = NUMPY_SPELLINGS[name]
    np.testing.assert_allclose(template(value, x), sympy_values(fn.sympy_expr(), x),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_numpy_derivative_template_matches_sympy(name: str) -> None:
    fn, x = ELEMENTWISE[name], points(name)
    _, derivative = NUMPY_SPELLINGS[name]
    np.testing.assert_allclose(template(derivative, x), sympy_values(fn.sympy_expr(1), x),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", sorted(ROWWISE))
def test_row_functions_gradients_match_central_differences(name: str) -> None:
    fn = ROWWISE[name]
    x = np.random.default_rng(0).normal(size=(3, 4))
    # row i of the output reads row i of x only: its gradient is that of the outputs' sum
    numeric = numeric_gradient(lambda moved: float(np.sum(fn.evaluate(moved["x"]))), {"x": x},
                               "x")
    np.testing.assert_allclose(fn.gradient(x), numeric, rtol=1e-6, atol=1e-8)


def test_aliases_name_built_ins() -> None:

    for alias, target in FUNCTION_ALIASES.items():
        assert target in ELEMENTWISE or target in SPECIAL_CALLS, alias
        assert alias not in ELEMENTWISE


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_every_function_typesets(tmp_path: Path) -> None:
    rows = [f"{to_latex(Apply(name, Sym('X')))} = {to_latex(Apply(name, Sym('X'), 1))}"
            for name in NAMES]
    document = ("\\documentclass{article}\\usepackage{amsmath}\\begin{document}\n"
                + "\n".join(f"$${row}$$" for row in rows) + "\n\\end{document}\n")
    (tmp_path / "functions.tex").write_text(document, encoding="utf-8")
    result = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode",
                             "functions.tex"], cwd=tmp_path, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout[-2000:]
