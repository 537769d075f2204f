"""The typed array program between a derivation and code: SSA values, each defined once by one
operation of the table below on earlier values, with the shape it is computed in, its true
shape and its dtype.

A value's `shape` may be 1 on an axis where its true shape `full` is larger: 𝟏b is b itself,
left for the array library to broadcast.  `dtype` is "float" (the arrays' floating type) for
every value but a size read as a Python int ("index").

The builder numbers values globally: an operation on the same operands with the same
attributes is the same value, however many expressions ask for it, so code computes it once.
It counts each value's consumers (the operations that read it), which is what the in-place
planner (codegen/inplace.py) and the emitter read to decide what gets a name of its own.

Invariants: values are immutable and compared by identity; a value's operands are defined
before it; `uses` counts distinct consuming operations (vdot(E, E) reads E twice).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from matgrad.errors import CodegenError
from matgrad.ir.dims import Shape
from matgrad.limits import MAX_PROGRAM_VALUES, exceeded


@dataclass(frozen=True)
class OpInfo:
    """What the planner needs to know of an operation, whatever the backend spells it as."""

    allocates: bool    # the result is a new array nobody else holds
    elementwise: bool  # the result may overwrite a same-shape operand's buffer
    cheap: bool        # as cheap to write again as to name (a name, a constant, a view)


_LEAF = OpInfo(allocates=False, elementwise=False, cheap=True)
_VIEW = OpInfo(allocates=False, elementwise=False, cheap=False)
_NEW = OpInfo(allocates=True, elementwise=False, cheap=False)
_ELEMENTWISE = OpInfo(allocates=True, elementwise=True, cheap=False)

# Every operation of the array program.  Attributes (Value.attrs) are noted after each.
OPS: dict[str, OpInfo] = {
    "name": _LEAF,           # (program name,): an argument or a value computed by name
    "literal": _LEAF,        # (Python text of a float,)
    "size": _LEAF,           # (dim, typed): a size as a number (of the arrays' type if typed)
    "ones_product": _LEAF,   # (inner size,): 𝟏𝟏 = k𝟏, every entry the inner size k
    "zeros": _NEW,           # (): a zero matrix of the value's shape
    "eye": _NEW,             # (size,): the identity matrix
    "add": _ELEMENTWISE,     # (signs,): Σ ±operandᵢ, one sign per operand
    "neg": _ELEMENTWISE,
    "mul": _ELEMENTWISE,     # a ⊙ b, or a scalar times a matrix
    "div": _ELEMENTWISE,     # a ⊘ b, or a matrix over a scalar
    "divide_by_norm": _NEW,  # a / ‖·‖ (a scalar), 0 where the norm is 0
    "pow": _NEW,             # a .^ b (a ** b), scalar or elementwise
    "sqrt": _NEW,
    "apply": _ELEMENTWISE,   # (function, order): f(x) or f′(x) of the function table
    "derivative_product": _NEW,  # (function,): g ⊙ f′(x) from (g, y = f(x)), one kernel
    "matmul": _NEW,
    "weighted_gram": _NEW,   # xᵀ((w𝟏ᵀ) ⊙ x) from (x, w), w a column: symmetric
    "solve": _NEW,           # A⁻¹B without forming the inverse
    "transpose": _VIEW,
    "broadcast": _VIEW,      # the operand at the value's full shape
    "spread": _VIEW,         # the operand's code standing for another full shape (𝟏b is b)
    "column_sum": _NEW,      # 1ᵀX (guide, footnote 2)
    "row_sum": _NEW,         # X𝟏
    "total_sum": _VIEW,
    "vdot": _VIEW,           # ⟨A, B⟩
    "onehot_dot": _VIEW,     # ⟨Y, A⟩ over the entries where the one-hot Y is not 0
    "row_dot": _VIEW,        # the rows' dot products, a column
    "trace": _VIEW,
    "det": _VIEW,
    "logdet": _VIEW,
    "inv": _NEW,
    "matfun": _NEW,          # (function,): expm, logm or sqrtm of a square matrix
    "frechet": _NEW,         # (function,): L_f(X, E) from (X, E); sqrtm's from (X^½, E)
    "frechet2": _NEW,        # (function,): L⁽²⁾_f(X; E₁, E₂) from (X, E₁, E₂)
    "norm": _VIEW,
    "logsumexp": _VIEW,      # row-wise
    "sumsq": _VIEW,          # row-wise Σ x²
    "softmax": _NEW,         # row-wise
    "softmax_from": _NEW,    # exp(x − logsumexp(x)) from the logsumexp the objective computed
    "twice": _NEW,           # 2x, the gradient of sumsq
    "full_1x1": _VIEW,       # a number as a 1×1 matrix
}


@dataclass(frozen=True, eq=False)
class Value:
    """One SSA value: `op` of the table applied to `args`."""

    op: str
    args: tuple[Value, ...]
    attrs: tuple[object, ...]
    shape: Shape
    full: Shape
    dtype: str = "float"

    @property
    def info(self) -> OpInfo:
        return OPS[self.op]

    def cheap(self) -> bool:
        """Writing it again costs nothing worth a name: a leaf, or a view of a name (Xᵀ, 𝟏b)."""
        if self.info.cheap:
            return True
        if self.op == "spread":
            return self.args[0].cheap()
        return self.op in ("transpose", "broadcast", "neg") and self.args[0].op in (
            "name", "literal")


@dataclass
class ArrayProgram:
    """The values built so far, numbered globally, with how many operations read each."""

    uses: Counter[Value] = field(default_factory=Counter)
    _numbered: dict[tuple[object, ...], Value] = field(default_factory=dict)

    def value(self, op: str, args: tuple[Value, ...], attrs: tuple[object, ...],
              shape: Shape, full: Shape, dtype: str = "float") -> Value:
        """The value of `op` on `args`: the existing one if it was built before."""
        assert op in OPS, f"unknown array operation {op}"
        key = (op, tuple(id(arg) for arg in args), attrs, shape, full)
        found = self._numbered.get(key)
        if found is not None:
            return found
        if len(self._numbered) >= MAX_PROGRAM_VALUES:
            raise CodegenError("the generated module would compute too many values: split the "
                               "program into smaller let-bindings "
                               f"{exceeded('MAX_PROGRAM_VALUES', len(self._numbered) + 1)}.")
        made = Value(op, args, attrs, shape, full, dtype)
        self._numbered[key] = made
        for arg in args:
            self.uses[arg] += 1
        return made

    def shared(self, value: Value) -> bool:
        """Read by two operations or more, and worth computing once into a name."""
        return self.uses[value] >= 2 and not value.cheap()


def names_read(value: Value) -> set[str]:
    """The program names the code of `value` reads."""
    found: set[str] = set()
    seen: set[int] = set()
    stack = [value]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if current.op == "name":
            found.add(str(current.attrs[0]))
        stack.extend(current.args)
    return found
