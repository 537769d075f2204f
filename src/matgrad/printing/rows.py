"""The row-block split as the user reads it: J = Σ_b J_b + p, in text and in LaTeX.

One statement with its citation, then what J_b and p are; the gradients follow from it
(∇J = Σ_b ∇J_b + ∇p) and are said, not derived again.  Invariant: only the decomposition's
expressions and names are printed, through the IR's printers.
"""

from __future__ import annotations

from matgrad.engine.rows import CITATION, RowDecomposition
from matgrad.ir.text import Style, pretty_name, to_text
from matgrad.printing.latex import to_latex
from matgrad.printing.latex_names import latex_name


def row_blocks_text(split: RowDecomposition, style: Style = "unicode") -> str:
    """`J = Σ_b J_b + p  (why)`, then `J_b = …` and `p = …` and what the gradient is."""
    name = pretty_name(split.objective, style)
    rows = pretty_name(split.rows, style)
    data = ", ".join(pretty_name(argument, style) for argument in split.data)
    total = "Σ_b" if style == "unicode" else "sum_b"
    nabla = "∇" if style == "unicode" else "grad "
    penalty = "" if split.penalty is None else " + p"
    lines = [f"{name} = {total} {name}_b{penalty}  over the row blocks b of {rows} (the rows "
             f"of {data}; {CITATION if style == 'unicode' else 'the guide (19)'})",
             f"  {name}_b = {to_text(split.data_terms, style)}  on block b"]
    program = split.block_program
    named = [name_ for name_ in program.definitions if name_ != program.objective]
    if named:
        lines.append("  where " + ", ".join(
            f"{pretty_name(name_, style)} = {to_text(program.definitions[name_], style)}"
            for name_ in named))
    if split.penalty is not None:
        lines.append(f"  p = {to_text(split.penalty, style)}  (the parameters only)")
    lines.append(f"  so {nabla}{name} = {total} {nabla}{name}_b{penalty.replace('p', nabla + 'p')}")
    if split.written_out_depth is not None:
        lines.append(f"  (decided with the loop written out at depth {split.written_out_depth}; "
                     "every layer is the same)")
    return "\n".join(lines)


def row_blocks_latex(split: RowDecomposition) -> str:
    """The split as an `align*` block that compiles with pdflatex."""
    name = latex_name(split.objective, False)
    penalty = "" if split.penalty is None else " + p"
    rows = [rf"{name} &= \sum_b {name}_b{penalty} "
            rf"&& \text{{row blocks $b$ of ${latex_name(split.rows, False)}$; the guide (19)}}",
            rf"{name}_b &= {to_latex(split.data_terms)} && \text{{on block $b$}}"]
    if split.penalty is not None:
        rows.append(rf"p &= {to_latex(split.penalty)} && \text{{the parameters only}}")
    gradient_penalty = "" if split.penalty is None else r" + \nabla p"
    rows.append(rf"\nabla {name} &= \sum_b \nabla {name}_b{gradient_penalty}")
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}\n"
