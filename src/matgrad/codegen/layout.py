"""Layout of generated statements: one that would pass 100 columns is broken where Python
allows it: its right side in parentheses a term a line (before each binary + and −), else
inside its widest brackets (a call's arguments, a tuple, a dict: one item a line, short items
packed), and a string literal too long for its line becomes adjacent literals.  So generated
modules pass a linter's line length.

Invariant: a broken statement is the same Python as the one-line statement: only whitespace
between tokens and grouping parentheses around a whole right side are added, and a literal is
split only outside its {…} fields, into adjacent literals of the same prefix (f"…" f"…" is one
string).  A statement with nothing to break is returned as it is.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH = 100
_PACKED = 30  # items up to this long share lines


def laid_out(lines: list[str], width: int = WIDTH) -> list[str]:
    """`lines` (indented statements, no multi-line strings) with each long one broken."""
    result: list[str] = []
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        result += [" " * indent + part for part in fitted(line.strip(), indent, width)]
    return result


def fitted(statement: str, indent: int, width: int = WIDTH) -> list[str]:
    """`statement` as lines of at most `width` columns at `indent`, where it can be broken."""
    return _fit(statement, indent, width, nested=False)


def _fit(line: str, indent: int, width: int, nested: bool) -> list[str]:
    """`line` broken at its terms, else inside its widest brackets, else (a lone literal inside
    brackets) into adjacent literals; `nested`: the line is inside brackets already."""
    if indent + len(line) <= width:
        return [line]
    for attempt in (_at_terms, _in_widest_brackets, _as_literals):
        lines = attempt(line, indent, width, nested)
        if lines is not None:
            return lines
    return [line]


def _at_terms(line: str, indent: int, width: int, nested: bool) -> list[str] | None:
    """`J = a + b − c` as `J = (`, a term a line, `)` (inside brackets, no parentheses are
    needed); None where there are fewer than two terms."""
    if nested:
        terms = _terms(line)
        if len(terms) < 2:
            return None
        return [part for term in terms for part in _fit(term, indent, width, True)]
    head, right = _split_head(line)
    if head is None:
        return None
    terms = _terms(right)
    if len(terms) < 2:
        return None
    body = [part for term in terms for part in _fit(term, indent + 4, width, True)]
    return [f"{head}(", *(f"    {part}" for part in body), ")"]


def _in_widest_brackets(line: str, indent: int, width: int, nested: bool) -> list[str] | None:
    """f(a, b) @ M as `f(`, one item a line, `) @ M`, in the outermost brackets holding the
    most text of those whose opening line fits (the rest after them broken the same way);
    None where there are none or they hold nothing."""
    groups = _outer_groups(line)
    fitting = [group for group in groups if indent + group[0] + 1 <= width]
    if not groups:
        return None
    opening, closing = max(fitting or groups, key=lambda group: group[1] - group[0])
    items = _top_level_items(line[opening + 1:closing])
    if not items:
        return None
    before = line[opening - 1] if opening else " "
    grouping = line[opening] == "(" and not (before.isalnum() or before in "_)]")
    # (x) is x, but (x,) is a tuple: a lone item in grouping parentheses takes no comma.
    comma = "" if grouping and len(items) == 1 else ","
    body: list[str] = []
    if len(items) > 3 and all(len(item) <= _PACKED and ":" not in _outside(item)
                              for item in items):
        # Many short items (names, X.dtype): as many a line as fit, not one each.
        for item in items:
            if body and indent + 4 + len(body[-1]) + len(item) + 2 <= width:
                body[-1] += f" {item},"
            else:
                body.append(f"{item},")
    for item in items if not body else ():
        parts = _fit(item, indent + 4, width - len(comma), True)
        body += [*parts[:-1], parts[-1] + comma]
    tail = [line[closing:]]
    if indent + len(tail[0]) > width:
        # `) @ g(…)`: the rest broken inside its own brackets, after the closing one.
        rest = _in_widest_brackets(line[closing + 1:], indent + 1, width, nested)
        if rest is not None:
            tail = [line[closing] + rest[0], *rest[1:]]
    return [line[:opening + 1], *(f"    {part}" for part in body), *tail]


def _outside(text: str) -> str:
    """The characters of `text` outside brackets and strings (a dict entry's `:` shows)."""
    return "".join(char for _, char, depth in _characters(text) if depth == 0)


def _as_literals(line: str, indent: int, width: int, nested: bool) -> list[str] | None:
    """A lone string literal inside brackets as adjacent literals; None for anything else."""
    if not nested:
        return None
    pieces = _split_literal(line, width - indent)
    return pieces if len(pieces) > 1 else None


def _split_head(statement: str) -> tuple[str | None, str]:
    """(`target = ` or `return `, the expression after it); (None, statement) for neither."""
    if statement.startswith("return "):
        return "return ", statement[len("return "):]
    for index, char, depth in _characters(statement):
        if (char == "=" and depth == 0 and statement[index + 1:index + 2] == " "
                and statement[index - 1:index] in (" ", "+", "-", "*", "/", "@")):
            return statement[:index + 2], statement[index + 2:]
    return None, statement


def _terms(expression: str) -> list[str]:
    """The expression split before each + and − (with spaces: binary) outside brackets and
    strings, each part keeping its operator: ["a", "+ b", "- c"]."""
    cuts = [0]
    for index, char, depth in _characters(expression):
        if (char in "+-" and depth == 0 and expression[index - 1:index] == " "
                and expression[index + 1:index + 2] == " "):
            cuts.append(index)
    cuts.append(len(expression))
    return [expression[start:end].strip() for start, end in itertools.pairwise(cuts)]


def _characters(text: str) -> list[tuple[int, str, int]]:
    """(position, character, bracket depth) of every character outside string literals; a
    bracket is counted at the depth outside it."""
    found: list[tuple[int, str, int]] = []
    depth, quote, index = 0, "", 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            found.append((index, char, depth))
            depth += 1
        elif char in ")]}":
            depth -= 1
            found.append((index, char, depth))
        else:
            found.append((index, char, depth))
        index += 1
    return found


def _outer_groups(text: str) -> list[tuple[int, int]]:
    """(opening, closing) positions of each outermost bracket pair outside strings."""
    groups: list[tuple[int, int]] = []
    opening = -1
    for index, char, depth in _characters(text):
        if depth == 0 and char in "([{":
            opening = index
        elif depth == 0 and char in ")]}" and opening >= 0:
            groups.append((opening, index))
            opening = -1
    return groups


def _top_level_items(text: str) -> list[str]:
    """`text` split at its commas outside brackets and strings, each item stripped."""
    cuts = [-1, *(index for index, char, depth in _characters(text)
                  if char == "," and depth == 0), len(text)]
    items = [text[start + 1:end].strip() for start, end in itertools.pairwise(cuts)]
    return [item for item in items if item]


def _split_literal(item: str, room: int) -> list[str]:
    """A lone string literal (f"…", "…") as adjacent literals of at most `room` columns, split
    after a space outside its {…} fields; anything else as it is."""
    prefix = "f" if item.startswith("f") else ""
    body = item[len(prefix):]
    if len(body) < 2 or body[0] not in "'\"" or body[-1] != body[0] or body[0] in body[1:-1]:
        return [item]
    quote, text = body[0], body[1:-1]
    pieces: list[str] = []
    while len(prefix) + len(text) + 2 > room:
        cut = _last_space_outside_fields(text, room - len(prefix) - 2)
        if cut is None:
            break
        pieces.append(f"{prefix}{quote}{text[:cut + 1]}{quote}")
        text = text[cut + 1:]
    pieces.append(f"{prefix}{quote}{text}{quote}")
    return pieces


def _last_space_outside_fields(text: str, limit: int) -> int | None:
    """The last space at a position below `limit` that is not inside a {…} field."""
    depth, best = 0, None
    for index, char in enumerate(text[:limit]):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == " " and depth == 0 and index > 0:
            best = index
    return best


# The message of _inv and _solve, a constant of the module that uses them.
SINGULAR_MESSAGE = ("a matrix that the objective or its gradient inverts is singular at these "
                    "inputs (its determinant is 0), so the inverse does not exist there")


def used_imports(import_lines: Sequence[str], code: str) -> list[str]:
    """The import lines whose name (`np` of `import numpy as np`) the code reads."""
    return [line for line in import_lines
            if re.search(rf"(?<![\w.]){re.escape(line.split()[-1])}\b", code)]


@dataclass(frozen=True)
class ModuleText:
    """A generated module in its parts, so that a module built from others (the Dask driver's)
    takes their imports and definitions as they are, never by parsing their text: the
    docstring's lines (quotes included), the import lines, and each module-level definition
    (a constant, a helper, the function) as one block of text."""

    docstring: tuple[str, ...]
    imports: tuple[str, ...]
    definitions: tuple[str, ...]

    @property
    def source(self) -> str:
        """The module: docstring, imports, then the definitions two blank lines apart."""
        return "\n".join([*self.docstring, "", *self.imports, "", ""]) + "\n" + \
            "\n\n\n".join(self.definitions) + "\n"


def helper_definitions(used: set[str], table: Mapping[str, str], singular: bool) -> list[str]:
    """The module-level definitions of the helpers a generated function calls (from a
    backend's `table`), after the SINGULAR message when the inverse helpers read it."""
    definitions: list[str] = []
    if singular and used & {"_inv", "_solve"}:
        definitions.append("\n".join(fitted(f"SINGULAR = ({SINGULAR_MESSAGE!r})", 0)))
    definitions += [table[helper].rstrip("\n") for helper in sorted(used)]
    return definitions
