"""Text printing of expressions, in the guide's Unicode notation or in MATLAB-style ASCII.

Both styles print what the parser reads back as the same expression (given the program's
declarations): the precedence table mirrors grammar/matgrad.lark, and parentheses are added
exactly where the grammar needs them.  One `_print_<Class>` method per node class; a class without
one raises (no silent fallback to `str`).

Unicode: `Xᵀ((Z − Y) ⊙ f′(A))`, `1ᵀΔ`, `(1/2)‖E‖²`, `A · B`; ASCII: `X'*((Z - Y) .* f'(A))`.
A broadcast made explicit by resolution (`𝟏b` inside a sum) prints as the user wrote it (`b`),
which resolution turns back into the same broadcast.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from matgrad.functions import gradient_display_name
from matgrad.ir import indexing
from matgrad.ir.dims import Dim
from matgrad.ir.expr import (
    NODE_CLASSES,
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
    Var,
    Zero,
    register_text_printer,
)

Style = Literal["unicode", "ascii"]

# Precedence levels, loosest first; they mirror the grammar's rule cascade.
ADD, FROB, PRODUCT, UNARY, JUXT, POWER, POSTFIX, ATOM = 10, 20, 30, 35, 40, 50, 60, 70

SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
# Digits that a following superscript would join into one exponent (s⁻¹ then ² reads s⁻¹²).
SUPERSCRIPT_DIGITS = frozenset("⁰¹²³⁴⁵⁶⁷⁸⁹")
WORD_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class Printed:
    text: str
    prec: int


def _separator(left: str, right: str) -> str:
    """What goes between two juxtaposed factors: a space where the tokens would run together."""
    if left[-1].isdigit():
        # 2Aᵀ needs no space (a name cannot start with a digit), but 2 3 is not 23, and
        # 2 e1 is not the number 2e1.
        return " " if right[0].isdigit() or right[0] in "eE" else ""
    return " " if _is_word_char(right[0]) and (_is_word_char(left[-1]) or left[-1] == ")") \
        else ""


def _is_word_char(char: str) -> bool:
    return char in WORD_CHARS or "\u0370" <= char <= "\u03ff"


def pretty_name(name: str, style: Style) -> str:
    """`W1` → `W₁` in Unicode (the parser reads subscripts back as digits); a layer's `Z[j-1]`
    → `Zⱼ₋₁`."""
    indexed = indexing.pretty(name, style == "unicode")
    if indexed is not None:
        if style == "ascii":
            return indexed.replace("\u0307", "_dot")
        return unicodedata.normalize("NFC", indexed)  # Żⱼ₋₁ as one letter where Unicode has it
    if style == "ascii":
        return name.replace("\u0307", "_dot")  # a tangent Ȧ (second_order.py) as A_dot
    if "\u0307" in name:  # a tangent's dot, composed with its letter where Unicode can (Ȧ)
        name = unicodedata.normalize("NFC", name)
    stem = name.rstrip("0123456789")
    if stem and stem != name and not stem.endswith("_"):
        return stem + name[len(stem):].translate(SUBSCRIPTS)
    return name


def _decimal_exponent(value: int) -> tuple[int, int]:
    """value = mantissa · 10^exponent with the mantissa free of trailing zeros."""
    exponent = 0
    while value and value % 10 == 0:
        value //= 10
        exponent += 1
    return value, exponent


def format_fraction(value: Fraction) -> str:
    """Exact text for a constant: 1/2, 3, and 1e300 or 1e-300 for long powers of ten."""
    numerator, denominator = value.numerator, value.denominator
    if denominator == 1:
        mantissa, exponent = _decimal_exponent(numerator)
        return f"{mantissa}e{exponent}" if exponent > 6 else str(numerator)
    # A denominator of 2s and 5s is an exact decimal: 3/50…0 = 6e-200.
    twos = fives = 0
    rest = denominator
    while rest % 2 == 0:
        rest //= 2
        twos += 1
    while rest % 5 == 0:
        rest //= 5
        fives += 1
    places = max(twos, fives)
    if rest == 1 and places > 6:
        mantissa, trailing = _decimal_exponent(numerator * 10**places // denominator)
        return f"{mantissa}e-{places - trailing}"
    return f"{numerator}/{denominator}"


def _negated(term: Expr) -> Expr | None:
    """The positive form of a term that prints with a leading minus (−x, −x / s, (−A) B, …), so
    that a sum prints a − b, never a + −b; None for other terms.  Values are unchanged."""
    if isinstance(term, Neg):
        return term.x
    if isinstance(term, (Div, MatMul, Hadamard, HadDiv)):
        first = term.x if isinstance(term, Div) else term.a
        inner = _negated(first)
        if inner is not None:
            return term.with_children((inner, *term.children()[1:]))
    return None


def _is_ones_row(expr: Expr) -> bool:
    """The guide's 1ᵀ: a transposed column of ones (its size is read from what it multiplies)."""
    return isinstance(expr, Transpose) and isinstance(expr.x, Ones) and expr.x.cols == 1


class TextPrinter:
    """`exact=True` spells out every 𝟏 whose size its context cannot tell (`ones(t, 1)`), so that
    the text reads back as the same expression; the default writes 𝟏 as the guide does."""

    def __init__(self, style: Style = "unicode", exact: bool = False) -> None:
        self.style = style
        self.unicode = style == "unicode"
        self.exact = exact
        self._dispatch: dict[type[Expr], Callable[[Expr], Printed]] = {
            cls: getattr(self, f"_print_{cls.__name__}") for cls in NODE_CLASSES
        }
        # A node is printed once: cases look at an operand's printed form before printing it
        # into their own, and nested chains would otherwise take time exponential in depth.
        self._memo: dict[Expr, Printed] = {}

    def __call__(self, expr: Expr) -> str:
        return self.print(expr).text

    def print(self, expr: Expr) -> Printed:
        known = self._memo.get(expr)
        if known is not None:
            return known
        method = self._dispatch.get(type(expr))
        if method is None:
            raise TypeError(f"the text printer has no case for {type(expr).__name__}")
        printed = method(expr)
        self._memo[expr] = printed
        return printed

    def at_least(self, expr: Expr, prec: int) -> str:
        printed = self.print(expr)
        return printed.text if printed.prec >= prec else f"({printed.text})"

    # ---- leaves -----------------------------------------------------------------------------

    def _print_Sym(self, expr: Sym) -> Printed:
        return Printed(pretty_name(expr.name, self.style), ATOM)

    def _print_Var(self, expr: Var) -> Printed:
        return Printed(expr.name, ATOM)

    def _print_Const(self, expr: Const) -> Printed:
        value = expr.value
        if value < 0:
            inner = self._print_Const(Const(-value))
            body = inner.text if inner.prec >= JUXT else f"({inner.text})"
            return Printed(f"{self.minus}{body}", UNARY)
        text = format_fraction(value)
        return Printed(text, PRODUCT if "/" in text else ATOM)

    def _print_DimSize(self, expr: DimSize) -> Printed:
        return Printed(pretty_name(expr.dim, self.style), ATOM)

    def _dim(self, dim: Dim) -> str:
        return str(dim)

    def _print_Ones(self, expr: Ones) -> Printed:
        if self.unicode and not self.exact:
            # A row of ones is the guide's 𝟏ᵀ: a bare 𝟏 whose size is left to its context reads
            # back as a column or a full matrix, never as a row.
            if expr.rows == 1 and expr.cols != 1:
                return Printed("𝟏ᵀ", POSTFIX)
            return Printed("𝟏", ATOM)
        return Printed(f"ones({self._dim(expr.rows)}, {self._dim(expr.cols)})", POSTFIX)

    def _print_Zero(self, expr: Zero) -> Printed:
        if self.unicode:
            return Printed("0", ATOM)
        return Printed(f"zeros({self._dim(expr.rows)}, {self._dim(expr.cols)})", POSTFIX)

    def _print_Identity(self, expr: Identity) -> Printed:
        return Printed("I" if self.unicode else f"eye({self._dim(expr.size)})", POSTFIX)

    # ---- sums and products ------------------------------------------------------------------

    @property
    def minus(self) -> str:
        return "−" if self.unicode else "-"

    @staticmethod
    def _broadcast_operand(term: Expr) -> Expr | None:
        """The operand of an explicit broadcast (𝟏b, b𝟏ᵀ, s𝟏), else None.  The resolver keeps a
        minus sign outside a broadcast, so 𝟏(−b) is a product the user wrote: never elided."""
        operand: Expr | None = None
        if isinstance(term, MatMul) and isinstance(term.a, Ones) and term.a.cols == 1:
            operand = term.b
        elif isinstance(term, MatMul) and isinstance(term.b, Ones) and term.b.rows == 1:
            operand = term.a
        elif isinstance(term, Scale) and isinstance(term.x, Ones):
            operand = term.s
        return None if isinstance(operand, Neg) else operand

    def _print_Add(self, expr: Add) -> Printed:
        terms = list(expr.terms)
        # Elide 𝟏 only when some term carries the full shape, so resolution restores it (a
        # printed 𝟏 carries none: 𝟏 + t𝟏 must not print as 𝟏 + t, which reads as a scalar).
        elide = any(self._broadcast_operand(body) is None and not isinstance(body, Ones)
                    for t in terms for body in [t.x if isinstance(t, Neg) else t])
        parts: list[str] = []
        for index, term in enumerate(terms):
            # The exact printer keeps the IR's structure (−x / s and −(x / s) are different
            # trees); the reader's printer moves every leading minus into the sum.
            positive = (term.x if isinstance(term, Neg) else None) if self.exact \
                else _negated(term)
            negative = positive is not None
            body = positive if positive is not None else term
            operand = self._broadcast_operand(body) if elide else None
            if operand is not None:
                body = operand
            if index == 0:
                text = (f"{self.minus}{self.at_least(body, JUXT)}" if negative
                        else self.at_least(body, FROB))
                parts.append(text)
            else:
                parts.append(f" {self.minus} " if negative else " + ")
                parts.append(self.at_least(body, FROB))
        return Printed("".join(parts), ADD)

    def _print_Neg(self, expr: Neg) -> Printed:
        return Printed(f"{self.minus}{self.at_least(expr.x, UNARY)}", UNARY)

    def _juxtapose(self, left: Expr, right: Expr) -> Printed:
        """Unicode matrix/scalar product by juxtaposition, as the guide writes it."""
        if _is_ones_row(left):
            left_text = "1ᵀ"
        else:
            printed_left = self.print(left)
            if isinstance(left, Const) and "/" in printed_left.text:
                left_text = f"({printed_left.text})"
            elif printed_left.prec >= JUXT:
                left_text = printed_left.text
            else:
                left_text = f"({printed_left.text})"
        right_text = self.print(right).text
        if not self._safe_right(right):
            # The right operand is parenthesised: `L(R)` is a juxtaposition like any other
            # (left-associative, below the postfix marks: `L(R)ᵀ` is L·Rᵀ), so the result is a
            # juxtaposed product that a postfix mark or a call-like reading never reaches into.
            return Printed(f"{left_text}({right_text})", JUXT)
        return Printed(f"{left_text}{_separator(left_text, right_text)}{right_text}", JUXT)

    def _binary(self, left: Expr, op: str, right: Expr, prec: int) -> Printed:
        return Printed(f"{self.at_least(left, prec)} {op} {self.at_least(right, prec + 5)}", prec)

    def _print_MatMul(self, expr: MatMul) -> Printed:
        if self.unicode:
            return self._juxtapose(expr.a, expr.b)
        if _is_ones_row(expr.a):
            return Printed(f"1'*{self.at_least(expr.b, UNARY)}", PRODUCT)
        return Printed(f"{self.at_least(expr.a, PRODUCT)}*{self.at_least(expr.b, UNARY)}",
                       PRODUCT)

    def _print_Scale(self, expr: Scale) -> Printed:
        if self.unicode:
            if isinstance(expr.s, (Sym, DimSize)) and not self._safe_right(expr.x):
                # λ(‖w‖²) or t(E + 1) would read as a call of a function λ or t.
                return Printed(f"{self(expr.s)} * {self.at_least(expr.x, UNARY)}", PRODUCT)
            factor = self.print(expr.s)
            if factor.prec == JUXT:
                # A scalar that is itself a product, (1ᵀc)𝟏: 1ᵀc𝟏 would read as one product.
                right = self.print(expr.x).text
                if not self._safe_right(expr.x):
                    return Printed(f"({factor.text})({right})", JUXT)
                return Printed(f"({factor.text}){right}", JUXT)
            if not self.exact and isinstance(expr.x, MatMul) and not self._safe_right(expr.x.b):
                # 2Aᵀ(A x − b), as textbooks write it: it reads back as (2Aᵀ)(A x − b), the
                # same matrix (a scalar commutes with the product); the exact printer, whose
                # output must read back as the same tree, writes 2(Aᵀ(A x − b)).
                left = factor.text if factor.prec > JUXT else f"({factor.text})"
                inner = self.print(expr.x).text
                return Printed(f"{left}{_separator(left, inner)}{inner}", JUXT)
            return self._juxtapose(expr.s, expr.x)
        return Printed(f"{self.at_least(expr.s, PRODUCT)} * {self.at_least(expr.x, UNARY)}",
                       PRODUCT)

    def _safe_right(self, right: Expr) -> bool:
        """Whether a juxtaposed right operand needs no parentheses (see _juxtapose)."""
        printed = self.print(right)
        return printed.prec >= POWER and printed.text[:1] not in ("(", "‖", "<", "−", "|")

    def _print_Div(self, expr: Div) -> Printed:
        # A juxtaposed divisor is parenthesised: `1 / xᵀx` would be ambiguous to a reader (and
        # the parser refuses it), so the printer writes 1 / (xᵀx).
        return Printed(f"{self.at_least(expr.x, PRODUCT)} / {self.at_least(expr.s, JUXT + 1)}",
                       PRODUCT)

    def _print_Hadamard(self, expr: Hadamard) -> Printed:
        return self._binary(expr.a, "⊙" if self.unicode else ".*", expr.b, PRODUCT)

    def _print_HadDiv(self, expr: HadDiv) -> Printed:
        return self._binary(expr.a, "./", expr.b, PRODUCT)

    def _print_HadPower(self, expr: HadPower) -> Printed:
        exponent = expr.exponent
        plain = isinstance(exponent, Const) and exponent.value.denominator == 1 and \
            exponent.value > 0
        shown = self(exponent) if plain else f"({self(exponent)})"
        return Printed(f"{self.at_least(expr.base, POSTFIX)} .^ {shown}", POWER)

    def _print_Frob(self, expr: Frob) -> Printed:
        if self.unicode:
            # Operands that are themselves products get parentheses, as the guide writes
            # (Z − Y) · (f′(A) ⊙ dA); the grammar would not need them.
            return Printed(f"{self.at_least(expr.a, JUXT)} · {self.at_least(expr.b, JUXT)}",
                           FROB)
        return Printed(f"<{self(expr.a)}, {self(expr.b)}>", ATOM)

    def _print_RowDot(self, expr: RowDot) -> Printed:
        return Printed(f"rowdot({self(expr.a)}, {self(expr.b)})", POSTFIX)

    # ---- postfix and calls ------------------------------------------------------------------

    def _print_Transpose(self, expr: Transpose) -> Printed:
        mark = "ᵀ" if self.unicode else "'"
        if _is_ones_row(expr) and not self.exact:
            # 1ᵀ on the left of a product is the guide's row of column sums (_juxtapose);
            # anywhere else a row of ones is the bold 𝟏ᵀ, like the column 𝟏 beside it.
            return Printed("𝟏ᵀ" if self.unicode else f"1{mark}", POSTFIX)
        if isinstance(expr.x, Ones) and self.unicode and not self.exact:
            # The transpose of a matrix of ones is the matrix of ones of the other shape: 𝟏ᵀ
            # of an n×n 𝟏 would read back as a row.
            return self._print_Ones(Ones(expr.x.cols, expr.x.rows))
        return Printed(f"{self.at_least(expr.x, POSTFIX)}{mark}", POSTFIX)

    def _print_Power(self, expr: Power) -> Printed:
        base = self.at_least(expr.base, POSTFIX)
        exponent = expr.exponent
        value = exponent.value if isinstance(exponent, Const) else (
            -exponent.x.value if isinstance(exponent, Neg) and isinstance(exponent.x, Const)
            else None)
        if self.unicode and value is not None and value.denominator == 1:
            if base[-1] in SUPERSCRIPT_DIGITS:
                base = f"({base})"  # s⁻¹² is one superscript, s to the −12: write (s⁻¹)²
            return Printed(base + str(value.numerator).translate(SUPERSCRIPTS), POWER)
        if value is not None and value.denominator == 1:
            return Printed(f"{base}^{value.numerator}", POWER)
        return Printed(f"{base}^({self(exponent)})", POWER)

    def _call(self, name: str, *args: Expr) -> Printed:
        return Printed(f"{name}({', '.join(self(arg) for arg in args)})", POSTFIX)

    def _print_Apply(self, expr: Apply) -> Printed:
        primes = ("′" if self.unicode else "'") * expr.order
        return self._call(pretty_name(expr.fn, self.style) + primes, expr.arg)

    def _print_RowApply(self, expr: RowApply) -> Printed:
        return self._call(expr.fn, expr.arg)

    def _print_RowGrad(self, expr: RowGrad) -> Printed:
        own_name = gradient_display_name(expr.fn)
        if own_name is not None:
            return self._call(own_name, expr.arg)
        return self._call(("∇" if self.unicode else "grad_") + expr.fn, expr.arg)

    def _print_Sum(self, expr: Sum) -> Printed:
        return self._call("sum", expr.x)

    def _print_Trace(self, expr: Trace) -> Printed:
        return self._call("tr", expr.x)

    def _print_Det(self, expr: Det) -> Printed:
        return self._call("det", expr.x)

    def _print_LogDet(self, expr: LogDet) -> Printed:
        return self._call("logdet", expr.x)

    def _print_Inv(self, expr: Inv) -> Printed:
        if self.unicode:  # X⁻¹ as the textbooks write it (read back as the inverse)
            return Printed(f"{self.at_least(expr.x, POSTFIX)}⁻¹", POSTFIX)
        return self._call("inv", expr.x)

    def _print_MatFun(self, expr: MatFun) -> Printed:
        return self._call(expr.fn, expr.x)

    def _print_Frechet(self, expr: Frechet) -> Printed:
        # Higham's L_f(X, E), as the rule files write it.
        return self._call(f"L_{expr.fn}", expr.x, expr.e)

    def _print_Frechet2(self, expr: Frechet2) -> Printed:
        return self._call(f"L2_{expr.fn}", expr.x, expr.e1, expr.e2)

    def _print_Norm(self, expr: Norm) -> Printed:
        bar = "‖" if self.unicode else "||"
        return Printed(f"{bar}{self(expr.x)}{bar}", ATOM)

    def _print_Diff(self, expr: Diff) -> Printed:
        inner = self.print(expr.x)
        if isinstance(expr.x, (Sym, Var)):
            return Printed(f"d{inner.text}", ATOM)
        return Printed(f"d({inner.text})", POSTFIX)


_PRINTERS = {(style, exact): TextPrinter(style, exact)
             for style in ("unicode", "ascii") for exact in (False, True)}


def to_text(expr: Expr, style: Style = "unicode", exact: bool = False) -> str:
    """The expression in the guide's notation (or ASCII); `exact` for text that reads back."""
    return _PRINTERS[(style, exact)](expr)


register_text_printer(to_text)
