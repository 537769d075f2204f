"""Names as LaTeX: every letter a name may hold has a spelling that pdflatex typesets.

How names are set (docs/language.md, "Names in LaTeX"):
- one letter, Latin or Greek, is a symbol: bold for a matrix (X → \\mathbf{X}, θ →
  \\boldsymbol{\\theta}), plain for a scalar;
- a capital and one or two lower-case letters is a letter with a subscript, as papers write
  attention weights: Wq → \\mathbf{W}_{q}, Wqk → \\mathbf{W}_{qk};
- any other run of letters is an upright multi-letter name: logits → \\mathrm{logits};
- Greek letters inside a name stay symbols (ΔZ → \\boldsymbol{\\Delta}\\mathbf{Z}, νll →
  \\nu\\mathrm{ll}: never a TeX command such as \\null);
- a combining dot after a letter is a tangent's dot (Ȧ → \\dot{\\mathbf{A}});
- trailing digits and `_rest` are subscripts (W1 → W_{1}, W_out → W_{\\mathrm{out}}); a layer's
  index is a subscript (Z[j-1] → Z_{j-1}).

Invariant: the result holds only ASCII letters, digits, `_`, braces, commas, `+`, `-`, `\\`
and the commands named in the tables below — nothing from the user's text that TeX could read
as a command, whatever the name (names outside the accepted alphabet raise ValueError: the
grammar never lets them through).
"""

from __future__ import annotations

import re

from matgrad.ir import indexing

# Greek letters with a TeX command of their own (and ∇).
GREEK_COMMANDS = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu",
    "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "ς": "varsigma", "τ": "tau",
    "υ": "upsilon", "φ": "phi", "χ": "chi", "ψ": "psi", "ω": "omega", "ϑ": "vartheta",
    "ϕ": "varphi", "ϖ": "varpi", "ϱ": "varrho", "ϵ": "epsilon", "Γ": "Gamma", "Δ": "Delta",
    "Θ": "Theta", "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma", "Υ": "Upsilon",
    "Φ": "Phi", "Ψ": "Psi", "Ω": "Omega", "∇": "nabla", "ℓ": "ell",
}
# Greek letters that look like Latin ones and have no command: set as that letter, upright.
GREEK_AS_LATIN = {
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X", "ο": "o",
}
# Names written in ASCII that are Greek letters (theta, lambda): set as the letter.
GREEK_WORDS = frozenset(GREEK_COMMANDS.values()) - {"nabla", "ell"}

DOT = "\u0307"  # the combining dot of a tangent's name
_LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]+")
_SUBSCRIPT_INDEX = re.compile(r"[A-Za-z0-9+\-]+")


def _symbol(command: str, bold: bool) -> str:
    return f"\\boldsymbol{{\\{command}}}" if bold else f"\\{command}"


def _run(text: str, bold: bool) -> str:
    """A run of Latin letters and digits: one letter a symbol, several an upright name."""
    if len(text) == 1:
        return f"\\mathbf{{{text}}}" if bold else text
    return f"\\mathbf{{{text}}}" if bold else f"\\mathrm{{{text}}}"


def _stem(stem: str, bold: bool) -> str:
    """The letters of a name (before its trailing digits and `_`) as LaTeX."""
    if stem in GREEK_WORDS:
        return _symbol(stem, bold)
    if _LATIN_RUN.fullmatch(stem):
        if len(stem) in (2, 3) and stem[0].isupper() and stem[1:].isalpha() \
                and stem[1:].islower():
            return f"{_run(stem[0], bold)}_{{{stem[1:]}}}"
        return _run(stem, bold)
    # Greek letters among Latin ones: each Greek letter a symbol, each Latin run as above.
    parts: list[str] = []
    position = 0
    while position < len(stem):
        char = stem[position]
        if char in GREEK_COMMANDS:
            parts.append(_symbol(GREEK_COMMANDS[char], bold))
            position += 1
        elif char in GREEK_AS_LATIN:
            letter = GREEK_AS_LATIN[char]
            parts.append(f"\\mathbf{{{letter}}}" if bold else f"\\mathrm{{{letter}}}")
            position += 1
        else:
            run = _LATIN_RUN.match(stem, position) or re.compile(r"\d+").match(stem, position)
            if run is None:
                raise ValueError(f"unexpected character {char!r} in name {stem!r}")
            parts.append(_run(run.group(0), bold))
            position = run.end()
        if stem[position:position + 1] == DOT:  # a tangent (second_order.py): Ȧ → \dot{A}
            parts[-1] = f"\\dot{{{parts[-1]}}}"
            position += 1
    # A command followed by a letter needs a space: \nabla f, not the unknown \nablaf.
    return "".join(part + " " if re.search(r"\\[A-Za-z]+$", part) and index + 1 < len(parts)
                   and parts[index + 1][:1].isalpha() else part
                   for index, part in enumerate(parts))


def _subscript(rest: str) -> str:
    """What follows a name's first `_`: an upright word, its Greek letters as symbols."""
    if len(rest) == 1 and rest.isascii() and rest.isalpha():
        return rest  # W_q as Wq: W_{q}
    if _ASCII_WORD.fullmatch(rest):
        escaped = rest.replace("_", "\\_")
        return f"\\mathrm{{{escaped}}}"
    return ",".join(_stem(piece, False) for piece in rest.split("_") if piece)


def latex_name(name: str, bold: bool) -> str:
    """A matgrad name as LaTeX (bold: a matrix or vector), as the module docstring says."""
    indexed = indexing.split(name)
    if indexed is not None:
        base, index = indexed
        if not _SUBSCRIPT_INDEX.fullmatch(index.text()):
            raise ValueError(f"unexpected character in name {name!r}")
        written = latex_name(base, bold)
        # A base with a subscript of its own (V_W of V_W[j]) is braced: {V_{W}}_{j}.
        braced = f"{{{written}}}" if "_" in written else written
        return f"{braced}_{{{index.text()}}}"
    body, underscore, rest = name.partition("_")
    digits_match = re.search(r"\d+$", body)
    digits = digits_match.group(0) if digits_match and digits_match.start() > 0 else ""
    stem = body[:len(body) - len(digits)]
    if not stem:
        raise ValueError(f"unexpected name {name!r}")
    base = _stem(stem, bold)
    subscripts = [part for part in (_subscript(rest) if rest else "", digits) if part]
    if underscore and not rest:
        base += "\\_"
    if not subscripts:
        return base
    # A base that has a subscript already (W_{q}) is braced before the next one: {W_{q}}_{1}.
    braced = f"{{{base}}}" if "_{" in base else base
    return f"{braced}_{{{','.join(subscripts)}}}"


__all__ = ["GREEK_COMMANDS", "latex_name"]
