"""Calls: `f(X)`, `f′(A)`, `∇g(X)`, the operations written as calls (`sum`, `tr`, `inv`,
`mean`, `diag`, `ones`, …, one method each, looked up in `SPECIAL`), and a matrix followed by
a parenthesised factor (a product).  An unknown function name is refused with "did you mean",
unless the guide would write it so (f, g₁, f[j]) or it is declared `: function`.

Invariant: every name of `scope.SPECIAL_CALLS` has an entry in `SIZED_OR_PAIRED` or `SPECIAL` (a
test checks).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from fractions import Fraction

from matgrad.errors import ShapeError, UsageError
from matgrad.front.scope import (
    GRADIENT_PREFIXES,
    ROW_FUNCTION_VARS,
    SPECIAL_CALLS,
    Scope,
)
from matgrad.front.syntax import SCall, SExpr, SName, SNumber, SUnary, innermost, written_size
from matgrad.front.words import NEAR_MISSES, is_guide_function_name
from matgrad.functions import ELEMENTWISE, FUNCTION_ALIASES, NAMED_GRADIENTS, ROWWISE
from matgrad.ir.dims import SCALAR, Dim, DimVar, Shape
from matgrad.ir.expr import (
    Apply,
    Const,
    Det,
    Diff,
    DimSize,
    Div,
    Expr,
    Frechet,
    Frechet2,
    Hadamard,
    Identity,
    Inv,
    LogDet,
    MatFun,
    MatMul,
    Norm,
    Ones,
    RowApply,
    RowDot,
    RowGrad,
    Sum,
    Trace,
    Transpose,
    Zero,
)
from matgrad.matrix_functions import MATRIX_FUNCTIONS

# How rule files write the Fréchet derivative L_f(X, E) of a matrix function f: L_expm(X, E).
FRECHET_PREFIX = "L_"
SECOND_FRECHET_PREFIX = "L2_"  # L2_expm(X, E1, E2): the second Fréchet derivative
SQUARE_CALLS = {"tr": Trace, "det": Det, "logdet": LogDet, "inv": Inv}


class CallResolver(Scope):
    """Resolves calls; the expressions inside them through `expr` (expressions.py)."""

    def call(self, node: SCall) -> tuple[Expr, Shape]:
        callee, order = node.callee, 0
        # f′(A), and f'(A) in ASCII when f is not a matrix: a derivative of f.
        while isinstance(callee, SUnary) and callee.op in ("prime", "quote"):
            operand = innermost(callee)
            if not isinstance(operand, SName) or self.is_matrix_name(operand.name):
                break
            order += 1
            callee = callee.x
        if isinstance(callee, SName) and self.mode == "rule" and callee.name == "d":
            inner, shape = self.expr(self.single_arg(node, "d"))
            return Diff(inner), shape
        if (isinstance(callee, SName) and self.mode == "rule"
                and callee.name.startswith((FRECHET_PREFIX, SECOND_FRECHET_PREFIX))):
            return self.frechet(node, callee.name)
        if isinstance(callee, SName) and not self.is_matrix_name(callee.name):
            return self.function_call(node, callee.name, order)
        # A matrix followed by a parenthesised expression: a product, as in Xᵀ(Z − Y).
        arg = self.single_arg(node, "a product")
        a, sa = self.expr(callee)
        b, sb = self.expr(arg)
        return self.product(node, a, sa, b, sb)

    def single_arg(self, node: SCall, what: str) -> SExpr:
        if len(node.args) != 1:
            raise UsageError(f"{node.pos.text(self.source)}: {what} takes one argument, "
                             f"{len(node.args)} given (at {self.where(node.pos)}).")
        return node.args[0]

    def dim_arg(self, node: SCall, arg: SExpr) -> Dim:
        if isinstance(arg, SNumber) and arg.value.denominator == 1 and arg.value > 0:
            return written_size(int(arg.value), self.where(node.pos))
        if isinstance(arg, SName) and self.mode == "rule":
            # In a rule, a size name is an unknown fixed by the matched shapes: eye(k).
            return self.rule_dims.setdefault(arg.name, self.unifier.fresh())
        if isinstance(arg, SName):
            if arg.name not in self.dims:
                self.dims.append(arg.name)  # a size first named here, as in ones(t, 1)
            return arg.name
        raise UsageError(f"{node.pos.text(self.source)}: sizes must be names or whole numbers "
                         f"(at {self.where(node.pos)}).")

    def function_call(self, node: SCall, name: str, order: int) -> tuple[Expr, Shape]:
        if self.mode == "program" and order == 0:
            name = FUNCTION_ALIASES.get(name, name)
        if name in SPECIAL_CALLS and order == 0:
            return self.special_call(node, name)
        if name in NAMED_GRADIENTS and order == 0:  # softmax(A) = ∇logsumexp(A), row by row
            arg, shape = self.expr(self.single_arg(node, name))
            return self.row_gradient(node, NAMED_GRADIENTS[name], arg, shape)
        for prefix in GRADIENT_PREFIXES:
            if name.startswith(prefix) and (name[len(prefix):] in ROWWISE
                                            or name[len(prefix):] in self.row_functions or (
                    self.mode == "rule" and name[len(prefix):] in ROW_FUNCTION_VARS)):
                arg, shape = self.expr(self.single_arg(node, name))
                return self.row_gradient(node, name[len(prefix):], arg, shape)
        if self.mode == "program":
            self.refuse_unknown_function(node, name)
        arg, shape = self.expr(self.single_arg(node, name))
        if name in ROWWISE or name in self.row_functions or (
                self.mode == "rule" and name in ROW_FUNCTION_VARS):
            if order:
                raise UsageError(f"{name} is row-wise; its derivative is written ∇{name}(X).")
            if name in ROWWISE and self.over_column(node, name, shape):
                return RowApply(name, Transpose(arg)), SCALAR
            return RowApply(name, arg), (shape[0], 1)
        if name in self.matrices_used and self.mode == "program":
            raise UsageError(f"'{name}' is used as a matrix elsewhere and as a function at "
                             f"{self.where(node.pos)}; declare it (`{name}: r x c`) to multiply, "
                             "or rename the function.")
        if name not in ELEMENTWISE:
            self.functions.add(name)
        return Apply(name, arg, order), shape

    def row_gradient(self, node: SCall, fn: str, arg: Expr, shape: Shape) -> tuple[Expr, Shape]:
        """softmax(X): a column's softmax is over its entries, softmax(xᵀ)ᵀ.  The shape is the
        same either way, so a shape still open here is decided at the end (`column_reads`)."""
        if self.mode == "program" and fn in ROWWISE:
            rows, cols = (self.unifier.find(dim) for dim in shape)
            if cols == 1 and rows != 1:
                return Transpose(RowGrad(fn, Transpose(arg))), shape
            if isinstance(cols, DimVar):
                self.open_row_gradients.append((RowGrad(fn, arg), shape))
        return RowGrad(fn, arg), shape

    def column_reads(self) -> dict[Expr, Expr]:
        """Row gradients whose argument turned out a column: their reading over the entries."""
        reads: dict[Expr, Expr] = {}
        for expr, shape in self.open_row_gradients:
            rows, cols = (self.unifier.find(dim) for dim in shape)
            if cols == 1 and rows != 1:
                assert isinstance(expr, RowGrad)
                reads[expr] = Transpose(RowGrad(expr.fn, Transpose(expr.arg)))
        return reads

    def over_column(self, node: SCall, fn: str, shape: Shape) -> bool:
        """Whether a built-in row-wise function applies over the entries of a column: a row-wise
        softmax or logsumexp of an n×1 column would be constant (1, or the entries), which no
        one means by softmax(W x)."""
        if self.mode != "program":
            return False
        rows, cols = (self.unifier.find(dim) for dim in shape)
        if cols == 1:
            return rows != 1
        if isinstance(cols, DimVar):
            self.deferred.append((shape, "not-column", (
                f"{node.pos.text(self.source)} at {self.where(node.pos)}: the argument's shape "
                f"was inferred as a column, and {fn} reads a column over its entries only when "
                "its shape is known where it is applied: declare the shapes of its operands.")))
        return False

    def refuse_unknown_function(self, node: SCall, name: str) -> None:
        """An unknown function name is a typo or a function matgrad lacks, not an abstract one,
        unless the guide would write it so (f, g₁, f[j], ℓ) or it is declared `: function`."""
        known = (name in ELEMENTWISE or name in ROWWISE or name in self.row_functions
                 or name in self.declared_functions or name in SPECIAL_CALLS)
        if known or is_guide_function_name(name):
            return
        if name in self.declared or name in self.definitions:
            return
        if name in NEAR_MISSES:
            raise UsageError(f"unknown function '{name}' at {self.where(node.pos)}: "
                             f"{NEAR_MISSES[name]}.")
        names = sorted({*ELEMENTWISE, *ROWWISE, *NAMED_GRADIENTS, *SPECIAL_CALLS,
                        *FUNCTION_ALIASES, *self.declared_functions} - {"ones", "zeros", "eye"})
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        suggestion = f"did you mean {' or '.join(close)}? " if close else ""
        raise UsageError(
            f"unknown function '{name}' at {self.where(node.pos)}: {suggestion}To use an "
            f"abstract function, declare it (`{name}: function`) or give it a one-letter name "
            f"such as f or g. If '{name}' is a matrix, declare its shape (`{name}: r x c`) to "
            "multiply by it. Built-in functions are listed in docs/language.md.")

    def special_call(self, node: SCall, name: str) -> tuple[Expr, Shape]:
        if name in SIZED_OR_PAIRED:
            return SIZED_OR_PAIRED[name](self, node, name)
        # The argument resolved here, not by each method: one stack frame less per nested
        # call, so that 200 nested brackets stay within Python's recursion limit.
        arg, shape = self.expr(self.single_arg(node, name))
        return SPECIAL[name](self, node, name, arg, shape)

    def sized(self, node: SCall, name: str) -> tuple[Expr, Shape]:
        """ones(t, 1), zeros(n, m), eye(n): a matrix of sizes written as names or numbers."""
        dims = [self.dim_arg(node, arg) for arg in node.args]
        if name == "eye" and len(dims) == 1:
            return Identity(dims[0]), (dims[0], dims[0])
        if len(dims) != 2:
            raise UsageError(f"{node.pos.text(self.source)}: {name} takes two sizes, as in "
                             f"{name}(t, 1) (at {self.where(node.pos)}).")
        shape = (dims[0], dims[1])
        return (Ones(*shape) if name == "ones" else Zero(*shape)), shape

    def rowdot(self, node: SCall, name: str) -> tuple[Expr, Shape]:
        if len(node.args) != 2:
            raise UsageError(f"rowdot takes two matrices (at {self.where(node.pos)}).")
        a, sa = self.expr(node.args[0])
        b, sb = self.expr(node.args[1])
        if not self.unifier.unify_shapes(sa, sb):
            raise ShapeError(f"{node.pos.text(self.source)}: row-wise product of "
                             f"({self.shape_text(sa)}) and ({self.shape_text(sb)}): the "
                             f"operands must have the same shape (at {self.where(node.pos)}).")
        return RowDot(a, b), (sa[0], 1)

    def transposed(self, node: SCall, name: str, arg: Expr, shape: Shape
                   ) -> tuple[Expr, Shape]:
        return Transpose(arg), (shape[1], shape[0])

    def square(self, node: SCall, name: str, arg: Expr, shape: Shape
               ) -> tuple[Expr, Shape]:
        """tr, det, logdet and inv of a square matrix."""
        if not self.unifier.unify(shape[0], shape[1]):
            raise ShapeError(f"{node.pos.text(self.source)}: {name} of a "
                             f"({self.shape_text(shape)}) matrix: it must be square (at "
                             f"{self.where(node.pos)}).")
        return SQUARE_CALLS[name](arg), (shape if name == "inv" else SCALAR)

    def matrix_function(self, node: SCall, name: str, arg: Expr, shape: Shape
                        ) -> tuple[Expr, Shape]:
        """expm, logm, sqrtm of a square matrix (functions of the matrix, not of its entries)."""
        if not self.unifier.unify(shape[0], shape[1]):
            raise ShapeError(f"{node.pos.text(self.source)}: {name} of a "
                             f"({self.shape_text(shape)}) matrix: {MATRIX_FUNCTIONS[name].what} "
                             f"takes a square matrix (at {self.where(node.pos)}); for the "
                             "function of each entry write exp, log or sqrt.")
        return MatFun(name, arg), shape

    def frechet(self, node: SCall, call: str) -> tuple[Expr, Shape]:
        """L_f(X, E) or L2_f(X, E₁, E₂) in a rule file: the first or second Fréchet derivative
        of the matrix function f."""
        second = call.startswith(SECOND_FRECHET_PREFIX)
        name = call.removeprefix(SECOND_FRECHET_PREFIX if second else FRECHET_PREFIX)
        if name not in MATRIX_FUNCTIONS or len(node.args) != 2 + second:
            raise UsageError(f"{node.pos.text(self.source)} at {self.where(node.pos)}: "
                             f"{FRECHET_PREFIX}f(X, E) and {SECOND_FRECHET_PREFIX}f(X, E1, E2) "
                             f"take a matrix function f ({', '.join(MATRIX_FUNCTIONS)}) and "
                             "two or three matrices.")
        x, shape = self.expr(node.args[0])
        directions = [self.expr(arg) for arg in node.args[1:]]
        if not (self.unifier.unify(shape[0], shape[1]) and all(
                self.unifier.unify_shapes(shape, other) for _, other in directions)):
            raise ShapeError(f"{node.pos.text(self.source)}: the directions of a Fréchet "
                             "derivative are square, of the argument's shape (at "
                             f"{self.where(node.pos)}).")
        if second:
            return Frechet2(name, x, directions[0][0], directions[1][0]), shape
        return Frechet(name, x, directions[0][0]), shape

    def summed(self, node: SCall, name: str, arg: Expr, shape: Shape
               ) -> tuple[Expr, Shape]:
        # The sum of a 1×1 is itself: sum(sum(X)) is sum(X), not a nest to differentiate.
        if self.unifier.is_scalar(shape) and self.mode == "program":
            return arg, SCALAR
        return Sum(arg), SCALAR

    def norm2(self, node: SCall, name: str, arg: Expr, shape: Shape
              ) -> tuple[Expr, Shape]:
        if node.callee.pos.text(self.source) == "norm":  # the alias: ambiguous for matrices
            self.require_vector(shape, (
                f"{node.pos.text(self.source)} at {self.where(node.pos)}: norm of a matrix "
                "means the spectral norm in MATLAB and the Frobenius norm in NumPy; write "
                "||X|| (or norm2(X)) for the Frobenius norm."))
        return Norm(arg), SCALAR

    def norm1(self, node: SCall, name: str, arg: Expr, shape: Shape
              ) -> tuple[Expr, Shape]:
        return Sum(Apply("abs", arg)), SCALAR  # Σ|Eᵢⱼ|, the entrywise 1-norm

    def mean(self, node: SCall, name: str, arg: Expr, shape: Shape
             ) -> tuple[Expr, Shape]:
        """The mean of a vector's entries; for a matrix MATLAB's mean (column means) and NumPy's
        (all entries) differ, so the user writes which one."""
        rows, cols = (self.unifier.find(dim) for dim in shape)
        length = cols if rows == 1 else rows if cols == 1 else None
        if length is None or isinstance(length, DimVar):
            what = "a matrix" if length is None and not any(
                isinstance(d, DimVar) for d in (rows, cols)) else "an argument of unknown shape"
            raise UsageError(
                f"{node.pos.text(self.source)} at {self.where(node.pos)}: mean of {what} is "
                "ambiguous (MATLAB takes column means, NumPy the mean of all entries): write "
                "sum(X)/(t*n) for the mean of all entries, or 1'*X/t for the row of column "
                "means; mean(x) of a declared vector is the mean of its entries.")
        count: Expr = Const(Fraction(length)) if isinstance(length, int) else DimSize(length)
        return Div(Sum(arg), count), SCALAR

    def diag(self, node: SCall, name: str, arg: Expr, shape: Shape
             ) -> tuple[Expr, Shape]:
        """diag(x) of a vector is the diagonal matrix (x𝟏ᵀ) ⊙ I; diag(X) of a square matrix is
        the column of its diagonal, (X ⊙ I)𝟏 — both exact, so every rule applies to them."""
        rows, cols = (self.unifier.find(dim) for dim in shape)
        if cols == 1 or rows == 1:
            column = arg if cols == 1 else Transpose(arg)
            size_ = rows if cols == 1 else cols
            return Hadamard(MatMul(column, Transpose(Ones(size_, 1))), Identity(size_)), (
                size_, size_)
        if not self.unifier.unify(rows, cols):
            raise ShapeError(f"{node.pos.text(self.source)}: diag of a ({self.shape_text(shape)})"
                             " matrix: it must be square, or a vector (at "
                             f"{self.where(node.pos)}).")
        return MatMul(Hadamard(arg, Identity(rows)), Ones(rows, 1)), (rows, 1)


# The special calls whose arguments are sizes or two matrices, and the one-argument ones.
SIZED_OR_PAIRED: dict[str, Callable[[CallResolver, SCall, str], tuple[Expr, Shape]]] = {
    "ones": CallResolver.sized, "zeros": CallResolver.sized, "eye": CallResolver.sized,
    "rowdot": CallResolver.rowdot}
SPECIAL: dict[str, Callable[[CallResolver, SCall, str, Expr, Shape], tuple[Expr, Shape]]] = {
    "transpose": CallResolver.transposed, "mean": CallResolver.mean, "diag": CallResolver.diag,
    **dict.fromkeys(SQUARE_CALLS, CallResolver.square),
    **dict.fromkeys(MATRIX_FUNCTIONS, CallResolver.matrix_function),
    "sum": CallResolver.summed, "norm2": CallResolver.norm2, "norm1": CallResolver.norm1}
