"""Matrix-chain order from shapes: a product chain A₁A₂…Aₙ evaluated in its cheapest bracketing.

Sizes are symbols, so a cost is a polynomial in "a large size N" (a literal size is a
coefficient, a named one a power of N), compared by its leading terms: a·bᵀ·X becomes a·(bᵀX),
never an n×n outer product first.  A sub-chain whose product is already computed costs
nothing: yᵀX w with A = X w at hand is yᵀA, and X is not read again.  The written order is
kept on ties.

Invariants: the bracketing changes the order of evaluation only, never the operands or their
order (matrix products associate); chains with a ones factor (a broadcast or a row sum), an
inverse (emitted as a solve) or a scalar factor are left as written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from matgrad.ir.dims import SCALAR, Dim, Shape
from matgrad.ir.expr import Expr, Inv, MatMul, Ones, Transpose

Cost = Counter[int]  # degree in N → coefficient


def ones_shape(expr: Expr) -> Shape | None:
    """The shape of an all-ones operand (𝟏 or 1ᵀ), else None."""
    if isinstance(expr, Ones):
        return (expr.rows, expr.cols)
    if isinstance(expr, Transpose) and isinstance(expr.x, Ones):
        return (expr.x.cols, expr.x.rows)
    return None


def _operands(expr: Expr, is_whole: Callable[[Expr], bool], top: bool = True) -> list[Expr]:
    if isinstance(expr, MatMul) and (top or not is_whole(expr)):
        return _operands(expr.a, is_whole, False) + _operands(expr.b, is_whole, False)
    return [expr]


def _cost(rows: Dim, inner: Dim, cols: Dim) -> Cost:
    degree = sum(isinstance(dim, str) for dim in (rows, inner, cols))
    coefficient = 1
    for dim in (rows, inner, cols):
        coefficient *= dim if isinstance(dim, int) else 1
    return Counter({degree: coefficient})


def _key(cost: Cost) -> tuple[tuple[int, int], ...]:
    return tuple(sorted(((d, c) for d, c in cost.items() if c), reverse=True))


def _tree_cost(expr: Expr, operands: set[Expr], shape: Callable[[Expr], Shape]) -> Cost:
    if expr in operands or not isinstance(expr, MatMul):
        return Counter()
    rows, inner = shape(expr.a)
    cols = shape(expr.b)[1]
    return (_tree_cost(expr.a, operands, shape) + _tree_cost(expr.b, operands, shape)
            + _cost(rows, inner, cols))


def best_bracketing(expr: MatMul, shape: Callable[[Expr], Shape],
                    is_whole: Callable[[Expr], bool]) -> Expr | None:
    """The cheapest bracketing of the chain `expr` heads, or None if it is the given one;
    `is_whole(part)` keeps a product that is computed once elsewhere as one operand."""
    operands = _operands(expr, is_whole)
    if len(operands) < 3 or any(ones_shape(op) is not None or isinstance(op, Inv)
                                or shape(op) == SCALAR for op in operands):
        return None
    shapes = [shape(op) for op in operands]
    count = len(operands)
    best: dict[tuple[int, int], tuple[tuple[tuple[int, int], ...], Cost, Expr]] = {
        (i, i): ((), Counter(), operands[i]) for i in range(count)}
    for span in range(2, count + 1):
        for i in range(count - span + 1):
            j = i + span - 1
            options = []
            for split in range(i, j):
                _, left_cost, left = best[(i, split)]
                _, right_cost, right = best[(split + 1, j)]
                product = MatMul(left, right)
                # A sub-chain already computed (A = X w, at hand when yᵀX w is lowered) costs
                # nothing more: the chain is bracketed around the values available.
                total = Counter() if is_whole(product) else (
                    left_cost + right_cost + _cost(shapes[i][0], shapes[split][1],
                                                   shapes[j][1]))
                options.append((_key(total), total, product))
            best[(i, j)] = min(options, key=lambda option: option[0])
    key, _, tree = best[(0, count - 1)]
    if tree == expr or key >= _key(_tree_cost(expr, set(operands), shape)):
        return None
    return tree
