"""Textbook forms of printed results.

The engine derives with f′ as a node of its own (identity 15), which is right for an abstract f
and what code generation reads.  A reader of a result expects the derivative of a built-in
written out, as the guide does: tanh′(A) is 1 − Z ⊙ Z when Z = tanh(A) is named (else
1 − tanh(A) ⊙ tanh(A)), exp′(x) is exp(x), log′(p) is 1 ./ p, sin′ is cos, softplus′ is σ, and
f″ (which Hessian-vector products read) likewise: the forms are the rules of
rules/derivatives.rules (rewrite/derivative_forms.py), each checked numerically there.

Invariants: a written-out form equals f′ (f″) exactly; functions without a rule (relu′, whose
derivative has no closed form in the language, and every abstract function) keep f′; third
derivatives are left as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from matgrad.ir.dims import Shape
from matgrad.ir.expr import Add, Apply, Const, Expr, Inv, Scale, Sym, Transpose, substitute
from matgrad.ir.shapes import shape_of
from matgrad.rewrite.derivative_forms import derivative_forms
from matgrad.rewrite.simplify import collect_like_terms


def _is_symmetric(expr: Expr, symmetric: frozenset[str]) -> bool:
    if isinstance(expr, Inv):
        return _is_symmetric(expr.x, symmetric)
    return isinstance(expr, Sym) and expr.name in symmetric


def textbook(expr: Expr, shapes: Mapping[str, Shape], definitions: Mapping[str, Expr],
             symmetric: frozenset[str] = frozenset()) -> Expr:
    """`expr` in textbook form (see `textbook_writer`, which to prefer for many expressions)."""
    return textbook_writer(shapes, definitions, symmetric)(expr)


def textbook_writer(shapes: Mapping[str, Shape], definitions: Mapping[str, Expr],
                    symmetric: frozenset[str] = frozenset()) -> Callable[[Expr], Expr]:
    """A function writing expressions of one program with every f′(x) of a built-in f written
    out (through a named f(x) if any), and Sᵀ = S, S⁻ᵀ = S⁻¹ for the `symmetric` names (declared
    spd or symmetric: a printed result is a value at such an S, never a differential, so the
    identity holds exactly).  The program's named outputs are gathered once, not per call."""
    outputs = {definition: Sym(name) for name, definition in definitions.items()
               if isinstance(definition, Apply) and definition.order == 0}
    memo: dict[Expr, Shape] = {}
    forms = derivative_forms()

    def rewrite(node: Expr) -> Expr:
        kids = node.children()
        if kids:
            node = node.with_children(tuple(rewrite(kid) for kid in kids))
        if isinstance(node, Transpose) and _is_symmetric(node.x, symmetric):
            return node.x
        if isinstance(node, Add) and symmetric:
            # (A + Aᵀ)x with A symmetric reads 2Ax, not (A + A)x.
            return collect_like_terms(node, lambda e: shape_of(e, shapes, memo)) or node
        if isinstance(node, Scale) and isinstance(node.s, Const) and isinstance(node.x, Scale) \
                and isinstance(node.x.s, Const):
            # (1/2)(2K), what collecting (Kᵀ + K)/2 gives, reads K; a product beyond floats
            # (1e-200 · 1e-200) stays a product, as the tidy rules keep it.
            product = node.s.value * node.x.s.value
            if max(abs(product.numerator), product.denominator) < 10**6:
                return node.x.x if product == 1 else Scale(Const(product), node.x.x)
        return write_out(node) if isinstance(node, Apply) and node.order else node

    def measure(expr: Expr) -> Shape:
        return shape_of(expr, shapes, memo)

    def write_out(node: Apply) -> Expr:
        value = Apply(node.fn, node.arg)
        output = outputs.get(value, value)
        written = forms.written_out(node, measure, output)
        if written is None:
            return node
        first = Apply(node.fn, node.arg, 1)
        first_written = forms.written_out(first, measure, output) if node.order == 2 else None
        # f″ reads f′, written out in its turn (its argument is written already).
        return written if first_written is None else substitute(written, {first: first_written})

    return rewrite
