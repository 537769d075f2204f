"""How long formulas break over the rows of an align*: a sum between its terms, a long
product inside its widest parenthesised sum (whose enclosing \\left … \\right become \\bigl …
\\bigr, which may span rows), each later row starting `+ …` or `− …`, as the guide breaks its
long equations.

Invariants: every row balances its own \\left … \\right; a row never splits a TeX group
({…} of \\frac, ^, \\sqrt); widths are a rough count of the symbols shown (`visible_width`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from matgrad.ir.expr import Add, Diff, Expr

# How an expression is set in LaTeX (printing/latex.py's LatexPrinter).
Printer = Callable[[Expr], str]


# A line of the derivation is broken when it would show more than about FIT symbols (by
# `visible_width`'s rough count: the §1 document's lines of 41 were 13–28 pt too wide); the
# parts then hold about PART symbols each, which fit an article's text width beside the name
# and the cited identities.
FIT = 32
PART = 24
# Commands that set the font or size of what follows and show nothing themselves.
_INVISIBLE = re.compile(r"\\(mathbf|boldsymbol|mathrm|mathit|operatorname|left|right|bigl|"
                        r"bigr|frac|quad|text)(?![A-Za-z])")


def visible_width(latex: str) -> int:
    """A rough count of the symbols a formula shows: a command that draws one (\\odot, \\alpha)
    counts once, font commands and braces not at all, a binary operator twice (its spaces)."""
    shown = re.sub(r"\\[A-Za-z]+", "#", _INVISIBLE.sub("", latex))
    shown = re.sub(r"[{}^_&\\ ]", "", shown)
    return len(shown) + sum(shown.count(op) for op in "+-#=")


def _chunks(terms: tuple[Expr, ...], printer: Printer) -> list[list[Expr]]:
    """Consecutive terms grouped into lines of about PART symbols each."""
    chunks: list[list[Expr]] = [[]]
    width = 0
    for term in terms:
        term_width = visible_width(printer(term)) + 2
        if chunks[-1] and width + term_width > PART:
            chunks.append([])
            width = 0
        chunks[-1].append(term)
        width += term_width
    return chunks


_DELIMITER = re.compile(r"\\(left|right)(\\\||\\\{|\\\}|[()\[\]|.])")


def _spanning(prefix: str, suffix: str) -> tuple[str, str]:
    """`prefix` and `suffix` with every \\left … \\right pair that encloses the split between
    them made \\bigl … \\bigr, which (unlike \\left … \\right) may span the rows of an align."""
    open_at: list[int] = []
    for match in _DELIMITER.finditer(prefix):
        if match.group(1) == "left":
            open_at.append(match.start())
        elif open_at:
            open_at.pop()
    for position in reversed(open_at):
        prefix = prefix[:position] + "\\bigl" + prefix[position + len("\\left"):]
    depth = 0
    cut: list[int] = []  # the suffix's \\right that close the prefix's open \\left
    for match in _DELIMITER.finditer(suffix):
        if match.group(1) == "left":
            depth += 1
        elif depth:
            depth -= 1
        elif len(cut) < len(open_at):
            cut.append(match.start())
    for position in reversed(cut):
        suffix = suffix[:position] + "\\bigr" + suffix[position + len("\\right"):]
    return prefix, suffix


def _broken_factor(term: Expr, printer: Printer) -> list[str] | None:
    """A long product broken inside its widest parenthesised sum — (A + B + …) · dW,
    Xᵀ((A + B) Y) · dW — the sum's terms on lines of their own, its parentheses (and those
    around it) \\bigl( … \\bigr); None where the term has no such sum."""
    whole = printer(term)
    sums = sorted({node for node in term.walk() if isinstance(node, Add)},
                  key=lambda node: -visible_width(printer(node)))
    for candidate in sums:
        opening = f"\\left({printer(candidate)}\\right)"
        if whole.count(opening) != 1:
            continue
        before = whole.split(opening)[0].replace("\\{", "").replace("\\}", "")
        if before.count("{") != before.count("}"):
            continue  # inside a group ({…} of \\frac, ^, \\sqrt): rows cannot split it
        chunks = _chunks(candidate.terms, printer)
        if len(chunks) < 2:
            return None
        prefix, suffix = _spanning(*whole.split(opening))
        texts = [printer(chunk[0]) if len(chunk) == 1 else printer(Add(tuple(chunk)))
                 for chunk in chunks]
        lines = [f"{prefix}\\bigl({texts[0]}"]
        lines += [text if text.startswith("-") else f"+ {text}" for text in texts[1:]]
        lines[-1] += f"\\bigr){suffix}"
        return lines
    return None


def state_lines(terms: tuple[Expr, ...], printer: Printer, hidden: bool = False) -> list[str]:
    """dJ as one or more lines: a long sum is broken between its terms (as the guide breaks
    its long equations), each later line starting `+ …` or `− …`; a single long product of a
    sum is broken inside the sum."""
    if not terms:
        return ["\\cdots" if hidden else "0"]
    whole = printer(terms[0]) if len(terms) == 1 else printer(Add(terms))
    if visible_width(whole) <= FIT:
        return [f"\\cdots + {whole}" if hidden else whole]
    if len(terms) == 1:
        broken = _broken_factor(terms[0], printer)
        if broken is not None:
            return [f"\\cdots + {broken[0]}" if hidden else broken[0], *broken[1:]]
    chunks = _chunks(terms, printer)
    lines = []
    for index, chunk in enumerate(chunks):
        text = printer(chunk[0]) if len(chunk) == 1 else printer(Add(tuple(chunk)))
        # A term too long for a line of its own is broken inside its widest sum.
        broken = _broken_factor(chunk[0], printer) \
            if len(chunk) == 1 and visible_width(text) > FIT else None
        first, *rest = broken or [text]
        if index == 0:
            lines.append(f"\\cdots + {first}" if hidden else first)
        else:
            lines.append(first if first.startswith("-") else f"+ {first}")
        lines += rest
    return lines


def opening_lines(terms: tuple[Expr, ...], printer: Printer) -> list[str]:
    """The first state, d(definition of J): a long sum inside d(…) is broken too, with
    \\bigl( … \\bigr), which (unlike \\left … \\right) may span lines."""
    if len(terms) == 1 and isinstance(terms[0], Diff) and isinstance(terms[0].x, Add):
        parts = state_lines(terms[0].x.terms, printer)
        if len(parts) > 1:
            return [f"d\\bigl({parts[0]}", *parts[1:-1], f"{parts[-1]}\\bigr)"]
    return state_lines(terms, printer)


def broken_definition(left: str, value: Expr, printer: Printer) -> str:
    """`left &= value`, a long sum broken over lines."""
    first, *rest = state_lines(value.terms if isinstance(value, Add) else (value,), printer)
    return " \\\\\n".join([f"{left}&= {first}", *(f"&\\quad {part}" for part in rest)])
