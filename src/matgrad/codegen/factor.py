"""A planner rule for sums of products: terms with a common factor share one product,
XᵀA − Xᵀy = Xᵀ(A − y) and aᵀX + bᵀX = (a + b)ᵀX, so the code reads a large factor (the data
X) once per sum, as a hand-written gradient does, instead of once per term.

Invariants: exact algebra (matrix products distribute over sums), applied to the array
program only — the printed result is not changed; a product already computed (a shared value)
is not re-formed; a factor of ones (a row or column sum, cheap) is left alone.
"""

from __future__ import annotations

from collections.abc import Callable

from matgrad.codegen.chain import ones_shape
from matgrad.ir.expr import Add, Expr, MatMul, Neg, add


def _signed(negative: bool, expr: Expr) -> Expr:
    return Neg(expr) if negative else expr


def common_factor(expr: Add, known: Callable[[Expr], bool],
                  bracketed: Callable[[MatMul], Expr] = lambda product: product) -> Expr | None:
    """`expr` with the terms that share a left (then a right) matrix factor written as one
    product, or None when no two terms share one.  Each product term is first `bracketed` as
    the chain order will compute it (yᵀX w as yᵀ(X w) when X w is at hand), so the factor
    found is the one the code would compute twice."""
    terms = [(isinstance(term, Neg), term.x if isinstance(term, Neg) else term)
             for term in expr.terms]
    terms = [(negative, bracketed(core) if isinstance(core, MatMul) else core)
             for negative, core in terms]
    for left in (True, False):
        groups: dict[Expr, list[int]] = {}
        for index, (_, core) in enumerate(terms):
            if isinstance(core, MatMul) and not known(core):
                factor = core.a if left else core.b
                if ones_shape(factor) is None:
                    groups.setdefault(factor, []).append(index)
        for factor, members in groups.items():
            if len(members) < 2:
                continue
            others = []
            for index in members:
                negative, core = terms[index]
                assert isinstance(core, MatMul)
                others.append(_signed(negative, core.b if left else core.a))
            inner = add(others)
            product = MatMul(factor, inner) if left else MatMul(inner, factor)
            rest = [_signed(negative, core) for index, (negative, core) in enumerate(terms)
                    if index not in members]
            return add([product, *rest])
    return None
