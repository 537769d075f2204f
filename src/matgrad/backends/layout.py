"""Layout of generated statements: one that would pass 100 columns is broken where Python
allows it, inside the brackets that close it (a call's arguments, a tuple, a dict: one item a
line), and a string literal too long for its line becomes adjacent literals, so that generated
modules pass a linter's line length.

Invariant: a broken statement is the same Python as the one-line statement: only whitespace
between tokens changes, and a literal is split only outside its {…} fields, into adjacent
literals of the same prefix (f"…" f"…" is one string).  A statement with nothing to break is
returned as it is.
"""

from __future__ import annotations

import itertools

WIDTH = 100
_CLOSING = {")": "(", "]": "[", "}": "{"}


def laid_out(lines: list[str], width: int = WIDTH) -> list[str]:
    """`lines` (indented statements, no multi-line strings) with each long one broken."""
    result: list[str] = []
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        result += [" " * indent + part for part in fitted(line.strip(), indent, width)]
    return result


def fitted(statement: str, indent: int, width: int = WIDTH) -> list[str]:
    """`statement` as lines of at most `width` columns at `indent`, where it can be broken."""
    if indent + len(statement) <= width:
        return [statement]
    opening = _opening_of_last(statement)
    if opening is None:
        return [statement]
    items = _top_level_items(statement[opening + 1:-1])
    if not items:
        return [statement]
    before = statement[opening - 1] if opening else " "
    grouping = statement[opening] == "(" and not (before.isalnum() or before in "_)]")
    # (x) is x, but (x,) is a tuple: a lone item in grouping parentheses takes no comma.
    comma = "" if grouping and len(items) == 1 else ","
    inner = indent + 4
    body: list[str] = []
    for item in items:
        room = width - inner - len(comma)
        pieces = _split_literal(item, room) if len(item) > room else [item]
        body += [f"    {piece}" for piece in pieces[:-1]] + [f"    {pieces[-1]}{comma}"]
    return [statement[:opening + 1], *body, statement[-1]]


def _scan(text: str) -> list[tuple[int, str, int]]:
    """(position, bracket, depth before it) of every bracket outside string literals."""
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
        index += 1
    return found


def _opening_of_last(statement: str) -> int | None:
    """Where the bracket opens that the statement's last character closes, if it ends in one."""
    if not statement or statement[-1] not in _CLOSING:
        return None
    brackets = _scan(statement)
    if not brackets or brackets[-1][0] != len(statement) - 1:
        return None  # the last character is inside a string
    last_depth = brackets[-1][2]
    for position, char, depth in reversed(brackets[:-1]):
        if depth == last_depth and char in "([{":
            return position
    return None


def _top_level_items(text: str) -> list[str]:
    """`text` split at its commas outside brackets and strings, each item stripped."""
    cuts = [-1]
    depth, quote = 0, ""
    index = 0
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
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            cuts.append(index)
        index += 1
    cuts.append(len(text))
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
