"""The resolver's scope: what is known while a program (or a rule) is resolved, how a name
reads (a matrix, a size, the identity, names written together) and how unknown dimensions are
finished.  Which words are what — the operations written as calls, the function variables of
rule files, the keywords — is decided here, once.

Invariant: the scope only grows while a program is resolved (names are bound once); every
error names the source position.
"""

from __future__ import annotations

from typing import Literal

from matgrad.errors import ShapeError, UsageError
from matgrad.front.constants import Powers
from matgrad.front.syntax import Pos, SBinary, SExpr, SName
from matgrad.front.words import IDENTITY_NAME, split_into
from matgrad.functions import ELEMENTWISE, NAMED_GRADIENTS, ROWWISE
from matgrad.ir.dims import SCALAR, Dim, DimVar, Shape, format_shape
from matgrad.ir.expr import Diff, DimSize, Expr, Identity, Ones, Sym, Var, Zero
from matgrad.ir.shapes import Unifier
from matgrad.matrix_functions import MATRIX_FUNCTIONS

Mode = Literal["program", "rule"]

# Calls that are operations, not elementwise functions (calls.py resolves each).
SPECIAL_CALLS = {"sum", "rowdot", "norm2", "norm1", "ones", "eye", "zeros", "tr", "det", "logdet",
                 "inv", "mean", "diag", "transpose", *MATRIX_FUNCTIONS}
ELEMENTWISE_FUNCTION_VARS = {"f", "h"}
ROW_FUNCTION_VARS = {"g"}
GRADIENT_PREFIXES = ("∇", "grad_")
# In rule files `d` is the differential; in programs it is an ordinary name (`d: n x 1`).
RESERVED = {"d"}
# Words of the grammar refused as names, so that one spelling never means two things (`end`
# would close a loop body); `of` and `x` stay usable (see docs/language.md).
KEYWORDS = frozenset({"end", "for", "in", "wrt", "objective", "scalar", "rowwise", "function"})


class Scope:
    """What resolving a program or a rule knows so far — shapes, declarations, definitions,
    sizes, functions — with the errors that name positions, the reading of names, and the
    finishing of shapes.  The expression and call resolvers (expressions.py, calls.py) build
    on it; `expr` and `product` are theirs."""

    def __init__(self, source: str, mode: Mode) -> None:
        self.source = source
        self.mode = mode
        self.unifier = Unifier()
        self.shapes: dict[str, Shape] = {}
        self.declared: set[str] = set()
        self.definitions: dict[str, Expr] = {}
        self.dims: list[str] = []
        self.functions: set[str] = set()
        # Written-out powers, so that (W^4)^5 is W^20 and (E.^2).^2 is E.^4.
        self.matrix_powers = Powers()
        self.hadamard_powers = Powers()
        self.row_functions: set[str] = set()  # declared `rowwise`: abstract ℓ of (19)
        self.matrices_used: set[str] = set()
        self.ones_dims: list[DimVar] = []
        self.rule_dims: dict[str, DimVar] = {}
        self.declared_functions: set[str] = set()  # `phi: function`
        # Checks that need the final shapes: (shape, what must hold, the error if it fails).
        self.deferred: list[tuple[Shape, Literal["vector", "not-column"], str]] = []
        self.open_row_gradients: list[tuple[Expr, Shape]] = []

    # ---- errors -----------------------------------------------------------------------------

    def where(self, pos: Pos) -> str:
        return f"line {pos.line}, column {pos.column}"

    def text(self, node: SExpr) -> str:
        snippet = node.pos.text(self.source)
        return snippet if snippet else "expression"

    def shape_text(self, shape: Shape) -> str:
        return format_shape(self.unifier.find_shape(shape)).replace("?", "?")

    def mismatch(self, node: SBinary, what: str, sa: Shape, sb: Shape, detail: str) -> ShapeError:
        return ShapeError(
            f"{self.text(node)}: {what} of ({self.shape_text(sa)}) and ({self.shape_text(sb)}): "
            f"{detail} (at {self.where(node.pos)}). Check the declared shapes of the operands."
        )

    # ---- names --------------------------------------------------------------------------------

    def symbol_shape(self, name: str, pos: Pos) -> Shape:
        if name not in self.shapes:
            if self.mode == "rule" and name[:1].islower():
                self.shapes[name] = SCALAR
            else:
                self.shapes[name] = self.unifier.fresh_shape()
        self.matrices_used.add(name)
        return self.shapes[name]

    def is_matrix_name(self, name: str) -> bool:
        if name in self.row_functions:
            return False
        if name in self.declared or name in self.definitions:
            return True
        if self.mode == "program":
            return False
        callable_names = ELEMENTWISE_FUNCTION_VARS | ROW_FUNCTION_VARS | SPECIAL_CALLS | RESERVED
        return not (name in callable_names or name in ELEMENTWISE or name in ROWWISE
                    or name in NAMED_GRADIENTS or name.startswith(GRADIENT_PREFIXES))

    def name(self, node: SName) -> tuple[Expr, Shape]:
        name = node.name
        if self.mode == "rule":
            if len(name) > 1 and name[0] == "d" and name[1].isupper():
                inner = Var(name[1:])
                return Diff(inner), self.symbol_shape(name[1:], node.pos)
            return Var(name), self.symbol_shape(name, node.pos)
        if name in self.functions:
            raise UsageError(f"'{name}' is used as a function elsewhere and as a matrix at "
                             f"{self.where(node.pos)}; give the matrix another name.")
        if name in ELEMENTWISE or name in ROWWISE or name in SPECIAL_CALLS:
            raise UsageError(f"'{name}' at {self.where(node.pos)} is a function; apply it to an "
                             f"argument, e.g. {name}(X).")
        if name in self.dims and name not in self.declared and name not in self.definitions:
            return DimSize(name), SCALAR
        if name not in self.declared and name not in self.definitions:
            if name == IDENTITY_NAME:
                size_ = self.unifier.fresh()
                return Identity(size_), (size_, size_)
            self.refuse_run_together(node)
        return Sym(name), self.symbol_shape(name, node.pos)

    def refuse_run_together(self, node: SName) -> None:
        """An undeclared name that is declared names written together (`Ax`, `Φθ`) is the
        product the user meant, not a new matrix: say how to write it."""
        parts = split_into(node.name, self.declared | set(self.definitions))
        if parts is None:
            return
        spaced, starred = " ".join(parts), "*".join(parts)
        raise UsageError(f"'{node.name}' at {self.where(node.pos)} is not declared, and it reads "
                         f"as the names {', '.join(parts)} written together: write the product "
                         f"with a space or a star (`{spaced}` or `{starred}`), or declare "
                         f"'{node.name}' if it is a matrix of its own.")

    def require_vector(self, shape: Shape, error: str) -> None:
        """Checked once the shapes are final: one side of `shape` is 1."""
        self.deferred.append((shape, "vector", error))

    # ---- resolved by the subclasses ----------------------------------------------------------

    def expr(self, node: SExpr) -> tuple[Expr, Shape]:
        raise NotImplementedError  # expressions.py

    def product(self, node: SExpr, a: Expr, sa: Shape, b: Expr, sb: Shape
                ) -> tuple[Expr, Shape]:
        raise NotImplementedError  # expressions.py

    # ---- finishing --------------------------------------------------------------------------

    def run_deferred(self) -> None:
        for shape, kind, error in self.deferred:
            rows, cols = (self.unifier.find(dim) for dim in shape)
            if kind == "vector" and rows != 1 and cols != 1:
                raise UsageError(error)
            if kind == "not-column" and cols == 1 and rows != 1:
                raise UsageError(error)

    def final_dim(self, dim: Dim, names: dict[DimVar, str]) -> Dim:
        dim = self.unifier.find(dim)
        if isinstance(dim, DimVar):
            if dim not in names:
                taken = set(self.dims) | set(self.shapes)
                index = len(names) + 1
                while f"d{index}" in taken or f"d{index}" in names.values():
                    index += 1
                names[dim] = f"d{index}"
            return names[dim]
        return dim

    def finish(self, expr: Expr, names: dict[DimVar, str]) -> Expr:
        """Replace every unknown dimension in Ones/Zero/Identity by its final value."""
        if isinstance(expr, (Ones, Zero)):
            return type(expr)(self.final_dim(expr.rows, names), self.final_dim(expr.cols, names))
        if isinstance(expr, Identity):
            return Identity(self.final_dim(expr.size, names))
        kids = expr.children()
        if not kids:
            return expr
        return expr.with_children(tuple(self.finish(kid, names) for kid in kids))
