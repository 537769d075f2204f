"""Resolution: surface syntax → typed IR, with shapes inferred and MATLAB semantics applied.

What it decides, once shapes are known (unknown dimensions are unified as they meet):
- `*` (or juxtaposition) with a 1×1 operand is scalar multiplication (`Scale`), otherwise the
  matrix product, whose inner dimensions must agree;
- `+`, `-`, `.*`, `./` broadcast like MATLAB/NumPy, and the broadcast is made explicit as the guide
  does (`+ b` with a 1×m row b becomes `+ 𝟏b` with a t×1 column 𝟏; a scalar s becomes `s𝟏`);
- `name(arg)` is an elementwise function unless `name` is a matrix (then it is a product); an
  abstract function is one of the guide's one-letter names (`f`, `g₁`, `f[j]`) or declared
  `name: function`, and any other unknown name is refused with "did you mean …?";
- a dimension name used as a value (`1/t`) is that dimension's size;
- the input is read as meant or refused: declared names written together (`Ax`) are refused
  with the spelling, a row-wise built-in of a column applies over its entries, an operator
  norm or an ambiguous `mean(X)`/`norm(X)` of a matrix is refused once shapes are final;
- with `naming="guide"`, intermediates get the guide's names (naming.py).

Defaults (documented in docs/language.md): an undeclared symbol gets unknown dimensions that are
unified by its uses; `*` between operands not known to be 1×1 is a matrix product; dimensions
still unknown at the end are named `d1`, `d2`, ….

The same resolver reads rule files (`mode="rule"`): there every name is a pattern variable,
lower-case ones are 1×1 scalars, `f`/`h` are elementwise function variables, `g` a row-wise one,
`d(X)` / `dX` is a differential and a literal `0` is a zero matrix of any shape.

Invariant: the result carries no `DimVar`; every error is a `MatgradError` naming the operator,
the operands' shapes and the source position.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from matgrad.errors import MatgradError, ShapeError, UnsupportedError, UsageError
from matgrad.front.constants import (
    Powers,
    check_divisor,
    check_folded,
    constant_expr,
    constant_power,
    constant_value,
)
from matgrad.front.naming import name_intermediates
from matgrad.front.syntax import (
    Decl,
    Let,
    Objective,
    Pos,
    SBinary,
    SCall,
    SExpr,
    SName,
    SNumber,
    SOnes,
    SSum,
    Statement,
    SUnary,
    Wrt,
    innermost,
    written_size,
)
from matgrad.front.words import (
    FUNCTION_DECLARATION,
    IDENTITY_NAME,
    NEAR_MISSES,
    ROWWISE_DECLARATION,
    is_guide_function_name,
    split_into,
)
from matgrad.functions import ELEMENTWISE, FUNCTION_ALIASES, NAMED_GRADIENTS, ROWWISE
from matgrad.ir.dims import SCALAR, Dim, DimVar, Shape, format_shape
from matgrad.ir.expr import (
    Apply,
    Const,
    Det,
    Diff,
    DimSize,
    Div,
    Expr,
    Frob,
    Hadamard,
    HadDiv,
    HadPower,
    Identity,
    Inv,
    LogDet,
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
    add,
    size,
    substitute,
    symbols,
)
from matgrad.ir.shapes import Unifier
from matgrad.limits import MAX_MATRIX_POWER, MAX_NODES, exceeded

Mode = Literal["program", "rule"]

# Calls that are operations, not elementwise functions: name → (argument count, builder).
SPECIAL_CALLS = {"sum", "rowdot", "norm2", "norm1", "ones", "eye", "zeros", "tr", "det", "logdet",
                 "inv", "mean", "diag", "transpose"}
SQUARE_CALLS = {"tr": Trace, "det": Det, "logdet": LogDet, "inv": Inv}
ELEMENTWISE_FUNCTION_VARS = {"f", "h"}
ROW_FUNCTION_VARS = {"g"}
GRADIENT_PREFIXES = ("∇", "grad_")
# In rule files `d` is the differential; in programs it is an ordinary name (`d: n x 1`).
RESERVED = {"d"}
ATTRIBUTES = {"data", "const", "positive", "spd", "symmetric", "onehot"}
SYMMETRIC_ATTRIBUTES = frozenset({"spd", "symmetric"})  # Xᵀ = X: the matrix must be square
# Words of the grammar refused as names, so that one spelling never means two things (`end`
# would close a loop body); `of` and `x` stay usable (see docs/language.md).
KEYWORDS = frozenset({"end", "for", "in", "wrt", "objective", "scalar", "rowwise", "function"})
# `X^T` is the transpose in the notation of many textbooks when T names nothing else.
TRANSPOSE_EXPONENT = "T"


@dataclass(frozen=True)
class Program:
    """A resolved program: every shape known, every definition typed."""

    source: str
    shapes: dict[str, Shape]
    definitions: dict[str, Expr]
    objective: str
    wrt: tuple[str, ...] | None
    attributes: dict[str, frozenset[str]]
    parameters: tuple[str, ...]
    abstract_functions: frozenset[str]
    dims: tuple[str, ...]
    positions: dict[str, Pos] = field(default_factory=dict)
    # Abstract functions declared `rowwise` (ℓ: t×m → t×1); the others are elementwise.
    row_functions: frozenset[str] = frozenset()
    # Free symbols whose shapes were inferred from their uses rather than declared.
    inferred: tuple[str, ...] = ()
    # Declared matrices the objective never uses (often a typo in a name).
    unused: tuple[str, ...] = ()
    # Names the front end gave intermediates of an inline objective (A, Z₁, …; naming.py).
    invented: tuple[str, ...] = ()
    # The definitions as the user wrote them: before naming and stable forms (for display).
    written: dict[str, Expr] = field(default_factory=dict)

    @property
    def symmetric(self) -> frozenset[str]:
        """Names declared spd or symmetric (Sᵀ = S)."""
        return frozenset(name for name, marks in self.attributes.items()
                         if marks & SYMMETRIC_ATTRIBUTES)

    def notes(self) -> list[str]:
        """What the user should know about how the program was read: inferred shapes and
        declarations the objective does not use."""
        notes: list[str] = []
        if self.inferred:
            listed = ", ".join(f"{name}: {format_shape(self.shapes[name])}"
                               for name in self.inferred)
            notes.append(f"inferred: {listed} (not declared; their shapes were inferred from "
                         "their uses — declare them to check)")
        for name in self.unused:
            similar = [other for other in self.inferred if other.lower() == name.lower()]
            hint = f"; did you mean {name} where you wrote {similar[0]}?" if similar else "."
            notes.append(f"warning: '{name}' is declared but the objective {self.objective} "
                         f"does not use it{hint}")
        return notes

    @property
    def order(self) -> list[str]:
        return list(self.definitions)


class _Resolver:
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

    # ---- expressions ------------------------------------------------------------------------

    def expr(self, node: SExpr) -> tuple[Expr, Shape]:
        if isinstance(node, SName):
            return self.name(node)
        if isinstance(node, SNumber):
            if self.mode == "rule" and node.value == 0:
                shape = self.unifier.fresh_shape()
                return Zero(*shape), shape
            return Const(node.value), SCALAR
        if isinstance(node, SOnes):
            rows, cols = self.unifier.fresh(), self.unifier.fresh()
            self.ones_dims.extend((rows, cols))
            return Ones(rows, cols), (rows, cols)
        if isinstance(node, SSum):
            return self.sum(node)
        if isinstance(node, SBinary):
            return self.binary(node)
        if isinstance(node, SUnary):
            return self.unary(node)
        if isinstance(node, SCall):
            return self.call(node)
        raise TypeError(f"unknown surface node {type(node).__name__}")  # pragma: no cover

    def unary(self, node: SUnary) -> tuple[Expr, Shape]:
        if node.op in ("transpose", "quote") and isinstance(node.x, SNumber) and node.x.value == 1:
            rows = self.unifier.fresh()
            return Transpose(Ones(rows, 1)), (1, rows)
        if node.op == "prime":
            raise UsageError(f"{self.text(node)} at {self.where(node.pos)}: a derivative f′ must "
                             "be applied to an argument, as in f′(A).")
        inner, shape = self.expr(node.x)
        if node.op == "neg":
            return Neg(inner), shape
        if node.op in ("transpose", "quote"):
            return Transpose(inner), (shape[1], shape[0])
        if node.op in ("norm", "norm_F"):
            return Norm(inner), SCALAR
        if node.op in ("norm_1", "norm_2"):
            p = node.op[-1]
            self.require_vector(shape, f"{self.text(node)} at {self.where(node.pos)}: the "
                                f"{p}-norm of a matrix is the induced (operator) norm, which "
                                "matgrad does not differentiate; write ||X||_F or ||X|| for the "
                                "Frobenius norm, or norm1(X) for the sum of absolute entries.")
            return (Norm(inner) if p == "2" else Sum(Apply("abs", inner))), SCALAR
        raise TypeError(node.op)  # pragma: no cover

    def require_vector(self, shape: Shape, error: str) -> None:
        """Checked once the shapes are final: one side of `shape` is 1."""
        self.deferred.append((shape, "vector", error))

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
        op = node.op
        if op == "*":
            return self.product(node, a, sa, b, sb)
        if op == "/":
            if not self.unifier.unify_shapes(sb, SCALAR):
                a_text, b_text = node.a.pos.text(self.source), node.b.pos.text(self.source)
                raise self.mismatch(node, "division", sa, sb, (
                    f"the divisor must be 1×1: for {a_text} times the inverse of {b_text} "
                    f"(MATLAB's /) write {a_text} * inv({b_text}); to divide elementwise "
                    "write ./"))
            check_divisor(b, f"{self.text(node)} at {self.where(node.pos)}")
            check_folded(a, b, True, f"{self.text(node)} at {self.where(node.pos)}")
            return Div(a, b), sa
        if op in (".*", "./"):
            if op == "./" and self.unifier.is_scalar(sb) and not self.unifier.is_scalar(sa):
                return Div(a, b), sa
            if op == ".*" and self.unifier.is_scalar(sa) != self.unifier.is_scalar(sb):
                return (Scale(a, b), sb) if self.unifier.is_scalar(sa) else (Scale(b, a), sa)
            (ea, eb), shape = self.broadcast(node, [(a, sa), (b, sb)], "elementwise product"
                                             if op == ".*" else "elementwise division")
            return (Hadamard(ea, eb) if op == ".*" else HadDiv(ea, eb)), shape
        if op == "frob":
            if not self.unifier.unify_shapes(sa, sb):
                raise self.mismatch(node, "Frobenius product", sa, sb,
                                    "the operands must have the same shape")
            return Frob(a, b), SCALAR
        if op == "^":
            return self.power(node, a, sa, b, sb)
        if op == ".^":
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
        raise TypeError(op)  # pragma: no cover

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
        power = b.value if isinstance(b, Const) else None
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
            exponent_text = node.b.pos.text(self.source).removeprefix("(").removesuffix(")")
            if not re.fullmatch(r"[0-9.]+", exponent_text):  # X .^ 1/2 would be (X .^ 1)/2
                exponent_text = f"({exponent_text})"
            raise UnsupportedError(
                f"{self.text(node)} at {self.where(node.pos)} is a matrix power of a "
                f"({self.shape_text(sa)}) matrix with exponent {power}: matrix roots and "
                "fractional or negative powers are not supported yet (write inv(X) for X⁻¹); "
                f"for an elementwise power write {node.a.pos.text(self.source)} .^ "
                f"{exponent_text}.")
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

    def product(self, node: SBinary | SCall, a: Expr, sa: Shape, b: Expr,
                sb: Shape) -> tuple[Expr, Shape]:
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

    # ---- calls ------------------------------------------------------------------------------

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
        if name in ("ones", "zeros", "eye"):
            dims = [self.dim_arg(node, arg) for arg in node.args]
            if name == "eye" and len(dims) == 1:
                return Identity(dims[0]), (dims[0], dims[0])
            if len(dims) != 2:
                raise UsageError(f"{node.pos.text(self.source)}: {name} takes two sizes, as in "
                                 f"{name}(t, 1) (at {self.where(node.pos)}).")
            shape = (dims[0], dims[1])
            return (Ones(*shape) if name == "ones" else Zero(*shape)), shape
        if name == "rowdot":
            if len(node.args) != 2:
                raise UsageError(f"rowdot takes two matrices (at {self.where(node.pos)}).")
            a, sa = self.expr(node.args[0])
            b, sb = self.expr(node.args[1])
            if not self.unifier.unify_shapes(sa, sb):
                raise ShapeError(f"{node.pos.text(self.source)}: row-wise product of "
                                 f"({self.shape_text(sa)}) and ({self.shape_text(sb)}): the "
                                 f"operands must have the same shape (at {self.where(node.pos)}).")
            return RowDot(a, b), (sa[0], 1)
        arg, shape = self.expr(self.single_arg(node, name))
        if name == "transpose":
            return Transpose(arg), (shape[1], shape[0])
        if name == "mean":
            return self.mean(node, arg, shape)
        if name == "diag":
            return self.diag(node, arg, shape)
        if name in SQUARE_CALLS:
            if not self.unifier.unify(shape[0], shape[1]):
                raise ShapeError(f"{node.pos.text(self.source)}: {name} of a "
                                 f"({self.shape_text(shape)}) matrix: it must be square (at "
                                 f"{self.where(node.pos)}).")
            result = SQUARE_CALLS[name](arg)
            return result, (shape if name == "inv" else SCALAR)
        if name == "sum":
            # The sum of a 1×1 is itself: sum(sum(X)) is sum(X), not a nest to differentiate.
            if self.unifier.is_scalar(shape) and self.mode == "program":
                return arg, SCALAR
            return Sum(arg), SCALAR
        if name == "norm2":
            if node.callee.pos.text(self.source) == "norm":  # the alias: ambiguous for matrices
                self.require_vector(shape, (
                    f"{node.pos.text(self.source)} at {self.where(node.pos)}: norm of a matrix "
                    "means the spectral norm in MATLAB and the Frobenius norm in NumPy; write "
                    "||X|| (or norm2(X)) for the Frobenius norm."))
            return Norm(arg), SCALAR
        if name == "norm1":  # Σ|Eᵢⱼ|, the entrywise 1-norm
            return Sum(Apply("abs", arg)), SCALAR
        raise TypeError(name)  # pragma: no cover

    def mean(self, node: SCall, arg: Expr, shape: Shape) -> tuple[Expr, Shape]:
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

    def diag(self, node: SCall, arg: Expr, shape: Shape) -> tuple[Expr, Shape]:
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


def _declared_shape(decl: Decl) -> Shape:
    assert not isinstance(decl.shape, str), "row-wise function declarations have no shape"
    return SCALAR if decl.shape is None else decl.shape


def resolve_program(source: str, statements: list[Statement],  # noqa: C901 - one case per
                    naming: Literal["guide", "inline"] = "inline") -> Program:  # statement kind
    """Resolve a parsed program; raises MatgradError subclasses for every kind of bad input.
    With `naming="guide"` the intermediates of inline expressions are named as the guide names
    them (naming.py), so that a one-line objective derives like its let-bound form."""
    resolver = _Resolver(source, "program")
    attributes: dict[str, frozenset[str]] = {}
    positions: dict[str, Pos] = {}
    wrt: tuple[str, ...] | None = None
    objective: str | None = None
    for statement in statements:
        if isinstance(statement, Decl) and statement.shape not in (ROWWISE_DECLARATION,
                                                                  FUNCTION_DECLARATION):
            for dim in _declared_shape(statement):
                if isinstance(dim, str) and dim not in resolver.dims:
                    resolver.dims.append(dim)
    lines_of = {s.name: s.pos.line for s in statements if isinstance(s, (Decl, Let))}
    for dim in set(resolver.dims) & set(lines_of):  # X: X x n — is X in 1/X size or matrix?
        raise UsageError(f"'{dim}' at line {lines_of[dim]} names a matrix and a size; give the "
                         "size another name.")
    for statement in statements:
        if isinstance(statement, Decl):
            _declare(resolver, statement, attributes)
            if statement.name not in resolver.row_functions:
                positions[statement.name] = statement.pos
        elif isinstance(statement, Let):
            if statement.name in resolver.definitions or statement.name in resolver.declared:
                raise UsageError(f"'{statement.name}' is defined twice (line {statement.pos.line})"
                                 "; each name is bound once.")
            if statement.name in resolver.matrices_used:
                raise UsageError(f"'{statement.name}' is used before it is defined at line "
                                 f"{statement.pos.line}; define it first.")
            if statement.name in KEYWORDS:
                raise UsageError(f"'{statement.name}' at line {statement.pos.line} is a keyword "
                                 "of the language; choose another name.")
            expr, shape = resolver.expr(statement.value)
            if statement.name in symbols(expr):
                raise UsageError(f"'{statement.name}' at line {statement.pos.line} is defined by "
                                 "an expression that reads it: each name is bound once, so "
                                 f"write the new value under a new name ({statement.name}2 = "
                                 "…).")
            resolver.definitions[statement.name] = expr
            resolver.shapes[statement.name] = shape
            positions[statement.name] = statement.pos
        elif isinstance(statement, Wrt):
            wrt = (wrt or ()) + statement.names
        elif isinstance(statement, Objective):
            objective = statement.name
    if not resolver.definitions:
        raise UsageError("the program defines no objective: add a line such as "
                         "`J = 1/2 * ||X*W - Y||^2`.")
    if objective is None:
        objective = list(resolver.definitions)[-1]
    elif objective not in resolver.definitions:
        raise UsageError(f"the objective '{objective}' is not defined by a `{objective} = …` "
                         "line.")
    if not resolver.unifier.unify_shapes(resolver.shapes[objective], SCALAR):
        shape_text = resolver.shape_text(resolver.shapes[objective])
        raise ShapeError(f"the objective {objective} is {shape_text}, not a scalar: matgrad "
                         f"differentiates scalar objectives; use sum({objective}) or "
                         f"||{objective}||^2.")
    # A 𝟏 whose size its context leaves open is a vector, as the guide's 1 always is.
    for dim in resolver.ones_dims:
        resolver.unifier.unify(dim, 1)
    resolver.run_deferred()
    total = sum(size(expr) for expr in resolver.definitions.values())
    if total > MAX_NODES:
        raise UsageError("the program is too large for a derivation: split it, or name "
                         f"repeated parts with let-bindings {exceeded('MAX_NODES', total)}.")
    names: dict[DimVar, str] = {}
    shapes = {name: (resolver.final_dim(s[0], names), resolver.final_dim(s[1], names))
              for name, s in resolver.shapes.items()}
    column_reads = resolver.column_reads()
    definitions = {name: resolver.finish(substitute(expr, column_reads) if column_reads else expr,
                                         names)
                   for name, expr in resolver.definitions.items()}
    parameters = _free_symbols(objective, definitions)
    dims = tuple(dict.fromkeys([*resolver.dims, *(d for d in names.values())]))
    inferred = tuple(name for name in parameters if name not in resolver.declared)
    unused = tuple(name for name in resolver.declared if name not in parameters)
    invented: tuple[str, ...] = ()
    written = dict(definitions)
    if naming == "guide":
        named = name_intermediates(definitions, shapes, {*dims, *resolver.functions})
        definitions, shapes, invented = named.definitions, named.shapes, named.invented
    return Program(source, shapes, definitions, objective, wrt, attributes, parameters,
                   frozenset(resolver.functions), dims, positions,
                   frozenset(resolver.row_functions), inferred, unused, invented, written)


def _declare(resolver: _Resolver, decl: Decl, attributes: dict[str, frozenset[str]]) -> None:
    if decl.name in resolver.declared or decl.name in resolver.definitions or \
            decl.name in resolver.declared_functions or decl.name in resolver.row_functions:
        raise UsageError(f"'{decl.name}' is declared twice (line {decl.pos.line}).")
    if decl.name in resolver.matrices_used:
        raise UsageError(f"'{decl.name}' is used before its declaration at line "
                         f"{decl.pos.line}; put declarations first.")
    unknown = set(decl.attributes) - ATTRIBUTES
    if unknown:
        raise UsageError(f"unknown attribute {', '.join(sorted(unknown))} for '{decl.name}' at "
                         f"line {decl.pos.line}; known: {', '.join(sorted(ATTRIBUTES))}.")
    if (decl.name in ELEMENTWISE or decl.name in ROWWISE or decl.name in SPECIAL_CALLS
            or decl.name in NAMED_GRADIENTS or decl.name in FUNCTION_ALIASES):
        raise UsageError(f"'{decl.name}' at line {decl.pos.line} is a built-in function name; "
                         "choose another name.")
    if decl.name in KEYWORDS:
        raise UsageError(f"'{decl.name}' at line {decl.pos.line} is a keyword of the language; "
                         "choose another name.")
    if decl.shape in (FUNCTION_DECLARATION, ROWWISE_DECLARATION):
        kind = "a row-wise function" if decl.shape == ROWWISE_DECLARATION else "a function"
        if decl.attributes:
            raise UsageError(f"'{decl.name}' at line {decl.pos.line} is {kind}; attributes "
                             "belong to matrices.")
        kinds = (resolver.row_functions if decl.shape == ROWWISE_DECLARATION
                 else resolver.declared_functions)
        kinds.add(decl.name)
        resolver.functions.add(decl.name)
        return
    resolver.declared.add(decl.name)
    resolver.shapes[decl.name] = _declared_shape(decl)
    symmetric = SYMMETRIC_ATTRIBUTES & set(decl.attributes)
    rows, cols = resolver.shapes[decl.name]
    if symmetric and rows != cols:
        raise UsageError(f"'{decl.name}' at line {decl.pos.line} is declared "
                         f"{', '.join(sorted(symmetric))} but is {rows} x {cols}: a symmetric "
                         f"matrix is square ({decl.name}: {rows} x {rows}).")
    attributes[decl.name] = frozenset(decl.attributes)


def _free_symbols(objective: str, definitions: dict[str, Expr]) -> tuple[str, ...]:
    """Symbols the objective depends on that are not let-bound, in order of first appearance."""
    seen: dict[str, None] = {}
    visited: set[str] = set()
    stack = [objective]
    order: list[str] = []
    while stack:
        name = stack.pop()
        if name in visited:
            continue
        visited.add(name)
        order.append(name)
        for node in definitions[name].walk():
            if isinstance(node, Sym) and node.name in definitions:
                stack.append(node.name)
    for name in sorted(order, key=list(definitions).index):
        for node in definitions[name].walk():
            if isinstance(node, Sym) and node.name not in definitions:
                seen.setdefault(node.name)
    return tuple(seen)


# ---- rule files -----------------------------------------------------------------------------


@dataclass
class ResolvedPattern:
    lhs: Expr
    rhs: Expr
    var_shapes: dict[str, Shape]
    unifier: Unifier


def resolve_rule(source: str, lhs: SExpr, rhs: SExpr, same_shape: bool = True) -> ResolvedPattern:
    """Resolve both sides of a rule in one shape context; normally of the same shape."""
    resolver = _Resolver(source, "rule")
    unifier = resolver.unifier
    left, left_shape = resolver.expr(lhs)
    left_dims = [dim for shape in [*resolver.shapes.values(), left_shape] for dim in shape
                 if isinstance(dim, DimVar)]
    before = {dim: unifier.find(dim) for dim in left_dims}
    right, right_shape = resolver.expr(rhs)
    same = unifier.unify_shapes(left_shape, right_shape) if same_shape else True
    # The right side may not narrow the left side's shapes (make X square, or 1×1): such a
    # rule would only hold for some of the matrices its left side matches.
    groups: dict[Dim, set[Dim]] = {}
    for dim, old in before.items():
        groups.setdefault(unifier.find(dim), set()).add(old)
    narrowed = any(len(olds) > 1 or (not isinstance(new, DimVar) and olds != {new})
                   for new, olds in groups.items())
    if not same or narrowed:
        raise MatgradError(f"the two sides have different shapes: "
                           f"{format_shape(left_shape)} and {format_shape(right_shape)}")
    return ResolvedPattern(left, right, dict(resolver.shapes), unifier)
