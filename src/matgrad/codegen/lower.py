"""Lowering: the expressions of a derivation → values of the typed array program
(codegen/array_program.py), with every decision of what to compute made here, once, for every
backend:

- matrix-chain order from shapes (codegen/chain.py), shared products kept whole;
- no ones matrix: 𝟏b is b left to broadcast, 1ᵀΔ a column sum, Δ𝟏 a row sum, 𝟏𝟏 = k𝟏;
- X⁻¹B as a solve, never the inverse times B;
- f′(A) through the cached output Z = f(A) (tanh′ = 1 − Z², σ′ = Z(1 − Z)), and f″ written
  out, both by the rules of rules/derivatives.rules, so no backend spells f″; Δ ⊙ f′(A) as one
  `derivative_product` of (Δ, Z) where the backend has that kernel (PyTorch's tanh_backward);
- softmax(A) next to logsumexp(A) computed from it, exp(A − logsumexp(A));
- s₁(s₂X) as (s₁s₂)X, the scalars multiplied first and the array once;
- ‖E‖² as ⟨E, E⟩; a broadcast made explicit where an operation needs the full array.

Values are numbered globally (one value per distinct operation), so a subexpression that two
expressions share is one value however the user wrote it.  Which values are shared at the
expression level is planned first (codegen/plan.py); lowering marks them.

Invariant: lowering changes how a value is computed, never what it is; every identity used
here is one of matrix algebra or of the function table (each checked numerically by tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction

from matgrad.codegen.array_program import ArrayProgram, Value
from matgrad.codegen.chain import best_bracketing, ones_shape
from matgrad.codegen.factor import common_factor
from matgrad.codegen.plan import plan_shared_values
from matgrad.errors import CodegenError
from matgrad.functions import ELEMENTWISE
from matgrad.ir.dims import SCALAR, Shape
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
    Zero,
    substitute,
)
from matgrad.matrix_functions import MATRIX_FUNCTIONS
from matgrad.rewrite.derivative_forms import derivative_forms

_SCALAR_OPS = {Trace: "trace", Det: "det", LogDet: "logdet", Norm: "norm"}


def fraction_literal(value: Fraction) -> str:
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


def _broadcast(a: Shape, b: Shape) -> Shape:
    return (a[0] if a[0] != 1 else b[0], a[1] if a[1] != 1 else b[1])


# The most terms one emitted sum has (a longer one is a sum of such sums).
MAX_SUM_TERMS = 64


class Lowering:
    """Expressions → array values.  `name_shape(name)` is the shape a named value is held in
    (None: its full shape); `bind` names the built-in function of each abstract one."""

    def __init__(self, full_shape: Callable[[Expr], Shape],
                 name_shape: Callable[[str], Shape | None], known_name: Callable[[str], bool],
                 bind: Mapping[str, str], typed_sizes: bool,
                 derivative_products: frozenset[str] = frozenset()) -> None:
        self.program = ArrayProgram()
        self.full_shape = full_shape
        self.name_shape = name_shape
        self.known_name = known_name
        self.bind = bind
        self.typed_sizes = typed_sizes
        self.memo: dict[Expr, Value] = {}
        self.origin: dict[Value, Expr] = {}        # the first expression lowered to a value
        self.shared_exprs: set[Expr] = set()       # planned shared at the expression level
        self.pinned: set[Value] = set()            # their values
        self.softmax_from_logsumexp: set[Expr] = set()
        self.forward_of_apply: dict[Expr, str] = {}  # f(A) → the name holding it
        self.norm_names: frozenset[str] = frozenset()  # names holding a norm ‖x‖
        self.onehot_names: frozenset[str] = frozenset()  # data declared `onehot`
        self.forms = derivative_forms()
        # Functions f whose g ⊙ f′(A) the backend computes in one kernel from Z = f(A).
        self.derivative_products = derivative_products

    # ---- planning and sharing ------------------------------------------------------------------

    def plan(self, roots: list[Expr], computed: tuple[Expr, ...] | list[Expr] = ()) -> None:
        """Values shared among `roots` get names of their own; `computed` ones (let-bound
        definitions, computed into their own names) do not need another."""
        shared, from_logsumexp = plan_shared_values(
            roots, lambda fn: self.forms.reads_output(self.bind.get(fn, fn), 1))
        self.shared_exprs.update(shared)
        self.softmax_from_logsumexp |= from_logsumexp
        for value in computed:
            self.shared_exprs.discard(value)
            if value in self.memo:
                self.pinned.discard(self.memo[value])

    def shared(self, value: Value) -> bool:
        """Computed once into a name: planned shared, or read by two operations or more."""
        return (value in self.pinned and not value.cheap()) or self.program.shared(value)

    # ---- values --------------------------------------------------------------------------------

    def _value(self, op: str, args: tuple[Value, ...], shape: Shape, full: Shape,
               attrs: tuple[object, ...] = ()) -> Value:
        return self.program.value(op, args, attrs, shape, full)

    def full(self, value: Value) -> Value:
        """The value at its full shape (an explicit broadcast where it is held smaller)."""
        if value.shape == value.full or value.full == SCALAR:
            return value
        return self._value("broadcast", (value,), value.full, value.full)

    def _spread(self, value: Value, full: Shape) -> Value:
        """The same code standing for a value of another full shape (𝟏b is b; 1ᵀ of a number)."""
        if value.full == full:
            return value
        return self._value("spread", (value,), value.shape, full)

    def lower(self, expr: Expr) -> Value:
        found = self.memo.get(expr)
        if found is not None:
            return found
        method = _LOWER.get(type(expr))
        if method is None:
            raise CodegenError(f"no array code for {type(expr).__name__} yet")
        value = method(self, expr)
        self.memo[expr] = value
        self.origin.setdefault(value, expr)
        if expr in self.shared_exprs:
            self.pinned.add(value)
        return value

    def _sym(self, expr: Sym) -> Value:
        if not self.known_name(expr.name):
            raise CodegenError(f"'{expr.name}' has no value in the generated code.")
        full = self.full_shape(expr)
        shape = self.name_shape(expr.name) or full
        return self._value("name", (), shape, full, (expr.name,))

    def _literal(self, text: str, full: Shape) -> Value:
        return self._value("literal", (), SCALAR, full, (text,))

    def _const(self, expr: Const) -> Value:
        return self._literal(fraction_literal(expr.value), SCALAR)

    def _dim_size(self, expr: DimSize) -> Value:
        # A size as a number of the arrays' type: 1/t at t = 0 is inf, as NumPy has it.
        return self.program.value("size", (), (expr.dim, self.typed_sizes), SCALAR, SCALAR,
                                  "float" if self.typed_sizes else "index")

    def _ones(self, expr: Ones) -> Value:
        return self._literal("1.0", self.full_shape(expr))

    def _zero(self, expr: Zero) -> Value:
        return self._literal("0.0", self.full_shape(expr))

    def _identity(self, expr: Identity) -> Value:
        size = (expr.size, expr.size)
        return self._value("eye", (), size, size, (expr.size,))

    def _add(self, expr: Add) -> Value:
        factored = common_factor(expr, self._known, lambda product: best_bracketing(
            product, self.full_shape, self._known) or product)
        if factored is not None:
            return self.lower(factored)
        args, signs = [], []
        shape: Shape = SCALAR
        for term in expr.terms:
            negative = isinstance(term, Neg)
            value = self.lower(term.x if isinstance(term, Neg) else term)
            shape = _broadcast(shape, value.shape)
            args.append(value)
            signs.append("-" if negative else "+")
        full = self.full_shape(expr)
        while len(args) > MAX_SUM_TERMS:
            # A long sum as a sum of sums of at most MAX_SUM_TERMS terms each: one flat
            # `a + b + …` of thousands of terms nests too deeply for Python's compiler.
            groups = range(0, len(args), MAX_SUM_TERMS)
            args = [self._group(args[i:i + MAX_SUM_TERMS], signs[i:i + MAX_SUM_TERMS], full)
                    for i in groups]
            signs = ["+"] * len(args)
        return self._value("add", tuple(args), shape, full, (tuple(signs),))

    def _group(self, args: list[Value], signs: list[str], full: Shape) -> Value:
        if len(args) == 1 and signs[0] == "+":
            return args[0]
        shape: Shape = SCALAR
        for arg in args:
            shape = _broadcast(shape, arg.shape)
        return self._value("add", tuple(args), shape, full, (tuple(signs),))

    def _neg(self, expr: Neg) -> Value:
        if isinstance(expr.x, Neg):
            return self.lower(expr.x.x)  # −(−A) = A
        inner = self.lower(expr.x)
        return self._value("neg", (inner,), inner.shape, self.full_shape(expr))

    def _binary(self, op: str, a: Expr, b: Expr, expr: Expr) -> Value:
        left, right = self.lower(a), self.lower(b)
        return self._value(op, (left, right), _broadcast(left.shape, right.shape),
                           self.full_shape(expr))

    def _scale(self, expr: Scale) -> Value:
        inner = expr.x
        if isinstance(inner, Scale) and not self._known(inner):
            # s₁(s₂X) as (s₁s₂)X: the two 1×1 factors multiply first, then the array once
            # (0.5 · (λW) is one pass over W, not two; 0.5 · (1/t · ⟨E, E⟩) one operation on a
            # 0-d PyTorch tensor, which costs microseconds).
            return self.lower(Scale(Scale(expr.s, inner.s), inner.x))
        return self._binary("mul", expr.s, expr.x, expr)

    def _div(self, expr: Div) -> Value:
        divisor = expr.s
        if isinstance(divisor, Norm) or (isinstance(divisor, Sym)
                                         and divisor.name in self.norm_names):
            # x / ‖x‖ (the gradient of a norm) is 0 where ‖x‖ = 0: the subgradient relu, abs
            # and ‖·‖₁ take at 0, not the nan of 0/0 (a λ‖W‖ term at W = 0 poisoned it).
            return self._binary("divide_by_norm", expr.x, divisor, expr)
        return self._binary("div", expr.x, expr.s, expr)

    def _hadamard(self, expr: Hadamard) -> Value:
        product = self._derivative_product(expr.a, expr.b) or self._derivative_product(
            expr.b, expr.a)
        return product or self._binary("mul", expr.a, expr.b, expr)

    def _derivative_product(self, gradient: Expr, factor: Expr) -> Value | None:
        """g ⊙ f′(A) as the backend's one kernel from Z = f(A), where it has one and the
        forward value is at hand (as for f′ through the output) and g is of full shape."""
        if not (isinstance(factor, Apply) and factor.order == 1 and self.derivative_products):
            return None
        concrete = self.function(factor.fn)
        forward = self._forward_at_hand(factor)
        if concrete not in self.derivative_products or forward is None:
            return None
        full = self.full_shape(factor)
        if full == SCALAR:  # a 1×1 operand may be a number, which the kernels do not take
            return None
        g, output = self.lower(gradient), self.lower(forward)
        if (g.shape, g.full, output.shape) != (full, full, full):
            return None  # an operand held smaller (𝟏b) is left to the product's broadcast
        return self._value("derivative_product", (g, output), full, full, (concrete,))

    def _had_div(self, expr: HadDiv) -> Value:
        return self._binary("div", expr.a, expr.b, expr)

    def _had_power(self, expr: HadPower) -> Value:
        base = self.lower(expr.base)
        if expr.exponent == Const(Fraction(1, 2)):
            return self._value("sqrt", (base,), base.shape, self.full_shape(expr))
        exponent = self.lower(expr.exponent)
        return self._value("pow", (base, exponent), base.shape, self.full_shape(expr))

    def _power(self, expr: Power) -> Value:
        if isinstance(expr.base, Norm) and expr.exponent == Const(Fraction(2)):
            inner = self.full(self.lower(expr.base.x))
            return self._value("vdot", (inner, inner), SCALAR, SCALAR)
        base, exponent = self.lower(expr.base), self.lower(expr.exponent)
        return self._value("pow", (base, exponent), SCALAR, SCALAR)

    def _known(self, part: Expr) -> bool:
        return part in self.shared_exprs or part in self.memo

    def _matmul(self, expr: MatMul) -> Value:
        reordered = best_bracketing(expr, self.full_shape, self._known)
        if reordered is not None:
            return self.lower(reordered)
        a, b = expr.a, expr.b
        full = self.full_shape(expr)
        ones_a, ones_b = ones_shape(a), ones_shape(b)
        if ones_a is not None and ones_b is not None:
            return self._value("ones_product", (), SCALAR, full, (ones_a[1],))
        if ones_a is not None:
            inner = self.full(self.lower(b))
            if ones_a[1] == 1:
                return self._spread(inner, full)
            return self._value("column_sum", (inner,), (1, inner.shape[1]), full)
        if ones_b is not None:
            inner = self.full(self.lower(a))
            if ones_b[0] == 1:
                return self._spread(inner, full)
            return self._value("row_sum", (inner,), (inner.shape[0], 1), full)
        if isinstance(a, Inv) and not self._known(a):
            system, rhs = self.full(self.lower(a.x)), self.full(self.lower(b))
            return self._value("solve", (system, rhs), full, full)
        gram = self._weighted_gram(a, b)
        if gram is not None:
            x, column = (self.full(self.lower(part)) for part in gram)
            return self._value("weighted_gram", (x, column), full, full)
        left, right = self.lower(a), self.lower(b)
        if SCALAR in (left.full, right.full):
            # A 1×1 factor may be a Python float: a scale, not a product.
            return self._value("mul", (left, right), _broadcast(left.shape, right.shape), full)
        return self._value("matmul", (self.full(left), self.full(right)), full, full)

    def _weighted_gram(self, a: Expr, b: Expr) -> tuple[Expr, Expr] | None:
        """(X, w) of Xᵀ((w𝟏ᵀ) ⊙ X) for a column w (a weighted Gram matrix: symmetric, the
        Hessian block of a GLM), else None; never where the weighted X is a value computed
        anyway."""
        if not isinstance(a, Transpose) or not isinstance(b, Hadamard) or self._known(b) \
                or self._known(a):
            return None
        rows, cols = self.full_shape(a.x)
        if cols == 1:
            return None  # xᵀ(w ⊙ x) is a number: nothing to halve
        for x, weight in ((b.a, b.b), (b.b, b.a)):
            if x != a.x:
                continue
            if isinstance(weight, MatMul) and ones_shape(weight.b) == (1, cols) and \
                    self.full_shape(weight.a) == (rows, 1):
                return x, weight.a
            if self.full_shape(weight) == (rows, 1):
                return x, weight
        return None

    def _frob(self, expr: Frob) -> Value:
        onehot = self._onehot_dot(expr.a, expr.b)
        if onehot is not None:
            return onehot
        a, b = self.full(self.lower(expr.a)), self.full(self.lower(expr.b))
        return self._value("vdot", (a, b), SCALAR, SCALAR)

    def _row_dot(self, expr: RowDot) -> Value:
        a, b = self.full(self.lower(expr.a)), self.full(self.lower(expr.b))
        column = (self.full_shape(expr)[0], 1)
        return self._value("row_dot", (a, b), column, column)

    def _transpose(self, expr: Transpose) -> Value:
        inner = self.lower(expr.x)
        full = self.full_shape(expr)
        if SCALAR in (full, inner.shape):
            return self._spread(inner, full)  # a number (1.0 for 𝟏) is its own transpose
        return self._value("transpose", (inner,), (inner.shape[1], inner.shape[0]), full)

    def _onehot_dot(self, a: Expr, b: Expr) -> Value | None:
        """⟨Y, A⟩ with one-hot Y over Y's nonzero entries only (the class-index path of a
        cross-entropy): a masked logit A = −inf where Y = 0 adds nothing, not 0·(−inf) = nan."""
        for onehot, other in ((a, b), (b, a)):
            if isinstance(onehot, Sym) and onehot.name in self.onehot_names:
                y, x = self.full(self.lower(onehot)), self.full(self.lower(other))
                if y.full == x.full and y.full != SCALAR:
                    return self._value("onehot_dot", (y, x), SCALAR, SCALAR)
        return None

    def _sum(self, expr: Sum) -> Value:
        if isinstance(expr.x, Hadamard):
            onehot = self._onehot_dot(expr.x.a, expr.x.b)
            if onehot is not None:
                return onehot
        inner = self.lower(expr.x)
        if inner.full == SCALAR:
            return inner  # the sum of a 1×1 value (perhaps a float) is itself
        return self._value("total_sum", (self.full(inner),), SCALAR, SCALAR)

    def _scalar_of(self, expr: Trace | Det | LogDet | Norm) -> Value:
        inner = self.full(self.lower(expr.x))
        if inner.full == SCALAR:
            # Of a 1×1 value (perhaps a float or a 0-d array, which the libraries' trace and
            # det refuse): tr(s) = det(s) = s, logdet(s) = log |s|, ‖s‖ = |s|.
            if isinstance(expr, (Trace, Det)):
                return inner
            magnitude = Apply("abs", expr.x, 0)
            return self.lower(Apply("log", magnitude, 0) if isinstance(expr, LogDet) else magnitude)
        return self._value(_SCALAR_OPS[type(expr)], (inner,), SCALAR, SCALAR)

    def _inv(self, expr: Inv) -> Value:
        full = self.full_shape(expr)
        if full == SCALAR:
            return self.lower(Div(Const(Fraction(1)), expr.x))  # the inverse of a 1×1 is 1/s
        return self._value("inv", (self.full(self.lower(expr.x)),), full, full)

    # ---- functions -----------------------------------------------------------------------------

    def function(self, name: str) -> str:
        """The built-in elementwise function an abstract (or built-in) one stands for."""
        concrete = self.bind.get(name, name)
        if concrete not in ELEMENTWISE:
            raise CodegenError(
                f"the abstract function {name} has no definition to generate code from: bind "
                f"it to a built-in function, e.g. bind={{'{name}': 'tanh'}} or --bind "
                f"{name}=tanh.")
        return concrete

    def via_output(self, expr: Apply) -> Expr | None:
        """f′(A) written through the cached Z = f(A), as an expression (tanh′ = 1 − Z ⊙ Z)."""
        concrete = self.function(expr.fn)
        if expr.order != 1 or not self.forms.reads_output(concrete, 1):
            return None
        forward = self._forward_at_hand(expr)
        return None if forward is None else self._written_out(expr, forward)

    def _forward_at_hand(self, derivative: Apply) -> Expr | None:
        """f(A) for f′(A) where it is computed anyway: the name holding it, or f(A) itself
        when it is shared or lowered already (Z = α f(A) reads it too); None otherwise."""
        forward = Apply(derivative.fn, derivative.arg, 0)
        cached = self.forward_of_apply.get(forward)
        if cached is not None:
            return Sym(cached)
        return forward if forward in self.shared_exprs or forward in self.memo else None

    def _second_derivative(self, expr: Apply) -> Expr | None:
        """f″(A) by its rule (rules/derivatives.rules), through a cached Z = f(A)."""
        if expr.order != 2:
            return None
        cached = self.forward_of_apply.get(Apply(expr.fn, expr.arg, 0))
        return self._written_out(expr, Sym(cached) if cached is not None else None)

    def _written_out(self, expr: Apply, output: Expr | None) -> Expr | None:
        """`expr` by the rule of its (bound) function, the function's applications in it named
        as in the program (f, when f is bound to tanh) and f(A) read as `output` if given."""
        concrete = self.function(expr.fn)
        written = self.forms.written_out(Apply(concrete, expr.arg, expr.order), self.full_shape)
        if written is None:
            return None
        forward = Apply(expr.fn, expr.arg, 0)
        return substitute(written, {Apply(concrete, expr.arg, 0): output or forward,
                                    Apply(concrete, expr.arg, 1): Apply(expr.fn, expr.arg, 1)})

    def lower_second(self, expr: Expr) -> Expr:
        """`expr` with every f″(A) of a built-in f written out: done before planning, so that
        what its form shares with other values (σ(A) of softplus″) is computed once."""
        if not any(isinstance(node, Apply) and node.order == 2 for node in expr.walk()):
            return expr
        kids = expr.children()
        if kids:
            expr = expr.with_children(tuple(self.lower_second(kid) for kid in kids))
        lowered = self._second_derivative(expr) if isinstance(expr, Apply) else None
        return expr if lowered is None else lowered

    def _apply(self, expr: Apply) -> Value:
        via = self.via_output(expr) or self._second_derivative(expr)
        if via is not None:
            return self.lower(via)
        concrete = self.function(expr.fn)
        if expr.order > 1:
            raise CodegenError(f"no array code for the derivative of order {expr.order} of "
                               f"{expr.fn} yet.")
        argument = self.lower(expr.arg)
        return self._value("apply", (argument,), argument.shape, self.full_shape(expr),
                           (concrete, expr.order))

    def _row_operand(self, expr: Expr) -> Value:
        """The argument of a row-wise function as a 2-D array (a 1×1 may be a Python float)."""
        inner = self.full(self.lower(expr))
        if inner.full == SCALAR:
            return self._value("full_1x1", (inner,), (1, 1), (1, 1))
        return inner

    def _row_apply(self, expr: RowApply) -> Value:
        inner = self._row_operand(expr.arg)
        fn = self.bind.get(expr.fn, expr.fn)
        if fn not in ("logsumexp", "sumsq"):
            raise CodegenError(f"no array code for the row-wise function {expr.fn} yet.")
        column = (self.full_shape(expr.arg)[0], 1)
        return self._value(fn, (inner,), column, column)

    def _row_grad(self, expr: RowGrad) -> Value:
        inner = self._row_operand(expr.arg)
        fn = self.bind.get(expr.fn, expr.fn)
        full = self.full_shape(expr.arg)
        if expr in self.softmax_from_logsumexp:
            total = self.lower(RowApply(expr.fn, expr.arg))
            return self._value("softmax_from", (inner, total), full, full)
        if fn == "logsumexp":
            return self._value("softmax", (inner,), full, full)
        if fn == "sumsq":
            return self._value("twice", (inner,), full, full)
        raise CodegenError(f"no array code for the gradient of {expr.fn} yet.")

    # ---- matrix functions ----------------------------------------------------------------------

    def _matrix_function(self, expr: MatFun) -> Value:
        full = self.full_shape(expr)
        if isinstance(expr.x, Transpose):  # f(Xᵀ) = f(X)ᵀ: the objective's f(X), transposed
            return self.lower(Transpose(MatFun(expr.fn, expr.x.x)))
        if full == SCALAR:  # of a 1×1 matrix (perhaps a float): the scalar function
            return self.lower(Apply(MATRIX_FUNCTIONS[expr.fn].scalar, expr.x))
        return self._value("matfun", (self.full(self.lower(expr.x)),), full, full,
                           (expr.fn,))

    def _frechet(self, expr: Frechet) -> Value:
        """L_f(X, E); the square root's through X^½ (a Sylvester equation), reusing it."""
        full = self.full_shape(expr)
        if full == SCALAR:  # f′(x) e of a 1×1 matrix
            return self.lower(Hadamard(Apply(MATRIX_FUNCTIONS[expr.fn].scalar, expr.x, 1),
                                       expr.e))
        direction = self.full(self.lower(expr.e))
        argument = MatFun(expr.fn, expr.x) if expr.fn == "sqrtm" else expr.x
        return self._value("frechet", (self.full(self.lower(argument)), direction), full, full,
                           (expr.fn,))

    def _second_frechet(self, expr: Frechet2) -> Value:
        """L⁽²⁾_f(X; E₁, E₂), f of a 4n×4n block matrix; f″(x) e₁ e₂ of a 1×1 matrix."""
        full = self.full_shape(expr)
        if full == SCALAR:
            return self.lower(Hadamard(Apply(MATRIX_FUNCTIONS[expr.fn].scalar, expr.x, 2),
                                       Hadamard(expr.e1, expr.e2)))
        operands = tuple(self.full(self.lower(part)) for part in (expr.x, expr.e1, expr.e2))
        return self._value("frechet2", operands, full, full, (expr.fn,))

    def _diff(self, expr: Diff) -> Value:  # pragma: no cover - derivations have none left
        raise CodegenError("a differential cannot be turned into code")


_LOWER: dict[type, Callable[..., Value]] = {
    Sym: Lowering._sym, Const: Lowering._const, DimSize: Lowering._dim_size,
    Ones: Lowering._ones, Zero: Lowering._zero, Identity: Lowering._identity,
    Add: Lowering._add, Neg: Lowering._neg, Scale: Lowering._scale, Div: Lowering._div,
    Hadamard: Lowering._hadamard, HadDiv: Lowering._had_div, HadPower: Lowering._had_power,
    Power: Lowering._power, MatMul: Lowering._matmul, Frob: Lowering._frob,
    RowDot: Lowering._row_dot, Transpose: Lowering._transpose, Sum: Lowering._sum,
    Trace: Lowering._scalar_of, Det: Lowering._scalar_of, LogDet: Lowering._scalar_of,
    Norm: Lowering._scalar_of, Inv: Lowering._inv, Apply: Lowering._apply,
    RowApply: Lowering._row_apply, RowGrad: Lowering._row_grad, Diff: Lowering._diff,
    MatFun: Lowering._matrix_function, Frechet: Lowering._frechet,
    Frechet2: Lowering._second_frechet,
}
