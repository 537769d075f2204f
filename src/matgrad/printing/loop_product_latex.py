"""LaTeX for a layer loop's Hessian-vector product: each layer's components, the forward
tangents (Ȧⱼ, Żⱼ, Ż₀ = 0) and the backward tangent Δ̇Zⱼ and adjoint ΔZⱼ in `cases` (after the loop,
one layer up) — and, in the standalone document, the two products they come from (a generic
layer j with ΔZⱼ differentiated too, and the code after the loop), each step cited.

Invariant: only names that pass `latex_name` reach the output (as for flat derivations).
"""

from __future__ import annotations

from matgrad.engine.results import LoopProduct
from matgrad.front.loops import carried_adjoint
from matgrad.ir import indexing
from matgrad.ir.dims import Shape
from matgrad.ir.indexing import Index
from matgrad.printing.latex import DOCUMENT_PREAMBLE, latex_fragment
from matgrad.printing.latex_names import latex_name
from matgrad.printing.loop_latex import LoopLines
from matgrad.printing.loop_product_text import shifted_up


def _shapes(product: LoopProduct) -> dict[str, Shape]:
    return {**product.first.layers.epilogue.shapes, **product.first.layers.body.shapes,
            **product.layers.epilogue.shapes, **product.layers.body.shapes}


def loop_product_lines(product: LoopProduct) -> list[str]:
    first = product.first.layers
    layered = first.layered
    writer = LoopLines(_shapes(product), layered)
    printer, name, cases = writer.printer, writer.name, writer.cases
    objective = latex_name(first.objective, False)

    lines: list[str] = []
    for part, in_loop in ((product.layers.body, True), (product.layers.epilogue, False)):
        for parameter, component in part.gradients.items():
            if parameter in first.parameters:
                where = writer.where if in_loop else ""
                lines.append(f"(\\nabla^2 {objective}\\,\\mathbf{{V}})_{{{name(parameter)}}} &= "
                             f"{printer(component)}{where}")
    for symbol, value in product.layers.body.adjoints.items():
        lines.append(f"{name(symbol)} &= {printer(value)}")
    for base in layered.carried:
        tangent = indexing.make(product.forward[base], Index(layered.var, 0))
        lines.append(f"{name(tangent)} &= "
                     f"{printer(product.layers.body.gradients[carried_adjoint(base, layered)])}, "
                     f"\\quad {name(indexing.make(product.forward[base], Index(None, 0)))} "
                     "= \\mathbf{0}")
        lines.append(cases(indexing.make(product.backward[base], Index(layered.var, 0)),
                           product.layers.epilogue.gradients[layered.final(base)],
                           shifted_up(product.layers.body.gradients[layered.at(base, -1)],
                                      layered.var)))
        at_last, one_up = first.carried_cases(base)
        lines.append(cases(carried_adjoint(base, layered), at_last, one_up))
    for symbol, value in product.layers.epilogue.adjoints.items():
        lines.append(f"{name(symbol)} &= {printer(value)}")
    return lines


def loop_product_latex(product: LoopProduct, standalone: bool) -> str:
    result = "\\begin{align*}\n" + " \\\\\n".join(loop_product_lines(product)) + \
        "\n\\end{align*}\n"
    if not standalone:
        return result
    first = product.first.layers
    var = latex_name(first.layered.var, False)
    objective = latex_name(first.objective, False)
    inputs = ", ".join(f"${latex_name(carried_adjoint(base, first.layered), True)}$"
                       for base in first.layered.carried)
    parts = [
        *DOCUMENT_PREAMBLE,
        f"\\section*{{The Hessian-vector product of ${objective}$, for any depth}}",
        "Forward-over-reverse in two sweeps, derived once for a generic layer:",
        "{\\small",
        result.rstrip(),
        "}",
        f"\\subsection*{{Layer ${var}$: the product of $\\nabla {objective} \\cdot "
        f"\\mathbf{{V}}$, its input {inputs} differentiated too}}",
        "{\\small",
        latex_fragment(product.layers.body, narrow=True).rstrip(),
        "}",
        "\\subsection*{After the loop}",
        "{\\small",
        latex_fragment(product.layers.epilogue, narrow=True).rstrip(),
        "}",
        "\\end{document}",
    ]
    return "\n".join(parts) + "\n"


__all__ = ["loop_product_latex", "loop_product_lines"]
