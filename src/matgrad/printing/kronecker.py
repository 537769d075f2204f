"""Kronecker forms (ir/kronecker.py) in text and LaTeX, as the Matrix Cookbook writes them.

A term prints as its coefficient and its factors left to right: Kron(B, A) as `B ⊗ A`, a mask
as `diag(vec(K))` (`diag(k)` on a vector), a transposition as the commutation matrix
`K₍ₘ,ₙ₎`, an inner product as `vec(K)ᵀ`, a spread as `vec(K)`; an identity carries its size
(`Iₖ`), which the Kronecker product needs.  So ‖X − UVᵀ‖² prints H_UU = `2(VᵀV ⊗ Iₘ)` and
logdet X prints `−(X⁻¹ ⊗ X⁻ᵀ) K₍ₙ,ₙ₎`.

Invariant: the printed factors are those evaluated (linear_maps.py), in the same order.
"""

from __future__ import annotations

from collections.abc import Callable

from matgrad.ir.dims import SCALAR, Dim
from matgrad.ir.expr import (
    Add,
    Const,
    Div,
    Expr,
    Hadamard,
    HadDiv,
    MatMul,
    Neg,
    Ones,
    Scale,
    Transpose,
)
from matgrad.ir.kronecker import Factor, Flip, Inner, Kron, KroneckerForm, Mask, Term
from matgrad.ir.text import Style, to_text
from matgrad.printing.latex_names import latex_name

COMMUTATION_NOTE = "K₍ₘ,ₙ₎ is the commutation matrix: vec(Mᵀ) = K₍ₘ,ₙ₎ vec(M) for M m×n"
COMMUTATION_LATEX = ("$\\mathbf{K}_{(m,n)}$ is the commutation matrix: "
                     "$\\operatorname{vec}(\\mathbf{M}^\\top) = \\mathbf{K}_{(m,n)}"
                     "\\operatorname{vec}(\\mathbf{M})$ for an $m \\times n$ matrix $\\mathbf{M}$.")
_SUBSCRIPTS = str.maketrans("0123456789aehijklmnoprstuvx,()", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ,₍₎")
_COMPOUND = (Add, Neg, Scale, Div, Hadamard, HadDiv, MatMul)


def _subscript(text: str) -> str:
    if all(char in "0123456789aehijklmnoprstuvx,()" for char in text):
        return text.translate(_SUBSCRIPTS)
    return f"_{text}" if len(text) == 1 or text.isdigit() else f"_({text})"


class _Writer:
    """Prints the parts of a form with one expression printer (text or LaTeX)."""

    def __init__(self, expression: Callable[[Expr], str], latex: bool, style: Style) -> None:
        self.expression = expression
        self.latex = latex
        self.ascii = style == "ascii" and not latex  # MATLAB-like: kron(B, A), eye(n), *

    def operand(self, expr: Expr) -> str:
        if isinstance(expr, Ones) and expr.rows != 1 and expr.cols != 1:
            expr = MatMul(Ones(expr.rows, 1), Transpose(Ones(expr.cols, 1)))  # 𝟏𝟏ᵀ
        text = self.expression(expr)
        if isinstance(expr, _COMPOUND):
            return f"\\left({text}\\right)" if self.latex else f"({text})"
        return text

    def scalar(self, expr: Expr) -> str:
        """A coefficient, in parentheses where it would not read as one factor (a LaTeX
        fraction does)."""
        text = self.expression(expr)
        if isinstance(expr, (Add, Neg, Hadamard, HadDiv)) or (isinstance(expr, Div)
                                                              and not self.latex):
            return f"\\left({text}\\right)" if self.latex else f"({text})"
        return text

    def dim(self, dim: Dim) -> str:
        """A size as this writer prints it (in LaTeX through latex_name: n_in is n_{in})."""
        return latex_name(dim, False) if self.latex and isinstance(dim, str) else str(dim)

    def identity(self, *sizes: Dim) -> str:
        """I of the product of `sizes` (Iₙₘ = Iₘ ⊗ Iₙ)."""
        if self.latex:
            return f"\\mathbf{{I}}_{{{' '.join(map(self.dim, sizes))}}}"
        if self.ascii:
            return f"eye({'*'.join(map(str, sizes))})"
        return "I" + _subscript("".join(map(str, sizes)))

    def commutation(self, rows: Dim, cols: Dim) -> str:
        if self.latex:
            return f"\\mathbf{{K}}_{{({self.dim(rows)},{self.dim(cols)})}}"
        if self.ascii:
            return f"commutation({rows}, {cols})"
        return "K" + _subscript(f"({rows},{cols})")

    def kron(self, outer: str, inner: str) -> str:
        if self.ascii:
            return f"kron({outer}, {inner})"
        times = " \\otimes " if self.latex else " ⊗ "
        return f"{outer}{times}{inner}"

    def vec(self, expr: Expr) -> str:
        inner = self.expression(expr)
        return f"\\operatorname{{vec}}\\left({inner}\\right)" if self.latex else f"vec({inner})"

    def transposed(self, text: str) -> str:
        return text + ("^\\top" if self.latex else "'" if self.ascii else "ᵀ")

    def factor(self, factor: Factor) -> str:
        if isinstance(factor, Kron):
            rows, cols = factor.source
            if factor.source == SCALAR and factor.target == SCALAR:
                found = factor.inner if factor.inner is not None else factor.outer
                assert found is not None
                return self.operand(found)
            if factor.outer is None and factor.inner is None:  # Iₙ ⊗ Iₘ = Iₘₙ
                if cols != 1 and rows != 1:
                    return self.identity(rows, cols)
                return self.identity(rows if cols == 1 else cols)
            outer = self.identity(cols) if factor.outer is None else self.operand(factor.outer)
            inner = self.identity(rows) if factor.inner is None else self.operand(factor.inner)
            # On a vector one side is the 1×1 identity: I₁ ⊗ A = A, B ⊗ I₁ = B.
            if cols == 1 and factor.outer is None:
                return inner
            if rows == 1 and factor.inner is None:
                return outer
            return self.kron(outer, inner)
        if isinstance(factor, Flip):
            return self.commutation(*factor.source)
        if isinstance(factor, Mask):
            vector = factor.source[0] == 1 or factor.source[1] == 1
            inside = self.expression(factor.factor) if vector else self.vec(factor.factor)
            diag = "\\operatorname{diag}" if self.latex else "diag"
            written = f"{diag}\\left({inside}\\right)" if self.latex else f"{diag}({inside})"
            if factor.divide:
                written = (written + "^{-1}" if self.latex else
                           f"inv({written})" if self.ascii else written + "⁻¹")
            return written
        if isinstance(factor, Inner):
            return self.transposed(self.vec(factor.factor))
        return self.vec(factor.factor)

    def term(self, term: Term) -> tuple[bool, str]:
        """(negative, the term's text without its sign)."""
        negative, pieces = self.term_pieces(term)
        return negative, (" * " if self.ascii else " ").join(pieces)

    def term_pieces(self, term: Term) -> tuple[bool, list[str]]:
        """(negative, the term's factors as printed, the coefficient on the first): a product
        of juxtaposed factors, so a line may break between any two of them."""
        negative = False
        coefficient = term.coefficient
        if isinstance(coefficient, Neg):
            negative, coefficient = True, coefficient.x
        if isinstance(coefficient, Const) and coefficient.value < 0:
            negative, coefficient = True, Const(-coefficient.value)
        factors = [self.factor(factor) for factor in term.factors]
        if len(factors) > 1 or coefficient is not None:
            factors = [_wrapped(text, self.latex) if _kronecker_product(text, factor) else text
                       for text, factor in zip(factors, term.factors, strict=True)]
        if coefficient is not None and not (isinstance(coefficient, Const)
                                            and coefficient.value == 1):
            factors[0] = self.scalar(coefficient) + ("*" if self.ascii else "") + factors[0]
        return negative, factors

    def pieces(self, form: KroneckerForm) -> list[str]:
        """The form as pieces that join with spaces: each term's factors, its sign (`+ `,
        `− `, none on the first) on its first."""
        if not form.terms:
            return ["0" if not self.latex else "\\mathbf{0}"]
        minus = "-" if self.latex or self.ascii else "−"
        found: list[str] = []
        for index, term in enumerate(form.terms):
            negative, factors = self.term_pieces(term)
            sign = ((minus if negative else "") if index == 0
                    else (f"{minus} " if negative else "+ "))
            found += [sign + factors[0], *factors[1:]]
        return found

    def form(self, form: KroneckerForm) -> str:
        if not self.ascii:
            return " ".join(self.pieces(form))
        return " ".join(sign + text for sign, text in
                        ((("- " if negative else "+ ") if index else ("-" if negative else ""),
                          written) for index, (negative, written) in
                         enumerate(map(self.term, form.terms)))) or "0"


def _kronecker_product(text: str, factor: Factor) -> bool:
    return isinstance(factor, Kron) and ("⊗" in text or "\\otimes" in text)


def _wrapped(text: str, latex: bool) -> str:
    return f"\\left({text}\\right)" if latex else f"({text})"


def kronecker_text(form: KroneckerForm, shown: Callable[[Expr], Expr],
                   style: Style = "unicode") -> str:
    """The form in the guide's text notation; `shown` writes each matrix as printed results
    are (textbook derivatives)."""
    return _Writer(lambda expr: to_text(shown(expr), style), False, style).form(_sized(form))


def kronecker_latex(form: KroneckerForm, shown: Callable[[Expr], Expr],
                    printer: Callable[[Expr], str]) -> list[str]:
    """The form in LaTeX as pieces a line may break between (see `_Writer.pieces`)."""
    return _Writer(lambda expr: printer(shown(expr)), True, "unicode").pieces(_sized(form))


def commutes(form: object) -> bool:
    """Whether a block is a Kronecker form with a commutation matrix in it."""
    return isinstance(form, KroneckerForm) and any(
        isinstance(factor, Flip) for term in form.terms for factor in term.factors)


def _sized(form: KroneckerForm) -> KroneckerForm:
    """The form with an identity chain written as one Kron, so that it prints with sizes."""
    terms = tuple(term if term.factors else Term(term.coefficient, (
        Kron(None, None, form.source, form.source),)) for term in form.terms)
    return KroneckerForm(terms, form.source, form.target)


__all__ = ["COMMUTATION_LATEX", "COMMUTATION_NOTE", "commutes", "kronecker_latex",
           "kronecker_text"]
