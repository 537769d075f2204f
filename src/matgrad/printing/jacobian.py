"""The Jacobian of a matrix-valued F as text and LaTeX: the differential dF in the guide's
notation, each block J_X = ∂vec(F)/∂vec(X)ᵀ in Kronecker form, and the vector-Jacobian
product (the gradient of U · F) each block was read off.

Invariant: what is printed is the engine's `Jacobian` (engine/results.py) — the blocks and the
differential exactly as read, with textbook forms of built-in derivatives only.
"""

from __future__ import annotations

from matgrad.engine.results import Jacobian
from matgrad.ir.dims import SCALAR
from matgrad.ir.expr import Expr
from matgrad.ir.text import Style, pretty_name, to_text
from matgrad.printing.kronecker import (
    COMMUTATION_NOTE,
    commutes,
    kronecker_latex,
    kronecker_text,
)
from matgrad.printing.latex import LatexPrinter, packed, read_off_document
from matgrad.printing.latex_lines import broken_definition
from matgrad.printing.latex_names import latex_name
from matgrad.printing.report import format_steps, used_names
from matgrad.printing.textbook import textbook_writer

JACOBIAN_CONVENTION = ("J_X = ∂vec(F)/∂vec(X)ᵀ, a row per entry of F and a column per entry of "
                       "X; vec stacks columns")


def block_name(output: str, parameter: str, style: Style = "unicode") -> str:
    partial, top = ("∂", "ᵀ") if style == "unicode" else ("d", "'")
    return (f"{partial}vec({pretty_name(output, style)})/{partial}vec("
            f"{pretty_name(parameter, style)}){top}")


def format_jacobian(result: Jacobian, style: Style = "unicode") -> str:
    """dF, then each block (or why it has none), the vector-Jacobian products, the named
    values they read and the convention."""
    shown = textbook_writer(result.shapes, result.program.definitions,
                            result.program.symmetric)
    output = pretty_name(result.output, style)
    lines: list[str] = []
    written: list[Expr] = []
    if result.differential is not None:
        written.append(shown(result.differential))
        lines.append(f"d{output} = {to_text(written[-1], style)}")
    for name, block in result.blocks.items():
        label = block_name(result.output, name, style)
        if block is None:
            lines.append(f"{label}: {result.reasons[name]}; compile() computes it from the "
                         "vector-Jacobian product, a row of F at a time")
            continue
        written += [shown(expr) for expr in block.expressions()]
        lines.append(f"{label} = {kronecker_text(block, shown, style)}")
    cotangent = pretty_name(result.cotangent, style)
    top = "ᵀ" if style == "unicode" else "'"
    for name, gradient in result.gradients.items():
        written.append(shown(gradient))
        lines.append(f"J_{pretty_name(name, style)}{top} vec({cotangent}) = vec("
                     f"{to_text(written[-1], style)})")
    where = [f"  {pretty_name(name, style)} = "
             f"{to_text(result.program.definitions[name], style)}"
             for name in used_names(result, written) if name != result.objective]
    if where:
        lines += ["where", *where]
    note = any(map(commutes, result.blocks.values()))
    phi = pretty_name(result.objective, style)
    lines.append(f"({JACOBIAN_CONVENTION}; J_X{top} vec({cotangent}) is the gradient of {phi} = "
                 f"{cotangent} · {output} for any {cotangent} of {output}'s shape"
                 + (f"; {COMMUTATION_NOTE})" if note else ")"))
    return "\n".join(lines)


def format_jacobian_steps(result: Jacobian, style: Style = "unicode") -> str:
    """The vector-Jacobian product's derivation: d(U · F) = U · dF, step by step."""
    cotangent, output = pretty_name(result.cotangent, style), pretty_name(result.output, style)
    return (f"(the Jacobian of {output} is read off the gradient of "
            f"{pretty_name(result.objective, style)} = {cotangent} · {output}, {cotangent} "
            "constant)\n" + format_steps(result, style))


def jacobian_latex(result: Jacobian, standalone: bool = False) -> str:
    """dF and the blocks as an align* fragment; standalone, a document that also shows the
    vector-Jacobian product's derivation they are read off."""
    printer = LatexPrinter(result.shapes)
    textbook = textbook_writer(result.shapes, result.program.definitions,
                               result.program.symmetric)
    output = latex_name(result.output, result.shapes[result.output] != SCALAR)
    lines = []
    if result.differential is not None:
        lines.append(broken_definition(f"d{output} ", textbook(result.differential), printer))
    for name, block in result.blocks.items():
        parameter = latex_name(name, result.shapes[name] != SCALAR)
        left = (f"\\frac{{\\partial \\operatorname{{vec}}({output})}}{{\\partial "
                f"\\operatorname{{vec}}({parameter})^\\top}} ")
        if block is None:
            lines.append(f"{left}&: \\text{{no closed matrix form (computed from the "
                         "vector-Jacobian product)}}")
        else:
            lines.append(packed(left, kronecker_latex(block, textbook, printer)))
    fragment = "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}\n"
    if not standalone:
        return fragment
    return read_off_document(
        f"The Jacobian of ${output}$",
        "Each block is read off the vector-Jacobian product below, linear in the constant "
        f"${latex_name(result.cotangent, True)}$; $\\operatorname{{vec}}$ stacks columns.",
        result.blocks.values(), fragment, "The vector-Jacobian product", result)


__all__ = ["format_jacobian", "format_jacobian_steps", "jacobian_latex"]
