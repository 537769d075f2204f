"""The plain-text result of a loop derivation: the guide's recursion (23), for any depth k.

Reads a derivation's layered part as data; the flat printer (report) prints each of its parts.
"""

from __future__ import annotations

from matgrad.engine.results import Layers
from matgrad.front.loops import carried_adjoint
from matgrad.ir.indexing import Index
from matgrad.ir.text import Style, pretty_name, to_text
from matgrad.printing.report import format_steps


def format_loop(derivation: Layers, style: Style = "unicode") -> str:
    """The gradients of every layer and after the loop, and the adjoint recursion (23)."""
    layered = derivation.layered
    partial = "∂" if style == "unicode" else "d"
    objective = pretty_name(derivation.objective, style)
    var, depth = layered.var, layered.depth_symbol
    last = Index(depth, layered.loop.stop[1]).text()
    if style == "unicode":
        last = last.replace("-", " − ").replace("+", " + ")
    first = layered.loop.start
    dots = "…" if style == "unicode" else "..."
    lines = [f"for {var} = {first}, {dots}, {last}:"]
    in_loop = set(derivation.body.wrt)
    for name, gradient in derivation.gradients.items():
        indent = "  " if name in in_loop else ""
        lines.append(f"{indent}{partial}{objective}/{partial}{pretty_name(name, style)} = "
                     f"{to_text(gradient, style)}")
    lines.append("where")
    width_cases = []
    for name, at_last, below in derivation.adjoint_cases():
        shown = pretty_name(name, style)
        if below is None:
            width_cases.append((f"  {shown} = {to_text(at_last, style)}", ""))
            continue
        width_cases.append((f"  {shown} = {to_text(at_last, style)}", f"if {var} = {last}"))
        width_cases.append((f"  {shown} = {to_text(below, style)}", f"if {var} < {last}"))
    if derivation.reads_carried_adjoint_directly():
        for base in layered.carried:
            at_last, below = derivation.carried_cases(base)
            shown = pretty_name(carried_adjoint(base, layered), style)
            width_cases.append((f"  {shown} = {to_text(at_last, style)}", f"if {var} = {last}"))
            width_cases.append((f"  {shown} = {to_text(below, style)}", f"if {var} < {last}"))
    width = max((len(text) for text, case in width_cases if case), default=0)
    lines += [f"{text.ljust(width)}   {case}".rstrip() for text, case in width_cases]
    for name, adjoint in derivation.epilogue.adjoints.items():
        lines.append(f"  {pretty_name(name, style)} = {to_text(adjoint, style)}")
    for bound in layered.bindings("body"):
        value = derivation.body.program.definitions[bound]
        lines.append(f"  {pretty_name(bound, style)} = {to_text(value, style)}")
    for name, value in derivation.epilogue.program.definitions.items():
        if name != derivation.objective:
            lines.append(f"  {pretty_name(name, style)} = {to_text(value, style)}")
    for base in layered.start_values:
        shown = layered.start(base).text
        lines.append(f"  {pretty_name(layered.initial(base), style)} = {shown}")
    return "\n".join(lines)




def format_loop_steps(derivation: Layers, style: Style = "unicode") -> str:
    """The steps of a generic layer's derivation, then those after the loop."""
    layer = pretty_name(derivation.layered.var, style)
    objective = pretty_name(derivation.objective, style)
    given = ", ".join(f"Δ{pretty_name(base, style)} = ∂{objective}/∂{pretty_name(base, style)}"
                      for base in derivation.layered.carried)
    return (f"Layer {layer}, given {given} of the layer's output:\n"
            f"{format_steps(derivation.body, style)}\n\nAfter the loop:\n"
            f"{format_steps(derivation.epilogue, style)}")
