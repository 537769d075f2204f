"""Expressions: surface syntax → typed IR with shapes inferred and MATLAB semantics applied —
the node kinds, the unary and binary operators (each grammar alias one entry of `UNARY` or
`BINARY`, one method each), broadcasting made explicit, and powers written out.

What it decides, once shapes are known (unknown dimensions are unified as they meet):
- `*` (or juxtaposition) with a 1×1 operand is scalar multiplication (`Scale`), otherwise the
  matrix product, whose inner dimensions must agree;
- `+`, `-`, `.*`, `./` broadcast like MATLAB/NumPy, and the broadcast is made explicit as the
  guide does (`+ b` with a 1×m row b becomes `+ 𝟏b`; a scalar s becomes `s𝟏`);
- `X^T` is the transpose unless T names something; `E^k` of a square matrix is written out.

Invariant: every error is a `MatgradError` naming the operator, the operands' shapes and the
source position; every operator the grammar produces has a table entry (a test checks).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from matgrad.errors import ShapeError, UnsupportedError, UsageError
from matgrad.front.calls import CallResolver
from matgrad.front.constants import (
    check_divisor,
    check_folded,
    constant_expr,
    constant_power,
    constant_value,
)
from matgrad.front.syntax import (
    SBinary,
    SCall,
    SExpr,
    SJuxt,
    SName,
    SNumber,
    SOnes,
    SSum,
    SUnary,
)
from matgrad.ir.dims import SCALAR, Dim, DimVar, Shape
from matgrad.ir.expr import (
    Apply,
    Const,
    Div,
    Expr,
    Frob,
    Hadamard,
    HadDiv,
    HadPower,
    Identity,
    Inv,
    MatFun,
    MatMul,
    Neg,
    Norm,
    Ones,
    Power,
    Scale,
    Sum,
    Transpose,
    Zero,
    add,
)
from matgrad.limits import MAX_MATRIX_POWER, exceeded

# `X^T` is the transpose in the notation of many textbooks when T names nothing else.
TRANSPOSE_EXPONENT = "T"


class Resolver(CallResolver):
    """Resolves a program's or a rule's expressions (resolve.py drives it statement by
    statement)."""

    def expr(self, node: SExpr) -> tuple[Expr, Shape]:
        return EXPRESSIONS[type(node)](self, node)

    def number(self, node: SNumber) -> tuple[Expr, Shape]:
        if self.mode == "rule" and node.value == 0:
            shape = self.unifier.fresh_shape()
            return Zero(*shape), shape
        return Const(node.value), SCALAR

    def ones(self, node: SOnes) -> tuple[Expr, Shape]:
        rows, cols = self.unifier.fresh(), self.unifier.fresh()
        self.ones_dims.extend((rows, cols))
        return Ones(rows, cols), (rows, cols)

    def unary(self, node: SUnary) -> tuple[Expr, Shape]:
        if node.op in ("transpose", "quote") and isinstance(node.x, SNumber) and node.x.value == 1:
            rows = self.unifier.fresh()
            return Transpose(Ones(rows, 1)), (1, rows)
        if node.op == "prime":
            raise UsageError(f"{self.text(node)} at {self.where(node.pos)}: a derivative f′ must "
                             "be applied to an argument, as in f′(A).")
        inner, shape = self.expr(node.x)
        return UNARY[node.op](self, node, inner, shape)

    def negated(self, node: SUnary, inner: Expr, shape: Shape) -> tuple[Expr, Shape]:
        return Neg(inner), shape

    def transpose_of(self, node: SUnary, inner: Expr, shape: Shape) -> tuple[Expr, Shape]:
        return Transpose(inner), (shape[1], shape[0])

    def frobenius_norm(self, node: SUnary, inner: Expr, shape: Shape) -> tuple[Expr, Shape]:
        return Norm(inner), SCALAR

    def vector_norm(self, node: SUnary, inner: Expr, shape: Shape) -> tuple[Expr, Shape]:
        """‖x‖₁ and ‖x‖₂ of a vector; of a matrix they are operator norms, refused."""
        p = node.op[-1]
        self.require_vector(shape, f"{self.text(node)} at {self.where(node.pos)}: the "
                            f"{p}-norm of a matrix is the induced (operator) norm, which "
                            "matgrad does not differentiate; write ||X||_F or ||X|| for the "
                            "Frobenius norm, or norm1(X) for the sum of absolute entries.")
        return (Norm(inner) if p == "2" else Sum(Apply("abs", inner))), SCALAR

    def sum(self, node: SSum) -> tuple[Expr, Shape]:
        resolved = [(negative, *self.expr(term)) for negative, term in node.terms]
        exprs, shape = self.broadcast(node, [(e, s) for _, e, s in resolved], "sum")
        terms = [Neg(e) if negative else e for (negative, _, _), e in zip(resolved, exprs,
                                                                          strict=True)]
        return add(terms), shape

    def broadcast(self, node: SExpr, operands: list[tuple[Expr, Shape]],
                  what: str) -> tuple[list[Expr], Shape]:
        """Shapes made equal by unification, or by explicit broadcasting of 1-sized axes."""
        target: list[Dim] = []
        for axis in (0, 1):
            dims = [self.unifier.find(shape[axis]) for _, shape in operands]
            concrete = {d for d in dims if not isinstance(d, DimVar) and d != 1}
            if len(concrete) > 1:
                shapes = " and ".join(f"({self.shape_text(s)})" for _, s in operands)
                axis_name = "rows" if axis == 0 else "columns"
                raise ShapeError(
                    f"{self.text(node)}: {what} of {shapes}: the numbers of {axis_name} "
                    f"{' and '.join(sorted(map(str, concrete)))} differ and neither is 1 (at "
                    f"{self.where(node.pos)}). Check the declared shapes of the operands.")
            if concrete:
                goal: Dim = concrete.pop()
            elif 1 in dims:
                goal = 1  # an unknown size next to a 1 is unified with it, not broadcast
            else:
                goal = next(d for d in dims if isinstance(d, DimVar))
            for d in dims:
                if isinstance(d, DimVar):
                    self.unifier.unify(d, goal)
            target.append(self.unifier.find(goal))
        rows, cols = target
        result: list[Expr] = []
        for expr, shape in operands:
            need_rows = self.unifier.is_one(shape[0]) and rows != 1
            need_cols = self.unifier.is_one(shape[1]) and cols != 1
            # A negation stays outside the broadcast, −(𝟏b) not 𝟏(−b): one normal form, the
            # one the printer reads back (it elides 𝟏 under a sum's minus sign).
            negated = isinstance(expr, Neg) and (need_rows or need_cols)
            if negated:
                expr = expr.x  # type: ignore[attr-defined]
            if (need_rows or need_cols) and self.unifier.is_scalar(shape):
                expr = Scale(expr, Ones(rows, cols))
            elif need_rows:
                expr = MatMul(Ones(rows, 1), expr)
            elif need_cols:
                expr = MatMul(expr, Ones(1, cols))
            result.append(Neg(expr) if negated else expr)
        return result, (rows, cols)

    def binary(self, node: SBinary) -> tuple[Expr, Shape]:
        if node.op == "^" and isinstance(node.b, SName) and node.b.name == TRANSPOSE_EXPONENT \
                and self.mode == "program":
            return self.transpose_exponent(node)
        a, sa = self.expr(node.a)
        b, sb = self.expr(node.b)
        return BINARY[node.op](self, node, a, sa, b, sb)

    def divide(self, node: SBinary, a: Expr, sa: Shape, b: Expr, sb: Shape
               ) -> tuple[Expr, Shape]:
        if not self.unifier.unify_shapes(sb, SCALAR):
            a_text, b_text = node.a.pos.text(self.source), node.b.pos.text(self.source)
            raise self.mismatch(node, "division", sa, sb, (
                f"the divisor must be 1×1: for {a_text} times the inverse of {b_text} "
                f"(MATLAB's /) write {a_text} * inv({b_text}); to divide elementwise "
                "write ./"))
        check_divisor(b, f"{self.text(node)} at {self.where(node.pos)}")
        check_folded(a, b, True, f"{self.text(node)} at {self.where(node.pos)}")
        return Div(a, b), sa

    def elementwise(self, node: SBinary, a: Expr, sa: Shape, b: Expr, sb: Shape
                    ) -> tuple[Expr, Shape]:
        """.* and ./, broadcast; with a 1×1 operand a scaling or a division."""
        op = node.op
        if op == "./" and self.unifier.is_scalar(sb) and not self.unifier.is_scalar(sa):
            return Div(a, b), sa
        if op == ".*" and self.unifier.is_scalar(sa) != self.unifier.is_scalar(sb):
            return (Scale(a, b), sb) if self.unifier.is_scalar(sa) else (Scale(b, a), sa)
        (ea, eb), shape = self.broadcast(node, [(a, sa), (b, sb)], "elementwise product"
                                         if op == ".*" else "elementwise division")
        return (Hadamard(ea, eb) if op == ".*" else HadDiv(ea, eb)), shape

    def frobenius(self, node: SBinary, a: Expr, sa: Shape, b: Expr, sb: Shape
                  ) -> tuple[Expr, Shape]:
        if not self.unifier.unify_shapes(sa, sb):
            raise self.mismatch(node, "Frobenius product", sa, sb,
                                "the operands must have the same shape")
        return Frob(a, b), SCALAR

    def hadamard_power(self, node: SBinary, a: Expr, sa: Shape, b: Expr, sb: Shape
                       ) -> tuple[Expr, Shape]:
        power = constant_value(b)
        if power is not None:
            a, power = self.hadamard_powers.split(a, power)  # (E.^p).^q = E.^(pq)
        if power is not None and power.denominator == 1 and 1 <= power <= MAX_MATRIX_POWER:
            product = a  # E.^k for a whole k: the Hadamard product E ⊙ E ⊙ ⋯ ⊙ E
            for _ in range(int(power) - 1):
                product = Hadamard(product, a)
            return self.hadamard_powers.record(product, a, power), sa
        if not self.unifier.unify_shapes(sb, SCALAR):
            raise UnsupportedError(
                f"{self.text(node)}: the exponent of .^ must be a scalar (at "
                f"{self.where(node.pos)}); for exponents that vary by entry write "
                "exp(P .* log(E)).")
        if power == 0:
            raise UsageError(f"{self.text(node)}: E .^ 0 is a matrix of ones; write "
                             f"ones(…) (at {self.where(node.pos)}).")
        if power is None:
            return HadPower(a, b), sa
        return self.hadamard_powers.record(HadPower(a, constant_expr(power)), a, power), sa

    def transpose_exponent(self, node: SBinary) -> tuple[Expr, Shape]:
        """`X^T` is Xᵀ, unless T names a matrix or a size, when it would be ambiguous."""
        name = TRANSPOSE_EXPONENT
        if name in self.declared or name in self.definitions or name in self.dims:
            raise UsageError(f"{self.text(node)} at {self.where(node.pos)}: '{name}' is also a "
                             f"name of this program, so ^{name} could mean a power; write the "
                             f"transpose as {node.a.pos.text(self.source)}' (or ᵀ), or rename "
                             f"'{name}'.")
        inner, shape = self.expr(node.a)
        return Transpose(inner), (shape[1], shape[0])

    def power(self, node: SBinary, a: Expr, sa: Shape, b: Expr, sb: Shape,
              ) -> tuple[Expr, Shape]:
        minus_one = b in (Neg(Const(Fraction(1))), Const(Fraction(-1)))
        if minus_one and not self.unifier.is_scalar(sa) and self.unifier.unify(sa[0], sa[1]):
            return Inv(a), sa  # X⁻¹, X^-1: the inverse of a square matrix
        power = constant_value(b)
        if (power is not None and power.denominator == 1 and power >= 2
                and not self.unifier.is_scalar(sa) and self.unifier.unify(sa[0], sa[1])):
            # E^k of a square matrix: the product E E ⋯ E, written out.  A power of a power
            # is one power, (W^4)^5 = W^20, held to the same limit: nested powers would
            # otherwise write out a product exponential in their depth.
            base, exact = self.matrix_powers.split(a, power)
            total = int(exact)
            if total > MAX_MATRIX_POWER:
                raise UnsupportedError(
                    f"{self.text(node)} at {self.where(node.pos)} is a matrix power of "
                    f"{total}; matgrad writes powers up to {MAX_MATRIX_POWER} out as products. "
                    f"Use .^ for an elementwise power {exceeded('MAX_MATRIX_POWER', total)}.")
            product = base
            for _ in range(total - 1):
                product = MatMul(product, base)
            return self.matrix_powers.record(product, base, exact), sa
        square = self.unifier.find(sa[0]) == self.unifier.find(sa[1])
        if power is not None and square and not self.unifier.is_scalar(sa):
            return self.other_matrix_power(node, a, sa, power), sa
        if (power is None and square and not self.unifier.is_scalar(sa)
                and self.unifier.unify_shapes(sb, SCALAR)):
            # A square matrix to a varying scalar power: X^p = expm(p logm(X)), principal.
            return MatFun("expm", Scale(b, MatFun("logm", a))), sa
        if not self.unifier.unify_shapes(sb, SCALAR) or not self.unifier.unify_shapes(
                sa, SCALAR):
            raise UnsupportedError(
                f"{self.text(node)}: matrix power of a ({self.shape_text(sa)}) matrix is not "
                f"supported yet (at {self.where(node.pos)}); write the product out, or use "
                ".^ for an elementwise power.")
        exponent = constant_value(b)
        base_value = constant_value(a)
        if base_value is not None and exponent is not None:
            folded = constant_power(base_value, exponent, f"{self.text(node)} at "
                                    f"{self.where(node.pos)}")
            if folded is not None:
                return constant_expr(folded), SCALAR
        # A varying exponent (a^b, ‖Xw‖^p) is differentiated in both base and exponent.
        return Power(a, b if exponent is None else constant_expr(exponent)), SCALAR

    def other_matrix_power(self, node: SBinary, a: Expr, sa: Shape, power: Fraction) -> Expr:
        """A square matrix to a power that is not a whole number ≥ 2, as MATLAB's `^` reads it:
        X^½ = sqrtm(X), X^−½ = sqrtm(X)⁻¹, X^−k = (X^k)⁻¹, X⁰ = I, and X^p = expm(p logm(X))
        otherwise (principal branches; docs/language.md)."""
        if power == 1:
            return a
        if power == 0:
            return Identity(self.unifier.find(sa[0]))
        if power.denominator == 1:  # a negative whole power: the inverse of the positive one
            positive, _ = self.power(node, a, sa, Const(-power), SCALAR)
            return Inv(positive)
        if abs(power) == Fraction(1, 2):
            root = MatFun("sqrtm", a)
            return root if power > 0 else Inv(root)
        return MatFun("expm", Scale(Const(power), MatFun("logm", a)))

    def product(self, node: SExpr, a: Expr, sa: Shape, b: Expr, sb: Shape
                ) -> tuple[Expr, Shape]:
        check_folded(a, b, False, f"{node.pos.text(self.source)} at {self.where(node.pos)}")
        if self.unifier.is_scalar(sa):
            return Scale(a, b), sb
        if self.unifier.is_scalar(sb):
            return Scale(b, a), sa
        if not self.unifier.unify(sa[1], sb[0]):
            inner_a, inner_b = self.unifier.find(sa[1]), self.unifier.find(sb[0])
            text = self.text(node) if isinstance(node, SBinary) else node.pos.text(self.source)
            raise ShapeError(
                f"{text}: matrix product of ({self.shape_text(sa)})·({self.shape_text(sb)}): "
                f"inner dimensions {inner_a} and {inner_b} differ (at {self.where(node.pos)}). "
                "Check the declared shapes, or transpose an operand with '.")
        return MatMul(a, b), (sa[0], sb[1])


EXPRESSIONS: dict[type[SExpr], Callable[[Any, Any], tuple[Expr, Shape]]] = {
    SName: Resolver.name, SNumber: Resolver.number, SOnes: Resolver.ones, SSum: Resolver.sum,
    SBinary: Resolver.binary, SJuxt: Resolver.binary, SUnary: Resolver.unary,
    SCall: Resolver.call}

# Each unary operator of the grammar (the alias its rule produces) and what it means.
UNARY: dict[str, Callable[[Resolver, SUnary, Expr, Shape], tuple[Expr, Shape]]] = {
    "neg": Resolver.negated, "transpose": Resolver.transpose_of, "quote": Resolver.transpose_of,
    "norm": Resolver.frobenius_norm, "norm_F": Resolver.frobenius_norm,
    "norm_1": Resolver.vector_norm, "norm_2": Resolver.vector_norm}

# Each binary operator of the grammar and what it means.
BINARY: dict[str, Callable[[Resolver, SBinary, Expr, Shape, Expr, Shape], tuple[Expr, Shape]]] = {
    "*": Resolver.product, "/": Resolver.divide, ".*": Resolver.elementwise,
    "./": Resolver.elementwise, "frob": Resolver.frobenius, "^": Resolver.power,
    ".^": Resolver.hadamard_power}
