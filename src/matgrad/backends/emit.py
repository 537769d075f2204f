"""Array code generation for every backend: a derivation → a self-contained module with
`value_and_grad`, spelled by a `Backend` table (NumPy by default; backends/jax.py for JAX).

The module does what an expert writes by hand: the forward pass computes each let-bound node
once; every subexpression shared in the derivation's DAG is computed once, into a temporary
named after the adjoint it is (`delta_A`) when it is one; `1ᵀΔ` is `Delta.sum(axis=0,
keepdims=True)`; `XᵀΔ` is `X.T @ Delta` (a view, no copy); broadcasts (𝟏b) stay NumPy
broadcasts and no `ones` matrix is ever built; `f′(A)` is written through the cached `Z = f(A)`
where cheaper (tanh′ = 1 − Z², sigmoid′ = Z(1 − Z)); elementwise chains update a temporary
nobody else holds in place (where the backend allows it); inputs are shape-checked at entry.

Safety invariant: no user text reaches the code except identifiers that pass `python_name`
(valid, not keywords, not dunders, not clashing with generated names) and numeric literals
printed from exact Fractions; function bindings must name built-in functions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from matgrad.backends.base import Backend
from matgrad.backends.docstrings import Docstrings, docstrings
from matgrad.backends.entry import EntryPoint, entry_checks
from matgrad.backends.numpy import NUMPY
from matgrad.backends.numpy_helpers import helper_lines
from matgrad.codegen.chain import best_bracketing, ones_shape
from matgrad.codegen.derivatives import through_output
from matgrad.codegen.liveness import release_dead
from matgrad.codegen.names import (
    IdentifierPool,
    check_bind_keys,
    python_name,
)
from matgrad.codegen.plan import plan_shared_values
from matgrad.codegen.signature import Signature, flat_signature, returned_mapping
from matgrad.codegen.transposes import lift_transposes
from matgrad.engine.derivation import Derivation
from matgrad.errors import CodegenError
from matgrad.functions import ELEMENTWISE, ROWWISE
from matgrad.ir import indexing
from matgrad.ir.dims import SCALAR, Dim, Shape
from matgrad.ir.expr import (
    Add,
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
    Zero,
)
from matgrad.ir.shapes import shape_of
from matgrad.printing.textbook import SECOND

if TYPE_CHECKING:
    pass

# Nodes whose NumPy code allocates a new array for its result.
ALLOCATING = (Add, Neg, Scale, Div, Hadamard, HadDiv, HadPower, MatMul, Apply, RowGrad, Inv)

# Python precedence levels used for parenthesising, loosest first.
ADD, MUL, UNARY, POW, ATOM = 10, 20, 30, 40, 50



@dataclass(frozen=True)
class Code:
    """Python source of a value; `shape` is the emitted shape, which may be 1 on an axis where
    the true shape is larger (a NumPy broadcast standing for 𝟏b)."""

    text: str
    prec: int
    shape: Shape


def _fraction_literal(value: Fraction) -> str:
    """A float literal for an exact constant; one beyond floating point is an error."""
    if value.denominator == 1 and abs(value.numerator) < 10**15:
        return f"{value.numerator}.0"
    try:
        number = float(value)
    except OverflowError:
        number = float("inf")
    if number in (float("inf"), float("-inf")):
        digits = len(str(abs(value.numerator)))
        raise CodegenError(f"a constant with {digits} digits is too large for floating point.")
    return repr(number)


@dataclass(frozen=True)
class Embedding:
    """How a generator emits the statements of one part of another module (a loop module's
    layer body or epilogue): that module's identifier pool and helpers, its Python text for
    each of the part's names (Z[j-1] → Z[j - 1]) and for each size (n[j] → sizes[("n", j)])."""

    names: IdentifierPool
    helpers: set[str]
    identifiers: dict[str, str]
    dim_text: Callable[[str], str]


class NumpyGenerator:
    def __init__(self, derivation: Derivation, function_name: str = "value_and_grad",
                 bind: dict[str, str] | None = None, typed_sizes: bool = True,
                 signature: Signature | None = None, checks: bool = True,
                 embedding: Embedding | None = None, backend: Backend = NUMPY,
                 documented: Docstrings | None = None) -> None:
        self.backend = backend
        self.documented = documented  # what the module says it computes, if not the default
        self.ns = backend.alias  # the array module's name in the code: np, jnp, torch
        typed_sizes = typed_sizes and backend.typed_sizes
        # An embedded part's names are its host module's, not a flat signature's.
        self.signature = signature or (Signature(function_name, {}, {}) if embedding else
                                       flat_signature(derivation, function_name))
        # checks=False: no conversion or shape test of array arguments at entry (the caller
        # passes float ndarrays of the declared shapes), for calls where they would cost more
        # than the arithmetic (about 0.5 µs an argument).
        self.checks = checks
        self.derivation = derivation
        self.second_order = derivation.second_order is not None
        self.program = derivation.program
        self.function_name = function_name
        self.bind = dict(bind or {})
        check_bind_keys(self.bind, derivation.program.abstract_functions)
        for abstract, concrete in self.bind.items():
            row_wise = abstract in derivation.program.row_functions
            allowed = ROWWISE if row_wise else ELEMENTWISE
            if concrete not in allowed:
                kind = "row-wise functions" if row_wise else "functions"
                raise CodegenError(
                    f"cannot bind {abstract} to '{concrete}': it must be one of the built-in "
                    f"{kind} {', '.join(sorted(allowed))}.")
        self.shapes: dict[str, Shape] = dict(derivation.shapes)
        self.shape_memo: dict[Expr, Shape] = {}
        # Arguments, the program's names and its sizes are named by the signature; the code
        # claims its temporaries from the identifiers left.
        self.names = IdentifierPool(set(self.signature.taken))
        self.identifiers: dict[str, str] = {**self.signature.arguments, **self.signature.locals}
        self.dims: dict[str, str] = dict(self.signature.dims)
        self._dim_text: Callable[[str], str] = self.dims.__getitem__
        self.temps: dict[Expr, str] = {}
        self.temp_exprs: dict[Expr, str] = {}
        self._temp_shapes: dict[Expr, Shape] = {}
        self.lines: list[str] = []
        self.helpers: set[str] = set()
        self.sizes_as_numbers = False  # whether code reads a size as a number (1/t)
        # Sizes read as numbers of the arrays' type (float_type); the loop module, which
        # assembles its own entry checks, keeps them Python ints.
        self.typed_sizes = typed_sizes
        self.counter = 0
        self.forward_of_apply: dict[Expr, str] = {}
        self.used_dims: set[str] = set()
        self.emitted_shapes: dict[str, Shape] = {}
        self.softmax_from_logsumexp: set[Expr] = set()
        self._assigning: Expr | None = None  # the value assign() is computing now
        if embedding is not None:
            self.names, self.helpers = embedding.names, embedding.helpers
            self.identifiers = dict(embedding.identifiers)
            self._dim_text = embedding.dim_text
            # f′(A) through Z = f(A) wherever the part defines Z.
            for name, definition in derivation.program.definitions.items():
                if isinstance(definition, Apply) and definition.order == 0:
                    self.forward_of_apply[definition] = name

    # ---- the embedding interface: a host module emits a part statement by statement ---------

    def plan(self, roots: list[Expr], computed: Sequence[Expr] = ()) -> None:
        """Plan temporaries for values shared among `roots`; the `computed` values (let-bound
        definitions) are computed into their own names, so they are no temporaries."""
        self._plan_temporaries(roots)
        for value in computed:
            self.temp_exprs.pop(value, None)

    def statements(self, target: str, expr: Expr) -> list[str]:
        """The statements computing `target = expr` (temporaries included)."""
        start = len(self.lines)
        code = self.assign(target, expr)
        self.emitted_shapes[target] = code.shape
        return self.lines[start:]

    def gradient_statements(self, target: str, gradient: Expr, shape: Shape,
                            parameter: str) -> list[str]:
        """`target = gradient` as an array of its own with `parameter`'s shape."""
        start = len(self.lines)
        self.store_gradient(target, gradient, shape, parameter)
        return self.lines[start:]

    def computed_temporaries(self) -> set[Expr]:
        return set(self.temps)

    def forget_temporaries(self, kept: set[Expr]) -> None:
        """Forget every temporary but `kept`: a value computed inside a loop that has ended
        holds only its last iteration's value, so later code must compute its own."""
        for expr in set(self.temps) - kept:
            del self.temps[expr]
    # ---- names ------------------------------------------------------------------------------

    def parameters(self) -> list[str]:
        """The function's arguments, in the signature's order."""
        return list(self.signature.arguments)

    def _broadcast_text(self, value: str, shape: str) -> str:
        """`value` (an array, or a number standing for one) broadcast to `shape`."""
        if "float_type" in self.backend.broadcast:
            self.sizes_as_numbers = True  # the entry checks then define float_type
        return self.backend.broadcast.format(ns=self.ns, x=value, shape=shape)

    def _idiom(self, template: str | None, what: str, **parts: str) -> str:
        """An idiom as the backend spells it; one it has no spelling for is refused."""
        if template is None:
            raise CodegenError(f"the {self.backend.name} backend cannot generate {what} yet; "
                               "use the numpy backend for this program.")
        if "float_type" in template:
            self.sizes_as_numbers = True  # the entry checks then define float_type
        return template.format(ns=self.ns, **parts)

    def _dim(self, dim: Dim) -> str:
        if isinstance(dim, int):
            return str(dim)
        assert isinstance(dim, str), "a resolved program has no unknown dimensions"
        self.used_dims.add(dim)
        return self._dim_text(dim)

    def _fresh_temp(self, expr: Expr) -> str:
        for node, adjoint in self.derivation.node_adjoints.items():
            if adjoint == expr:
                # A layer's node (Z[k]) names its temporary by its family: delta_Z.
                return self.names.claim(f"delta_{python_name(indexing.base_of(node))}")
        self.counter += 1
        return self.names.claim(f"tmp{self.counter}")

    # ---- shapes -----------------------------------------------------------------------------

    def full_shape(self, expr: Expr) -> Shape:
        return shape_of(expr, self.shapes, self.shape_memo)

    def full(self, code: Code, shape: Shape) -> Code:
        """The value with its true shape (a broadcast view where NumPy left it smaller)."""
        if code.shape == shape or shape == SCALAR:
            return code
        target = f"({self._dim(shape[0])}, {self._dim(shape[1])})"
        return Code(self._broadcast_text(code.text, target), ATOM, shape)

    @staticmethod
    def _broadcast(a: Shape, b: Shape) -> Shape:
        return (a[0] if a[0] != 1 else b[0], a[1] if a[1] != 1 else b[1])

    @staticmethod
    def wrap(code: Code, prec: int) -> str:
        return code.text if code.prec >= prec else f"({code.text})"

    # ---- common subexpressions ----------------------------------------------------------------

    def _plan_temporaries(self, roots: list[Expr]) -> None:
        shared, softmax_from_logsumexp = plan_shared_values(roots)
        for node in shared:
            self.temp_exprs.setdefault(node, "")
        self.softmax_from_logsumexp |= softmax_from_logsumexp

    # ---- emission -----------------------------------------------------------------------------

    def emit(self, expr: Expr) -> Code:
        if isinstance(expr, Sym) and expr.name in self.identifiers:
            # A let-bound value may have been left as a NumPy broadcast (its emitted shape).
            shape = self.emitted_shapes.get(expr.name, self.full_shape(expr))
            return Code(self.identifiers[expr.name], ATOM, shape)
        if expr in self.temps:
            return Code(self.temps[expr], ATOM, self._temp_shapes[expr])
        if expr in self.temp_exprs:
            return self.assign(self._fresh_temp(expr), expr)
        return self._emit_node(expr)

    def assign(self, name: str, expr: Expr) -> Code:
        """`name = expr` as statements, reusing one fresh buffer for elementwise chains."""
        full = self.full_shape(expr)
        if isinstance(expr, Zero) and full != SCALAR:
            # A named value that cancels to zero (tanh(A) − tanh(A)) is still a matrix: code
            # after it may sum it or take its product.
            self.lines.append(f"{name} = " + self._idiom(self.backend.zeros, "a zero matrix",
                                                         r=self._dim(full[0]),
                                                         c=self._dim(full[1])))
            shape = full
        elif not self._fresh_into_root(expr, name):
            code = self.emit(expr) if isinstance(expr, Sym) else self._emit_node(expr)
            self.lines.append(f"{name} = {code.text}")
            shape = code.shape
        else:
            shape = self.full_shape(expr)
        self.temps[expr] = name
        self._temp_shapes[expr] = shape
        return Code(name, ATOM, shape)

    # In-place chains: a buffer that the statement itself just allocated (the result of @, of
    # an elementwise operation, of a ufunc) is not held by anyone else, so the rest of the
    # elementwise expression can update it (a ufunc's positional out argument, which NumPy
    # parses faster than out=, or an augmented assignment) instead of
    # allocating a temporary per operation.
    def _fresh_into_root(self, expr: Expr, target: str) -> bool:
        outer, self._assigning = self._assigning, expr
        try:
            return self._fresh_into(expr, target)
        finally:
            self._assigning = outer

    def _shared_elsewhere(self, expr: Expr) -> bool:
        """A value planned as a temporary of its own, other than the one being assigned: the
        buffer of an in-place chain must never be it, or it would be computed twice (or,
        worse, overwritten while another use still needs it)."""
        return expr in self.temp_exprs and expr is not self._assigning

    def _fresh_into(self, expr: Expr, target: str) -> bool:
        if not self.backend.in_place:
            return False  # immutable arrays (JAX): every value is a new one
        full = self.full_shape(expr)
        if full == SCALAR or expr in self.temps or isinstance(expr, (Sym, Const, DimSize)) \
                or self._shared_elsewhere(expr):
            return False
        if isinstance(expr, Add):
            terms = list(expr.terms)
            # The buffer is started from one term (a plain one if possible), then updated.
            for term in sorted(terms, key=lambda t: isinstance(t, Neg)):
                negative = isinstance(term, Neg)
                base = term.x if isinstance(term, Neg) else term
                if self.full_shape(base) != full or not (
                        self._fresh_into(base, target) or self._fresh_plain(base, target, full)):
                    continue
                others = [other for other in terms if other is not term]
                for position, other in enumerate(others):
                    minus = isinstance(other, Neg)
                    code = self.emit(other.x if isinstance(other, Neg) else other)
                    if negative and position == 0:
                        # other − buffer, in place: the buffer holds the negated term.
                        code = code if not minus else Code(f"-{self.wrap(code, UNARY)}",
                                                           UNARY, code.shape)
                        self.lines.append(self.backend.subtract_from.format(
                            ns=self.ns, x=code.text, t=target))
                    else:
                        self.lines.append(f"{target} {'-=' if minus else '+='} {code.text}")
                if negative and not others:
                    self.lines.append(self.backend.negate.format(ns=self.ns, t=target))
                return True
            return False
        if isinstance(expr, (Hadamard, Scale)):
            pairs = [(expr.a, expr.b), (expr.b, expr.a)] if isinstance(expr, Hadamard) else [
                (expr.x, expr.s)]
            for inner, other in pairs:
                if self.full_shape(inner) == full and (self._fresh_into(inner, target)
                                                       or self._fresh_plain(inner, target, full)):
                    self.lines.append(f"{target} *= {self._factor(other, full)}")
                    return True
            return False
        if isinstance(expr, (HadDiv, Div)):
            numerator, divisor = (expr.a, expr.b) if isinstance(expr, HadDiv) else (expr.x,
                                                                                       expr.s)
            if self.full_shape(numerator) == full and (
                    self._fresh_into(numerator, target)
                    or self._fresh_plain(numerator, target, full)):
                self.lines.append(f"{target} /= {self.emit(divisor).text}")
                return True
            return False
        if isinstance(expr, Neg):
            if self._fresh_into(expr.x, target) or self._fresh_plain(expr.x, target, full):
                self.lines.append(self.backend.negate.format(ns=self.ns, t=target))
                return True
            return False
        if isinstance(expr, Apply):
            via = self._via_output(expr)
            if via is not None:
                return self._fresh_into(via, target)
            ufunc = self._ufunc(expr)
            if ufunc is not None and self._fresh_into(expr.arg, target):
                self.lines.append(self.backend.apply_into.format(f=ufunc, t=target))
                return True
        return False

    def _factor(self, expr: Expr, full: Shape) -> str:
        """A full-shape elementwise factor such as f′(A) = 1 − Z ⊙ Z, built in one scratch
        buffer of its own (Z*Z, then 1 − in place) rather than one temporary per operation."""
        if (isinstance(expr, (Add, Neg, Hadamard, HadDiv, Apply)) and expr not in self.temps
                and expr not in self.temp_exprs and self.full_shape(expr) == full):
            scratch = self.names.claim(f"tmp{self.counter + 1}")
            mark = len(self.lines)
            if self._fresh_into(expr, scratch):
                self.counter += 1
                return scratch
            del self.lines[mark:]
            self.names.taken.discard(scratch)
        return self.emit(expr).text

    def _fresh_plain(self, expr: Expr, target: str, full: Shape) -> bool:
        """`target = code` when that code allocates a new full-shape array of its own."""
        if expr in self.temps or not isinstance(expr, ALLOCATING) or self._shared_elsewhere(expr):
            return False  # a name, a view (.T) or a broadcast is somebody else's buffer
        if isinstance(expr, MatMul) and (ones_shape(expr.a) or ones_shape(expr.b)):
            return False
        if isinstance(expr, Apply) and self._template(expr) == "{x}":
            return False
        code = self._emit_node(expr)
        if code.shape != full:
            return False
        self.lines.append(f"{target} = {code.text}")
        return True

    def _emit_node(self, expr: Expr) -> Code:
        method = getattr(self, f"_emit_{type(expr).__name__}", None)
        if method is None:
            raise CodegenError(f"no NumPy code for {type(expr).__name__} yet")
        result: Code = method(expr)
        return result

    def _emit_Const(self, expr: Const) -> Code:
        return Code(_fraction_literal(expr.value), ATOM, SCALAR)

    def _emit_DimSize(self, expr: DimSize) -> Code:
        # A size as a number of the arrays' type: 1/t at t = 0 is inf, as NumPy has it.
        if not self.typed_sizes:
            return Code(self._dim(expr.dim), ATOM, SCALAR)
        self.sizes_as_numbers = True
        return Code(f"float_type.type({self._dim(expr.dim)})", ATOM, SCALAR)

    def _emit_Ones(self, expr: Ones) -> Code:
        return Code("1.0", ATOM, SCALAR)

    def _emit_Zero(self, expr: Zero) -> Code:
        return Code("0.0", ATOM, SCALAR)

    def _emit_Identity(self, expr: Identity) -> Code:
        size = self._dim(expr.size)
        return Code(self._idiom(self.backend.eye, "an identity matrix", n=size), ATOM,
                    (expr.size, expr.size))

    def _emit_Add(self, expr: Add) -> Code:
        parts: list[str] = []
        shape: Shape = SCALAR
        for index, term in enumerate(expr.terms):
            negative = isinstance(term, Neg)
            code = self.emit(term.x if isinstance(term, Neg) else term)
            shape = self._broadcast(shape, code.shape)
            text = self.wrap(code, MUL if negative or index else ADD)
            if index == 0:
                parts.append(f"-{self.wrap(code, UNARY)}" if negative else text)
            else:
                parts.append(f" - {text}" if negative else f" + {text}")
        return Code("".join(parts), ADD, shape)

    def _emit_Neg(self, expr: Neg) -> Code:
        if isinstance(expr.x, Neg):
            return self.emit(expr.x.x)  # −(−A) = A: `--A` would read as a decrement
        code = self.emit(expr.x)
        inner = self.wrap(code, UNARY)
        if inner.startswith("-"):
            return Code(f"{self.ns}.negative({code.text})", ATOM, code.shape)
        return Code(f"-{inner}", UNARY, code.shape)

    def _binary(self, left: Code, op: str, right: Code) -> Code:
        shape = self._broadcast(left.shape, right.shape)
        return Code(f"{self.wrap(left, MUL)} {op} {self.wrap(right, MUL + 1)}", MUL, shape)

    def _emit_Scale(self, expr: Scale) -> Code:
        return self._binary(self.emit(expr.s), "*", self.emit(expr.x))

    def _emit_Div(self, expr: Div) -> Code:
        return self._binary(self.emit(expr.x), "/", self.emit(expr.s))

    def _emit_Hadamard(self, expr: Hadamard) -> Code:
        return self._binary(self.emit(expr.a), "*", self.emit(expr.b))

    def _emit_HadDiv(self, expr: HadDiv) -> Code:
        return self._binary(self.emit(expr.a), "/", self.emit(expr.b))

    def _emit_HadPower(self, expr: HadPower) -> Code:
        base, exponent = self.emit(expr.base), self.emit(expr.exponent)
        if expr.exponent == Const(Fraction(1, 2)):
            return Code(f"{self.ns}.sqrt({base.text})", ATOM, base.shape)
        return Code(f"{self.wrap(base, POW + 1)} ** {self.wrap(exponent, POW)}", POW, base.shape)

    def _emit_Power(self, expr: Power) -> Code:
        if isinstance(expr.base, Norm) and expr.exponent == Const(Fraction(2)):
            inner = self._materialized(expr.base.x)
            return Code(self._idiom(self.backend.vdot, "", a=inner.text, b=inner.text), ATOM,
                        SCALAR)
        base = self.emit(expr.base)
        exponent = self.emit(expr.exponent)
        return Code(f"{self.wrap(base, POW + 1)} ** {self.wrap(exponent, POW)}", POW, SCALAR)

    def _materialized(self, expr: Expr) -> Code:
        code = self.full(self.emit(expr), self.full_shape(expr))
        if code.prec < ATOM:
            # A composite operand used twice (vdot(E, E)) is computed once.
            name = self._fresh_temp(expr)
            self.lines.append(f"{name} = {code.text}")
            self.temps[expr] = name
            self._temp_shapes[expr] = code.shape
            return Code(name, ATOM, code.shape)
        return code

    def _best_chain(self, expr: MatMul) -> Expr | None:
        """The cheapest bracketing of the product chain `expr` heads (shared subexpressions, the
        temporaries, stay whole), or None if it is the given one."""
        return best_bracketing(expr, self.full_shape,
                               lambda part: part in self.temp_exprs or part in self.temps)

    def _emit_MatMul(self, expr: MatMul) -> Code:
        reordered = self._best_chain(expr)
        if reordered is not None:
            return self._emit_node(reordered)
        a, b = expr.a, expr.b
        ones_a, ones_b = ones_shape(a), ones_shape(b)
        if ones_a is not None and ones_b is not None:
            size = ones_a[1]  # 𝟏𝟏 = k𝟏: every entry is the inner size k
            return Code("1.0" if size == 1 else f"1.0 * {self._dim(size)}", MUL, SCALAR)
        # No ones matrix is ever built: 𝟏b and c1ᵀ are NumPy broadcasts, 1ᵀΔ and Δ𝟏 are sums
        # (the guide's footnote 2); the emitted value keeps a 1 on the broadcast axis.
        if ones_a is not None and ones_b is None:
            inner = self.full(self.emit(b), self.full_shape(b))
            if ones_a[1] == 1:
                return inner
            return Code(self._reduced(self.backend.column_sum, inner), ATOM, (1, inner.shape[1]))
        if ones_b is not None and ones_a is None:
            inner = self.full(self.emit(a), self.full_shape(a))
            if ones_b[0] == 1:
                return inner
            return Code(self._reduced(self.backend.row_sum, inner), ATOM, (inner.shape[0], 1))
        if isinstance(a, Inv) and a not in self.temp_exprs and a not in self.temps:
            # X⁻¹B as a solve: cheaper and more accurate than forming the inverse.
            system = self._materialized(a.x)
            rhs = self.full(self.emit(b), self.full_shape(b))
            self.helpers.add("_solve")
            return Code(f"_solve({system.text}, {rhs.text})", ATOM,
                        self.full_shape(expr))
        left, right = self.emit(a), self.emit(b)
        full_a, full_b = self.full_shape(a), self.full_shape(b)
        if SCALAR in (full_a, full_b):
            # A 1×1 factor may be a Python float: scale instead of @.
            return self._binary(left, "*", right)
        # @ needs real 2-D operands: a broadcast (or a float standing for one) is expanded.
        left, right = self.full(left, full_a), self.full(right, full_b)
        return Code(f"{self.wrap(left, MUL)} @ {self.wrap(right, MUL + 1)}", MUL,
                    (full_a[0], full_b[1]))

    def _emit_Frob(self, expr: Frob) -> Code:
        a, b = self._materialized(expr.a), self._materialized(expr.b)
        return Code(self._idiom(self.backend.vdot, "", a=a.text, b=b.text), ATOM, SCALAR)

    def _emit_RowDot(self, expr: RowDot) -> Code:
        a, b = self._materialized(expr.a), self._materialized(expr.b)
        return Code(self.backend.row_dot.format(ns=self.ns, a=a.text, b=b.text), ATOM,
                    (self.full_shape(expr)[0], 1))

    def _emit_Transpose(self, expr: Transpose) -> Code:
        code = self.emit(expr.x)
        if SCALAR in (self.full_shape(expr), code.shape):
            # A scalar, or a value broadcast from one (1.0 for 𝟏), may be a Python float.
            return code
        return Code(f"{self.wrap(code, ATOM)}.T", ATOM, (code.shape[1], code.shape[0]))

    def _emit_Sum(self, expr: Sum) -> Code:
        if self.full_shape(expr.x) == SCALAR:
            return self.emit(expr.x)  # the sum of a 1×1 value (perhaps a float) is itself
        inner = self.full(self.emit(expr.x), self.full_shape(expr.x))
        return Code(self._reduced(self.backend.total_sum, inner), ATOM, SCALAR)

    def _reduced(self, template: str, code: Code) -> str:
        """A reduction spelled by the backend: a method (`{x}.sum()`) needs an atom before the
        dot; a function (`xp.sum({x})`) takes the text as its argument."""
        return template.format(x=self.wrap(code, ATOM) if template.startswith("{x}")
                               else code.text)

    def _emit_Trace(self, expr: Trace) -> Code:
        return Code(self.backend.trace.format(ns=self.ns, x=self._materialized(expr.x).text),
                    ATOM, SCALAR)

    def _emit_Det(self, expr: Det) -> Code:
        return Code(f"{self.ns}.linalg.det({self._materialized(expr.x).text})", ATOM, SCALAR)

    def _emit_LogDet(self, expr: LogDet) -> Code:
        # Through slogdet (no overflow of det for large matrices), and never log |det X|.
        self.helpers.add("_logdet")
        return Code(f"_logdet({self._materialized(expr.x).text})", ATOM, SCALAR)

    def _emit_Inv(self, expr: Inv) -> Code:
        self.helpers.add("_inv")
        return Code(f"_inv({self._materialized(expr.x).text})", ATOM, self.full_shape(expr))

    def _emit_Norm(self, expr: Norm) -> Code:
        self.helpers.add("_norm")
        return Code(f"_norm({self._materialized(expr.x).text})", ATOM, SCALAR)

    def _function(self, name: str) -> str:
        concrete = self.bind.get(name, name)
        if concrete not in ELEMENTWISE:
            raise CodegenError(
                f"the abstract function {name} has no NumPy implementation: bind it to a "
                f"built-in function, e.g. bind={{'{name}': 'tanh'}} or --bind {name}=tanh.")
        return concrete

    def _via_output(self, expr: Apply) -> Expr | None:
        """f′(A) written through the cached Z = f(A), as an expression (tanh′ = 1 − Z ⊙ Z)."""
        if expr.order != 1:
            return None
        fn = ELEMENTWISE[self._function(expr.fn)]
        forward = Apply(expr.fn, expr.arg, 0)
        cached = self.forward_of_apply.get(forward)
        via = fn.via_output_expr()
        if via is None:
            return None
        if cached is not None:
            return through_output(via, Sym(cached), self.full_shape(expr))
        # f(A) computed once as a temporary (Z = α f(A) reads it too): f′ reads it as well.
        if forward in self.temp_exprs:
            return through_output(via, forward, self.full_shape(expr))
        return None

    def _template(self, expr: Apply) -> str:
        value, derivative = self.backend.spellings[self._function(expr.fn)]
        if expr.order > 1:
            raise CodegenError(f"no NumPy code for the derivative of order {expr.order} of "
                               f"{expr.fn} yet.")
        return derivative if expr.order == 1 else value

    def _ufunc(self, expr: Apply) -> str | None:
        """`np.tanh` when the template is a single NumPy ufunc call that accepts out=."""
        template = self._template(expr)
        match = re.fullmatch(rf"({self.ns}\.[a-z0-9_]+)\(\{{x\}}\)", template)
        return match.group(1) if match else None

    def _second_derivative(self, expr: Apply) -> Expr | None:
        """f″(A) as the expression of printing/textbook.py's SECOND table (through a cached
        Z = f(A) where there is one): lowered once here, no backend spells f″."""
        form = SECOND.get(self._function(expr.fn)) if expr.order == 2 else None
        if form is None:
            return None
        forward = Apply(expr.fn, expr.arg, 0)
        cached = self.forward_of_apply.get(forward)
        output = Sym(cached) if cached is not None else forward
        return form(expr.arg, output, Ones(*self.full_shape(expr)),
                    Apply(expr.fn, expr.arg, 1))

    def lower_second(self, expr: Expr) -> Expr:
        """`expr` with every f″(A) of a built-in f written out (`_second_derivative`)."""
        if not any(isinstance(node, Apply) and node.order == 2 for node in expr.walk()):
            return expr
        kids = expr.children()
        if kids:
            expr = expr.with_children(tuple(self.lower_second(kid) for kid in kids))
        lowered = self._second_derivative(expr) if isinstance(expr, Apply) else None
        return expr if lowered is None else lowered

    def _emit_Apply(self, expr: Apply) -> Code:
        via = self._via_output(expr) or self._second_derivative(expr)
        if via is not None:
            return self.emit(via)
        template = self._template(expr)
        argument = self.emit(expr.arg)
        if self.backend.scalar_function_argument and argument.shape == SCALAR:
            # The library's functions take arrays only (PyTorch): a number becomes a 0-d
            # array of the arrays' type.
            self.sizes_as_numbers = True  # the entry checks then define float_type
            argument = Code(self.backend.scalar_function_argument.format(x=argument.text), ATOM,
                            SCALAR)
        # As a call's whole argument, {x} needs no parentheses of its own.
        sole = "({x})" in template or "({x}," in template
        text = template.replace("{x}", argument.text if sole else self.wrap(argument, ATOM))
        simple_call = re.fullmatch(rf"{self.ns}\.[a-z0-9_]+\(.*\)", template) is not None
        prec = ATOM if simple_call or template == "{x}" else ADD
        return Code(text, prec if template != "{x}" else argument.prec, argument.shape)

    def _row_operand(self, expr: Expr) -> Code:
        """The argument of a row-wise function as a 2-D array (a 1×1 may be a Python float)."""
        inner = self._materialized(expr)
        if self.full_shape(expr) == SCALAR:
            return Code(self._idiom(self.backend.full_1x1, "a 1×1 matrix of a row function",
                                    x=inner.text), ATOM, (1, 1))
        return inner

    def _emit_RowApply(self, expr: RowApply) -> Code:
        inner = self._row_operand(expr.arg)
        fn = self.bind.get(expr.fn, expr.fn)
        if fn == "logsumexp":
            self.helpers.add("_logsumexp")
            return Code(f"_logsumexp({inner.text})", ATOM, (self.full_shape(expr.arg)[0], 1))
        if fn == "sumsq":
            return Code(f"{self.ns}.sum({inner.text} * {inner.text}, axis=1, keepdims=True)", ATOM,
                        (self.full_shape(expr.arg)[0], 1))
        raise CodegenError(f"no NumPy code for the row-wise function {expr.fn} yet.")

    def _emit_RowGrad(self, expr: RowGrad) -> Code:
        inner = self._row_operand(expr.arg)
        fn = self.bind.get(expr.fn, expr.fn)
        if expr in self.softmax_from_logsumexp:
            total = self.emit(RowApply(expr.fn, expr.arg))
            return Code(f"{self.ns}.exp({inner.text} - {self.wrap(total, MUL)})", ATOM,
                        self.full_shape(expr.arg))
        if fn == "logsumexp":
            self.helpers.add("_softmax")
            return Code(f"_softmax({inner.text})", ATOM, self.full_shape(expr.arg))
        if fn == "sumsq":
            return Code(f"2.0 * {self.wrap(inner, MUL)}", MUL, self.full_shape(expr.arg))
        raise CodegenError(f"no NumPy code for the gradient of {expr.fn} yet.")

    def _emit_Diff(self, expr: Diff) -> Code:  # pragma: no cover - derivations have none left
        raise CodegenError("a differential cannot be turned into code")

    def _emit_Sym(self, expr: Sym) -> Code:
        raise CodegenError(f"'{expr.name}' has no value in the generated code.")

    # ---- the module -------------------------------------------------------------------------

    def _check_arguments(self, parameters: list[str], used: set[str]) -> list[str]:
        return entry_checks(EntryPoint(self.program, parameters, self.identifiers, self.dims,
                                       self.checks, self.sizes_as_numbers, self.backend), used)

    def _gradient(self, name: str, gradient: Expr) -> str:
        """Statements computing ∂J/∂name as an array of its own (never a view of an input)."""
        result = self.names.claim(f"grad_{self.identifiers[name]}")
        self.store_gradient(result, gradient, self.program.shapes[name], self.identifiers[name])
        return result

    def store_gradient(self, result: str, gradient: Expr, target: Shape, parameter: str) -> None:
        """`result = gradient` with the shape of `parameter` (its Python text), as a fresh array
        (a zero gradient has the parameter's dtype too)."""
        if target == SCALAR:
            self.lines.append(f"{result} = " + self.backend.returned_scalar.format(
                x=self.emit(gradient).text))
            return
        if isinstance(gradient, Zero):
            self.lines.append(f"{result} = {self.ns}.zeros_like({parameter})")
            return
        reused = gradient in self.temps or isinstance(gradient, (Sym, Transpose))
        code = self.assign(result, gradient) if not reused else self.emit(gradient)
        if code.shape != target:
            shape = f"({self._dim(target[0])}, {self._dim(target[1])})"
            broadcast = self._broadcast_text(code.text, shape)
            self.lines.append(f"{result} = " + self.backend.copy.format(x=broadcast))
            if self.temps.get(gradient) == result:
                self._temp_shapes[gradient] = target  # the name now holds the full array
        elif reused:
            # A name or a view of an input: the caller gets a copy it may change freely.
            self.lines.append(f"{result} = " + self.backend.copy.format(
                x=self.wrap(code, ATOM)))

    def _used_adjoints(self) -> set[str]:
        """Named adjoints some gradient needs (directly or through another adjoint)."""
        adjoints = self.derivation.adjoints
        used: set[str] = set()
        stack = list(self.derivation.gradients.values())
        while stack:
            for node in stack.pop().walk():
                if isinstance(node, Sym) and node.name in adjoints and node.name not in used:
                    used.add(node.name)
                    stack.append(adjoints[node.name])
        return used

    def _needed_definitions(self) -> list[str]:
        """Let-bound names the objective, the adjoints or the gradients use, in order."""
        definitions = self.program.definitions
        # A Hessian-vector product returns its components only: φ itself is not computed.
        needed: set[str] = set() if self.second_order else {self.program.objective}
        used = self._used_adjoints()
        stack: list[Expr] = [*([] if self.second_order else
                               [definitions[self.program.objective]]),
                             *(value for name, value in self.derivation.adjoints.items()
                               if name in used),
                             *self.derivation.gradients.values()]
        while stack:
            for node in stack.pop().walk():
                if isinstance(node, Sym) and node.name in definitions and node.name not in needed:
                    needed.add(node.name)
                    stack.append(definitions[node.name])
        return [name for name in definitions if name in needed]

    def generate(self) -> str:
        derivation, program = self.derivation, self.program
        parameters = self.parameters()
        forward = [(name, program.definitions[name]) for name in self._needed_definitions()]
        # f′(A) may reuse a cached Z = f(A) only when Z is computed anyway.
        for name, definition in forward:
            if isinstance(definition, Apply) and definition.order == 0:
                self.forward_of_apply[definition] = name
        used = self._used_adjoints()
        # Lowered: a value and its transpose become one value (attention's G and Gᵀ); f″ is
        # written out before planning, so that what its form shares with other values (σ(A)
        # of softplus″) is computed once.
        lifted: dict[Expr, Expr] = {}
        backward = [(name, lift_transposes(self.lower_second(value), lifted))
                    for name, value in derivation.adjoints.items() if name in used]
        gradients = {name: lift_transposes(self.lower_second(gradient), lifted)
                     for name, gradient in derivation.gradients.items()}
        roots = [expr for _, expr in forward] + [expr for _, expr in backward] + list(
            gradients.values())
        self._plan_temporaries(roots)
        # Let-bound names are computed once: uses of their definition reuse the name.
        for _, definition in forward:
            self.temp_exprs.pop(definition, None)
        self.lines = []
        for name, definition in forward:
            code = self.assign(self.identifiers[name], definition)
            self.emitted_shapes[name] = code.shape
        # A gradient is computed as soon as the adjoints it reads are, as hand-written backprop
        # does layer by layer: each Δ is used while it is still in cache, and fewer are alive.
        adjoint_names = {name for name, _ in backward}
        pending = {name: {node.name for node in gradient.walk()
                          if isinstance(node, Sym) and node.name in adjoint_names}
                   for name, gradient in gradients.items()}
        done: set[str] = set()
        results: dict[str, str] = {}

        def flush() -> None:
            # The simplest first (Z₁ᵀΔ₂ before Xᵀ(Δ₂W₂ᵀ ⊙ f′)), as backprop goes layer by layer.
            ready = sorted((name for name, needs in pending.items() if needs <= done),
                           key=lambda name: sum(1 for _ in gradients[name].walk()))
            for name in ready:
                results[name] = self._gradient(name, gradients[name])
                del pending[name]

        flush()
        for name, value in backward:
            code = self.assign(self.identifiers[name], value)
            self.emitted_shapes[name] = code.shape
            done.add(name)
            flush()
        flush()
        results = {name: results[name] for name in derivation.gradients}
        objective = self.identifiers[program.objective]
        kept = {objective, *results.values(), *(self.identifiers[name] for name in parameters)}
        body = self._check_arguments(parameters, self.used_dims) + release_dead(self.lines,
                                                                                kept)
        returned = ", ".join(f'"{name}": {result}' for name, result in results.items())
        if self.second_order:
            body += returned_mapping(results)
        else:
            # J is a NumPy scalar or a 1×1 array (never a Python number): .item() is a float.
            body.append(f"return {self.backend.returned_objective.format(x=objective)}, "
                        f"{{{returned}}}")
        return self._module(parameters, body)

    def _module(self, parameters: list[str], body: list[str]) -> str:
        program = self.program
        # Sizes no argument's shape gives are keyword-only arguments (a row block of
        # constants may have no other argument: `def f(*, t_b, n)`).
        keywords = ["*", *self.signature.size_keywords.values()] \
            if self.signature.size_keywords else []
        args = ", ".join([*(self.identifiers[name] for name in parameters), *keywords])
        shapes = ", ".join(f"{self.identifiers[n]} ({program.shapes[n][0]} x "
                           f"{program.shapes[n][1]})" for n in parameters)
        documented = self.documented or docstrings(self.derivation, self.bind, self.identifiers)
        lines = [*documented.module, "", *self.backend.import_lines, "", ""]
        lines += helper_lines(self.helpers, self.backend.helpers, self.backend.singular_message)
        lines += [
            *self.backend.decorators,
            f"def {self.function_name}({args}):",
            f'    """{documented.returns}',
            "",
            f"    Arguments: {shapes}.",
            f"    {self.backend.scalar_note}"
            if self.checks else
            "    Unchecked (generated with checks=False): pass float ndarrays of these shapes.",
            '    """',
        ]
        arrays = ", ".join(self.identifiers[name] for name in parameters
                           if program.shapes[name] != SCALAR)
        if self.backend.prologue and not arrays:
            raise CodegenError(f"the {self.backend.name} backend takes its namespace from a "
                               "matrix argument, and this function has none.")
        lines += [f"    {line.format(arrays=arrays)}" for line in self.backend.prologue]
        lines += [f"    {line}" for line in body]
        return "\n".join(lines) + "\n"


def load_function(source: str, name: str) -> Callable[..., Any]:
    """Execute a generated module in a fresh namespace and return its function `name`."""
    namespace: dict[str, Any] = {"__name__": f"matgrad_generated_{name}"}
    exec(compile(source, f"<matgrad {name}>", "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function
