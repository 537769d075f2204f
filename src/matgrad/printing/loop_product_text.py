"""The plain-text result of a layer loop's Hessian-vector product, for any depth k.

Prints each layer's components (∇²J V)_W[j], then the two sweeps they read: the forward tangents
(Ȧ[j], Ż[j], with Ż[0] = 0) and the backward tangent Δ̇Z[j] in its two cases (after the loop,
and one layer up), the first derivation's ΔZ[j] and Δ[j], and the forward values — the names a
forward-over-reverse derivation by hand would use.  Reads the products (LoopProduct) as data.
"""

from __future__ import annotations

from matgrad.engine.results import LoopProduct
from matgrad.front.loops import carried_adjoint
from matgrad.ir import indexing
from matgrad.ir.expr import Expr
from matgrad.ir.indexing import Index
from matgrad.ir.text import Style, pretty_name, to_text
from matgrad.printing.loop_text import format_loop_steps
from matgrad.printing.report import format_steps


def shifted_up(expr: Expr, var: str) -> Expr:
    """`expr` one layer up (j → j+1): the layer below's value as layer j+1 computes it."""
    return indexing.rename(expr, lambda name: indexing.substitute_symbol(
        name, var, Index(var, 1)))


def format_loop_product(product: LoopProduct, style: Style = "unicode") -> str:
    first = product.first.layers
    layered = first.layered
    body, epilogue = product.layers.body, product.layers.epilogue
    var, depth = layered.var, layered.depth_symbol
    last = Index(depth, layered.loop.stop[1]).text()
    if style == "unicode":
        last = last.replace("-", " − ").replace("+", " + ")
    objective = pretty_name(first.objective, style)
    second = "∇²" if style == "unicode" else "d2"
    dots = "…" if style == "unicode" else "..."

    def shown(name: str, value: Expr) -> str:
        return f"{pretty_name(name, style)} = {to_text(value, style)}"

    lines = [f"for {var} = {layered.loop.start}, {dots}, {last}:"]
    for name, component in body.gradients.items():
        if name in first.parameters:
            lines.append(f"  ({second}{objective} V)_{pretty_name(name, style)} = "
                         f"{to_text(component, style)}")
    for name, component in epilogue.gradients.items():
        if name in first.parameters:
            lines.append(f"({second}{objective} V)_{pretty_name(name, style)} = "
                         f"{to_text(component, style)}")
    lines.append("where")
    for name, value in body.adjoints.items():
        lines.append(f"  {shown(name, value)}")
    cases: list[tuple[str, str]] = []
    for base in layered.carried:
        tangent = indexing.make(product.forward[base], Index(var, 0))
        cases.append((f"  {shown(tangent, body.gradients[carried_adjoint(base, layered)])}",
                      ""))
        start = indexing.make(product.forward[base], Index(None, layered.loop.start - 1))
        cases.append((f"  {pretty_name(start, style)} = 0", ""))
        dotted = indexing.make(product.backward[base], Index(var, 0))
        final = layered.final(base)
        cases.append((f"  {shown(dotted, epilogue.gradients[final])}", f"if {var} = {last}"))
        below = shifted_up(body.gradients[layered.at(base, -1)], var)
        cases.append((f"  {shown(dotted, below)}", f"if {var} < {last}"))
        at_last, one_up = first.carried_cases(base)
        adjoint = carried_adjoint(base, layered)
        cases.append((f"  {shown(adjoint, at_last)}", f"if {var} = {last}"))
        cases.append((f"  {shown(adjoint, one_up)}", f"if {var} < {last}"))
    width = max((len(text) for text, case in cases if case), default=0)
    lines += [f"{text.ljust(width)}   {case}".rstrip() for text, case in cases]
    for name, value in epilogue.adjoints.items():
        lines.append(f"  {shown(name, value)}")
    objective_name = body.program.objective
    for name, value in body.program.definitions.items():
        if name != objective_name and name not in layered.bindings("body"):
            lines.append(f"  {shown(name, value)}")  # the first derivation's Δ[j]
    for bound in layered.bindings("body"):
        if bound in body.program.definitions:
            lines.append(f"  {shown(bound, body.program.definitions[bound])}")
    for name, value in epilogue.program.definitions.items():
        if name not in (epilogue.program.objective, first.objective):
            lines.append(f"  {shown(name, value)}")
    for base in layered.start_values:
        lines.append(f"  {pretty_name(layered.initial(base), style)} = "
                     f"{layered.start(base).text}")
    return "\n".join(lines)


def format_loop_product_steps(product: LoopProduct, style: Style = "unicode") -> str:
    """Both products' steps: a generic layer's (with ΔZ[j] differentiated too), then the
    epilogue's; the first derivation's steps come first."""
    layered = product.first.layers.layered
    inputs = ", ".join(pretty_name(carried_adjoint(base, layered), style)
                       for base in layered.carried)
    return "\n\n".join([
        format_loop_steps(product.first.layers, style),
        f"The product for a generic layer {pretty_name(layered.var, style)} (its {inputs} "
        "component is the forward tangent):",
        format_steps(product.layers.body, style),
        "The product after the loop:",
        format_steps(product.layers.epilogue, style)])


__all__ = ["format_loop_product", "format_loop_product_steps", "shifted_up"]
