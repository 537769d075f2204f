"""Spelling: each operation of the array program as Python text of a backend, one method per
operation (a printer table), with Python's precedence for parenthesising.

A value is written inline where it is read once; the generator (codegen/emit.py) decides
which values get names (`text`), and an operand that must be an atom (the argument of vdot, of
a helper) is given one (`atom`).

Invariant: the only text produced is the backend's spellings, validated identifiers (through
`identifiers`) and numeric literals the lowering printed from exact fractions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from matgrad.codegen.array_program import Value
from matgrad.codegen.backend import Backend
from matgrad.errors import CodegenError
from matgrad.ir.dims import SCALAR, Dim, Shape
from matgrad.matrix_functions import MATRIX_FUNCTIONS

# Python precedence levels used for parenthesising, loosest first.
ADD, MUL, UNARY, POW, ATOM = 10, 20, 30, 40, 50


@dataclass(frozen=True)
class Code:
    """Python source of a value; `shape` is the shape the code computes, which may be 1 on an
    axis where the value is larger (a broadcast standing for 𝟏b)."""

    text: str
    prec: int
    shape: Shape


def wrap(code: Code, prec: int) -> str:
    return code.text if code.prec >= prec else f"({code.text})"


def _negated(code: Code) -> Code:
    """−code; −(−x) is x: `--x` would read as a decrement (and lints as one), and a library
    negative() would not take a Python number."""
    inner = wrap(code, UNARY)
    if inner.startswith("-"):  # a negation (or a negative number) as a whole
        return Code(inner[1:], UNARY, code.shape)
    return Code(f"-{inner}", UNARY, code.shape)


class Spelling:
    """The spellings of a backend; the generator provides `text`, `atom` and `dim`."""

    backend: Backend
    ns: str
    identifiers: dict[str, str]
    helpers: set[str]
    sizes_as_numbers: bool

    def text(self, value: Value) -> Code:
        raise NotImplementedError

    def atom(self, value: Value) -> Code:
        raise NotImplementedError

    def dim(self, dim: Dim) -> str:
        raise NotImplementedError

    def spell(self, value: Value) -> Code:
        method = getattr(self, f"_spell_{value.op}")
        code: Code = method(value)
        return code

    def idiom(self, template: str | None, what: str, **parts: str) -> str:
        """An idiom as the backend spells it; one it has no spelling for is refused."""
        if template is None:
            raise CodegenError(f"the {self.backend.name} backend cannot generate {what} yet; "
                               "use the numpy backend for this program.")
        if "float_type" in template:
            self.sizes_as_numbers = True  # the entry checks then define float_type
        return template.format(ns=self.ns, **parts)

    def shape_text(self, shape: Shape) -> str:
        return f"({self.dim(shape[0])}, {self.dim(shape[1])})"

    def broadcast_text(self, value: str, shape: str) -> str:
        """`value` (an array, or a number standing for one) broadcast to `shape`."""
        if "float_type" in self.backend.broadcast:
            self.sizes_as_numbers = True  # the entry checks then define float_type
        helper = self.backend.broadcast.split("(", 1)[0]
        if helper in self.backend.helpers:
            self.helpers.add(helper)  # a helper of the module (a batch's broadcast)
        return self.backend.broadcast.format(ns=self.ns, x=value, shape=shape)

    def reduced(self, template: str, code: Code) -> str:
        """A reduction spelled by the backend: a method (`{x}.sum()`) needs an atom before the
        dot; a function (`xp.sum({x})`) takes the text as its argument."""
        helper = template.split("(", 1)[0]
        if helper in self.backend.helpers:
            self.helpers.add(helper)  # a helper of the module (NumPy's _column_sum)
        return template.format(x=wrap(code, ATOM) if template.startswith("{x}") else code.text)

    def template(self, value: Value) -> str:
        """The backend's spelling of an `apply`, in {x}."""
        function, order = value.attrs
        assert isinstance(function, str)
        spelled, derivative = self.backend.spellings[function]
        return derivative if order == 1 else spelled

    def output_call(self, value: Value) -> str | None:
        """`np.tanh` when an `apply` is a single library call that accepts an output buffer."""
        if value.op != "apply" or value.attrs[1] != 0:
            return None
        match = re.fullmatch(rf"({self.ns}\.[a-z0-9_]+)\(\{{x\}}\)", self.template(value))
        return match.group(1) if match else None

    def allocates(self, value: Value) -> bool:
        """Whether the code of `value` makes a new array (f(x) = x is spelled `x`)."""
        return value.op != "apply" or self.template(value) != "{x}"

    # ---- leaves --------------------------------------------------------------------------------

    def _spell_name(self, value: Value) -> Code:
        return Code(self.identifiers[str(value.attrs[0])], ATOM, value.shape)

    def _spell_literal(self, value: Value) -> Code:
        return Code(str(value.attrs[0]), ATOM, value.shape)

    def _spell_size(self, value: Value) -> Code:
        dim, typed = value.attrs
        assert isinstance(dim, (int, str))
        if not typed:
            return Code(self.dim(dim), ATOM, SCALAR)
        self.sizes_as_numbers = True
        return Code(self.backend.typed_size.format(n=self.dim(dim)), ATOM, SCALAR)

    def _spell_ones_product(self, value: Value) -> Code:
        (size,) = value.attrs
        assert isinstance(size, (int, str))
        return Code("1.0" if size == 1 else f"1.0 * {self.dim(size)}", MUL, SCALAR)

    def _spell_zeros(self, value: Value) -> Code:
        return Code(self.idiom(self.backend.zeros, "a zero matrix", r=self.dim(value.full[0]),
                               c=self.dim(value.full[1])), ATOM, value.full)

    def _spell_eye(self, value: Value) -> Code:
        (size,) = value.attrs
        assert isinstance(size, (int, str))
        return Code(self.idiom(self.backend.eye, "an identity matrix", n=self.dim(size)), ATOM,
                    value.shape)

    # ---- elementwise ---------------------------------------------------------------------------

    def _spell_add(self, value: Value) -> Code:
        (signs,) = value.attrs
        assert isinstance(signs, tuple)
        parts: list[str] = []
        for index, (arg, sign) in enumerate(zip(value.args, signs, strict=True)):
            negative = sign == "-"
            code = self.text(arg)
            text = wrap(code, MUL if negative or index else ADD)
            if index == 0:
                parts.append(_negated(code).text if negative else text)
            else:
                parts.append(f" - {text}" if negative else f" + {text}")
        return Code("".join(parts), ADD, value.shape)

    def _spell_neg(self, value: Value) -> Code:
        return _negated(self.text(value.args[0]))

    def _binary(self, value: Value, op: str) -> Code:
        left, right = (self.text(arg) for arg in value.args)
        return Code(f"{wrap(left, MUL)} {op} {wrap(right, MUL + 1)}", MUL, value.shape)

    def _spell_mul(self, value: Value) -> Code:
        return self._binary(value, "*")

    def _spell_div(self, value: Value) -> Code:
        return self._binary(value, "/")

    def _spell_onehot_dot(self, value: Value) -> Code:
        self.helpers.add("_onehot_dot")
        onehot, other = (self.atom(arg).text for arg in value.args)
        return Code(f"_onehot_dot({onehot}, {other})", ATOM, value.shape)

    def _spell_divide_by_norm(self, value: Value) -> Code:
        self.helpers.add("_divide_by_norm")
        numerator, norm = (self.atom(arg).text for arg in value.args)
        return Code(f"_divide_by_norm({numerator}, {norm})", ATOM, value.shape)

    def _spell_pow(self, value: Value) -> Code:
        base, exponent = (self.text(arg) for arg in value.args)
        return Code(f"{wrap(base, POW + 1)} ** {wrap(exponent, POW)}", POW, value.shape)

    def _spell_sqrt(self, value: Value) -> Code:
        return Code(f"{self.ns}.sqrt({self.text(value.args[0]).text})", ATOM, value.shape)

    def _spell_apply(self, value: Value) -> Code:
        template = self.template(value)
        argument = self.text(value.args[0])
        if self.backend.scalar_function_argument and argument.shape == SCALAR:
            # The library's functions take arrays only (PyTorch): a number becomes a 0-d
            # array of the arrays' type.
            self.sizes_as_numbers = True  # the entry checks then define float_type
            argument = Code(self.backend.scalar_function_argument.format(x=argument.text), ATOM,
                            SCALAR)
        # As a call's whole argument, {x} needs no parentheses of its own.
        sole = "({x})" in template or "({x}," in template
        text = template.replace("{x}", argument.text if sole else wrap(argument, ATOM))
        if template == "{x}":
            return Code(text, argument.prec, argument.shape)
        simple_call = re.fullmatch(rf"{self.ns}\.[a-z0-9_]+\(.*\)", template) is not None
        return Code(text, ATOM if simple_call else ADD, argument.shape)

    def _spell_derivative_product(self, value: Value) -> Code:
        (function,) = value.attrs
        assert isinstance(function, str)
        gradient, output = (self.text(arg) for arg in value.args)
        template = self.backend.derivative_products[function]
        return Code(template.format(g=gradient.text, y=output.text), ATOM, value.shape)

    # ---- products, views and reductions --------------------------------------------------------

    def _spell_matmul(self, value: Value) -> Code:
        left, right = (self.text(arg) for arg in value.args)
        return Code(f"{wrap(left, MUL)} @ {wrap(right, MUL + 1)}", MUL, value.shape)

    def _spell_weighted_gram(self, value: Value) -> Code:
        x, weights = (self.atom(arg).text for arg in value.args)
        template = self.backend.weighted_gram
        if template is not None:  # the backend's symmetric product (NumPy's helper)
            self.helpers.add(template.split("(", 1)[0])
            return Code(template.format(x=x, w=weights), ATOM, value.shape)
        transposed = self.backend.transpose.format(x=x, ns=self.ns)
        return Code(f"{transposed} @ ({weights} * {x})", MUL, value.shape)

    def _spell_solve(self, value: Value) -> Code:
        # X⁻¹B as a solve: cheaper and more accurate than forming the inverse.
        self.helpers.add("_solve")
        system, rhs = self.atom(value.args[0]), self.text(value.args[1])
        return Code(f"_solve({system.text}, {rhs.text})", ATOM, value.shape)

    def _spell_transpose(self, value: Value) -> Code:
        return Code(self.backend.transpose.format(x=wrap(self.text(value.args[0]), ATOM),
                                                  ns=self.ns), ATOM, value.shape)

    def _spell_spread(self, value: Value) -> Code:
        code = self.text(value.args[0])
        return Code(code.text, code.prec, code.shape)

    def _spell_broadcast(self, value: Value) -> Code:
        code = self.text(value.args[0])
        return Code(self.broadcast_text(code.text, self.shape_text(value.shape)), ATOM,
                    value.shape)

    def _spell_column_sum(self, value: Value) -> Code:
        return Code(self.reduced(self.backend.column_sum, self.text(value.args[0])), ATOM,
                    value.shape)

    def _spell_row_sum(self, value: Value) -> Code:
        return Code(self.reduced(self.backend.row_sum, self.text(value.args[0])), ATOM,
                    value.shape)

    def _spell_total_sum(self, value: Value) -> Code:
        return Code(self.reduced(self.backend.total_sum, self.text(value.args[0])), ATOM,
                    SCALAR)

    def _spell_vdot(self, value: Value) -> Code:
        a, b = (self.atom(arg) for arg in value.args)
        template = self.backend.vdot
        if self.backend.vdot_of_arrays is not None and (a.shape, b.shape) != (SCALAR, SCALAR):
            # An operand larger than 1×1 is an array, never a number.
            template = self.backend.vdot_of_arrays
        return Code(self.idiom(template, "", a=a.text, b=b.text), ATOM, SCALAR)

    def _spell_row_dot(self, value: Value) -> Code:
        a, b = (self.atom(arg) for arg in value.args)
        return Code(self.backend.row_dot.format(ns=self.ns, a=a.text, b=b.text), ATOM,
                    value.shape)

    def _spell_trace(self, value: Value) -> Code:
        x = self.atom(value.args[0]).text
        return Code(self.backend.trace.format(ns=self.ns, x=x), ATOM, SCALAR)

    def _spell_det(self, value: Value) -> Code:
        return Code(f"{self.ns}.linalg.det({self.atom(value.args[0]).text})", ATOM, SCALAR)

    def _helper_call(self, helper: str, value: Value) -> Code:
        self.helpers.add(helper)
        argument = self.atom(value.args[0])
        if self.backend.scalar_function_argument and argument.shape == SCALAR:
            # A number (‖3‖) becomes an array first where helpers find their library from
            # their argument (the array API's array_namespace).
            self.sizes_as_numbers = True  # the entry checks then define float_type
            argument = Code(self.backend.scalar_function_argument.format(x=argument.text), ATOM,
                            SCALAR)
        return Code(f"{helper}({argument.text})", ATOM, value.shape)

    def _spell_logdet(self, value: Value) -> Code:
        # log |det X| through slogdet (no overflow of det for large matrices).
        return self._helper_call("_logdet", value)

    def _spell_inv(self, value: Value) -> Code:
        return self._helper_call("_inv", value)

    def _spell_matfun(self, value: Value) -> Code:
        return self._matrix_helper(f"_{value.attrs[0]}", value)

    def _spell_frechet(self, value: Value) -> Code:
        return self._matrix_helper(f"_{value.attrs[0]}_frechet", value)

    def _spell_frechet2(self, value: Value) -> Code:
        return self._matrix_helper(f"_{value.attrs[0]}_frechet2", value)

    def _matrix_helper(self, helper: str, value: Value) -> Code:
        """A matrix function's helper, where the backend's library has one."""
        if helper not in self.backend.helpers:
            name = str(value.attrs[0])
            raise CodegenError(
                f"the {self.backend.name} backend cannot generate {name}, "
                f"{MATRIX_FUNCTIONS[name].what}: {self.backend.library} has no function for "
                "it or for its derivative. The numpy backend computes every matrix function "
                "through SciPy (docs/language.md lists which backend has which).")
        self.helpers.add(helper)
        arguments = ", ".join(self.atom(arg).text for arg in value.args)
        return Code(f"{helper}({arguments})", ATOM, value.shape)

    def _spell_norm(self, value: Value) -> Code:
        return self._helper_call("_norm", value)

    # ---- row-wise functions --------------------------------------------------------------------

    def _spell_full_1x1(self, value: Value) -> Code:
        x = self.atom(value.args[0]).text
        return Code(self.idiom(self.backend.full_1x1, "a 1×1 matrix of a row function", x=x),
                    ATOM, (1, 1))

    def _spell_logsumexp(self, value: Value) -> Code:
        return self._helper_call("_logsumexp", value)

    def _spell_softmax(self, value: Value) -> Code:
        return self._helper_call("_softmax", value)

    def _spell_sumsq(self, value: Value) -> Code:
        inner = self.atom(value.args[0]).text
        return Code(f"{self.ns}.sum({inner} * {inner}, axis=1, keepdims=True)", ATOM,
                    value.shape)

    def _spell_softmax_from(self, value: Value) -> Code:
        inner, total = self.atom(value.args[0]), self.text(value.args[1])
        return Code(f"{self.ns}.exp({inner.text} - {wrap(total, MUL)})", ATOM, value.shape)

    def _spell_twice(self, value: Value) -> Code:
        return Code(f"2.0 * {wrap(self.atom(value.args[0]), MUL)}", MUL, value.shape)
