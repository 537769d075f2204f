"""LaTeX: expressions in the guide's notation, and derivations as `align*` blocks.

Matrices are bold (`\\mathbf{X}`, `\\boldsymbol{\\Delta}`), 1×1 names are italic or Greek
(`alpha` → `\\alpha`), trailing digits are subscripts (`W1` → `\\mathbf{W}_{1}`), ⊙ is `\\odot`,
the Frobenius product `\\cdot`, transposes `^\\top`, `\\mathbf{1}^\\top`, `f'`, `\\frac{1}{t}`.

Safety invariant: a user's names reach LaTeX only through `latex_name`, which accepts letters,
digits, `_` and Greek letters (all the grammar allows) and spells `_` as `\\_` inside
`\\text{}`/`\\mathrm{}`; no user text can form a LaTeX command.

A derivation is one line per group of steps: consecutive steps of the same kind (expanding
differentials, or moving them to the right) for the same node are merged and cite the union of
their identities, as the guide writes "by (8), (12)".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from matgrad.engine.hessian import Hessian
from matgrad.engine.history import Step
from matgrad.engine.results import Derivation, Product
from matgrad.functions import ELEMENTWISE, ROWWISE, gradient_display_name
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
from matgrad.ir.kronecker import KroneckerForm
from matgrad.ir.shapes import shape_of
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
from matgrad.matrix_functions import MATRIX_FUNCTIONS
from matgrad.printing.kronecker import COMMUTATION_LATEX, commutes, kronecker_latex
from matgrad.printing.latex_lines import (
    FIT,
    broken_definition,
    opening_lines,
    state_lines,
    visible_width,
)
from matgrad.printing.latex_names import latex_name
from matgrad.printing.textbook import textbook_writer
from matgrad.rewrite.rules import GuardContext, Rule
from matgrad.rewrite.simplify import Tidier


@dataclass(frozen=True)
class Latex:
    text: str
    prec: int


class LatexPrinter:
    def __init__(self, shapes: dict[str, Shape] | None = None) -> None:
        self.shapes = shapes or {}
        self._dispatch: dict[type[Expr], Callable[[Expr], Latex]] = {
            cls: getattr(self, f"_print_{cls.__name__}") for cls in NODE_CLASSES
        }

    def __call__(self, expr: Expr) -> str:
        return self.print(expr).text

    def print(self, expr: Expr) -> Latex:
        method = self._dispatch.get(type(expr))
        if method is None:
            raise TypeError(f"the LaTeX printer has no case for {type(expr).__name__}")
        return method(expr)

    def at_least(self, expr: Expr, prec: int) -> str:
        printed = self.print(expr)
        return printed.text if printed.prec >= prec else f"\\left({printed.text}\\right)"

    def _bold(self, name: str) -> bool:
        shape = self.shapes.get(name)
        if shape is None:  # rule variables: upper case are matrices
            return name[:1].isupper()
        return shape != SCALAR

    def _print_Sym(self, expr: Sym) -> Latex:
        return Latex(latex_name(expr.name, self._bold(expr.name)), ATOM)

    def _print_Var(self, expr: Var) -> Latex:
        return Latex(latex_name(expr.name, expr.name[:1].isupper()), ATOM)

    def _print_Const(self, expr: Const) -> Latex:
        value = expr.value
        if value < 0:
            return Latex(f"-{self._print_Const(Const(-value)).text}", UNARY)
        written = format_fraction(value)
        if "e" in written:
            # A long power of ten as the text writes it (2e300): 2 \cdot 10^{300}, not 301 digits.
            mantissa, exponent = written.split("e")
            power = f"10^{{{exponent}}}"
            return Latex(power if mantissa == "1" else f"{mantissa} \\cdot {power}", ATOM)
        if value.denominator == 1:
            return Latex(str(value.numerator), ATOM)
        return Latex(f"\\frac{{{value.numerator}}}{{{value.denominator}}}", ATOM)

    def _print_DimSize(self, expr: DimSize) -> Latex:
        return Latex(latex_name(expr.dim, False), ATOM)

    def _print_Ones(self, expr: Ones) -> Latex:
        return Latex("\\mathbf{1}", ATOM)

    def _print_Zero(self, expr: Zero) -> Latex:
        return Latex("\\mathbf{0}", ATOM)

    def _print_Identity(self, expr: Identity) -> Latex:
        return Latex("\\mathbf{I}", ATOM)

    def _print_Add(self, expr: Add) -> Latex:
        parts: list[str] = []
        for index, term in enumerate(expr.terms):
            if isinstance(term, Neg):
                body = self.at_least(term.x, FROB)
                parts.append(f"-{body}" if index == 0 else f" - {body}")
            else:
                body = self.at_least(term, FROB)
                parts.append(body if index == 0 else f" + {body}")
        return Latex("".join(parts), ADD)

    def _print_Neg(self, expr: Neg) -> Latex:
        return Latex(f"-{self.at_least(expr.x, UNARY)}", UNARY)

    def _juxtapose(self, left: Expr, right: Expr) -> Latex:
        left_text = self.at_least(left, JUXT)
        if isinstance(left, Const) and left.value.denominator != 1:
            left_text = self.print(left).text
        return Latex(f"{left_text} {self.at_least(right, POWER)}", JUXT)

    def _print_MatMul(self, expr: MatMul) -> Latex:
        return self._juxtapose(expr.a, expr.b)

    def _print_Scale(self, expr: Scale) -> Latex:
        return self._juxtapose(expr.s, expr.x)

    def _print_Div(self, expr: Div) -> Latex:
        return Latex(f"\\frac{{{self(expr.x)}}}{{{self(expr.s)}}}", ATOM)

    def _binary(self, left: Expr, op: str, right: Expr, prec: int) -> Latex:
        return Latex(f"{self.at_least(left, prec)} {op} {self.at_least(right, prec + 5)}", prec)

    def _print_Hadamard(self, expr: Hadamard) -> Latex:
        return self._binary(expr.a, "\\odot", expr.b, PRODUCT)

    def _print_HadDiv(self, expr: HadDiv) -> Latex:
        return self._binary(expr.a, "\\oslash", expr.b, PRODUCT)

    def _print_Frob(self, expr: Frob) -> Latex:
        return Latex(f"{self.at_least(expr.a, JUXT)} \\cdot {self.at_least(expr.b, JUXT)}",
                     FROB)

    def _print_RowDot(self, expr: RowDot) -> Latex:
        return Latex(f"\\operatorname{{rowdot}}\\left({self(expr.a)}, {self(expr.b)}\\right)",
                     POSTFIX)

    def _superscript_base(self, expr: Expr) -> str:
        text = self.at_least(expr, POSTFIX)
        # A base that already carries a superscript is grouped: {X^\top}^\top, not X^\top^\top.
        return f"{{{text}}}" if isinstance(expr, (Transpose, Power, HadPower, Inv)) else text

    def _print_Transpose(self, expr: Transpose) -> Latex:
        if isinstance(expr.x, Inv):  # the inverse transpose, as the Cookbook writes it: X^{-T}
            return Latex(f"{self._superscript_base(expr.x.x)}^{{-\\top}}", POSTFIX)
        return Latex(f"{self._superscript_base(expr.x)}^\\top", POSTFIX)

    def _print_HadPower(self, expr: HadPower) -> Latex:
        # The Hadamard power, as the Cookbook and matrixcalculus.org write it: X^{∘p}.
        return Latex(f"{self._superscript_base(expr.base)}^{{\\circ {self(expr.exponent)}}}",
                     POWER)

    def _print_Power(self, expr: Power) -> Latex:
        return Latex(f"{self._superscript_base(expr.base)}^{{{self(expr.exponent)}}}", POWER)

    @staticmethod
    def _function_name(name: str) -> str:
        if name in ELEMENTWISE:
            latex = ELEMENTWISE[name].latex
            return latex if latex is not None else f"\\{name}"
        if name in ROWWISE:
            return ROWWISE[name].latex
        return latex_name(name, False)

    def _print_Apply(self, expr: Apply) -> Latex:
        known = ELEMENTWISE.get(expr.fn)
        if known is not None and known.latex_call is not None and expr.order == 0:
            return Latex(known.latex_call.format(x=self(expr.arg)), POSTFIX)
        primes = "'" * expr.order
        name = self._function_name(expr.fn)
        if primes:
            name = f"{{{name}}}{primes}"
        return Latex(f"{name}({self(expr.arg)})", POSTFIX)

    def _print_RowApply(self, expr: RowApply) -> Latex:
        return Latex(f"{self._function_name(expr.fn)}({self(expr.arg)})", POSTFIX)

    def _print_RowGrad(self, expr: RowGrad) -> Latex:
        own_name = gradient_display_name(expr.fn)
        if own_name is not None:
            return Latex(f"\\operatorname{{{own_name}}}({self(expr.arg)})", POSTFIX)
        return Latex(f"\\nabla {self._function_name(expr.fn)}({self(expr.arg)})", POSTFIX)

    def _print_Sum(self, expr: Sum) -> Latex:
        return Latex(f"\\operatorname{{sum}}({self(expr.x)})", POSTFIX)

    def _print_Trace(self, expr: Trace) -> Latex:
        return Latex(f"\\operatorname{{tr}}({self(expr.x)})", POSTFIX)

    def _print_Det(self, expr: Det) -> Latex:
        return Latex(f"\\det({self(expr.x)})", POSTFIX)

    def _print_LogDet(self, expr: LogDet) -> Latex:
        return Latex(f"\\log\\det({self(expr.x)})", POSTFIX)

    def _print_Inv(self, expr: Inv) -> Latex:
        return Latex(f"{self._superscript_base(expr.x)}^{{-1}}", POSTFIX)

    def _print_MatFun(self, expr: MatFun) -> Latex:
        return Latex(f"{MATRIX_FUNCTIONS[expr.fn].latex}({self(expr.x)})", POSTFIX)

    def _print_Frechet(self, expr: Frechet) -> Latex:
        name = MATRIX_FUNCTIONS[expr.fn].latex
        return Latex(f"L_{{{name}}}({self(expr.x)}, {self(expr.e)})", POSTFIX)

    def _print_Frechet2(self, expr: Frechet2) -> Latex:
        name = MATRIX_FUNCTIONS[expr.fn].latex
        return Latex(f"L^{{(2)}}_{{{name}}}({self(expr.x)}, {self(expr.e1)}, {self(expr.e2)})",
                     POSTFIX)

    def _print_Norm(self, expr: Norm) -> Latex:
        return Latex(f"\\left\\|{self(expr.x)}\\right\\|", ATOM)

    def _print_Diff(self, expr: Diff) -> Latex:
        if isinstance(expr.x, (Sym, Var)):
            return Latex(f"d{self(expr.x)}", ATOM)
        return Latex(f"d\\left({self(expr.x)}\\right)", POSTFIX)


def to_latex(expr: Expr, shapes: dict[str, Shape] | None = None) -> str:
    return LatexPrinter(shapes)(expr)


# ---- derivations ------------------------------------------------------------------------------


def _groups(steps: list[Step]) -> list[list[Step]]:
    groups: list[list[Step]] = []
    for step in steps:
        if step.phase == "readoff":
            groups.append([step])
            continue
        last = groups[-1] if groups else None
        if (last and last[-1].phase != "readoff" and last[-1].node == step.node
                and last[-1].phase == step.phase and step.expands is None):
            last.append(step)
        else:
            groups.append([step])
    return groups


def _cites(steps: list[Step]) -> str:
    cites = list(dict.fromkeys(cite for step in steps for cite in step.cites))
    return ", ".join(f"({cite})" for cite in cites)


def _line(left: str, parts: list[str], why: str) -> str:
    """One aligned line `left &= first && why`, then `&\\quad + …` for the rest."""
    first, *rest = parts
    return " \\\\\n".join([f"{left}&= {first} && {why}", *(f"&\\quad {part}" for part in rest)])


# Citations longer than this (in characters) wrap in a narrow paragraph in documents: the
# widest citation would otherwise widen every row of the align.
NARROW_CITATION = 30


def _why(cites: str, node: str | None, narrow: bool) -> str:
    """The justification column: `by (12), (8) for dA`; `narrow`, a long one set in a paragraph
    of 30 % of the line that wraps."""
    if narrow and len(cites) > NARROW_CITATION:
        suffix = "" if node is None else f" for $d{node}$"
        return f"\\parbox[t]{{0.3\\linewidth}}{{\\raggedright by {cites}{suffix}}}"
    suffix = "" if node is None else f"\\ \\text{{for}}\\ d{node}"
    return f"\\text{{by {cites}}}{suffix}"


def derivation_lines(derivation: Derivation, narrow: bool = False) -> list[str]:
    """The derivation's rows of an align*; `narrow` wraps the citations in a column of 30 % of
    the line (for pdflatex documents; MathJax has no \\parbox)."""
    printer = LatexPrinter(derivation.shapes)
    objective = latex_name(derivation.objective, False)
    lines: list[str] = []
    invented = derivation.program.invented
    if invented:
        # The names given to an inline objective's intermediates, as the guide writes
        # "where A = XW + b" before differentiating.
        named = r",\; ".join(
            f"{latex_name(name, derivation.shapes[name] != SCALAR)} = "
            f"{printer(derivation.program.definitions[name])}" for name in invented)
        lines.append(f"&\\text{{where }} {named} && \\text{{(naming the intermediates)}}")
    first = next((step for step in derivation.steps if step.phase != "readoff"), None)
    if first is not None:
        start, *more = opening_lines(first.before, printer)
        lines.append(" \\\\\n".join([f"d{objective} &= {start}",
                                      *(f"&\\quad {part}" for part in more)]))
    settled: set[Expr] = set()
    textbook = textbook_writer(derivation.shapes, derivation.program.definitions,
                               derivation.program.symmetric)
    for group in _groups(derivation.steps):
        step = group[-1]
        if step.phase == "readoff":
            name = latex_name(step.node, derivation.shapes.get(step.node) != SCALAR)
            written = textbook(step.after[0])
            parts = state_lines(written.terms if isinstance(written, Add) else (written,), printer)
            lines.append(_line(f"\\frac{{\\partial {objective}}}{{\\partial {name}}} ", parts,
                               _why(_cites(group), None, narrow)))
            continue
        node: str | None = None
        expands = group[0].expands
        if expands is not None and expands != derivation.objective:
            # The node whose definition this line substitutes (listed under "The program").
            node = latex_name(expands, derivation.shapes[expands] != SCALAR)
        # As the guide writes "= ⋯ + Δ · (…)": terms already read off for a parameter and
        # shown on an earlier line are summarised by ⋯.
        shown = tuple(term for term in step.after if term not in settled)
        state = state_lines(shown, printer, hidden=len(shown) < len(step.after))
        lines.append(_line("", state, _why(_cites(group), node, narrow)))
        settled |= {term for term in step.after if derivation.reads_parameter(term)}
    return lines


def latex_fragment(derivation: Derivation, narrow: bool = False) -> str:
    body = " \\\\\n".join(derivation_lines(derivation, narrow))
    return f"\\begin{{align*}}\n{body}\n\\end{{align*}}\n"


def _shape(shape: Shape) -> str:
    rows, cols = (str(dim) if isinstance(dim, int) else latex_name(str(dim), False)
                  for dim in shape)
    return f"{rows} \\times {cols}"


def _rule_statement(rule: Rule) -> str:
    return f"{to_latex(rule.lhs)} \\;\\Rightarrow\\; {to_latex(rule.rhs)}"


# The start of every standalone document (flat and loop derivations alike).
# Margins of 2.5 cm (geometry is in texlive-latex-base): a derivation is wide equations beside
# their cited identities, which the article class's default margins squeeze.
DOCUMENT_PREAMBLE = ("\\documentclass{article}", "\\usepackage{amsmath,amssymb}",
                     "\\usepackage[margin=2.5cm]{geometry}", "\\allowdisplaybreaks",
                     "\\pagestyle{empty}", "\\begin{document}")


def latex_document(derivation: Derivation, rules: list[Rule]) -> str:
    program = derivation.program
    printer = LatexPrinter(derivation.shapes)
    shapes = ", ".join(
        f"${latex_name(name, shape != SCALAR)} \\in \\mathbb{{R}}^{{{_shape(shape)}}}$"
        for name, shape in program.shapes.items() if name not in program.definitions)
    # The program as the user wrote it (not its named intermediates or stable forms), with
    # numbers folded as everywhere else (1 − y, not 1·𝟏 − y).
    written = program.written or program.definitions
    memo: dict[Expr, Shape] = {}
    folder = Tidier((), lambda expr: shape_of(expr, program.shapes, memo), GuardContext())
    definitions = " \\\\\n".join(
        broken_definition(f"{latex_name(name, program.shapes[name] != SCALAR)} ",
                          folder.tidy(value), printer) for name, value in written.items())
    textbook = textbook_writer(derivation.shapes, program.definitions, program.symmetric)
    adjoints = " \\\\\n".join(
        broken_definition(f"{latex_name(name, True)} ", textbook(value), printer)
        for name, value in derivation.adjoints.items())
    identities = "\n".join(
        f"\\item[({', '.join(rule.cites)})] \\texttt{{{rule.name}}}: "
        f"${_rule_statement(rule)}$" for rule in rules)
    if not isinstance(derivation, Product):
        title = f"The gradient of ${latex_name(program.objective, False)}$"
        preface: list[str] = []
    else:
        first, phi = (latex_name(name, False) for name in (derivation.first.objective,
                                                          program.objective))
        title = f"The Hessian-vector product of ${first}$"
        preface = [f"$\\nabla^2 {first}\\,\\mathbf{{V}} = \\nabla {phi}$ with "
                   f"${phi} = \\nabla {first} \\cdot \\mathbf{{V}}$ "
                   f"$= {printer(program.definitions[program.objective])}$, the directions "
                   "held constant.", ""]
    parts = [
        *DOCUMENT_PREAMBLE,
        f"\\section*{{{title}}}",
        f"Shapes: {shapes}.",
        "",
        *preface,
        "Derivation, each step by the identities it cites (the guide's numbering):",
        "{\\small",
        latex_fragment(derivation, narrow=True).rstrip(),
        "}",
    ]
    if adjoints:
        parts += ["where", f"\\begin{{align*}}\n{adjoints}\n\\end{{align*}}"]
    parts += [
        "The program:",
        f"\\begin{{align*}}\n{definitions}\n\\end{{align*}}",
        "Identities used (from \\texttt{rules/}):",
        f"\\begin{{description}}\n{identities}\n\\end{{description}}",
    ]
    parts.append("\\end{document}")
    return "\n".join(parts) + "\n"


def packed(left: str, pieces: list[str]) -> str:
    """`left &= pieces`, as many pieces on a row as fit (a piece wider than a row has one)."""
    rows: list[list[str]] = [[]]
    for piece in pieces:
        if rows[-1] and visible_width(" ".join([*rows[-1], piece])) > 2 * FIT:
            rows.append([])
        rows[-1].append(piece)
    first, *rest = (" ".join(row) for row in rows)
    return " \\\\\n".join([f"{left}&= {first}", *(f"&\\quad {row}" for row in rest)])


def hessian_latex(hessian: Hessian, standalone: bool = False) -> str:
    """The blocks of ∇²J as an align* fragment; standalone, a document that also shows the
    Hessian-vector product's derivation they are read off."""
    product = hessian.product
    printer = LatexPrinter(product.shapes)
    textbook = textbook_writer(product.shapes, product.program.definitions,
                               product.program.symmetric)
    objective = latex_name(hessian.first.objective, False)
    lines = []
    for (a, b), block in hessian.blocks.items():
        names = (latex_name(a, product.shapes[a] != SCALAR),
                 latex_name(b, product.shapes[b] != SCALAR))
        left = (f"\\frac{{\\partial^2 {objective}}}{{\\partial \\operatorname{{vec}}({names[0]})\\,"
                f"\\partial \\operatorname{{vec}}({names[1]})^\\top}} ")
        if block is None:
            lines.append(f"{left}&: \\text{{no closed matrix form (computed from the "
                         "Hessian-vector product)}}")
        elif isinstance(block, KroneckerForm):
            lines.append(packed(left, kronecker_latex(block, textbook, printer)))
        else:
            lines.append(broken_definition(left, textbook(block), printer))
    fragment = "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}\n"
    if not standalone:
        return fragment
    return read_off_document(
        f"The Hessian of ${objective}$",
        "Each block is read off the Hessian-vector product below, linear in the directions; "
        "$\\operatorname{vec}$ stacks columns.", hessian.blocks.values(), fragment,
        "The Hessian-vector product", product)


def read_off_document(title: str, intro: str, blocks: Iterable[object], fragment: str,
                      source_name: str, source: Derivation) -> str:
    """A document of blocks read off a derivation (a Hessian's, a Jacobian's): the blocks'
    `fragment` under `title` and `intro` (with the commutation matrix explained where a block
    uses it), then the derivation they are read off, `source_name`, every step cited."""
    parts = [
        *DOCUMENT_PREAMBLE,
        f"\\section*{{{title}}}",
        intro + (" " + COMMUTATION_LATEX if any(map(commutes, blocks)) else ""),
        "{\\small",
        fragment.rstrip(),
        "}",
        f"{source_name}, each step by the identities it cites:",
        "{\\small",
        latex_fragment(source, narrow=True).rstrip(),
        "}",
        "\\end{document}",
    ]
    return "\n".join(parts) + "\n"
