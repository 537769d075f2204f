"""Hessians in matrix form, read off the Hessian-vector product.

(∇²J V)_a = Σ_b H_ab V_b is linear in the directions, so each block H_ab is the matrix of the
linear map V_b ↦ (∇²J V)_a.  For vector and scalar parameters (n×1, 1×n, 1×1) that matrix is
read off the product's expression by one rule per operation, each a plain identity of linear
algebra on the vector v = vec(V_b):

    v ↦ I,   A E ↦ A J_E,   E B ↦ Bᵀ J_E (or b J_E),   K ⊙ E ↦ (K 1ᵀ) ⊙ J_E  (diag(K) J_E),
    ⟨K, E⟩ ↦ vec(K)ᵀ J_E,   sum(E) ↦ 1ᵀ J_E,   Eᵀ ↦ J_E,   s x ↦ x J_s,

where J_E is the matrix with vec(E) = J_E v.  So the logistic regression's
(∇²J V)_w = Xᵀ(σ′(A) ⊙ X V_w) gives H_ww = Xᵀ((σ′(A)1ᵀ) ⊙ X), never forming diag(σ′(A)).
Blocks of a matrix parameter (whose form is a Kronecker product) and expressions outside these
rules get no closed form: the block says why, and its values come from the product, column by
column (`hessian_columns`).

Conventions: H_ab = ∂²J / ∂vec(a) ∂vec(b)ᵀ, rows indexed by the entries of a; vec stacks the
columns (column-major), as the Matrix Cookbook does.

Invariant: a block is either a matrix expression equal to the map exactly (each rule is an
identity) or None with the reason — never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from matgrad.engine.hessian_plan import BlockChoice, batch_safe, block_choices
from matgrad.engine.kronecker import DirectionReader, KroneckerReader, NoClosedForm
from matgrad.engine.results import Derivation, Product
from matgrad.engine.symmetric import at_symmetric_points
from matgrad.ir.dims import Dim, Shape
from matgrad.ir.expr import (
    Add,
    Div,
    Expr,
    Frob,
    Hadamard,
    HadDiv,
    Identity,
    MatMul,
    Neg,
    Ones,
    Scale,
    Sum,
    Sym,
    Trace,
    Transpose,
    Zero,
    add,
    size,
)
from matgrad.ir.kronecker import KroneckerForm, on_symmetric_source
from matgrad.rewrite.rules import RuleSet

MAX_BLOCK_SIZE = 20_000  # nodes; a block larger than this is left to the product
MAX_TERMS = 16  # a Kronecker form of more terms than this reads as no formula at all

# A block in matrix form (vector parameters) or in Kronecker form (a matrix parameter).
Block = Expr | KroneckerForm


@dataclass(frozen=True)
class Hessian:
    """The blocks H_ab of ∇²J (None where no closed form was found, with the reason) and the
    Hessian-vector product they were read off."""

    product: Product
    blocks: dict[tuple[str, str], Block | None]
    reasons: dict[tuple[str, str], str]
    # How each block is read and computed (engine/hessian_plan.py); none given: every
    # closed form evaluated.
    choices: dict[tuple[str, str], BlockChoice] = field(default_factory=dict)
    # Whether the product can run on a batch of directions (hessian_plan.batch_safe).
    batched: bool = False

    def evaluated(self, key: tuple[str, str]) -> bool:
        """Whether generated code evaluates block `key`'s closed form (else it assembles the
        block from the Hessian-vector product)."""
        choice = self.choices.get(key)
        return self.blocks[key] is not None and (choice is None or choice.evaluated)

    @property
    def first(self) -> Derivation:
        return self.product.first


def _is_vector(shape: Shape) -> bool:
    return shape[0] == 1 or shape[1] == 1


class _Reader(DirectionReader):
    """Reads the matrix J_E of each subexpression E linear in one direction v."""

    def __init__(self, product: Derivation, direction: str, others: frozenset[str],
                 rules: RuleSet) -> None:
        super().__init__(product, direction, others, rules)
        self.width: Dim = self._length(self.shapes[direction])
        self.read: dict[Expr, Expr | None] = {}

    @staticmethod
    def _length(shape: Shape) -> Dim:
        return shape[0] if shape[1] == 1 else shape[1]

    def matrix(self, expr: Expr) -> Expr | None:
        """J_E with vec(E) = J_E v, or None when E does not depend on v."""
        if expr not in self.read:
            self.read[expr] = self._matrix(expr)
        return self.read[expr]

    def _matrix(self, expr: Expr) -> Expr | None:
        rows, cols = self.shape_of(expr)
        if rows != 1 and cols != 1:
            if not self._reads_directions(expr) or not self._reads_this(expr):
                return None
            raise NoClosedForm("the product passes through a matrix-valued intermediate "
                               f"({rows}×{cols}); its block is a Kronecker form")
        if isinstance(expr, Sym):
            return self._symbol(expr)
        if not self._reads_this(expr):
            return None
        read = READOFF.get(type(expr))
        if read is None:
            raise NoClosedForm(f"no rule reads a matrix off {type(expr).__name__} yet")
        return read(self, expr)

    def _column(self, expr: Expr) -> bool:
        return self.shape_of(expr)[1] == 1

    def _symbol(self, expr: Sym) -> Expr | None:
        if expr.name == self.direction:
            return Identity(self.width)
        if expr.name in self.product.adjoints:  # a tangent: read its definition
            return self.matrix(self.product.adjoints[expr.name])
        return None

    def _add(self, expr: Add) -> Expr:
        parts = [part for part in map(self.matrix, expr.terms) if part is not None]
        constants = [term for term in expr.terms if not self._reads_directions(term)
                     and not isinstance(term, Zero)]
        if constants:
            raise NoClosedForm("the product is not linear in the directions")
        return add(parts)

    def _neg(self, expr: Neg) -> Expr:
        return Neg(self._required(expr.x))

    def _same(self, expr: Transpose | Trace) -> Expr:
        return self._required(expr.x)  # vec of a vector's transpose, or of a 1×1's trace

    def _scale(self, expr: Scale) -> Expr:
        if self._reads_this(expr.x):
            return Scale(self._constant(expr.s), self._required(expr.x))
        factor = self._constant(expr.x)
        return MatMul(factor if self._column(expr) else Transpose(factor),
                      self._required(expr.s))

    def _matmul(self, expr: MatMul) -> Expr:
        column = self._column(expr)
        if self._reads_this(expr.b):
            left = self._constant(expr.a)
            inner = self._required(expr.b)
            if column:
                return MatMul(left, inner)
            return Scale(left, inner)  # a 1×1 times a row
        right = self._constant(expr.b)
        inner = self._required(expr.a)
        if column and self.shape_of(expr.a)[1] == 1:
            return Scale(right, inner)  # a column times a 1×1
        return MatMul(Transpose(right), inner)

    def _hadamard(self, expr: Hadamard | HadDiv) -> Expr:
        varying, factor = (expr.a, expr.b) if self._reads_this(expr.a) else (expr.b, expr.a)
        if isinstance(expr, HadDiv) and varying is expr.b:
            raise NoClosedForm("the directions divide (the product is not linear)")
        factor = self._constant(factor)
        inner = self._required(varying)
        if self.shape_of(expr) == (1, 1):
            return (Scale(factor, inner) if isinstance(expr, Hadamard)
                    else HadDiv(inner, MatMul(factor, Ones(1, self.width))))
        spread = MatMul(factor if self._column(expr) else Transpose(factor),
                        Ones(1, self.width))
        return Hadamard(spread, inner) if isinstance(expr, Hadamard) else HadDiv(inner, spread)

    def _frob(self, expr: Frob) -> Expr:
        varying, factor = (expr.b, expr.a) if self._reads_this(expr.b) else (expr.a, expr.b)
        factor = self._constant(factor)
        inner = self._required(varying)
        shape = self.shape_of(varying)
        return MatMul(Transpose(factor) if shape[1] == 1 else factor, inner)

    def _div(self, expr: Div) -> Expr:
        return Div(self._required(expr.x), self._constant(expr.s))

    def _sum(self, expr: Sum) -> Expr:
        return MatMul(Ones(1, self._length(self.shape_of(expr.x))), self._required(expr.x))

    def _required(self, expr: Expr) -> Expr:
        found = self.matrix(expr)
        assert found is not None, "only called on expressions that read the direction"
        return found

    def block(self, component: Expr) -> Expr:
        found = self.matrix(component)
        rows = self._length(self.shape_of(component))
        if found is None:
            return Zero(rows, self.width)
        return self.tidier.tidy(found)


# J_E of a vector or 1×1 E from J of its operands, one entry per operation (an operation
# without an entry has no closed form yet).
READOFF: dict[type[Expr], Callable[[_Reader, Any], Expr]] = {
    Add: _Reader._add, Neg: _Reader._neg, Transpose: _Reader._same, Trace: _Reader._same,
    Scale: _Reader._scale, MatMul: _Reader._matmul, Hadamard: _Reader._hadamard,
    HadDiv: _Reader._hadamard, Frob: _Reader._frob, Div: _Reader._div, Sum: _Reader._sum}


def hessian_of(product: Product, rules: RuleSet) -> Hessian:
    """The blocks of ∇²J read off its Hessian-vector product `product` (see the module)."""
    parameters = product.first.wrt
    shapes: Mapping[str, Shape] = product.shapes
    blocks: dict[tuple[str, str], Block | None] = {}
    reasons: dict[tuple[str, str], str] = {}
    batched = batch_safe(product)
    choices = block_choices(product, batched)
    for b in parameters:
        directions = frozenset(product.directions.values())
        reader = _Reader(product, product.directions[b], directions, rules)
        kronecker = KroneckerReader(product, product.directions[b], directions, rules)
        for a in parameters:
            key = (a, b)
            component = product.gradients[a]
            block: Block | None = None
            if not choices[key].closed:  # never read: the product gives its columns
                blocks[key], reasons[key] = None, choices[key].reason
                continue
            try:
                if _is_vector(shapes[a]) and _is_vector(shapes[b]):
                    try:
                        block = reader.block(component)
                    except NoClosedForm:
                        # a matrix-valued intermediate: its form is a Kronecker one
                        block = kronecker.block(component)
                else:
                    block = kronecker.block(component)
            except NoClosedForm as exc:
                blocks[key], reasons[key] = None, f"no closed matrix form found: {exc}"
                continue
            if isinstance(block, KroneckerForm) and b in product.program.symmetric:
                # Only symmetric directions reach S: the block composed with sym(·).
                block = kronecker.tidied(on_symmetric_source(block, partial(
                    at_symmetric_points, symmetric=product.program.symmetric,
                    context=kronecker, tidy=kronecker.tidier.tidy)))
            parts = block.expressions() if isinstance(block, KroneckerForm) else [block]
            if sum(size(part) for part in parts) > MAX_BLOCK_SIZE or (
                    isinstance(block, KroneckerForm) and len(block.terms) > MAX_TERMS):
                blocks[key], reasons[key] = None, "the closed form is too large to be useful"
                continue
            blocks[key] = block
    return Hessian(product, {key: blocks[key] for a in parameters for b in parameters
                             if (key := (a, b)) in blocks}, reasons, choices, batched)


__all__ = ["Block", "Hessian", "NoClosedForm", "hessian_of"]
