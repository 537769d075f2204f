"""The words of the language that more than one pass of the front end reads: how a name is
normalised, and the shapes that declare a function instead of a matrix.

Invariant: a name read anywhere (lexer pass, parser, resolver) goes through `normalize_name`, so
`W₁` and `W1` are one name everywhere.
"""

from __future__ import annotations

import re
import unicodedata

from matgrad.ir import indexing

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

# Functions users bring from other tools that matgrad spells otherwise or lacks: the advice given
# instead of a "did you mean" guessed from the spelling (max is not softmax).
NEAR_MISSES = {
    "max": "max(x, 0) is relu(x); an elementwise maximum of two matrices has no rule yet",
    "maximum": "maximum(x, 0) is relu(x); an elementwise maximum of two matrices has no rule "
               "yet",
    "min": "min(x, 0) is −relu(−x); an elementwise minimum of two matrices has no rule yet",
    "minimum": "minimum(x, 0) is −relu(−x); an elementwise minimum of two matrices has no "
               "rule yet",
    "dot": "the inner product of a and b is <a, b>, a · b or a' * b",
    "kron": "Kronecker products are not in the input language; matgrad writes them in results",
    "log_softmax": "write log(softmax(X)), which matgrad computes stably",
    "logsoftmax": "write log(softmax(X)), which matgrad computes stably",
}

# The guide's abstract functions need no declaration: one letter, optionally numbered or indexed
# (f, g, h, f₁, f[j], σ, ℓ).  Any other unknown name is refused ("did you mean …?") unless it is
# declared `name: function`, so that a typo (`tanhh`) is never read as an abstract function.
GUIDE_FUNCTION_NAME = re.compile(r"[A-Za-z\u0370-\u03FFℓ][0-9]*")


def is_guide_function_name(name: str) -> bool:
    """f, g₁ (read as g1), f[j], σ, ℓ: the names the guide gives abstract functions."""
    parts = indexing.split(name)
    base = parts[0] if parts is not None else name
    return GUIDE_FUNCTION_NAME.fullmatch(base) is not None


def split_into(name: str, known: set[str]) -> list[str] | None:
    """`name` as two or more names of `known` written together (Ax → A, x), preferring the
    fewest parts; None when it is no such run."""
    best: dict[int, list[str]] = {0: []}
    for end in range(1, len(name) + 1):
        for start in range(end):
            if start in best and name[start:end] in known:
                candidate = [*best[start], name[start:end]]
                if end not in best or len(candidate) < len(best[end]):
                    best[end] = candidate
    parts = best.get(len(name))
    return parts if parts is not None and len(parts) >= 2 else None

# Greek letters drawn like Latin ones: Α (alpha) and A print alike, so a program with both would
# have two symbols a reader cannot tell apart.  Refused where they are written.
LATIN_LOOKALIKES = {"Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K",
                    "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
                    "ο": "o"}


def lookalike(name: str) -> tuple[str, str] | None:
    """The first Greek letter of `name` drawn like a Latin one, and that Latin letter."""
    return next(((char, LATIN_LOOKALIKES[char]) for char in name if char in LATIN_LOOKALIKES),
                None)
