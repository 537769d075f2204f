"""Linear maps between matrices in Kronecker form: the blocks of a Hessian of matrix parameters.

A block H_ab = ∂²J/∂vec(a)∂vec(b)ᵀ is the matrix of the linear map V ↦ (∇²J V)_a.  Written on
matrices, such a map is a sum of terms, each a chain of a few elementary maps; each has a
Kronecker (vec) matrix, vec stacking columns:

    Kron(B, A):      M ↦ A M Bᵀ       B ⊗ A              (vec(A M Bᵀ) = (B ⊗ A) vec(M))
    Mask(K):         M ↦ K ⊙ M        diag(vec(K))       (M ⊘ K: diag(vec(K))⁻¹)
    Flip(m, n):      M ↦ Mᵀ           K₍ₘ,ₙ₎, the commutation matrix (M is m×n)
    Inner(K):        M ↦ ⟨K, M⟩       vec(K)ᵀ
    Spread(K):       s ↦ s K          vec(K)

This module holds the types and their algebra — the identities that shorten a chain, one
named entry of CHAIN_IDENTITIES per pair of adjacent factor classes (the mixed product
(B ⊗ A)(D ⊗ C) = BD ⊗ AC, diag(vec K)diag(vec Q) = diag(vec(K ⊙ Q)), K(B ⊗ A) = (A ⊗ B)K
moving every transposition next to the direction, ⟨K, A M Bᵀ⟩ = ⟨AᵀKB, M⟩, …; each checked on
random matrices by the tests) and the
one that shortens a sum (terms equal but for one factor merge into one factor of a sum, so
Aᵀ V + A V is (I ⊗ (Aᵀ + A))).  engine/kronecker.py reads the maps off a product; printing and
evaluation read the types.

Invariant: every identity used is exact; a chain that none applies to is kept as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from matgrad.ir.dims import SCALAR, Dim, Shape
from matgrad.ir.expr import (
    Add,
    Const,
    Expr,
    Frob,
    Hadamard,
    HadDiv,
    Identity,
    MatMul,
    Neg,
    Ones,
    Scale,
    Transpose,
    Zero,
)


@dataclass(frozen=True)
class Kron:
    """M ↦ A M Bᵀ for outer B and inner A (None: an identity); its matrix is B ⊗ A."""

    outer: Expr | None
    inner: Expr | None
    source: Shape
    target: Shape


@dataclass(frozen=True)
class Mask:
    """M ↦ K ⊙ M, or M ⊘ K when `divide`; its matrix is diag(vec(K)) (or its inverse)."""

    factor: Expr
    source: Shape
    divide: bool = False

    @property
    def target(self) -> Shape:
        return self.source


@dataclass(frozen=True)
class Flip:
    """M ↦ Mᵀ; its matrix is the commutation matrix K₍ₘ,ₙ₎ of an m×n M."""

    source: Shape

    @property
    def target(self) -> Shape:
        return (self.source[1], self.source[0])


@dataclass(frozen=True)
class Inner:
    """M ↦ ⟨K, M⟩ (a 1×1); its matrix is the row vec(K)ᵀ."""

    factor: Expr
    source: Shape

    @property
    def target(self) -> Shape:
        return SCALAR


@dataclass(frozen=True)
class Spread:
    """s ↦ s K for a 1×1 s; its matrix is the column vec(K)."""

    factor: Expr
    target: Shape

    @property
    def source(self) -> Shape:
        return SCALAR


Factor = Kron | Mask | Flip | Inner | Spread


@dataclass(frozen=True)
class Term:
    """coefficient · F₁ F₂ … Fₖ, applied right to left (Fₖ meets the direction first); the
    coefficient is a 1×1 constant, None for 1."""

    coefficient: Expr | None
    factors: tuple[Factor, ...]


@dataclass(frozen=True)
class KroneckerForm:
    """A block: the sum of `terms`, a map from `source` (the direction's shape) to `target`
    (the component's shape).  No terms: the zero block."""

    terms: tuple[Term, ...]
    source: Shape
    target: Shape

    def expressions(self) -> list[Expr]:
        """Every matrix expression the form reads (coefficients and factors)."""
        found: list[Expr] = []
        for term in self.terms:
            if term.coefficient is not None:
                found.append(term.coefficient)
            for factor in term.factors:
                found += factor_expressions(factor)
        return found


def factor_expressions(factor: Factor) -> list[Expr]:
    if isinstance(factor, Kron):
        return [side for side in (factor.outer, factor.inner) if side is not None]
    if isinstance(factor, Flip):
        return []
    return [factor.factor]


def times(first: Expr | None, second: Expr | None) -> Expr | None:
    """The product of two coefficients (None is 1)."""
    if first is None:
        return second
    if second is None:
        return first
    return Scale(first, second)


def _product(left: Expr | None, right: Expr | None) -> Expr | None:
    """The matrix product, None standing for an identity."""
    if left is None:
        return right
    if right is None:
        return left
    return MatMul(left, right)


def _transposed(expr: Expr | None) -> Expr | None:
    return None if expr is None else Transpose(expr)


# ---- the identities that shorten a chain: one named entry per pair of adjacent factors ----


def _mixed_product(outer: Kron, inner: Kron) -> tuple[Factor, ...]:
    return (Kron(_product(outer.outer, inner.outer), _product(outer.inner, inner.inner),
                 inner.source, outer.target),)


def _masks(outer: Mask, inner: Mask) -> tuple[Factor, ...]:
    if outer.divide == inner.divide:
        return (Mask(Hadamard(outer.factor, inner.factor), inner.source, outer.divide),)
    kept, divisor = (outer, inner) if inner.divide else (inner, outer)
    return (Mask(HadDiv(kept.factor, divisor.factor), inner.source),)


def _flips(outer: Flip, inner: Flip) -> tuple[Factor, ...]:
    return ()


def _flip_kron(outer: Flip, inner: Kron) -> tuple[Factor, ...]:
    return (Kron(inner.inner, inner.outer, (inner.source[1], inner.source[0]), outer.target),
            Flip(inner.source))


def _flip_mask(outer: Flip, inner: Mask) -> tuple[Factor, ...]:
    return (replace(inner, factor=Transpose(inner.factor),
                    source=(inner.source[1], inner.source[0])), Flip(inner.source))


def _flip_spread(outer: Flip, inner: Spread) -> tuple[Factor, ...]:
    return (Spread(Transpose(inner.factor), outer.target),)


def _inner_kron(outer: Inner, inner: Kron) -> tuple[Factor, ...]:
    factor = _product(_product(_transposed(inner.inner), outer.factor), inner.outer)
    assert factor is not None
    return (Inner(factor, inner.source),)


def _inner_mask(outer: Inner, inner: Mask) -> tuple[Factor, ...]:
    combined = HadDiv(outer.factor, inner.factor) if inner.divide else Hadamard(
        outer.factor, inner.factor)
    return (Inner(combined, inner.source),)


def _inner_flip(outer: Inner, inner: Flip) -> tuple[Factor, ...]:
    return (Inner(Transpose(outer.factor), inner.source),)


def _inner_spread(outer: Inner, inner: Spread) -> tuple[Factor, ...]:
    return (Kron(None, Frob(outer.factor, inner.factor), SCALAR, SCALAR),)


def _kron_spread(outer: Kron, inner: Spread) -> tuple[Factor, ...]:
    factor = _product(_product(outer.inner, inner.factor), _transposed(outer.outer))
    assert factor is not None
    return (Spread(factor, outer.target),)


def _mask_spread(outer: Mask, inner: Spread) -> tuple[Factor, ...]:
    combined = HadDiv(inner.factor, outer.factor) if outer.divide else Hadamard(
        outer.factor, inner.factor)
    return (Spread(combined, outer.target),)


@dataclass(frozen=True)
class ChainIdentity:
    """An exact identity of vec matrices: `outer ∘ inner` (adjacent factors, outer applied
    after inner) is the shorter or better-ordered chain `rewrite` gives."""

    name: str
    statement: str
    rewrite: Callable[[Any, Any], tuple[Factor, ...]]


# (class of the outer factor, class of the inner one) → the identity; each is checked on
# random matrices in tests/test_kronecker.py.
CHAIN_IDENTITIES: dict[tuple[type, type], ChainIdentity] = {
    (Kron, Kron): ChainIdentity("mixed product", "(B ⊗ A)(D ⊗ C) = BD ⊗ AC", _mixed_product),
    (Mask, Mask): ChainIdentity("masks", "diag(vec K) diag(vec Q) = diag(vec(K ⊙ Q))",
                                _masks),
    (Flip, Flip): ChainIdentity("transposed twice", "K₍ₙ,ₘ₎ K₍ₘ,ₙ₎ = I", _flips),
    (Flip, Kron): ChainIdentity("commutation past a Kronecker product",
                                "K₍ₚ,q₎ (B ⊗ A) = (A ⊗ B) K₍ₘ,ₙ₎", _flip_kron),
    (Flip, Mask): ChainIdentity("commutation past a mask",
                                "K₍ₘ,ₙ₎ diag(vec Q) = diag(vec Qᵀ) K₍ₘ,ₙ₎", _flip_mask),
    (Flip, Spread): ChainIdentity("a spread transposed", "K₍ₘ,ₙ₎ vec(Q) = vec(Qᵀ)",
                                  _flip_spread),
    (Inner, Kron): ChainIdentity("inner product through A M Bᵀ", "⟨K, A M Bᵀ⟩ = ⟨AᵀKB, M⟩",
                                 _inner_kron),
    (Inner, Mask): ChainIdentity("inner product through a mask", "⟨K, Q ⊙ M⟩ = ⟨K ⊙ Q, M⟩",
                                 _inner_mask),
    (Inner, Flip): ChainIdentity("inner product with a transpose", "⟨K, Mᵀ⟩ = ⟨Kᵀ, M⟩",
                                 _inner_flip),
    (Inner, Spread): ChainIdentity("inner product of a spread", "⟨K, s Q⟩ = ⟨K, Q⟩ s",
                                   _inner_spread),
    (Kron, Spread): ChainIdentity("a spread mapped", "(B ⊗ A) vec(s Q) = vec(s A Q Bᵀ)",
                                  _kron_spread),
    (Mask, Spread): ChainIdentity("a spread masked", "K ⊙ (s Q) = s (K ⊙ Q)", _mask_spread),
}


def _compose(outer: Factor, inner: Factor) -> tuple[Factor, ...] | None:
    """outer ∘ inner as a shorter or better-ordered chain, or None when no identity applies."""
    identity = CHAIN_IDENTITIES.get((type(outer), type(inner)))
    return None if identity is None else identity.rewrite(outer, inner)


def _is_identity(factor: Factor) -> bool:
    return isinstance(factor, Kron) and factor.outer is None and factor.inner is None


def _ones(expr: Expr | None, rows: bool) -> bool:
    """Whether expr is a row (rows=True: 1×c) or a column of ones, written either way."""
    if isinstance(expr, Transpose):
        return _ones(expr.x, not rows)
    return isinstance(expr, Ones) and (expr.rows == 1 if rows else expr.cols == 1)


def _summed_broadcast(chain: list[Factor], index: int) -> Factor | None:
    """𝟏ᵀ(S ⊙ 𝟏x) = (𝟏ᵀS) ⊙ x and (S ⊙ x𝟏ᵀ)𝟏 = (S𝟏) ⊙ x: a broadcast, a mask and the sum
    that undoes the broadcast are one mask (diag(𝟏ᵀS), never (I ⊗ 𝟏ᵀ)diag(vec S)(I ⊗ 𝟏))."""
    first, mask, last = chain[index:index + 3]
    if not (isinstance(first, Kron) and isinstance(mask, Mask) and isinstance(last, Kron)
            and not mask.divide and first.target == last.source):
        return None
    if first.outer is None and last.outer is None and _ones(first.inner, rows=True) \
            and _ones(last.inner, rows=False):
        return Mask(MatMul(Ones(1, mask.source[0]), mask.factor), last.source)
    if first.inner is None and last.inner is None and _ones(first.outer, rows=True) \
            and _ones(last.outer, rows=False):
        return Mask(MatMul(mask.factor, Ones(mask.source[1], 1)), last.source)
    return None


def shortened(factors: tuple[Factor, ...]) -> tuple[Factor, ...]:
    """The chain with every applicable identity applied until none is."""
    chain = [factor for factor in factors if not _is_identity(factor)]
    changed = True
    while changed:
        changed = False
        for index in range(len(chain) - 1):
            composed = _compose(chain[index], chain[index + 1])
            if composed is not None:
                chain[index:index + 2] = [f for f in composed if not _is_identity(f)]
                changed = True
                break
            summed = _summed_broadcast(chain, index) if index + 2 < len(chain) else None
            if summed is not None:
                chain[index:index + 3] = [summed]
                changed = True
                break
    return tuple(chain)


def _side(expr: Expr | None, size: Dim) -> Expr:
    return Identity(size) if expr is None else expr


def _merged(first: Factor, second: Factor, scale_first: Expr | None,
            scale_second: Expr | None) -> Factor | None:
    """c₁F₁ + c₂F₂ as one factor when F₁ and F₂ differ in one matrix (None otherwise)."""
    if type(first) is not type(second) or first.source != second.source:
        return None
    if isinstance(first, Kron) and isinstance(second, Kron):
        if first.target != second.target:
            return None
        rows, cols = first.source
        if first.outer == second.outer:  # B ⊗ A₁ + B ⊗ A₂ = B ⊗ (A₁ + A₂)
            inner = Add((_scaled(_side(first.inner, rows), scale_first),
                         _scaled(_side(second.inner, rows), scale_second)))
            return Kron(first.outer, inner, first.source, first.target)
        if first.inner == second.inner:
            outer = Add((_scaled(_side(first.outer, cols), scale_first),
                         _scaled(_side(second.outer, cols), scale_second)))
            return Kron(outer, first.inner, first.source, first.target)
        return None
    if isinstance(first, Mask) and isinstance(second, Mask):
        if first.divide or second.divide:
            return None
        return Mask(Add((_scaled(first.factor, scale_first),
                         _scaled(second.factor, scale_second))), first.source)
    if isinstance(first, Inner) and isinstance(second, Inner):
        return Inner(Add((_scaled(first.factor, scale_first),
                          _scaled(second.factor, scale_second))), first.source)
    if isinstance(first, Spread) and isinstance(second, Spread):
        return Spread(Add((_scaled(first.factor, scale_first),
                           _scaled(second.factor, scale_second))), first.target)
    return None


def _scaled(expr: Expr, coefficient: Expr | None) -> Expr:
    return expr if coefficient is None else Scale(coefficient, expr)


def _sum_of(first: Expr | None, second: Expr | None) -> Expr:
    one = Const(Fraction(1))
    return Add((one if first is None else first, one if second is None else second))


def merged_terms(terms: list[Term], source: Shape) -> list[Term]:
    """The sum with terms equal but for one factor merged (c F + c G = c (F + G) in that
    factor; identical chains add their coefficients), until no two merge: always the first
    pair that merges (the earliest term, then its earliest partner).  `source` is the
    direction's shape (that of an identity chain).

    Each pair is tried again only when one of its terms changed (a pair of unchanged terms
    that did not merge never will), so the work is about n² pairs, not n² a merge."""
    terms = list(terms)
    i = 0
    while i < len(terms):  # no term before i merges with any other
        j = i + 1
        while j < len(terms):
            merged = _merge_pair(terms[i], terms[j], source)
            if merged is None:
                j += 1
                continue
            terms[i] = merged
            del terms[j]
            i = _merged_back(terms, i, source)
            j = i + 1
        i += 1
    return terms


def _merged_back(terms: list[Term], index: int, source: Shape) -> int:
    """terms[index], just changed, merged into the earliest term before it that it merges
    with, again while one does; the index of the term that changed last."""
    while True:
        for earlier in range(index):
            merged = _merge_pair(terms[earlier], terms[index], source)
            if merged is not None:
                terms[earlier] = merged
                del terms[index]
                index = earlier
                break
        else:
            return index


def _as_chain(term: Term, length: int, shape: Shape) -> tuple[Factor, ...]:
    """The identity chain () of a term as one Kron (so V merges with A V)."""
    if term.factors or length != 1:
        return term.factors
    return (Kron(None, None, shape, shape),)


def _merge_pair(first: Term, second: Term, shape: Shape) -> Term | None:
    if len(first.factors) != len(second.factors):
        length = max(len(first.factors), len(second.factors))
        first = Term(first.coefficient, _as_chain(first, length, shape))
        second = Term(second.coefficient, _as_chain(second, length, shape))
        if len(first.factors) != len(second.factors):
            return None
    differing = [index for index, (a, b) in enumerate(zip(first.factors, second.factors,
                                                            strict=True)) if a != b]
    if not differing:
        return Term(_sum_of(first.coefficient, second.coefficient), first.factors)
    if len(differing) != 1:
        return None
    index = differing[0]
    same = first.coefficient == second.coefficient
    factor = _merged(first.factors[index], second.factors[index],
                     None if same else first.coefficient, None if same else second.coefficient)
    if factor is None:
        return None
    factors = (*first.factors[:index], factor, *first.factors[index + 1:])
    return Term(first.coefficient if same else None, factors)


def map_expressions(term: Term, change: Callable[[Expr], Expr]) -> Term:
    """The term with `change` applied to every matrix expression in it."""
    def changed(factor: Factor) -> Factor:
        if isinstance(factor, Kron):
            return replace(factor, outer=None if factor.outer is None else change(factor.outer),
                           inner=None if factor.inner is None else change(factor.inner))
        if isinstance(factor, Flip):
            return factor
        return replace(factor, factor=change(factor.factor))

    coefficient = None if term.coefficient is None else change(term.coefficient)
    return Term(coefficient, tuple(changed(factor) for factor in term.factors))


def pulled_signs(term: Term) -> Term:
    """A negated matrix inside a factor moves to the coefficient: B ⊗ (−A) → −(B ⊗ A)."""
    negative = False
    factors: list[Factor] = []
    for factor in term.factors:
        if isinstance(factor, Kron):
            outer, inner = factor.outer, factor.inner
            if isinstance(outer, Neg):
                negative, outer = not negative, outer.x
            if isinstance(inner, Neg):
                negative, inner = not negative, inner.x
            factor = replace(factor, outer=outer, inner=inner)
        elif isinstance(factor, (Mask, Inner, Spread)) and isinstance(factor.factor, Neg) \
                and not (isinstance(factor, Mask) and factor.divide):
            negative, factor = not negative, replace(factor, factor=factor.factor.x)
        factors.append(factor)
    coefficient = term.coefficient
    if negative:
        coefficient = Neg(coefficient) if coefficient is not None else Neg(Const(Fraction(1)))
    return Term(coefficient, tuple(factors))


def _adjoint_factor(factor: Factor) -> Factor:
    """The adjoint map in the Frobenius product: its matrix transposed."""
    if isinstance(factor, Kron):  # (B ⊗ A)ᵀ = Bᵀ ⊗ Aᵀ: M ↦ Aᵀ M B
        return Kron(_transposed(factor.outer), _transposed(factor.inner), factor.target,
                    factor.source)
    if isinstance(factor, Mask):  # a diagonal matrix is its own transpose
        return factor
    if isinstance(factor, Flip):  # K₍ₘ,ₙ₎ᵀ = K₍ₙ,ₘ₎
        return Flip(factor.target)
    if isinstance(factor, Inner):
        return Spread(factor.factor, factor.source)
    return Inner(factor.factor, factor.target)


def adjoint(form: KroneckerForm) -> KroneckerForm:
    """The form of the transposed matrix: each chain reversed, each factor's adjoint (the
    Jacobian J from the map U ↦ Jᵀ vec(U) the vector-Jacobian product reads)."""
    terms = tuple(Term(term.coefficient, shortened(tuple(
        _adjoint_factor(factor) for factor in reversed(term.factors)))) for term in form.terms)
    return KroneckerForm(terms, form.target, form.source)


def on_symmetric_source(form: KroneckerForm, normal: Callable[[Expr], Expr]) -> KroneckerForm:
    """The form composed with the projection onto symmetric matrices, V ↦ (V + Vᵀ)/2 (its
    matrix (I + K)/2): a Hessian block of a symmetric parameter, which only symmetric
    directions reach.  `normal` writes each expression in one form first, so that a chain
    already symmetric in its source shows as the same term twice, and is summed."""
    half = Const(Fraction(1, 2))
    coefficients: dict[tuple[Factor, ...], list[Expr]] = {}
    for term in (map_expressions(term, normal) for term in form.terms):
        coefficient = times(term.coefficient, half) or half
        for factors in (term.factors, shortened((*term.factors, Flip(form.source)))):
            # A chain already symmetric in its source appears twice: one term, summed.
            coefficients.setdefault(factors, []).append(coefficient)
    terms = [Term(values[0] if len(values) == 1 else Add(tuple(values)), factors)
             for factors, values in coefficients.items()]
    return KroneckerForm(tuple(merged_terms(terms, form.source)), form.source, form.target)


def applied(form: KroneckerForm, direction: Expr) -> Expr:
    """The map applied to a matrix expression, written as matrices (A M Bᵀ, K ⊙ M, Mᵀ, ⟨K, M⟩,
    s K): the differential dF = J_X[dX] in the guide's notation."""
    values: list[Expr] = []
    for term in form.terms:
        value = direction
        for factor in reversed(term.factors):
            value = _applied_factor(factor, value)
        values.append(value if term.coefficient is None else Scale(term.coefficient, value))
    if not values:
        return Zero(*form.target)
    return values[0] if len(values) == 1 else Add(tuple(values))


def _applied_factor(factor: Factor, value: Expr) -> Expr:
    if isinstance(factor, Kron):
        inner = value if factor.inner is None else MatMul(factor.inner, value)
        return inner if factor.outer is None else MatMul(inner, Transpose(factor.outer))
    if isinstance(factor, Mask):
        return HadDiv(value, factor.factor) if factor.divide else Hadamard(factor.factor, value)
    if isinstance(factor, Flip):
        return Transpose(value)
    if isinstance(factor, Inner):
        return Frob(factor.factor, value)
    return Scale(value, factor.factor)


__all__ = [
    "Factor",
    "Flip",
    "Inner",
    "Kron",
    "KroneckerForm",
    "Mask",
    "Spread",
    "Term",
    "adjoint",
    "applied",
    "factor_expressions",
    "map_expressions",
    "merged_terms",
    "on_symmetric_source",
    "pulled_signs",
    "shortened",
    "times",
]
