"""In-place planning: which statements update one buffer instead of allocating a temporary
per operation, decided on the array program before any code is written.

A buffer that an operation has just allocated (the result of @, of an elementwise operation, of
a function call) is held by nobody else, so the rest of an elementwise expression can update it
(`A = X @ W; A += b; np.tanh(A, A)`).  The plan of a statement is its start (a value computed
plainly into the buffer) and the updates after it; a factor of a product that is itself an
elementwise expression (f′ = 1 − Z ⊙ Z) is built in a scratch buffer of its own.

Invariant: a buffer is only ever a value read by exactly one operation (the one updating it)
and bound to no name, so an update never overwrites a value still live: a value read twice
(`uses` ≥ 2) or planned shared is computed into a name of its own instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from matgrad.codegen.array_program import Value
from matgrad.ir.dims import SCALAR


@dataclass(frozen=True)
class Update:
    """One in-place step on the buffer `t`: add (t += x), subtract (t -= x), subtract_from
    (t = x − t, with x negated when `negated`), negate (t = −t), multiply (t *= x, x built in
    `scratch` when it is planned there), divide (t /= x), apply (t = f(t), f the library's
    call `function` that takes an output buffer)."""

    op: str
    operand: Value | None = None
    negated: bool = False
    scratch: InPlace | None = None
    function: str = ""


@dataclass(frozen=True)
class InPlace:
    """A statement computed in one buffer: `t = start`, then each update in order."""

    start: Value
    updates: tuple[Update, ...]

    def then(self, *updates: Update) -> InPlace:
        return InPlace(self.start, self.updates + updates)


_FACTORS = ("add", "neg", "mul", "div", "apply")


class InPlacePlanner:
    """Plans statements for a backend that allows in-place updates.  `bound(v)`: v is held by
    a name; `shared(v)`: v gets a name of its own when computed; `allocates(v)`: the backend's
    code for v makes a new array; `output_call(v)`: the library call for v's function that
    accepts an output buffer, or None."""

    def __init__(self, bound: Callable[[Value], bool], shared: Callable[[Value], bool],
                 allocates: Callable[[Value], bool],
                 output_call: Callable[[Value], str | None]) -> None:
        self.bound = bound
        self.shared = shared
        self.allocates = allocates
        self.output_call = output_call
        self._root: Value | None = None

    def plan(self, root: Value) -> InPlace | None:
        """The in-place plan of `root` (the value a statement assigns), or None: plain code."""
        self._root = root
        try:
            return self._into(root)
        finally:
            self._root = None

    def _free(self, value: Value) -> bool:
        """No name holds it and no other operation reads it (the statement's own value may be
        shared: its name is the buffer)."""
        return not self.bound(value) and (value is self._root or not self.shared(value))

    def _into(self, value: Value) -> InPlace | None:
        if value.full == SCALAR or value.info.cheap or not self._free(value):
            return None
        step = _STEPS.get(value.op)
        return step(self, value) if step is not None else None

    def _start(self, value: Value, full: tuple[object, object]) -> InPlace | None:
        """`value` as the start of a buffer of shape `full`: updated in place, or allocated."""
        if value.full != full:
            return None
        return self._into(value) or self._plain(value)

    def _plain(self, value: Value) -> InPlace | None:
        """`t = code` when that code allocates a new full-shape array of its own."""
        if not (self._free(value) and value.info.allocates and self.allocates(value)
                and value.shape == value.full):
            return None
        return InPlace(value, ())

    def _factor(self, value: Value, full: tuple[object, object]) -> InPlace | None:
        """A full-shape elementwise factor built in a scratch buffer of its own."""
        if value.op in _FACTORS and value.full == full and not self.bound(value) \
                and not self.shared(value):
            return self._into(value)
        return None

    def _add(self, value: Value) -> InPlace | None:
        (signs,) = value.attrs
        assert isinstance(signs, tuple)
        terms = list(zip(value.args, signs, strict=True))
        # The buffer is started from one term (a plain one if possible), then updated.
        for index in sorted(range(len(terms)), key=lambda i: terms[i][1] == "-"):
            base, sign = terms[index]
            start = self._start(base, value.full)
            if start is None:
                continue
            negative = sign == "-"
            others = [term for position, term in enumerate(terms) if position != index]
            updates = []
            for position, (other, other_sign) in enumerate(others):
                minus = other_sign == "-"
                if negative and position == 0:
                    # other − buffer, in place: the buffer holds the negated term.
                    updates.append(Update("subtract_from", other, negated=minus))
                else:
                    updates.append(Update("subtract" if minus else "add", other))
            if negative and not others:
                updates.append(Update("negate"))
            return start.then(*updates)
        return None

    def _mul(self, value: Value) -> InPlace | None:
        a, b = value.args
        for inner, other in ((a, b), (b, a)):
            start = self._start(inner, value.full)
            if start is not None:
                return start.then(Update("multiply", other,
                                         scratch=self._factor(other, value.full)))
        return None

    def _div(self, value: Value) -> InPlace | None:
        numerator, divisor = value.args
        start = self._start(numerator, value.full)
        return None if start is None else start.then(Update("divide", divisor))

    def _neg(self, value: Value) -> InPlace | None:
        start = self._start(value.args[0], value.full)
        return None if start is None else start.then(Update("negate"))

    def _apply(self, value: Value) -> InPlace | None:
        call = self.output_call(value)
        if call is None:
            return None
        start = self._into(value.args[0])
        return None if start is None else start.then(Update("apply", function=call))


_STEPS: dict[str, Callable[[InPlacePlanner, Value], InPlace | None]] = {
    "add": InPlacePlanner._add, "mul": InPlacePlanner._mul, "div": InPlacePlanner._div,
    "neg": InPlacePlanner._neg, "apply": InPlacePlanner._apply,
}
