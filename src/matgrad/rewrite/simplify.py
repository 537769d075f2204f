"""Tidying: the silent algebra applied after every derivation step.

Two parts: the `tidy` rules of rules/tidy.rules (zeros, ones, double transposes, bilinearity of
the Frobenius product), matched anywhere, bottom-up, to a fixpoint; and numeric constant folding,
which computes new numbers and so lives here: (1/2)(2X) = X, 2 − 1 = 1, X / 2 = (1/2)X.

Invariants: every rewrite here is an exact identity (the tidy rules are tested numerically like
all rules; folding is exact arithmetic on Fractions); the result never contains more nodes than
the input plus what bilinearity distributes; negative constants are kept as `Neg(Const)`.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from matgrad.errors import UnsupportedError
from matgrad.ir.dims import Dim, Shape
from matgrad.ir.expr import (
    Add,
    Const,
    DimSize,
    Div,
    Expr,
    Hadamard,
    HadDiv,
    MatMul,
    Neg,
    Ones,
    Power,
    Scale,
    Sum,
    Transpose,
    Zero,
    add,
)
from matgrad.limits import MAX_TIDY_ROUNDS, exceeded
from matgrad.rewrite.rules import GuardContext, Rule, apply_rule

ShapeOf = Callable[[Expr], Shape]


def _value(expr: Expr) -> Fraction | None:
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Neg) and isinstance(expr.x, Const):
        return -expr.x.value
    return None


# Folding stops where floating point does: a product of constants beyond ±1e±300 stays a
# product (and overflows in the generated code as NumPy would), never a 6 000-digit number.
_LARGEST = Fraction(10) ** 300


def _fits(value: Fraction) -> bool:
    return value == 0 or 1 / _LARGEST <= abs(value) <= _LARGEST


def _const(value: Fraction) -> Expr:
    return Neg(Const(-value)) if value < 0 else Const(value)


def _coefficient(term: Expr) -> tuple[Fraction, Expr]:
    """term = c · base with a numeric c (1 when there is none)."""
    if isinstance(term, Neg):
        value, base = _coefficient(term.x)
        return -value, base
    if isinstance(term, Scale) and _value(term.s) is not None:
        return _value(term.s), term.x  # type: ignore[return-value]
    return Fraction(1), term


def _scaled(value: Fraction, base: Expr) -> Expr:
    if value == 1:
        return base
    if value == -1:
        return Neg(base)
    if value < 0:
        return Neg(Scale(Const(-value), base))
    return Scale(Const(value), base)


def collect_like_terms(expr: Add, shape_of: ShapeOf) -> Expr | None:
    """X + 2X − Y + Y = 3X: equal terms (up to a numeric factor) merged, first place kept."""
    totals: dict[Expr, Fraction] = {}
    for term in expr.terms:
        value, base = _coefficient(term)
        totals[base] = totals.get(base, Fraction(0)) + value
    if len(totals) == len(expr.terms) or not all(map(_fits, totals.values())):
        return None
    terms = [_scaled(value, base) for base, value in totals.items() if value != 0]
    return add(terms) if terms else Zero(*shape_of(expr))


def _all_ones(expr: Expr) -> bool:
    return isinstance(expr, Ones) or (isinstance(expr, Transpose) and isinstance(expr.x, Ones))


def _count(dim: Dim) -> Expr:
    return Const(Fraction(dim)) if isinstance(dim, int) else DimSize(str(dim))


def _sum_of_ones(expr: Sum, shape_of: ShapeOf) -> Expr | None:
    if not _all_ones(expr.x):
        return None
    # sum(𝟏) counts the entries: code never builds the ones (sum(ones(10¹², 1)) = 10¹²).
    rows, cols = shape_of(expr.x)
    if isinstance(rows, int) and isinstance(cols, int):
        return Const(Fraction(rows * cols))
    if rows == 1 or cols == 1:
        return _count(cols if rows == 1 else rows)
    return Scale(_count(rows), _count(cols))


def _scale_by_one(expr: Scale, shape_of: ShapeOf) -> Expr | None:
    return expr.x if isinstance(expr.s, Ones) else None  # a 1×1 𝟏 is the number 1


def _ones_product(expr: MatMul, shape_of: ShapeOf) -> Expr | None:
    if not (_all_ones(expr.a) and _all_ones(expr.b)):
        return None
    # 𝟏𝟏 with k inner entries is k𝟏 (1ᵀ𝟏 = t𝟏ᵀ): a size the printed 𝟏 would not show.
    (rows, shared), (_, cols) = shape_of(expr.a), shape_of(expr.b)
    count = Const(Fraction(shared)) if isinstance(shared, int) else DimSize(str(shared))
    return Ones(rows, cols) if shared == 1 else Scale(count, Ones(rows, cols))


def _number_first(expr: Scale, shape_of: ShapeOf) -> Expr | None:
    if _value(expr.x) is not None and _value(expr.s) is None:
        return Scale(expr.x, expr.s)  # the numeric factor first: s·2 = 2s
    return None


def _zero_operand(expr: Expr, shape_of: ShapeOf) -> Expr | None:
    # Definitions are folded but not tidied by rules (stabilize phase): A(W − W) = 0.
    return Zero(*shape_of(expr)) if any(isinstance(kid, Zero) for kid in expr.children()) \
        else None


def _zero_dividend(expr: Div | HadDiv, shape_of: ShapeOf) -> Expr | None:
    return Zero(*shape_of(expr)) if isinstance(expr.children()[0], Zero) else None


def _numbers_to_the_front(expr: Scale, shape_of: ShapeOf) -> Expr | None:
    if _value(expr.s) is not None:
        return None
    # Numeric factors move to the front of a chain of scalar factors, where they fold:
    # (1/(2t))(2E) = (1/2)(1/t)(2E) = (1/t)E.
    if isinstance(expr.x, Scale) and _value(expr.x.s) is not None:
        return Scale(expr.x.s, Scale(expr.s, expr.x.x))
    if isinstance(expr.s, Scale) and _value(expr.s.s) is not None:
        return Scale(expr.s.s, Scale(expr.s.x, expr.x))
    if isinstance(expr.s, Neg):
        return Neg(Scale(expr.s.x, expr.x))
    return None


def _divisor_factor(expr: Div, shape_of: ShapeOf) -> Expr | None:
    factor = _value(expr.s.s) if isinstance(expr.s, Scale) else None
    if isinstance(expr.s, Scale) and factor:
        # x / (k s) = (1/k)(x / s)
        return Scale(_const(Fraction(1) / factor), Div(expr.x, expr.s.x))
    return None


def _numeric_scale(expr: Scale, shape_of: ShapeOf) -> Expr | None:
    factor = _value(expr.s)
    if factor is None:
        return None
    inner = expr.x
    if factor == 1:
        return inner
    if factor == 0:
        return Zero(*shape_of(expr))
    if factor < 0:
        return Neg(Scale(Const(-factor), inner))
    if isinstance(inner, Scale):
        inner_factor = _value(inner.s)
        if inner_factor is not None and _fits(factor * inner_factor):
            return Scale(_const(factor * inner_factor), inner.x)
    inner_value = _value(inner)
    if inner_value is not None and _fits(factor * inner_value):
        return _const(factor * inner_value)
    if isinstance(inner, Neg):
        return Neg(Scale(expr.s, inner.x))
    return None


def _divide_by_number(expr: Div, shape_of: ShapeOf) -> Expr | None:
    divisor = _value(expr.s)
    if divisor is not None and divisor != 0:
        return Scale(_const(1 / divisor), expr.x)
    return None


def _sum_of_terms(expr: Add, shape_of: ShapeOf) -> Expr | None:
    collected = collect_like_terms(expr, shape_of)
    if collected is not None:
        return collected
    values = [_value(term) for term in expr.terms]
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return None
    rest = [term for term, v in zip(expr.terms, values, strict=True) if v is None]
    total = sum(known, Fraction(0))
    if not _fits(total):
        return None
    return add([*rest, _const(total)] if total != 0 or not rest else rest)


def _numeric_power(expr: Power, shape_of: ShapeOf) -> Expr | None:
    base, exponent = _value(expr.base), _value(expr.exponent)
    if exponent == 1:
        return expr.base
    # Folding is exact, so it is bounded: 10^(10^10) stays a power instead of a hang.
    if base is not None and exponent is not None and exponent.denominator == 1 and (
            base != 0 or exponent > 0) and abs(exponent) <= 64 and \
            len(str(abs(base.numerator))) + len(str(base.denominator)) <= 64 and \
            _fits(base ** int(exponent)):
        return _const(base ** int(exponent))
    return None


def _negation(expr: Neg, shape_of: ShapeOf) -> Expr | None:
    if _value(expr.x) is not None and isinstance(expr.x, Neg):
        return expr.x.x
    return expr.x if isinstance(expr.x, Zero) else None  # −0 = 0


# The folding steps of each node class, tried in order; the first that applies is the step.
FOLDS: dict[type[Expr], tuple[Callable[[Any, ShapeOf], Expr | None], ...]] = {
    Sum: (_sum_of_ones,),
    Scale: (_scale_by_one, _number_first, _zero_operand, _numbers_to_the_front,
            _numeric_scale),
    MatMul: (_ones_product, _zero_operand),
    Hadamard: (_zero_operand,),
    Div: (_zero_dividend, _divisor_factor, _divide_by_number),
    HadDiv: (_zero_dividend,),
    Add: (_sum_of_terms,),
    Power: (_numeric_power,),
    Neg: (_negation,),
}


def fold(expr: Expr, shape_of: ShapeOf) -> Expr | None:
    """One constant-folding step at the top of `expr`, or None when nothing folds."""
    for step in FOLDS.get(type(expr), ()):
        folded = step(expr, shape_of)
        if folded is not None:
            return folded
    return None


class Tidier:
    """Applies tidy rules and folding everywhere in an expression until nothing changes."""

    def __init__(self, rules: tuple[Rule, ...], shape_of: ShapeOf,
                 guard_context: GuardContext) -> None:
        self.rules = rules
        self.shape_of = shape_of
        self.guard_context = guard_context
        heads = {rule.head for rule in rules} | {None}
        # Per head class, the rules that can match it, in file order (wildcards included).
        self.index = {head: tuple(rule for rule in rules if rule.head in (head, None))
                      for head in heads}
        self.memo: dict[Expr, Expr] = {}

    def _candidates(self, expr: Expr) -> tuple[Rule, ...]:
        return self.index.get(type(expr), self.index[None])

    def _rewrite_top(self, expr: Expr, used: list[str]) -> Expr | None:
        folded = fold(expr, self.shape_of)
        if folded is not None and folded != expr:
            used.append("fold")
            return folded
        for rule in self._candidates(expr):
            result = apply_rule(rule, expr, self.shape_of, self.guard_context)
            if result is not None and result != expr:
                used.append(rule.name)
                return result
        return None

    def tidy(self, expr: Expr, used: list[str] | None = None) -> Expr:
        used = [] if used is None else used
        if expr in self.memo:
            return self.memo[expr]
        original = expr
        for _ in range(MAX_TIDY_ROUNDS):
            kids = expr.children()
            if kids:
                expr = expr.with_children(tuple(self.tidy(kid, used) for kid in kids))
            rewritten = self._rewrite_top(expr, used)
            if rewritten is None:
                break
            expr = rewritten
        else:  # the tidy rules terminate; this guards against a bad rule file
            raise UnsupportedError("the tidy rules did not reach a fixpoint "
                                   f"{exceeded('MAX_TIDY_ROUNDS')}.")
        self.memo[original] = expr
        return expr


def is_zero(expr: Expr) -> bool:
    return isinstance(expr, Zero)
