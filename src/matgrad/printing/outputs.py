"""Each printed output of a result, as a table keyed by the result's kind: the text, the steps,
the LaTeX (fragment or document) and Jupyter's LaTeX.  The façade looks a kind up here and
never tests a kind itself; the printers stay one module per form.

Invariant: every table has an entry for every kind of `engine.results.RESULT_KINDS`
(tests/test_kinds.py), so a new kind is one class and one entry per table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from matgrad.engine.results import Derivation, Jacobian, LoopDerivation, LoopProduct, Product
from matgrad.ir.text import Style
from matgrad.printing.jacobian import format_jacobian, format_jacobian_steps, jacobian_latex
from matgrad.printing.json_output import result_json
from matgrad.printing.latex import derivation_lines, latex_document, latex_fragment
from matgrad.printing.loop_latex import loop_latex
from matgrad.printing.loop_product_latex import loop_product_latex
from matgrad.printing.loop_product_text import format_loop_product, format_loop_product_steps
from matgrad.printing.loop_text import format_loop, format_loop_steps
from matgrad.printing.report import format_gradients, format_steps
from matgrad.rewrite.rules import load_rules


def display_math(latex: str) -> str:
    """LaTeX for Jupyter's MathJax, which renders display math: align* becomes aligned inside
    $$ … $$."""
    body = latex.replace("\\begin{align*}", "$$\\begin{aligned}")
    return body.replace("\\end{align*}", "\\end{aligned}$$").strip()


def _flat_latex(derivation: Derivation, standalone: bool) -> str:
    if not standalone:
        return latex_fragment(derivation)
    rules = load_rules()
    used = list(dict.fromkeys(step.rule for step in derivation.steps))
    return latex_document(derivation, [rules.by_name(name) for name in used])


def _flat_jupyter(derivation: Derivation) -> str:
    lines = derivation_lines(derivation)
    return "$$\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}$$"


def _loop_jupyter(derivation: LoopDerivation) -> str:
    return display_math(LATEX[type(derivation)](derivation, False))


TEXT: dict[type[Derivation], Callable[[Any, Style], str]] = {
    Derivation: format_gradients, Product: format_gradients,
    LoopDerivation: lambda result, style: format_loop(result.layers, style),
    LoopProduct: format_loop_product, Jacobian: format_jacobian}

STEPS: dict[type[Derivation], Callable[[Any, Style], str]] = {
    Derivation: format_steps, Product: format_steps,
    LoopDerivation: lambda result, style: format_loop_steps(result.layers, style),
    LoopProduct: format_loop_product_steps, Jacobian: format_jacobian_steps}

# (result, standalone) → an align* fragment or a document that compiles with pdflatex.
LATEX: dict[type[Derivation], Callable[[Any, bool], str]] = {
    Derivation: _flat_latex, Product: _flat_latex,
    LoopDerivation: lambda result, standalone: loop_latex(result.layers, standalone),
    LoopProduct: loop_product_latex, Jacobian: jacobian_latex}

JUPYTER_LATEX: dict[type[Derivation], Callable[[Any], str]] = {
    Derivation: _flat_jupyter, Product: _flat_jupyter, LoopDerivation: _loop_jupyter,
    LoopProduct: _loop_jupyter, Jacobian: lambda result: display_math(jacobian_latex(result))}


def json_of(result: Derivation, modules: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON object of a result (printing/json_output.py), its printed forms from the
    tables above; `modules` adds the generated module of each backend named."""
    kind = type(result)
    return result_json(result, TEXT[kind](result, "unicode"), STEPS[kind](result, "unicode"),
                       LATEX[kind](result, False), modules)
