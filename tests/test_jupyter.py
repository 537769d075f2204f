"""Jupyter shows a derivation as LaTeX: IPython's formatter gives text/latex and a readable
text/plain, and nothing that Jupyter ranks above LaTeX (nbconvert's HTML exporter and
JupyterLab prefer text/html and text/markdown to text/latex)."""

from __future__ import annotations

from pathlib import Path

import pytest

import matgrad

formatters = pytest.importorskip("IPython.core.formatters", reason="IPython is not installed")

EXAMPLES = Path(__file__).parent.parent / "examples"
# nbconvert's HTML exporter, most preferred first (nbconvert/exporters/html.py).
HTML_PRIORITY = ["application/javascript", "text/html", "text/markdown", "image/svg+xml",
                 "text/latex", "image/png", "image/jpeg", "text/plain"]


def shown(obj: object) -> tuple[str, dict[str, str]]:
    data, _ = formatters.DisplayFormatter().format(obj)
    return next(mime for mime in HTML_PRIORITY if mime in data), data


@pytest.mark.parametrize("example", ["single_layer.mg", "regression_loop.mg"])
def test_derivations_display_as_latex(example: str) -> None:
    derivation = matgrad.derive((EXAMPLES / example).read_text(encoding="utf-8"))
    mime, data = shown(derivation)
    assert mime == "text/latex"
    assert data["text/latex"].startswith("$$\\begin{aligned}")
    assert data["text/latex"].endswith("\\end{aligned}$$")
    assert data["text/plain"] == str(derivation)


def test_check_report_displays_as_its_text() -> None:
    derivation = matgrad.derive((EXAMPLES / "single_layer.mg").read_text(encoding="utf-8"))
    report = matgrad.check(derivation, bind={"f": "tanh"})
    mime, data = shown(report)
    assert data["text/plain"] == str(report)
    assert mime == "text/markdown" and "passed" in data["text/markdown"]


def test_a_gradient_shows_its_formula_in_ipython() -> None:
    # d.gradients['W'] showed the dataclass tree (MatMul(a=Transpose(…))) in a notebook.
    pretty = pytest.importorskip("IPython.lib.pretty").pretty
    derivation = matgrad.derive((EXAMPLES / "single_layer.mg").read_text())
    assert pretty(derivation.gradients["W"]) == "Xᵀ((Z − Y) ⊙ f′(A))"
    assert pretty(derivation.gradients) == ("{'W': Xᵀ((Z − Y) ⊙ f′(A)), "
                                            "'b': 1ᵀ((Z − Y) ⊙ f′(A))}")
    assert repr(derivation.gradients["W"]).startswith("MatMul(")  # repr stays the tree
