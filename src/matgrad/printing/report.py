"""The text report of a derivation: the gradients (what the CLI prints) and the numbered steps.

Gradients read `∂J/∂W = Xᵀ((Z − Y) ⊙ f′(A))`, followed by the named adjoints Δ and the
definitions of the let-bound names they use (`where A = X W + b`), as the guide writes (3)–(4)
and (23); derivatives of built-in functions are written out (tanh′(A) as 1 − Z ⊙ Z,
textbook.py), f′ stays for an abstract f.  Steps are one numbered line each: the whole of dJ
after the step and the identities it used, `by (5)`; a step that substitutes a definition
says so (`dZ with Z = f(A)`).
"""

from __future__ import annotations

from matgrad.engine.hessian import Hessian
from matgrad.engine.hessian_plan import EVALUATE_LIMIT
from matgrad.engine.results import Derivation, Product
from matgrad.ir.expr import Add, Expr, Sym
from matgrad.ir.kronecker import KroneckerForm
from matgrad.ir.text import Style, pretty_name, to_text
from matgrad.printing.kronecker import COMMUTATION_NOTE, commutes, kronecker_text
from matgrad.printing.textbook import textbook_writer


def cite_text(cites: tuple[str, ...]) -> str:
    return "by " + ", ".join(f"({cite})" for cite in cites)


def used_names(derivation: Derivation, shown: list[Expr]) -> list[str]:
    """Let-bound names the shown results refer to, with their dependencies."""
    definitions = derivation.program.definitions
    wanted: set[str] = set()
    stack: list[Expr] = list(shown)
    while stack:
        expr = stack.pop()
        for node in expr.walk():
            if isinstance(node, Sym) and node.name in definitions and node.name not in wanted:
                wanted.add(node.name)
                stack.append(definitions[node.name])
    return [name for name in definitions if name in wanted]


def results(derivation: Derivation) -> tuple[dict[str, Expr], dict[str, Expr]]:
    """The gradients and named adjoints as printed: built-in derivatives in textbook form."""
    shown = textbook_writer(derivation.shapes, derivation.program.definitions,
                            derivation.program.symmetric)

    return ({name: shown(g) for name, g in derivation.gradients.items()},
            {name: shown(a) for name, a in derivation.adjoints.items()})


def result_name(derivation: Derivation, parameter: str, style: Style = "unicode") -> str:
    """What a printed result is: ∂J/∂W, or (∇²J V)_W for a Hessian-vector product."""
    name = pretty_name(parameter, style)
    if isinstance(derivation, Product):
        objective = pretty_name(derivation.first.objective, style)
        return f"(∇²{objective} V)_{name}" if style == "unicode" else f"(d2{objective} V)_{name}"
    objective = pretty_name(derivation.objective, style)
    partial = "∂" if style == "unicode" else "d"
    return f"{partial}{objective}/{partial}{name}"


def second_order_preface(derivation: Product, style: Style = "unicode") -> str:
    """How a Hessian-vector product is derived: φ = Σ ∂J/∂W · V_W, V constant; ∇²J V = ∇φ."""
    phi = pretty_name(derivation.objective, style)
    first = pretty_name(derivation.first.objective, style)
    directions = ", ".join(pretty_name(name, style) for name in derivation.directions.values())
    product = "∇²" if style == "unicode" else "d2"
    return (f"{phi} = {to_text(derivation.program.definitions[derivation.objective], style)}"
            f"  (∇{first} · V, the directions {directions} constant: {product}{first} V = "
            f"∇{phi})")


def format_gradients(derivation: Derivation, style: Style = "unicode") -> str:
    gradients, adjoints = results(derivation)
    lines = [f"{result_name(derivation, name, style)} = {to_text(grad, style)}"
             for name, grad in gradients.items()]
    where = [f"  {pretty_name(name, style)} = {to_text(value, style)}"
             for name, value in adjoints.items()]
    where += [f"  {pretty_name(name, style)} = "
              f"{to_text(derivation.program.definitions[name], style)}"
              for name in used_names(derivation, [*gradients.values(), *adjoints.values()])]
    if where:
        lines.append("where")
        lines.extend(where)
    lines += symmetric_notes(derivation, style)
    return "\n".join(lines)


# What the gradient of a symmetric parameter is, by convention (front/program.py's keys).
SYMMETRIC_NOTES = {
    "frobenius": "the gradient on the symmetric matrices, sym(G) = (G + Gᵀ)/2 of the "
                 "unconstrained G",
    "elementwise": "the derivative by each distinct entry Sᵢⱼ = Sⱼᵢ, G + Gᵀ − I ⊙ G of the "
                   "unconstrained G",
}


def symmetric_notes(derivation: Derivation, style: Style = "unicode") -> list[str]:
    """One line naming the convention, when a parameter is declared symmetric or spd."""
    names = [pretty_name(name, style) for name in derivation.wrt
             if name in derivation.program.symmetric]
    if not names:
        return []
    convention = SYMMETRIC_NOTES[derivation.program.symmetric_gradient]
    return [f"({', '.join(names)} symmetric: {convention})"]


BATCHED_NOTE = ("a block column a call on a batch of directions: a formula through more than "
                f"{EVALUATE_LIMIT} named values costs more to evaluate than that")
VEC_CONVENTION = ("H_ab = ∂²J/∂vec(a)∂vec(b)ᵀ, rows indexed by a's entries; vec stacks columns")


def block_name(objective: str, a: str, b: str, style: Style = "unicode") -> str:
    partial, square = ("∂", "²") if style == "unicode" else ("d", "2")
    a_name, b_name = pretty_name(a, style), pretty_name(b, style)
    return f"{partial}{square}{objective}/{partial}{a_name}{partial}{b_name}"


def format_hessian(hessian: Hessian, style: Style = "unicode") -> str:
    """The blocks of ∇²J, each in matrix form or with the reason it has none."""
    product = hessian.product
    objective = pretty_name(hessian.first.objective, style)
    shown = textbook_writer(product.shapes, product.program.definitions,
                            product.program.symmetric)
    lines: list[str] = []
    written: list[Expr] = []
    for (a, b), block in hessian.blocks.items():
        name = block_name(objective, a, b, style)
        if block is None:
            lines.append(f"{name}: {hessian.reasons[(a, b)]}; compile() computes it column by "
                         "column from the Hessian-vector product")
            continue
        if isinstance(block, KroneckerForm):
            written += [shown(expr) for expr in block.expressions()]
            lines.append(f"{name} = {kronecker_text(block, shown, style)}")
            continue
        written.append(shown(block))
        lines.append(f"{name} = {to_text(written[-1], style)}")
    where = [f"  {pretty_name(name, style)} = "
             f"{to_text(product.program.definitions[name], style)}"
             for name in used_names(product, written)]
    if where:
        lines += ["where", *where]
    assembled = sum(not hessian.evaluated(key) for key in hessian.blocks)
    if assembled:
        how = BATCHED_NOTE if hessian.batched else "one direction a call"
        lines.append(f"(generated code: {len(hessian.blocks) - assembled} blocks from their "
                     f"formulas, {assembled} from the Hessian-vector product, {how})")
    note = any(map(commutes, hessian.blocks.values()))
    lines.append(f"({VEC_CONVENTION}" + (f"; {COMMUTATION_NOTE})" if note else ")"))
    return "\n".join(lines)


def _state_text(terms: tuple[Expr, ...], style: Style) -> str:
    if not terms:
        return "0"
    if len(terms) == 1:
        return to_text(terms[0], style)
    return to_text(Add(terms), style)


def format_steps(derivation: Derivation, style: Style = "unicode") -> str:
    objective = pretty_name(derivation.objective, style)
    lines: list[str] = []
    if isinstance(derivation, Product):
        lines.append(second_order_preface(derivation, style))
    invented = derivation.program.invented
    if invented:
        # An inline objective's intermediates, named as the guide names them before it
        # differentiates ("where A = XW + b").
        named = ", ".join(f"{pretty_name(name, style)} = "
                          f"{to_text(derivation.program.definitions[name], style)}"
                          for name in invented)
        lines.append(f"where {named}  (naming the intermediates)")
    first = next((step for step in derivation.steps if step.phase != "readoff"), None)
    if first is not None:
        lines.append(f"d{objective} = {_state_text(first.before, style)}")
    number = 0
    body: list[tuple[str, str]] = []
    for step in derivation.steps:
        number += 1
        if step.phase == "readoff":
            name = pretty_name(step.node, style)
            body.append((f"{number:3d}. ∂{objective}/∂{name} = {to_text(step.after[0], style)}",
                         cite_text(step.cites)))
            continue
        note = ""
        if step.expands is not None and step.expands != derivation.objective:
            definition = to_text(derivation.program.definitions[step.expands], style)
            note = f", with {pretty_name(step.expands, style)} = {definition}"
        body.append((f"{number:3d}.   = {_state_text(step.after, style)}",
                     cite_text(step.cites) + note))
    width = min(max((len(text) for text, _ in body), default=0), 100)
    lines.extend(f"{text.ljust(width)}    {why}" for text, why in body)
    return "\n".join(lines)
