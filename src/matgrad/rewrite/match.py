"""Matching rule patterns against expressions, and instantiating right-hand sides.

A pattern is an IR expression with `Var`s (any subexpression; lower-case ones only 1×1),
function variables (`Apply`/`RowApply`/`RowGrad` whose `fn` names one), and `Ones`/`Zero` whose
dimensions may be unknown (`DimVar`, bound to the matched sizes).

Invariants:
- matching is structural, except that a two-term `Add` pattern matches an n-ary sum: first as
  (first term, rest), then as (one later term, all the others) — valid because + is commutative;
- instantiation keeps MATLAB's meaning: a product or Hadamard product with a 1×1 operand becomes
  a `Scale`, as resolution would have built it, so rewritten terms stay in the IR's normal form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from matgrad.ir.dims import SCALAR, Dim, DimVar, Shape
from matgrad.ir.expr import (
    Add,
    Apply,
    Expr,
    Frechet,
    Frechet2,
    Hadamard,
    Identity,
    MatFun,
    MatMul,
    Ones,
    RowApply,
    RowGrad,
    Scale,
    Var,
    Zero,
    add,
)

ELEMENTWISE_FUNCTION_VARS = frozenset({"f", "h"})
ROW_FUNCTION_VARS = frozenset({"g"})
FUNCTION_VARS = ELEMENTWISE_FUNCTION_VARS | ROW_FUNCTION_VARS

ShapeOf = Callable[[Expr], Shape]


@dataclass
class Bindings:
    exprs: dict[str, Expr] = field(default_factory=dict)
    functions: dict[str, tuple[str, int]] = field(default_factory=dict)
    dims: dict[DimVar, Dim] = field(default_factory=dict)

    def copy(self) -> Bindings:
        return Bindings(dict(self.exprs), dict(self.functions), dict(self.dims))


def _bind_dim(bindings: Bindings, pattern_dim: Dim, actual: Dim) -> bool:
    if isinstance(pattern_dim, DimVar):
        known = bindings.dims.get(pattern_dim)
        if known is None:
            bindings.dims[pattern_dim] = actual
            return True
        return known == actual
    return pattern_dim == actual


def _bind_shape(bindings: Bindings, pattern_shape: Shape, actual: Shape) -> bool:
    return _bind_dim(bindings, pattern_shape[0], actual[0]) and _bind_dim(
        bindings, pattern_shape[1], actual[1])


class Matcher:
    """Matches patterns whose variables have the (canonical) shapes `var_shapes`."""

    def __init__(self, var_shapes: dict[str, Shape], shape_of: ShapeOf) -> None:
        self.var_shapes = var_shapes
        self.shape_of = shape_of

    def match(self, pattern: Expr, expr: Expr, bindings: Bindings) -> Bindings | None:
        if isinstance(pattern, Var):
            return self._match_var(pattern, expr, bindings)
        if isinstance(pattern, Add):
            return self._match_add(pattern, expr, bindings) if isinstance(expr, Add) else None
        if type(pattern) is not type(expr):
            return None
        if isinstance(pattern, (Ones, Zero)):
            assert isinstance(expr, (Ones, Zero))
            ok = _bind_shape(bindings, (pattern.rows, pattern.cols), (expr.rows, expr.cols))
            return bindings if ok else None
        if isinstance(pattern, Identity):
            assert isinstance(expr, Identity)
            return bindings if _bind_dim(bindings, pattern.size, expr.size) else None
        if isinstance(pattern, (Apply, RowApply, RowGrad)):
            if not self._match_function(pattern, expr, bindings):
                return None
        elif isinstance(pattern, (MatFun, Frechet, Frechet2)):
            assert isinstance(expr, (MatFun, Frechet, Frechet2))
            if pattern.fn != expr.fn:  # expm(X) is not logm(X)
                return None
        elif pattern.children() == () and pattern != expr:
            return None
        for sub_pattern, sub_expr in zip(pattern.children(), expr.children(), strict=True):
            result = self.match(sub_pattern, sub_expr, bindings)
            if result is None:
                return None
            bindings = result
        return bindings

    def _match_var(self, pattern: Var, expr: Expr, bindings: Bindings) -> Bindings | None:
        bound = bindings.exprs.get(pattern.name)
        if bound is not None:
            return bindings if bound == expr else None
        shape = self.shape_of(expr)
        if pattern.name[:1].islower() and shape != SCALAR:
            return None
        if not _bind_shape(bindings, self.var_shapes[pattern.name], shape):
            return None
        bindings.exprs[pattern.name] = expr
        return bindings

    def _match_function(self, pattern: Apply | RowApply | RowGrad, expr: Expr,
                        bindings: Bindings) -> bool:
        assert isinstance(expr, (Apply, RowApply, RowGrad))
        fn, actual_fn = pattern.fn, expr.fn
        order = pattern.order if isinstance(pattern, Apply) else 0
        actual_order = expr.order if isinstance(expr, Apply) else 0
        if fn in FUNCTION_VARS:
            if actual_order < order:
                return False
            binding = (actual_fn, actual_order - order)
            known = bindings.functions.get(fn)
            if known is not None and known != binding:
                return False
            bindings.functions[fn] = binding
            return True
        return bool(fn == actual_fn and order == actual_order)

    def _match_add(self, pattern: Add, expr: Add, bindings: Bindings) -> Bindings | None:
        if len(pattern.terms) != 2:
            return self._match_terms(list(pattern.terms), list(expr.terms), bindings)
        first, second = pattern.terms
        terms = expr.terms
        # (first term, the rest), then (the others, one later term).  The sum of the rest is
        # built only when its pattern could match it: a long sum would otherwise cost
        # quadratic time at every attempt.
        trial = self.match(first, terms[0], bindings.copy())
        if trial is not None and self._could_match(second, trial, len(terms) - 1):
            trial = self.match(second, add(terms[1:]), trial)
            if trial is not None:
                return trial
        for index in range(1, len(terms)):
            trial = self.match(second, terms[index], bindings.copy())
            if trial is not None and self._could_match(first, trial, len(terms) - 1):
                trial = self.match(first, add(terms[:index] + terms[index + 1:]), trial)
                if trial is not None:
                    return trial
        return None

    @staticmethod
    def _could_match(pattern: Expr, bindings: Bindings, size: int) -> bool:
        """Whether `pattern` can match a sum of `size` terms (a single term if size is 1)."""
        if size == 1:
            return True
        if isinstance(pattern, Var):
            bound = bindings.exprs.get(pattern.name)
            return bound is None or (isinstance(bound, Add) and len(bound.terms) == size)
        return isinstance(pattern, Add)

    def _match_terms(self, patterns: list[Expr], terms: list[Expr],
                     bindings: Bindings) -> Bindings | None:
        if len(patterns) != len(terms):
            return None
        for sub_pattern, term in zip(patterns, terms, strict=True):
            result = self.match(sub_pattern, term, bindings)
            if result is None:
                return None
            bindings = result
        return bindings


class Instantiator:
    """Builds a rule's right-hand side from the bindings of its left-hand side."""

    def __init__(self, shape_of: ShapeOf) -> None:
        self.shape_of = shape_of

    def build(self, template: Expr, bindings: Bindings) -> Expr:
        if isinstance(template, Var):
            return bindings.exprs[template.name]
        if isinstance(template, (Ones, Zero)):
            return type(template)(self._dim(template.rows, bindings),
                                  self._dim(template.cols, bindings))
        if isinstance(template, Identity):
            return Identity(self._dim(template.size, bindings))
        kids = tuple(self.build(kid, bindings) for kid in template.children())
        if isinstance(template, (Apply, RowApply, RowGrad)) and template.fn in FUNCTION_VARS:
            fn, order = bindings.functions[template.fn]
            if isinstance(template, Apply):
                return Apply(fn, kids[0], order + template.order)
            return type(template)(fn, kids[0])
        if isinstance(template, (MatMul, Hadamard)):
            return self._product(template, kids)
        return template.with_children(kids) if kids else template

    @staticmethod
    def _dim(dim: Dim, bindings: Bindings) -> Dim:
        if isinstance(dim, DimVar):
            return bindings.dims[dim]
        return dim

    def _product(self, template: MatMul | Hadamard, kids: tuple[Expr, ...]) -> Expr:
        left, right = kids
        if self.shape_of(left) == SCALAR:
            return Scale(left, right)
        if self.shape_of(right) == SCALAR:
            return Scale(right, left)
        return type(template)(left, right)
