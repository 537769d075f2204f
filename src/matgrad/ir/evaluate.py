"""A direct NumPy interpreter of the IR: the independent reference for rules and derivations.

It deliberately shares nothing with the code generator, so that tests comparing the two catch
mistakes in either.  Every value is a 2-D float array (scalars are 1×1).  Abstract functions
(`f`) are supplied by the caller as `name → (x, order) → array`; differentials (`Diff`) are
evaluated from a separate environment of directions, so a linear form dJ can be evaluated too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from matgrad.functions import ELEMENTWISE, ROWWISE, numeric
from matgrad.ir.dims import Dim
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
from matgrad.matrix_functions import MATRIX_FUNCTIONS

AbstractFunction = Callable[[np.ndarray, int], np.ndarray]
Array = np.ndarray


@dataclass
class Environment:
    values: Mapping[str, Array]
    dims: Mapping[str, int]
    functions: Mapping[str, AbstractFunction] = field(default_factory=dict)
    directions: Mapping[str, Array] = field(default_factory=dict)

    def dim(self, dim: Dim) -> int:
        if isinstance(dim, int):
            return dim
        if isinstance(dim, str):
            return self.dims[dim]
        raise ValueError(f"unresolved dimension {dim}")


def _apply(env: Environment, name: str, order: int, x: Array) -> Array:
    if name in ELEMENTWISE:
        return numeric(name, order)(x)
    if name not in env.functions:
        raise KeyError(f"no numeric value bound for the abstract function {name}")
    return env.functions[name](x, order)


def _diff(env: Environment, expr: Expr) -> Array:
    if isinstance(expr, (Sym, Var)) and expr.name in env.directions:
        return env.directions[expr.name]
    raise ValueError("only differentials of named matrices can be evaluated")


def _power(base: Array, exponent: Array) -> Array:
    return np.asarray(base ** exponent.item(), dtype=float)


def _leaf(env: Environment, expr: Expr) -> Array:
    """Value of a node without children."""
    if isinstance(expr, (Sym, Var)):
        return np.asarray(env.values[expr.name], dtype=float)
    if isinstance(expr, Const):
        return np.full((1, 1), float(expr.value))
    if isinstance(expr, DimSize):
        return np.full((1, 1), float(env.dims[expr.dim]))
    if isinstance(expr, Ones):
        return np.ones((env.dim(expr.rows), env.dim(expr.cols)))
    if isinstance(expr, Zero):
        return np.zeros((env.dim(expr.rows), env.dim(expr.cols)))
    if isinstance(expr, Identity):
        return np.eye(env.dim(expr.size))
    raise TypeError(f"no evaluator for {type(expr).__name__}")


def _scalar(value: float) -> Array:
    return np.full((1, 1), value)


def _function(env: Environment, expr: Expr, k: list[Array]) -> Array:
    if isinstance(expr, Apply):
        return _apply(env, expr.fn, expr.order, k[0])
    if isinstance(expr, (RowApply, RowGrad)) and expr.fn not in ROWWISE:
        # An abstract row-wise ℓ: the bound callable gives ℓ (order 0) and ∇ℓ (order 1).
        if expr.fn not in env.functions:
            raise KeyError(f"no numeric value bound for the abstract function {expr.fn}")
        return env.functions[expr.fn](k[0], 0 if isinstance(expr, RowApply) else 1)
    if isinstance(expr, RowApply):
        return ROWWISE[expr.fn].evaluate(k[0])
    if isinstance(expr, RowGrad):
        return ROWWISE[expr.fn].gradient(k[0])
    raise TypeError(type(expr).__name__)


def _matrix_function(expr: Expr, kids: list[Array]) -> Array:
    """f(X), or L_f(X, E), of a matrix function of the table."""
    if isinstance(expr, Frechet):
        return MATRIX_FUNCTIONS[expr.fn].frechet(kids[0], kids[1])
    if isinstance(expr, Frechet2):
        return MATRIX_FUNCTIONS[expr.fn].second_frechet(kids[0], kids[1], kids[2])
    assert isinstance(expr, MatFun)
    return MATRIX_FUNCTIONS[expr.fn].evaluate(kids[0])


Evaluator = Callable[[Environment, Expr, list[Array]], Array]

EVALUATORS: dict[type[Expr], Evaluator] = {
    Add: lambda env, e, k: sum(k[1:], k[0]),
    Neg: lambda env, e, k: -k[0],
    Scale: lambda env, e, k: k[0].item() * k[1],
    Div: lambda env, e, k: k[0] / k[1].item(),
    Power: lambda env, e, k: _power(k[0], k[1]),
    MatMul: lambda env, e, k: k[0] @ k[1],
    Hadamard: lambda env, e, k: k[0] * k[1],
    HadDiv: lambda env, e, k: k[0] / k[1],
    HadPower: lambda env, e, k: np.power(k[0], k[1].item()),
    Frob: lambda env, e, k: _scalar(float(np.sum(k[0] * k[1]))),
    RowDot: lambda env, e, k: np.sum(k[0] * k[1], axis=1, keepdims=True),
    Transpose: lambda env, e, k: k[0].T,
    Apply: _function,
    RowApply: _function,
    RowGrad: _function,
    Sum: lambda env, e, k: _scalar(float(np.sum(k[0]))),
    Norm: lambda env, e, k: _scalar(float(np.linalg.norm(k[0]))),
    Trace: lambda env, e, k: _scalar(float(np.trace(k[0]))),
    Det: lambda env, e, k: _scalar(float(np.linalg.det(k[0]))),
    LogDet: lambda env, e, k: _scalar(float(np.linalg.slogdet(k[0])[1])),
    Inv: lambda env, e, k: np.linalg.inv(k[0]),
    MatFun: lambda env, e, k: _matrix_function(e, k),
    Frechet: lambda env, e, k: _matrix_function(e, k),
    Frechet2: lambda env, e, k: _matrix_function(e, k),
}


def evaluate(expr: Expr, env: Environment, memo: dict[Expr, Array] | None = None) -> Array:
    """The value of `expr`; `memo` caches shared subexpressions (and let-bound values)."""
    memo = {} if memo is None else memo
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node in memo:
            continue
        if isinstance(node, Diff):
            memo[node] = _diff(env, node.x)
            continue
        kids = node.children()
        if not kids:
            memo[node] = np.atleast_2d(_leaf(env, node))
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids if kid not in memo)
            continue
        evaluator = EVALUATORS.get(type(node))
        if evaluator is None:
            raise TypeError(f"no evaluator for {type(node).__name__}")
        memo[node] = np.atleast_2d(evaluator(env, node, [memo[kid] for kid in kids]))
    return memo[expr]
