"""MathML Core for the IR, one method per node class as the LaTeX printer has: what a browser
renders natively (Chromium, Firefox and Safari implement MathML Core), so the page and the JSON
output show mathematics with no script and no network.

Matrices are bold, scalars italic, as in the guide; the layout — products by juxtaposition,
⊙ and ⊘, ·  for the Frobenius product, ᵀ and ⁻¹ as superscripts, fractions as <mfrac> — is the
LaTeX printer's, operator for operator, with the same precedences (ir/text.py).

Invariants: every node class of the IR has a method (a test checks); user text (a name) only
reaches the output escaped (`html.escape`), so a name can never open a tag.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from matgrad.functions import gradient_display_name
from matgrad.ir import indexing
from matgrad.ir.dims import SCALAR, Shape
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
)
from matgrad.ir.text import (
    ADD,
    ATOM,
    FROB,
    JUXT,
    POSTFIX,
    POWER,
    PRODUCT,
    UNARY,
    format_fraction,
)

MATHML_NAMESPACE = "http://www.w3.org/1998/Math/MathML"
INVISIBLE_TIMES = "\u2062"
SUBSCRIPT_DIGITS = "0123456789"


@dataclass(frozen=True)
class MathML:
    text: str
    prec: int


def _mo(symbol: str) -> str:
    return f"<mo>{html.escape(symbol)}</mo>"


def _mi(text: str, bold: bool = False) -> str:
    variant = ' mathvariant="bold"' if bold else (' mathvariant="normal"' if len(text) > 1
                                                  else "")
    return f"<mi{variant}>{html.escape(text)}</mi>"


def mathml_name(name: str, bold: bool) -> str:
    """A name as MathML: W → bold W; W1 and Z[j-1] with their subscripts; ΔZ bold, Greek
    included."""
    parts = indexing.split(name)
    if parts is not None:
        base, index = parts
        return f"<msub>{_mi(base, bold)}<mrow>{html.escape(index.text())}</mrow></msub>"
    stem = name.rstrip(SUBSCRIPT_DIGITS)
    if stem and stem != name and not stem.endswith("_"):
        return f"<msub>{_mi(stem, bold)}<mn>{name[len(stem):]}</mn></msub>"
    return _mi(name, bold)


def wrapped(text: str) -> str:
    return f"<mrow>{_mo('(')}{text}{_mo(')')}</mrow>"


class MathMLPrinter:
    """`printer(expr)` is the MathML of `expr` (an <mrow>, to go inside a <math>)."""

    def __init__(self, shapes: dict[str, Shape] | None = None) -> None:
        self.shapes = shapes or {}
        self._dispatch: dict[type[Expr], Callable[[Expr], MathML]] = {
            cls: getattr(self, f"_print_{cls.__name__}") for cls in NODE_CLASSES}

    def __call__(self, expr: Expr) -> str:
        return self.print(expr).text

    def math(self, expr: Expr, label: str | None = None) -> str:
        """A complete <math display="block"> element, `label` (MathML) = expr when given."""
        body = self(expr) if label is None else f"{label}{_mo('=')}{self(expr)}"
        return f'<math xmlns="{MATHML_NAMESPACE}" display="block"><mrow>{body}</mrow></math>'

    def print(self, expr: Expr) -> MathML:
        method = self._dispatch.get(type(expr))
        if method is None:
            raise TypeError(f"the MathML printer has no case for {type(expr).__name__}")
        return method(expr)

    def at_least(self, expr: Expr, prec: int) -> str:
        printed = self.print(expr)
        return printed.text if printed.prec >= prec else wrapped(printed.text)

    def _bold(self, name: str) -> bool:
        shape = self.shapes.get(name)
        return name[:1].isupper() if shape is None else shape != SCALAR

    def _print_Sym(self, expr: Sym) -> MathML:
        return MathML(mathml_name(expr.name, self._bold(expr.name)), ATOM)

    def _print_Var(self, expr: Var) -> MathML:
        return MathML(mathml_name(expr.name, expr.name[:1].isupper()), ATOM)

    def _print_Const(self, expr: Const) -> MathML:
        value = expr.value
        if value < 0:
            return MathML(f"<mrow>{_mo('−')}{self._print_Const(Const(-value)).text}</mrow>",
                          UNARY)
        if value.denominator != 1:
            return MathML(f"<mfrac><mn>{value.numerator}</mn><mn>{value.denominator}</mn>"
                          "</mfrac>", ATOM)
        written = format_fraction(value)
        if "e" in written:
            mantissa, exponent = written.split("e")
            power = f"<msup><mn>10</mn><mn>{exponent}</mn></msup>"
            return MathML(power if mantissa == "1" else
                          f"<mrow><mn>{mantissa}</mn>{_mo('·')}{power}</mrow>", ATOM)
        return MathML(f"<mn>{written}</mn>", ATOM)

    def _print_DimSize(self, expr: DimSize) -> MathML:
        return MathML(mathml_name(expr.dim, False), ATOM)

    def _print_Ones(self, expr: Ones) -> MathML:
        return MathML('<mn mathvariant="bold">1</mn>', ATOM)

    def _print_Zero(self, expr: Zero) -> MathML:
        return MathML('<mn mathvariant="bold">0</mn>', ATOM)

    def _print_Identity(self, expr: Identity) -> MathML:
        return MathML(_mi("I", True), ATOM)

    def _print_Add(self, expr: Add) -> MathML:
        parts: list[str] = []
        for index, term in enumerate(expr.terms):
            negative = isinstance(term, Neg)
            body = self.at_least(term.x if isinstance(term, Neg) else term, FROB)
            if index or negative:
                parts.append(_mo("−" if negative else "+"))
            parts.append(body)
        return MathML(f"<mrow>{''.join(parts)}</mrow>", ADD)

    def _print_Neg(self, expr: Neg) -> MathML:
        return MathML(f"<mrow>{_mo('−')}{self.at_least(expr.x, UNARY)}</mrow>", UNARY)

    def _juxtapose(self, left: Expr, right: Expr) -> MathML:
        left_text = self.at_least(left, JUXT)
        if isinstance(left, Const) and left.value.denominator != 1:
            left_text = self(left)
        return MathML(f"<mrow>{left_text}{_mo(INVISIBLE_TIMES)}{self.at_least(right, POWER)}"
                      "</mrow>", JUXT)

    def _print_MatMul(self, expr: MatMul) -> MathML:
        return self._juxtapose(expr.a, expr.b)

    def _print_Scale(self, expr: Scale) -> MathML:
        return self._juxtapose(expr.s, expr.x)

    def _print_Div(self, expr: Div) -> MathML:
        return MathML(f"<mfrac><mrow>{self(expr.x)}</mrow><mrow>{self(expr.s)}</mrow></mfrac>",
                      ATOM)

    def _binary(self, left: Expr, op: str, right: Expr, prec: int) -> MathML:
        return MathML(f"<mrow>{self.at_least(left, prec)}{_mo(op)}"
                      f"{self.at_least(right, prec + 5)}</mrow>", prec)

    def _print_Hadamard(self, expr: Hadamard) -> MathML:
        return self._binary(expr.a, "⊙", expr.b, PRODUCT)

    def _print_HadDiv(self, expr: HadDiv) -> MathML:
        return self._binary(expr.a, "⊘", expr.b, PRODUCT)

    def _print_Frob(self, expr: Frob) -> MathML:
        return MathML(f"<mrow>{self.at_least(expr.a, JUXT)}{_mo('·')}"
                      f"{self.at_least(expr.b, JUXT)}</mrow>", FROB)

    def _call(self, name: str, *args: Expr) -> str:
        inner = _mo(",").join(self(arg) for arg in args)
        return f"<mrow>{name}{_mo(INVISIBLE_TIMES)}{wrapped(inner)}</mrow>"

    def _print_RowDot(self, expr: RowDot) -> MathML:
        return MathML(self._call(_mi("rowdot"), expr.a, expr.b), POSTFIX)

    def _superscript(self, base: Expr, script: str) -> str:
        return f"<msup>{self.at_least(base, POSTFIX + 1)}{script}</msup>"

    def _print_Transpose(self, expr: Transpose) -> MathML:
        if isinstance(expr.x, Inv):  # the inverse transpose, as the Cookbook writes it: X⁻ᵀ
            return MathML(self._superscript(expr.x.x, f"<mrow>{_mo('−')}{_mo('⊤')}</mrow>"),
                          POSTFIX)
        return MathML(self._superscript(expr.x, _mo("⊤")), POSTFIX)

    def _print_HadPower(self, expr: HadPower) -> MathML:
        return MathML(self._superscript(expr.base, f"<mrow>{_mo('∘')}{self(expr.exponent)}"
                                                   "</mrow>"), POWER)

    def _print_Power(self, expr: Power) -> MathML:
        return MathML(self._superscript(expr.base, f"<mrow>{self(expr.exponent)}</mrow>"),
                      POWER)

    def _print_Apply(self, expr: Apply) -> MathML:
        name = _mi(expr.fn)
        if expr.order:
            name = f"<msup>{name}{_mo('′' * expr.order)}</msup>"
        return MathML(self._call(name, expr.arg), POSTFIX)

    def _print_RowApply(self, expr: RowApply) -> MathML:
        return MathML(self._call(_mi(expr.fn), expr.arg), POSTFIX)

    def _print_RowGrad(self, expr: RowGrad) -> MathML:
        own = gradient_display_name(expr.fn)
        name = _mi(own) if own is not None else f"<mrow>{_mo('∇')}{_mi(expr.fn)}</mrow>"
        return MathML(self._call(name, expr.arg), POSTFIX)

    def _print_Sum(self, expr: Sum) -> MathML:
        return MathML(self._call(_mi("sum"), expr.x), POSTFIX)

    def _print_Trace(self, expr: Trace) -> MathML:
        return MathML(self._call(_mi("tr"), expr.x), POSTFIX)

    def _print_Det(self, expr: Det) -> MathML:
        return MathML(self._call(_mi("det"), expr.x), POSTFIX)

    def _print_LogDet(self, expr: LogDet) -> MathML:
        return MathML(self._call(f"<mrow>{_mi('log')}{_mi('det')}</mrow>", expr.x), POSTFIX)

    def _print_Inv(self, expr: Inv) -> MathML:
        return MathML(self._superscript(expr.x, f"<mrow>{_mo('−')}<mn>1</mn></mrow>"),
                      POSTFIX)

    def _print_MatFun(self, expr: MatFun) -> MathML:
        return MathML(self._call(_mi(expr.fn), expr.x), POSTFIX)

    def _print_Frechet(self, expr: Frechet) -> MathML:
        name = f"<msub>{_mi('L')}{_mi(expr.fn)}</msub>"
        return MathML(self._call(name, expr.x, expr.e), POSTFIX)

    def _print_Frechet2(self, expr: Frechet2) -> MathML:
        name = f"<msubsup>{_mi('L')}{_mi(expr.fn)}<mn>(2)</mn></msubsup>"
        return MathML(self._call(name, expr.x, expr.e1, expr.e2), POSTFIX)

    def _print_Norm(self, expr: Norm) -> MathML:
        return MathML(f"<mrow>{_mo('‖')}{self(expr.x)}{_mo('‖')}</mrow>", ATOM)

    def _print_Diff(self, expr: Diff) -> MathML:
        inner = self.print(expr.x)
        body = inner.text if isinstance(expr.x, (Sym, Var)) else wrapped(inner.text)
        return MathML(f"<mrow>{_mi('d')}{body}</mrow>", POSTFIX)
