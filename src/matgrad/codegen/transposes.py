"""Transposes lifted out of elementwise expressions and products, so that a value and its
transpose are one value for common-subexpression elimination.

A derivation often holds the same adjoint twice, once transposed and distributed over its
terms: attention's ∂J/∂Wq reads G = ΔZ ⊙ Z − (ΔZ ⊙ Z)𝟏1ᵀ ⊙ Z, and ∂J/∂Wk reads
ΔZᵀ ⊙ Zᵀ − 𝟏1ᵀ(ΔZᵀ ⊙ Zᵀ) ⊙ Zᵀ, which is Gᵀ.  Lifting rewrites the second into Transpose(G), so
the code computes G once and reads it through a transposed view.

Rewrites (bottom up, operand order kept): Aᵀ ⊙ Bᵀ = (A ⊙ B)ᵀ, Aᵀ ⊘ Bᵀ = (A ⊘ B)ᵀ,
Σ Aᵢᵀ = (Σ Aᵢ)ᵀ, −Aᵀ = (−A)ᵀ, s Aᵀ = (s A)ᵀ, f(Aᵀ) = f(A)ᵀ, Aᵀ.^p = (A.^p)ᵀ, (Aᵀ)ᵀ = A, and
AᵀBᵀ = (BA)ᵀ where each factor is a transpose or a ones matrix (𝟏ᵀ is 1ᵀ) and one at least
is a transpose.

Invariant: each rewrite is an identity of matrix algebra, so values never change; only where
a transpose is taken moves.
"""

from __future__ import annotations

from matgrad.ir.expr import (
    Add,
    Apply,
    Expr,
    Hadamard,
    HadDiv,
    HadPower,
    MatMul,
    Neg,
    Ones,
    Scale,
    Transpose,
)


def _untransposed(expr: Expr) -> Expr | None:
    """The transpose of `expr` when it is free: X for Xᵀ, 𝟏 for 1ᵀ and 1ᵀ for 𝟏 (written
    Transpose(Ones), as the derivation writes a row of ones); None otherwise."""
    if isinstance(expr, Transpose):
        return expr.x
    if isinstance(expr, Ones):
        return Transpose(expr)
    return None


def _lift_node(expr: Expr) -> Expr:
    """One rewrite at the top of `expr`, whose children are lifted already."""
    if isinstance(expr, Transpose) and isinstance(expr.x, Transpose):
        return expr.x.x
    if isinstance(expr, (Hadamard, HadDiv)) and isinstance(expr.a, Transpose) and isinstance(
            expr.b, Transpose):
        return Transpose(type(expr)(expr.a.x, expr.b.x))
    if isinstance(expr, Add) and all(isinstance(term, Transpose) for term in expr.terms):
        return Transpose(Add(tuple(term.x for term in expr.terms)))  # type: ignore[attr-defined]
    if isinstance(expr, Neg) and isinstance(expr.x, Transpose):
        return Transpose(Neg(expr.x.x))
    if isinstance(expr, Scale) and isinstance(expr.x, Transpose):
        return Transpose(Scale(expr.s, expr.x.x))
    if isinstance(expr, Apply) and isinstance(expr.arg, Transpose):
        return Transpose(Apply(expr.fn, expr.arg.x, expr.order))
    if isinstance(expr, HadPower) and isinstance(expr.base, Transpose):
        return Transpose(HadPower(expr.base.x, expr.exponent))
    if isinstance(expr, MatMul) and (isinstance(expr.a, Transpose)
                                     or isinstance(expr.b, Transpose)):
        left, right = _untransposed(expr.a), _untransposed(expr.b)
        if left is not None and right is not None:
            return Transpose(MatMul(right, left))
    return expr


def lift_transposes(expr: Expr, memo: dict[Expr, Expr]) -> Expr:
    """`expr` with its transposes lifted (memo: shared by every root of one module, so shared
    subexpressions stay shared)."""
    done = memo.get(expr)
    if done is not None:
        return done
    # Iterative post-order: expressions may be as deep as the program is long.
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node in memo:
            continue
        kids = node.children()
        if not expanded and kids:
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids if kid not in memo)
            continue
        memo[node] = _lift_node(node.with_children(tuple(memo[kid] for kid in kids)))
    return memo[expr]
