"""The words of the language that more than one pass of the front end reads: how a name is
normalised, and the shapes that declare a function instead of a matrix.

Invariant: a name read anywhere (lexer pass, parser, resolver) goes through `normalize_name`, so
`W₁` and `W1` are one name everywhere.
"""

from __future__ import annotations

import unicodedata

SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
# `ell: rowwise` declares an abstract row-wise function ℓ: t×m → t×1 (the guide's (16), (19)).
ROWWISE_DECLARATION = "rowwise"
# `phi: function` declares an abstract elementwise function (its derivative stays φ′).
FUNCTION_DECLARATION = "function"
# An undeclared, unbound `I` is the identity matrix, as the guide and the printer write it; its
# size comes from its context (`X + I`, `WᵀW − I`).
IDENTITY_NAME = "I"


def normalize_name(text: str) -> str:
    """`W₁` and `W1` are the same name."""
    return unicodedata.normalize("NFC", text).translate(SUBSCRIPT_DIGITS)
