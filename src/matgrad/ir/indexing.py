"""Indexed names of layered programs: `W[j]`, `Z[j-1]`, `n[k]`, `Z[0]`.

An indexed name is the plain string `base[index]`, where the index is a symbol (`j`, `k`), a
symbol plus or minus a whole number (`j-1`, `k+1`) or a whole number (`0`).  The resolver, the
engine and the rules treat it as any other name; only this module looks inside it.

Invariants: `make(base, index)` is canonical (`j+0` is written `j`), so two names denote the same
layer's matrix exactly when their strings are equal; renaming never touches a name without an
index.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from matgrad.errors import UsageError
from matgrad.ir.dims import Dim
from matgrad.ir.expr import Apply, DimSize, Expr, Identity, Ones, RowApply, RowGrad, Sym, Zero

INDEXED = re.compile(r"^(?P<base>[^\[\]]+)\[(?P<index>[^\[\]]+)\]$")
_INDEX = re.compile(r"^(?:(?P<symbol>[^\d+\-][^+\-]*)(?P<offset>[+\-]\d+)?|(?P<whole>\d+))$")

# Unicode subscripts for the guide's Zⱼ₋₁; a letter without one keeps the bracket form.
_SUBSCRIPT = dict(zip("0123456789+-aehijklmnoprstuvx",
                      "₀₁₂₃₄₅₆₇₈₉₊₋ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))


@dataclass(frozen=True)
class Index:
    """`symbol + offset`, or the whole number `offset` when symbol is None."""

    symbol: str | None
    offset: int

    def text(self) -> str:
        if self.symbol is None:
            return str(self.offset)
        if self.offset == 0:
            return self.symbol
        return f"{self.symbol}{self.offset:+d}"

    def value(self, values: Mapping[str, int]) -> int:
        return self.offset if self.symbol is None else values[self.symbol] + self.offset


def parse_index(text: str) -> Index:
    match = _INDEX.match(text)
    if match is None:
        raise ValueError(f"not an index: {text!r}")
    if match["whole"] is not None:
        return Index(None, int(match["whole"]))
    return Index(match["symbol"], int(match["offset"] or 0))


def split(name: str) -> tuple[str, Index] | None:
    """`Z[j-1]` → ("Z", j−1); None for a name without an index."""
    match = INDEXED.match(name)
    if match is None:
        return None
    return match["base"], parse_index(match["index"])


def make(base: str, index: Index) -> str:
    return f"{base}[{index.text()}]"


def base_of(name: str) -> str:
    parts = split(name)
    return parts[0] if parts is not None else name


def substitute_symbol(name: str, symbol: str, replacement: Index) -> str:
    """Replace `symbol` in the index of `name`: Z[j-1] with j → j+1 is Z[j]; with j → k, Z[k-1]."""
    parts = split(name)
    if parts is None or parts[1].symbol != symbol:
        return name
    base, index = parts
    return make(base, Index(replacement.symbol, replacement.offset + index.offset))


def concrete(name: str, values: Mapping[str, int]) -> str | None:
    """`W[j]` with j = 2 → `W2` (`n0[j]` → `n0_2`); None when the name has no index."""
    parts = split(name)
    if parts is None:
        return None
    base, index = parts
    if index.symbol is not None and index.symbol not in values:
        # W[j] declared or used outside the loop over j (or n[kk] with no such size).
        raise UsageError(f"'{name}': the index {index.symbol} has no value here. A name indexed "
                         "by a loop's variable belongs inside that loop (for j in 1..k: W[j]: "
                         "n x n … end); outside it, index by the depth (W[k]) or a number.")
    value = index.value(values)
    return f"{base}_{value}" if base[-1].isdigit() else f"{base}{value}"


def pretty(name: str, unicode: bool) -> str | None:
    """`Z[j-1]` as Zⱼ₋₁ (Unicode) or as itself (ASCII); None for a name without an index."""
    parts = split(name)
    if parts is None:
        return None
    base, index = parts
    text = index.text()
    if unicode and all(char in _SUBSCRIPT for char in text):
        return base + "".join(_SUBSCRIPT[char] for char in text)
    return name


def rename(expr: Expr, rename_name: Callable[[str], str]) -> Expr:
    """Every name in `expr` — symbols, function names (f[j]), sizes — passed through
    `rename_name`; structure unchanged."""
    def dim(value: Dim) -> Dim:
        return rename_name(value) if isinstance(value, str) else value

    def go(node: Expr) -> Expr:
        if isinstance(node, Sym):
            return Sym(rename_name(node.name))
        if isinstance(node, DimSize):
            return DimSize(rename_name(node.dim))
        if isinstance(node, (Ones, Zero)):
            return type(node)(dim(node.rows), dim(node.cols))
        if isinstance(node, Identity):
            return Identity(dim(node.size))
        kids = node.children()
        rebuilt = node.with_children(tuple(go(kid) for kid in kids)) if kids else node
        if isinstance(rebuilt, Apply):
            return Apply(rename_name(rebuilt.fn), rebuilt.arg, rebuilt.order)
        if isinstance(rebuilt, (RowApply, RowGrad)):
            return type(rebuilt)(rename_name(rebuilt.fn), rebuilt.arg)
        return rebuilt

    return go(expr)
