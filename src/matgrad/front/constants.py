"""Numeric constants of the input: the value of a constant expression, the expression of a
value, and powers of numbers folded where exact.

Invariant: every constant that reaches the generated code lies within floating point's range
(1e-300 to 1e300 in size, as the reader accepts literals); one beyond it is refused here, with
the user's text, instead of overflowing when the module runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

from matgrad.errors import UsageError
from matgrad.ir.expr import Add, Const, Div, Expr, Neg, Scale

# The largest decimal exponent of a folded constant (as of a literal: 1e300).
MAX_DECIMAL_EXPONENT = 300


def constant_value(expr: Expr) -> Fraction | None:
    """The value of a numeric constant expression (−1/2, 3/2, 2·0.5), else None."""
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Neg):
        inner = constant_value(expr.x)
        return None if inner is None else -inner
    if isinstance(expr, Add):
        terms = [constant_value(term) for term in expr.terms]
        return None if any(term is None for term in terms) else sum(
            (term for term in terms if term is not None), Fraction(0))
    if isinstance(expr, (Div, Scale)):
        left = constant_value(expr.x)
        right = constant_value(expr.s)
        if left is None or right is None or (isinstance(expr, Div) and right == 0):
            return None
        return left / right if isinstance(expr, Div) else left * right
    return None


def constant_expr(value: Fraction) -> Expr:
    return Neg(Const(-value)) if value < 0 else Const(value)


def constant_power(base: Fraction, exponent: Fraction, written: str) -> Fraction | None:
    """base^exponent folded when exact (10^3, 2^-2); one beyond floating point (10^400, as the
    literal 1e400) or a division by zero (0^-1) is refused, `written` saying what the user
    wrote and where.  None: a real power left to the generated code (2^0.5)."""
    if base == 0 and exponent < 0:
        raise UsageError(f"{written} divides by zero.")
    if base == 0 or exponent == 0:
        return base ** int(exponent != 0)
    magnitude = float(exponent) * math.log10(abs(base))  # the power's decimal exponent
    if not -MAX_DECIMAL_EXPONENT <= magnitude <= MAX_DECIMAL_EXPONENT:
        raise UsageError(f"{written} is out of range: matgrad's constants lie between 1e-300 "
                         "and 1e300 in size, as floating point computes them.")
    if exponent.denominator == 1:
        return base ** int(exponent)
    return None


def check_divisor(divisor: Expr, written: str) -> None:
    """A divisor that is the number 0 (sum(W)/0, x/(1 − 1)) is refused, `written` saying what
    the user wrote and where: the module would divide by zero at every call."""
    if constant_value(divisor) == 0:
        raise UsageError(f"{written} divides by zero.")


@dataclass
class Powers:
    """The powers the resolver has written out (W^3 as W W W, E.^2 as E ⊙ E), so that a power
    of a power is one power: (W^4)^5 = W^20 and ((E.^2).^2)… = E.^(2ᵏ), checked against the
    limit once, instead of a product exponential in the nesting."""

    made: dict[Expr, tuple[Expr, Fraction]] = field(default_factory=dict)

    def split(self, expr: Expr, exponent: Fraction) -> tuple[Expr, Fraction]:
        """(base, total exponent) of expr^exponent: (X^p)^q = X^(pq) for a whole q (for a
        fractional q it is not: (x²)^½ = |x|)."""
        if exponent.denominator == 1 and expr in self.made:
            base, inner = self.made[expr]
            return base, inner * exponent
        return expr, exponent

    def record(self, result: Expr, base: Expr, exponent: Fraction) -> Expr:
        self.made[result] = (base, exponent)
        return result


def check_folded(a: Expr, b: Expr, divided: bool, written: str) -> None:
    """a·b (or a/b) of two numbers within floating point's range, like every literal (1e300 *
    1e300 is refused as 1e600 is); `written` says what the user wrote and where."""
    va, vb = constant_value(a), constant_value(b)
    if va is None or vb is None or (divided and vb == 0):
        return
    value = va / vb if divided else va * vb
    if value == 0:
        return
    magnitude = math.log10(abs(value.numerator)) - math.log10(value.denominator)
    if not -MAX_DECIMAL_EXPONENT <= magnitude <= MAX_DECIMAL_EXPONENT:
        raise UsageError(f"{written} is out of range: matgrad's constants lie between 1e-300 "
                         "and 1e300 in size, as floating point computes them.")
