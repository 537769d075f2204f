"""f′ through the cached output: a derivative written in y = f(x) (the function table's
`via_output`: tanh′ = 1 − y², sigmoid′ = y(1 − y), exp′ = y) lowered to IR in the value the
forward pass already computed, so the backward pass calls no transcendental function again.

Invariant: only polynomials in y of degree ≤ 4 with rational coefficients are lowered; anything
else returns None and the backend's own derivative spelling is used instead.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from matgrad.functions import y_symbol
from matgrad.ir.dims import Shape
from matgrad.ir.expr import Add, Const, Expr, Hadamard, Neg, Ones, Scale

if TYPE_CHECKING:
    import sympy


def through_output(expression: sympy.Expr, output: Expr, shape: Shape) -> Expr | None:
    """A polynomial in y (tanh′ = 1 − y², sigmoid′ = y(1 − y)) as IR in the cached output;
    None for anything else (the derivative template is used then)."""
    if expression == y_symbol():
        return output
    if expression.is_Rational:
        value = Fraction(int(expression.p), int(expression.q))
        ones = Ones(*shape)
        constant = ones if abs(value) == 1 else Scale(Const(abs(value)), ones)
        return Neg(constant) if value < 0 else constant
    if expression.is_Add:
        terms = [through_output(term, output, shape) for term in expression.as_ordered_terms()]
        return None if any(t is None for t in terms) else Add(tuple(terms))  # type: ignore[arg-type]
    if expression.is_Mul:
        coefficient, factors = expression.as_coeff_mul()
        parts = [through_output(factor, output, shape) for factor in factors]
        if any(part is None for part in parts) or not parts:
            return None
        product: Expr = parts[0]  # type: ignore[assignment]
        for part in parts[1:]:
            product = Hadamard(product, part)  # type: ignore[arg-type]
        value = Fraction(int(coefficient.p), int(coefficient.q))
        if abs(value) != 1:
            product = Scale(Const(abs(value)), product)
        return Neg(product) if value < 0 else product
    if expression.is_Pow and expression.exp.is_Integer and 1 <= int(expression.exp) <= 4:
        base = through_output(expression.base, output, shape)
        if base is None:
            return None
        product = base
        for _ in range(int(expression.exp) - 1):
            product = Hadamard(product, base)
        return product
    return None
