"""Dimensions of matrix shapes: a number, a named size (`t`, `n`), or an unknown to be unified.

Invariant: `DimVar`s only live while shapes are being inferred; a resolved program and every
expression the engine sees carries only `int` and `str` dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DimVar:
    """An unknown dimension, numbered uniquely within one inference."""

    index: int

    def __str__(self) -> str:
        return f"?{self.index}"


Dim = int | str | DimVar
Shape = tuple[Dim, Dim]

SCALAR: Shape = (1, 1)


def format_dim(dim: Dim) -> str:
    return str(dim)


def format_shape(shape: Shape) -> str:
    """`t×n` as the guide writes it; `scalar` for 1×1."""
    if shape == SCALAR:
        return "1×1"
    return f"{format_dim(shape[0])}×{format_dim(shape[1])}"
