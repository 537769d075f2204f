"""Kronecker forms (ir/kronecker.py) at given arguments: as a dense matrix, or as an operator
that applies the form without ever building it.

A Hessian block of an m×n parameter is (mn)×(mn); the operator keeps only its factors
(VᵀV for 2(VᵀV ⊗ I): k×k) and applies B ⊗ A to vec(M) as vec(A M Bᵀ), diag(vec K) as K ⊙ M, a
commutation matrix as Mᵀ.  `toarray()` materialises it when asked (np.kron of the factors).

Invariant: `operator @ v` and `operator.toarray() @ v` agree to rounding — both follow the
same factors, in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from matgrad.ir.dims import Dim
from matgrad.ir.expr import Expr
from matgrad.ir.kronecker import (
    Factor,
    Flip,
    Inner,
    Kron,
    KroneckerForm,
    Mask,
    Spread,
    adjoint,
)

Evaluate = Callable[[Expr], np.ndarray]
NumericShape = tuple[int, int]


def vec(array: Any) -> np.ndarray:
    """The entries of a matrix as one vector, columns stacked (the blocks' convention)."""
    return np.reshape(np.asarray(array, dtype=float), -1, order="F")


def unvec(vector: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The matrix of `shape` whose `vec` is `vector`."""
    return np.reshape(vector, shape, order="F")


def commutation(rows: int, cols: int) -> np.ndarray:
    """K₍rows,cols₎: vec(Mᵀ) = K vec(M) for every rows×cols M."""
    positions = np.arange(rows * cols).reshape((rows, cols), order="F")
    matrix = np.zeros((rows * cols, rows * cols))
    matrix[np.arange(rows * cols), vec(positions.T).astype(int)] = 1.0
    return matrix


class _Evaluated:
    """One factor with its matrices evaluated and its shapes numeric."""

    def __init__(self, factor: Factor, value: Evaluate, size: Callable[[Dim], int]) -> None:
        self.factor = factor
        self.source: NumericShape = (size(factor.source[0]), size(factor.source[1]))
        self.target: NumericShape = (size(factor.target[0]), size(factor.target[1]))
        self.outer: np.ndarray | None = None
        self.inner: np.ndarray | None = None
        self.matrix: np.ndarray | None = None
        if isinstance(factor, Kron):
            self.outer = None if factor.outer is None else value(factor.outer)
            self.inner = None if factor.inner is None else value(factor.inner)
        elif not isinstance(factor, Flip):
            shape = self.target if isinstance(factor, Spread) else self.source
            self.matrix = np.broadcast_to(value(factor.factor), shape)

    def apply(self, m: np.ndarray) -> np.ndarray:
        factor = self.factor
        if isinstance(factor, Kron):
            if self.inner is not None:
                m = self.inner @ m
            return m if self.outer is None else m @ self.outer.T
        if isinstance(factor, Flip):
            return np.transpose(m)
        assert self.matrix is not None
        if isinstance(factor, Mask):
            masked: np.ndarray = m / self.matrix if factor.divide else self.matrix * m
            return masked
        if isinstance(factor, Inner):
            return np.reshape(np.sum(self.matrix * m), (1, 1))
        spread: np.ndarray = m.item() * self.matrix  # Spread: a 1×1 times K
        return spread

    def apply_columns(self, columns: np.ndarray) -> np.ndarray:
        """The factor applied to each column of `columns` (each the vec of a matrix of the
        source's shape): the product of its matrix with `columns`, without forming the
        matrix (a diagonal as a row scaling, B ⊗ A as A M Bᵀ on every column at once)."""
        factor = self.factor
        count = columns.shape[1]
        result: np.ndarray
        if isinstance(factor, Mask):
            assert self.matrix is not None
            scale = vec(self.matrix)[:, None]
            result = columns / scale if factor.divide else columns * scale
            return result
        if isinstance(factor, (Inner, Spread)):
            result = self.dense() @ columns
            return result
        rows, cols = self.source
        stacked = columns.reshape(rows, cols, count, order="F")
        if isinstance(factor, Flip):
            result = stacked.transpose(1, 0, 2).reshape(-1, count, order="F")
            return result
        if self.inner is not None:
            stacked = np.einsum("ir,rck->ick", self.inner, stacked)
        if self.outer is not None:
            stacked = np.einsum("rck,jc->rjk", stacked, self.outer)
        return stacked.reshape(-1, count, order="F")

    def dense(self) -> np.ndarray:
        factor = self.factor
        rows, cols = self.source
        if isinstance(factor, Kron):
            outer = np.eye(cols) if self.outer is None else self.outer
            inner = np.eye(rows) if self.inner is None else self.inner
            return np.kron(outer, inner)
        if isinstance(factor, Flip):
            return commutation(rows, cols)
        assert self.matrix is not None
        if isinstance(factor, Mask):
            return np.diag(1.0 / vec(self.matrix) if factor.divide else vec(self.matrix))
        if isinstance(factor, Inner):
            return vec(self.matrix)[None, :]
        return vec(self.matrix)[:, None]


class KroneckerOperator:
    """A Hessian block as a linear operator: `op @ v` (v = vec(V), or columns of such),
    `op.apply(V)` on matrices, `op.toarray()`; `shape` and `dtype` as scipy's
    LinearOperator expects (scipy.sparse.linalg.aslinearoperator accepts it)."""

    def __init__(self, form: KroneckerForm, value: Evaluate, size: Callable[[Dim], int]) -> None:
        self._form, self._value, self._size = form, value, size
        self.source: NumericShape = (size(form.source[0]), size(form.source[1]))
        self.target: NumericShape = (size(form.target[0]), size(form.target[1]))
        self.shape = (self.target[0] * self.target[1], self.source[0] * self.source[1])
        self.dtype = np.dtype(float)
        self._terms = [(1.0 if term.coefficient is None else float(value(term.coefficient).item()),
                        [_Evaluated(factor, value, size) for factor in term.factors])
                       for term in form.terms]

    @property
    def nbytes(self) -> int:
        """The memory the operator holds: its evaluated factors (a dense block: shape[0] ·
        shape[1] · 8 bytes)."""
        return sum(array.nbytes for _, factors in self._terms for factor in factors
                   for array in (factor.outer, factor.inner, factor.matrix)
                   if array is not None)

    def apply(self, direction: np.ndarray) -> np.ndarray:
        """The block applied to a matrix V of the column parameter's shape."""
        total = np.zeros(self.target)
        for coefficient, factors in self._terms:
            m = np.asarray(direction, dtype=float)
            for factor in reversed(factors):
                m = factor.apply(m)
            total += coefficient * np.broadcast_to(m, self.target)
        return total

    def matvec(self, v: np.ndarray) -> np.ndarray:
        return vec(self.apply(unvec(np.asarray(v, dtype=float).reshape(-1), self.source)))

    @property
    def T(self) -> KroneckerOperator:  # NumPy's and SciPy's name for the transpose
        """The transposed operator (its form's adjoint): a Jacobian's `J.T @ vec(U)` is the
        vector-Jacobian product."""
        return KroneckerOperator(adjoint(self._form), self._value, self._size)

    def rmatvec(self, v: np.ndarray) -> np.ndarray:
        return self.T.matvec(v)

    def matmat(self, columns: np.ndarray) -> np.ndarray:
        return np.stack([self.matvec(column) for column in np.asarray(columns).T], axis=1)

    def __matmul__(self, other: np.ndarray) -> np.ndarray:
        other = np.asarray(other, dtype=float)
        return self.matvec(other) if other.ndim == 1 else self.matmat(other)

    def toarray(self) -> np.ndarray:
        """The block as a dense (size of a) × (size of b) matrix: each term's product built
        once and scaled in place, the first one kept as the total (no zero matrix to add to,
        no scaled copy: a one-term block costs what np.kron by hand does)."""
        total: np.ndarray | None = None
        for coefficient, factors in self._terms:
            matrix: np.ndarray | None = None  # the identity, never built
            fresh = True  # whether `matrix` is an array of its own (not a view of a value)
            for factor in reversed(factors):
                if matrix is None:
                    matrix = factor.dense()
                    fresh = not isinstance(factor.factor, (Inner, Spread))
                else:  # applied to the columns: never a diagonal or a Kronecker product
                    matrix = factor.apply_columns(matrix)
                    # a transposition may hand back a view of the matrix it was given
                    fresh = fresh or not isinstance(factor.factor, Flip)
            if matrix is None:
                matrix = np.eye(self.shape[1])
            if coefficient != 1.0:
                matrix = np.multiply(matrix, coefficient, out=matrix) if fresh else \
                    matrix * coefficient
                fresh = True
            if total is None:
                total = matrix if fresh else matrix.copy()
            else:
                total += matrix
        return np.zeros(self.shape) if total is None else total

    def __repr__(self) -> str:
        return f"<KroneckerOperator {self.shape[0]}×{self.shape[1]}, {len(self._terms)} term(s)>"


__all__ = ["KroneckerOperator", "commutation", "unvec", "vec"]
