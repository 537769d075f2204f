"""LaTeX for a loop derivation: the result in the guide's form (23), with the two cases of the
adjoint recursion in a `cases` environment, and — in the standalone document — the two
derivations it joins (a generic layer j, and the code after the loop), each step cited.

Invariant: only names that pass `latex_name` reach the output (as for flat derivations).
"""

from __future__ import annotations

from matgrad.engine.results import Layers
from matgrad.front.loops import LayeredProgram, carried_adjoint
from matgrad.ir.dims import SCALAR, Shape
from matgrad.ir.expr import Expr
from matgrad.ir.indexing import Index
from matgrad.printing.latex import DOCUMENT_PREAMBLE, LatexPrinter, latex_fragment
from matgrad.printing.latex_names import latex_name


def _shapes(derivation: Layers) -> dict[str, Shape]:
    return {**derivation.epilogue.shapes, **derivation.body.shapes}


class LoopLines:
    """What every line of a loop's LaTeX result needs: its names (bold for matrices), the
    printer, the layer range `where` and the two cases of a recursion (j = last, j < last)."""

    def __init__(self, shapes: dict[str, Shape], layered: LayeredProgram) -> None:
        self.shapes = shapes
        self.printer = LatexPrinter(shapes)
        self.var = latex_name(layered.var, False)
        self.last = Index(layered.depth_symbol, layered.loop.stop[1]).text()
        self.where = f" && {self.var} = {layered.loop.start}, \\dots, {self.last}"

    def name(self, symbol: str) -> str:
        return latex_name(symbol, self.shapes.get(symbol, (2, 2)) != SCALAR)

    def cases(self, symbol: str, at_last: Expr, below: Expr) -> str:
        printer, var, last = self.printer, self.var, self.last
        return (f"{self.name(symbol)} &= \\begin{{cases}} {printer(at_last)} & {var} = {last} "
                f"\\\\ {printer(below)} & {var} < {last} \\end{{cases}}")


def loop_result_lines(derivation: Layers) -> list[str]:
    layered = derivation.layered
    writer = LoopLines(_shapes(derivation), layered)
    printer, name, cases = writer.printer, writer.name, writer.cases
    objective = latex_name(derivation.objective, False)
    in_loop = set(derivation.body.wrt)

    lines: list[str] = []
    for parameter, gradient in derivation.gradients.items():
        where = writer.where if parameter in in_loop else ""
        lines.append(f"\\frac{{\\partial {objective}}}{{\\partial {name(parameter)}}} &= "
                     f"{printer(gradient)}{where}")

    for symbol, at_last, below in derivation.adjoint_cases():
        lines.append(cases(symbol, at_last, below) if below is not None
                     else f"{name(symbol)} &= {printer(at_last)}")
    if derivation.reads_carried_adjoint_directly():
        for base in layered.carried:
            at_last, below = derivation.carried_cases(base)
            lines.append(cases(carried_adjoint(base, layered), at_last, below))
    for symbol, adjoint in derivation.epilogue.adjoints.items():
        lines.append(f"{name(symbol)} &= {printer(adjoint)}")
    return lines


def loop_latex(derivation: Layers, standalone: bool) -> str:
    result = "\\begin{align*}\n" + " \\\\\n".join(loop_result_lines(derivation)) + \
        "\n\\end{align*}\n"
    if not standalone:
        return result
    layered = derivation.layered
    printer = LatexPrinter(_shapes(derivation))
    program = " \\\\\n".join(
        f"{latex_name(s, True)} &= {printer(derivation.body.program.definitions[s])}"
        for s in derivation.body.program.definitions if s != derivation.objective)
    var = latex_name(layered.var, False)
    objective = latex_name(derivation.objective, False)
    shapes = _shapes(derivation)
    # The carried adjoints in the program's own names: ΔH_j = ∂L/∂H_j for a loop over H to L.
    given = ", ".join(
        f"${latex_name(carried_adjoint(base, layered), True)} = \\partial {objective} / "
        f"\\partial {latex_name(layered.at(base, 0), shapes.get(layered.at(base, 0)) != SCALAR)}$"
        for base in layered.carried)
    parts = [
        *DOCUMENT_PREAMBLE,
        f"\\section*{{The gradient of ${objective}$, for any "
        "depth}",
        f"Layer ${var}$ of the loop computes",
        f"\\begin{{align*}}\n{program}\n\\end{{align*}}",
        "and the gradient is",
        result.rstrip(),
        f"\\subsection*{{Layer ${var}$, given {given}}}",
        "{\\small",
        latex_fragment(derivation.body, narrow=True).rstrip(),
        "}",
        "\\subsection*{After the loop}",
        "{\\small",
        latex_fragment(derivation.epilogue, narrow=True).rstrip(),
        "}",
        "\\end{document}",
    ]
    return "\n".join(parts) + "\n"
