"""The same objective in two notations: let-bound (the guide's named form, as the examples are
written) and inline (every let-binding substituted into the objective, one expression).

`inline(source)` rewrites a flat program's text: each `name = expression` statement is
substituted, parenthesised, into the statements after it, and only the objective stays.
Declarations, `wrt` lines and comments are kept as they are.  Used by the notation test and by
benchmarks/bench_notations.py.
"""

from __future__ import annotations

import re

_LET = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.+)$")


def _statements(source: str) -> list[str]:
    statements = []
    for line in source.splitlines():
        code = line.split("#", 1)[0]
        statements += [part.strip() for part in code.split(";") if part.strip()]
    return statements


def inline(source: str) -> str:
    """The program with every let-binding substituted into the objective (the last one)."""
    kept: list[str] = []
    lets: dict[str, str] = {}
    last = ""
    for statement in _statements(source):
        match = _LET.match(statement)
        if match is None or ":" in statement:
            kept.append(statement)
            continue
        name, value = match.groups()
        for earlier, definition in lets.items():
            value = re.sub(rf"\b{re.escape(earlier)}\b(?!\s*\()", f"({definition})", value)
        lets[name] = value
        last = name
    if not last:
        raise ValueError("no let-binding to inline")
    return "\n".join([*kept, f"{last} = {lets[last]}"])


def mlp(k: int, inline_form: bool = False) -> str:
    """The guide's k-layer tanh regression network (18)–(19), written out."""
    lines = ["X: t x n0, data", f"Y: t x n{k}, data"]
    lines += [f"W{j}: n{j - 1} x n{j}; b{j}: 1 x n{j}" for j in range(1, k + 1)]
    for j in range(1, k + 1):
        previous = "X" if j == 1 else f"Z{j - 1}"
        lines.append(f"A{j} = {previous}*W{j} + b{j}; Z{j} = tanh(A{j})")
    lines.append(f"J = 1/(2*t) * ||Z{k} - Y||^2")
    source = "\n".join(lines)
    return inline(source) if inline_form else source
