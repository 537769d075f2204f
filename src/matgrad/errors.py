"""Error classes: every failure matgrad reports to a user is one of these.

Invariant: the API raises only `MatgradError` subclasses for bad input; the CLI turns any of them
into its message and exit status 2.  Messages are one paragraph: what is wrong, where (line and
column with a caret when the source is known), and how to fix it.
"""

from __future__ import annotations


class MatgradError(Exception):
    """Base class of every error matgrad reports about its input."""


class MatgradSyntaxError(MatgradError):
    """The source text is not a program of the input language."""


class ShapeError(MatgradError):
    """Operands whose shapes do not fit the operator, or a non-scalar objective."""


class UnsupportedError(MatgradError):
    """Something that is well formed but has no differentiation rule yet."""


class UsageError(MatgradError):
    """A request that does not fit the program: unknown `wrt` name, bad option value, …"""


class RuleError(MatgradError):
    """A rule file that is malformed: duplicate name, unbound variable, shape mismatch."""


class CodegenError(MatgradError):
    """Code cannot be generated: unbound abstract function, unsafe identifier, …"""


# The most characters of a source line an error shows: a window around the column.
EXCERPT_WIDTH = 80


def caret_excerpt(source: str, line: int, column: int) -> str:
    """The source line `line` (1-based) with a caret under `column` (1-based); a long line is
    clipped to EXCERPT_WIDTH characters around the column, … marking what is left out (a
    180 KB one-line program gave a 360 KB message)."""
    lines = source.splitlines() or [""]
    if not 1 <= line <= len(lines):
        return ""
    text, caret = lines[line - 1], column - 1
    if len(text) > EXCERPT_WIDTH:
        start = max(0, min(caret - EXCERPT_WIDTH // 2, len(text) - EXCERPT_WIDTH))
        end = start + EXCERPT_WIDTH
        caret -= start
        text = text[start:end]
        if start > 0:
            text, caret = "…" + text, caret + 1
        if end < len(lines[line - 1]):
            text += "…"
    return f"    {text}\n    {' ' * caret}^"
