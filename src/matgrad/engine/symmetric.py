"""Symmetric parameters: a gradient read on the symmetric matrices, and expressions written at
the symmetric points where they are evaluated.

A parameter declared `symmetric` or `spd` varies over the symmetric matrices only.  Its
gradient is the unconstrained G read by the convention's rule (rules/symmetric.rules: sym(G)
or G + Gᵀ − I ⊙ G), then written as it is evaluated: at a symmetric S, Sᵀ = S and S⁻ᵀ = S⁻¹
exactly, so sym(S⁻ᵀ) = (S⁻ᵀ + S⁻¹)/2 reads S⁻¹.  Chains of products get one bracketing first,
so that equal terms look equal and collect.

Invariant: every rewrite here is exact at symmetric values of the `symmetric` names (the only
values a result of such a program is evaluated at).
"""

from __future__ import annotations

from collections.abc import Callable

from matgrad.ir.expr import Add, Expr, Inv, MatMul, Sym, Transpose
from matgrad.rewrite.rules import GuardContext, Rule, apply_rule
from matgrad.rewrite.simplify import collect_like_terms

Tidy = Callable[[Expr], Expr]


def on_symmetric_matrices(rule: Rule, gradient: Expr, context: GuardContext,
                          symmetric: frozenset[str], tidy: Tidy) -> Expr:
    """A symmetric parameter's gradient G as `rule` reads it, at symmetric points, tidied."""
    projected = apply_rule(rule, gradient, context.shape_of, context)
    assert projected is not None, "a symmetric gradient rule matches any square matrix"
    return at_symmetric_points(tidy(projected), symmetric, context, tidy)


def at_symmetric_points(expr: Expr, symmetric: frozenset[str], context: GuardContext,
                        tidy: Tidy) -> Expr:
    """`expr` with Sᵀ = S, S⁻ᵀ = S⁻¹ for the `symmetric` names and like terms collected."""
    return tidy(_rewritten(expr, symmetric, context))


def _rewritten(expr: Expr, symmetric: frozenset[str], context: GuardContext) -> Expr:
    kids = expr.children()
    if kids:
        expr = expr.with_children(tuple(_rewritten(kid, symmetric, context) for kid in kids))
    if isinstance(expr, Transpose) and _is_symmetric(expr.x, symmetric):
        return expr.x
    if isinstance(expr, MatMul):  # one bracketing of a chain, so that equal terms look equal
        return _left_associated(expr)
    if isinstance(expr, Add):
        return collect_like_terms(expr, context.shape_of) or expr
    return expr


def _is_symmetric(expr: Expr, symmetric: frozenset[str]) -> bool:
    """A symmetric name, its inverse or transpose, AᵀA and AAᵀ, or S S of a symmetric S."""
    if isinstance(expr, (Inv, Transpose)):
        return _is_symmetric(expr.x, symmetric)
    if isinstance(expr, MatMul):
        return (expr.b == Transpose(expr.a) or expr.a == Transpose(expr.b)
                or (expr.a == expr.b and _is_symmetric(expr.a, symmetric)))
    return isinstance(expr, Sym) and expr.name in symmetric


def _left_associated(expr: MatMul) -> Expr:
    factors: list[Expr] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, MatMul):
            stack += [node.b, node.a]
        else:
            factors.append(node)
    chain = factors[0]
    for factor in factors[1:]:
        chain = MatMul(chain, factor)
    return chain


__all__ = ["at_symmetric_points", "on_symmetric_matrices"]
