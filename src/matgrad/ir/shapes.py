"""Shapes: unification of unknown dimensions, and the shape rule of every node class.

`Unifier` is a union-find over `DimVar`s used while a program or a rule file is resolved.
`shape_of` computes the shape of a resolved expression bottom-up from the shapes of its symbols;
it trusts that resolution already checked compatibility (it raises only on an unknown symbol).

Invariant: `SHAPE_RULES` has one entry per IR node class; a class without one is a bug caught by
`shape_of` raising, never a silently wrong shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import count

from matgrad.ir.dims import SCALAR, Dim, DimVar, Shape
from matgrad.ir.expr import (
    Add,
    Apply,
    Const,
    Det,
    Diff,
    DimSize,
    Div,
    Expr,
    Frechet,
    Frechet2,
    Frob,
    Hadamard,
    HadDiv,
    HadPower,
    Identity,
    Inv,
    LogDet,
    MatFun,
    MatMul,
    Neg,
    Norm,
    Ones,
    Power,
    RowApply,
    RowDot,
    RowGrad,
    Scale,
    Sum,
    Sym,
    Trace,
    Transpose,
    Var,
    Zero,
)


class Unifier:
    """Union-find over dimensions; concrete dimensions (int, str) are their own roots."""

    def __init__(self) -> None:
        self._parent: dict[DimVar, Dim] = {}
        self._counter = count()

    def fresh(self) -> DimVar:
        return DimVar(next(self._counter))

    def fresh_shape(self) -> Shape:
        return (self.fresh(), self.fresh())

    def find(self, dim: Dim) -> Dim:
        path: list[DimVar] = []
        while isinstance(dim, DimVar) and dim in self._parent:
            path.append(dim)
            dim = self._parent[dim]
        for var in path:
            self._parent[var] = dim
        return dim

    def find_shape(self, shape: Shape) -> Shape:
        return (self.find(shape[0]), self.find(shape[1]))

    def can_unify(self, a: Dim, b: Dim) -> bool:
        a, b = self.find(a), self.find(b)
        return a == b or isinstance(a, DimVar) or isinstance(b, DimVar)

    def unify(self, a: Dim, b: Dim) -> bool:
        """Make a and b equal; False (and no change) when they are different concrete sizes."""
        a, b = self.find(a), self.find(b)
        if a == b:
            return True
        if isinstance(a, DimVar):
            self._parent[a] = b
            return True
        if isinstance(b, DimVar):
            self._parent[b] = a
            return True
        return False

    def unify_shapes(self, a: Shape, b: Shape) -> bool:
        if not (self.can_unify(a[0], b[0]) and self.can_unify(a[1], b[1])):
            return False
        return self.unify(a[0], b[0]) and self.unify(a[1], b[1])

    def is_one(self, dim: Dim) -> bool:
        return self.find(dim) == 1

    def is_scalar(self, shape: Shape) -> bool:
        return self.is_one(shape[0]) and self.is_one(shape[1])


ShapeRule = Callable[[Expr, list[Shape]], Shape]


def _same_as_first(node: Expr, kids: list[Shape]) -> Shape:
    return kids[0]


def _scalar(node: Expr, kids: list[Shape]) -> Shape:
    return SCALAR


def _second(node: Expr, kids: list[Shape]) -> Shape:
    return kids[1]


SHAPE_RULES: dict[type[Expr], ShapeRule] = {
    Const: _scalar,
    DimSize: _scalar,
    Ones: lambda node, kids: (node.rows, node.cols),  # type: ignore[attr-defined]
    Zero: lambda node, kids: (node.rows, node.cols),  # type: ignore[attr-defined]
    Identity: lambda node, kids: (node.size, node.size),  # type: ignore[attr-defined]
    Add: _same_as_first,
    Neg: _same_as_first,
    Scale: _second,
    Div: _same_as_first,
    Power: _same_as_first,
    MatMul: lambda node, kids: (kids[0][0], kids[1][1]),
    Hadamard: _same_as_first,
    HadDiv: _same_as_first,
    HadPower: _same_as_first,
    Frob: _scalar,
    RowDot: lambda node, kids: (kids[0][0], 1),
    Transpose: lambda node, kids: (kids[0][1], kids[0][0]),
    Apply: _same_as_first,
    RowApply: lambda node, kids: (kids[0][0], 1),
    RowGrad: _same_as_first,
    Sum: _scalar,
    Norm: _scalar,
    Diff: _same_as_first,
    Trace: _scalar,
    Det: _scalar,
    LogDet: _scalar,
    Inv: _same_as_first,
    MatFun: _same_as_first,
    Frechet: _same_as_first,
    Frechet2: _same_as_first,
}


def shape_of(expr: Expr, symbol_shapes: Mapping[str, Shape],
             memo: dict[Expr, Shape] | None = None) -> Shape:
    """The shape of a resolved expression, from its symbols' shapes (memoised in `memo`)."""
    memo = {} if memo is None else memo
    # Iterative post-order so that long chains do not exhaust Python's stack.
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node in memo:
            continue
        if isinstance(node, (Sym, Var)):
            if node.name not in symbol_shapes:
                raise KeyError(f"no shape known for {node.name}")
            memo[node] = symbol_shapes[node.name]
            continue
        kids = node.children()
        if not expanded:
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids if kid not in memo)
            continue
        rule = SHAPE_RULES.get(type(node))
        if rule is None:
            raise TypeError(f"no shape rule for {type(node).__name__}")
        memo[node] = rule(node, [memo[kid] for kid in kids])
    return memo[expr]
