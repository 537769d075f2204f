"""Parsing: source text → surface syntax (statements and untyped expressions), via Lark LALR.

The surface tree keeps what the user wrote and where (line, column); it decides nothing about
shapes.  `resolve.py` turns it into the typed IR.  One Transformer method per grammar alias.

Invariants: every failure is a `MatgradSyntaxError` with line:column, a caret under the offending
token and what was expected; nesting is bounded (`MAX_DEPTH`) so that deep input gives a clear
error instead of a RecursionError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

from lark import Lark, Token, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.visitors import Transformer_NonRecursive

from matgrad.errors import MatgradSyntaxError, caret_excerpt
from matgrad.front import tables
from matgrad.front.words import (
    FUNCTION_DECLARATION,
    ROWWISE_DECLARATION,
    normalize_name,
)
from matgrad.limits import MAX_DEPTH, MAX_SOURCE_CHARS, MAX_WRITTEN_SIZE, exceeded

SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")

# What the user sees instead of Lark's terminal names in "expected …" lists; a terminal not
# listed is shown by its literal text (`[`, `end`), never by its grammar name.
TERMINAL_NAMES = {
    "NAME": "a name", "NUMBER": "a number", "INT": "a whole number", "MINUS": "'-'",
    "PLUS": "'+'", "_SEP": "a new line or ';'", "_TIMES": "'x' or '×' between two sizes",
    "TRANSPOSE": "a transpose (')", "FNAME": "a name", "FROB": "'·'", "HADAMARD": "'.*'",
    "$END": "the end of the input", "BAR": "'||'", "_OPEN_BAR": "'||'",
    "_CLOSE_BAR": "a closing '||'", "BOLD_ONE": "'𝟏'", "SUPERSCRIPT": "a superscript such as ²",
    "NORM_SUB": "a norm subscript (_1, _2, _F)", "PRIME": "'′'", "OF": "'of'",
    "CITE": "a citation such as (5)", "RULE_NAME": "a rule name",
}
BYTE_ORDER_MARK = "\ufeff"

# ---- surface syntax -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pos:
    line: int
    column: int
    start: int = 0
    end: int = 0

    def text(self, source: str) -> str:
        """What the user wrote at this position."""
        return " ".join(source[self.start:self.end].split())


@dataclass(frozen=True)
class SExpr:
    pos: Pos = field(compare=False)


@dataclass(frozen=True)
class SName(SExpr):
    name: str


@dataclass(frozen=True)
class SNumber(SExpr):
    value: Fraction


@dataclass(frozen=True)
class SOnes(SExpr):
    pass


@dataclass(frozen=True)
class SBinary(SExpr):
    """op is one of + - * / .* ./ frob juxt ^ .^"""

    op: str
    a: SExpr
    b: SExpr


@dataclass(frozen=True)
class SJuxt(SBinary):
    """A product written by juxtaposition (`2 x`, `(1/2)‖E‖²`, `X W`): op is "*"."""


@dataclass(frozen=True)
class SSum(SExpr):
    """A flat sum: each term with its sign (True for a subtracted term)."""

    terms: tuple[tuple[bool, SExpr], ...]


@dataclass(frozen=True)
class SUnary(SExpr):
    """op is one of neg transpose quote (an ASCII ', transpose or derivative) prime norm, or a
    subscripted norm norm_1 norm_2 norm_F"""

    op: str
    x: SExpr


def innermost(node: SExpr) -> SExpr:
    """The operand under a chain of unary marks: f of f′′, X of Xᵀ′."""
    while isinstance(node, SUnary):
        node = node.x
    return node


@dataclass(frozen=True)
class SCall(SExpr):
    callee: SExpr
    args: tuple[SExpr, ...]


# What a norm's subscript names: ‖x‖₁, ||x||_2, ||X||_F (a plain ‖X‖ is Frobenius's).
NORM_SUBSCRIPTS = {"_1": "norm_1", "₁": "norm_1", "_{1}": "norm_1", "_2": "norm_2", "₂": "norm_2",
                   "_{2}": "norm_2", "_F": "norm_F", "_{F}": "norm_F", "_fro": "norm_F"}


@dataclass(frozen=True)
class Decl:
    name: str
    shape: tuple[str | int, str | int] | str | None  # None for `scalar`; "rowwise", "function"
    attributes: tuple[str, ...]
    pos: Pos


@dataclass(frozen=True)
class Let:
    name: str
    value: SExpr
    pos: Pos


@dataclass(frozen=True)
class Wrt:
    names: tuple[str, ...]
    pos: Pos


@dataclass(frozen=True)
class Objective:
    name: str
    pos: Pos


@dataclass(frozen=True)
class Loop:
    """`for var in start..stop: body end`; stop is a whole number or a size name plus an offset
    (`k`, `k-1`).  Names in the body carry indices in `var` (`W[j]`, `Z[j-1]`)."""

    var: str
    start: int
    stop: tuple[str | None, int]
    body: tuple[Decl | Let, ...]
    pos: Pos


Statement = Decl | Let | Wrt | Objective | Loop


@dataclass(frozen=True)
class RuleSource:
    name: str
    cites: tuple[str, ...]
    lhs: SExpr
    rhs: SExpr
    guards: tuple[tuple[str, tuple[str, ...]], ...]
    phase: str
    pos: Pos


# ---- parsing --------------------------------------------------------------------------------


@cache
def _parser() -> Lark:
    return tables.parser()


def parse_number(text: str) -> Fraction:
    """An exact constant; numbers beyond floating point's range are refused, since the
    generated code computes in floating point (and exact arithmetic on them would not end)."""
    shown = text if len(text) <= 24 else text[:20] + "…"
    try:
        approximate = float(text)
    except ValueError as exc:
        raise MatgradSyntaxError(f"'{shown}' is not a number matgrad can read") from exc
    mantissa = text.lower().partition("e")[0]
    if len(text) > 100 or approximate in (float("inf"), float("-inf")) or (
            approximate == 0 and any(digit in mantissa for digit in "123456789")):
        raise MatgradSyntaxError(f"the number {shown} is out of range: matgrad accepts "
                                 "constants between 1e-300 and 1e300 in size, with at most "
                                 "100 characters.")
    return Fraction(text)


def written_size(value: int, where: str) -> int:
    """A size written as a whole number, within `MAX_WRITTEN_SIZE`."""
    if value > MAX_WRITTEN_SIZE:
        raise MatgradSyntaxError(f"the size {value:,} at {where} is too large: sizes written as "
                                 f"numbers go up to {MAX_WRITTEN_SIZE:,}; use a name (t) for "
                                 "a size known only when the code runs "
                                 f"{exceeded('MAX_WRITTEN_SIZE', value)}.")
    return value


def _pos(meta_or_token: object) -> Pos:
    line = getattr(meta_or_token, "line", 1) or 1
    column = getattr(meta_or_token, "column", 1) or 1
    start = getattr(meta_or_token, "start_pos", 0) or 0
    end = getattr(meta_or_token, "end_pos", start) or start
    return Pos(int(line), int(column), int(start), int(end))


def _ref_name(item: object) -> str:
    """A declared or bound name: a NAME token, or an indexed name already made an SName."""
    return item.name if isinstance(item, SName) else normalize_name(str(item))


@v_args(meta=True)
class _ToSurface(Transformer_NonRecursive[Token, object]):
    """One method per grammar alias: Lark tree → surface syntax (iteratively, so that nesting
    up to `MAX_DEPTH` brackets never meets Python's recursion limit here)."""

    def __init__(self) -> None:
        super().__init__()
        self.current_phase = "differentiate"

    # statements
    def program(self, meta: object, items: list[Statement]) -> list[Statement]:
        return list(items)

    def decl(self, meta: object, items: list[object]) -> Decl:
        name, shape, *attrs = items
        return Decl(_ref_name(name), shape,  # type: ignore[arg-type]
                    tuple(str(a) for a in attrs), _pos(meta))

    def matrix_shape(self, meta: object, items: list[object]) -> tuple[str | int, str | int]:
        rows, cols = (written_size(int(tok), f"line {tok.line}, column {tok.column}")
                      if isinstance(tok, Token) and tok.type == "INT"
                      else _ref_name(tok) for tok in items)
        return (rows, cols)

    def loop(self, meta: object, items: list[object]) -> Loop:
        var, start, stop, *body = items
        return Loop(normalize_name(str(var)), int(str(start)), stop,  # type: ignore[arg-type]
                    tuple(body), _pos(meta))  # type: ignore[arg-type]

    def bound(self, meta: object, items: list[Token]) -> tuple[str | None, int]:
        if len(items) == 1 and items[0].type == "INT":
            return (None, int(str(items[0])))
        offset = -int(str(items[2])) if len(items) == 3 else 0
        return (normalize_name(str(items[0])), offset)

    def indexed(self, meta: object, items: list[object]) -> SName:
        base, index = items
        return SName(_pos(meta), f"{normalize_name(str(base))}[{index}]")

    def indexed_dim(self, meta: object, items: list[object]) -> SName:
        return self.indexed(meta, items)

    def index(self, meta: object, items: list[Token]) -> str:
        if len(items) == 1:
            return normalize_name(str(items[0])) if items[0].type == "NAME" else str(int(items[0]))
        name, sign, amount = str(items[0]), str(items[1]), int(str(items[2]))
        if amount == 0:
            return normalize_name(name)
        return f"{normalize_name(name)}{'-' if sign in ('-', '−') else '+'}{amount}"

    def scalar_shape(self, meta: object, items: list[Token]) -> None:
        return None

    def rowwise_shape(self, meta: object, items: list[Token]) -> str:
        return ROWWISE_DECLARATION

    def function_shape(self, meta: object, items: list[Token]) -> str:
        return FUNCTION_DECLARATION

    def keyword_name(self, meta: object, items: list[Token]) -> SName:
        return SName(_pos(meta), normalize_name(str(items[0])))

    def let(self, meta: object, items: list[object]) -> Let:
        name, value = items
        return Let(_ref_name(name), value, _pos(meta))  # type: ignore[arg-type]

    def wrt(self, meta: object, items: list[Token]) -> Wrt:
        return Wrt(tuple(normalize_name(str(tok)) for tok in items), _pos(meta))

    def objective(self, meta: object, items: list[Token]) -> Objective:
        return Objective(normalize_name(str(items[-1])), _pos(meta))  # after `of` or `objective`

    # rule files
    def rulefile(self, meta: object, items: list[object]) -> list[RuleSource]:
        return [item for item in items if isinstance(item, RuleSource)]

    def phase(self, meta: object, items: list[Token]) -> None:
        self.current_phase = str(items[0])

    def rule(self, meta: object, items: list[object]) -> RuleSource:
        name = str(items[0])
        cites = tuple(str(tok)[1:-1].strip() for tok in items if isinstance(tok, Token)
                      and tok.type == "CITE")
        exprs = [item for item in items if isinstance(item, SExpr)]
        guards = next((item for item in items if isinstance(item, tuple)), ())
        return RuleSource(name, cites, exprs[0], exprs[1], guards, self.current_phase,
                          _pos(meta))

    def guard(self, meta: object, items: list[tuple[str, tuple[str, ...]]]) -> tuple[
            tuple[str, tuple[str, ...]], ...]:
        return tuple(items)

    def condition(self, meta: object, items: list[Token]) -> tuple[str, tuple[str, ...]]:
        return (str(items[0]), tuple(str(tok) for tok in items[1:]))

    # expressions
    def name(self, meta: object, items: list[Token]) -> SName:
        return SName(_pos(meta), normalize_name(str(items[0])))

    def number(self, meta: object, items: list[Token]) -> SNumber:
        return SNumber(_pos(meta), parse_number(str(items[0])))

    def neg_number(self, meta: object, items: list[Token]) -> SNumber:
        return SNumber(_pos(meta), -parse_number(str(items[1])))

    def ones(self, meta: object, items: list[Token]) -> SOnes:
        return SOnes(_pos(meta))

    def _binary(self, op: str, meta: object, items: list[object]) -> SBinary:
        operands = [item for item in items if isinstance(item, SExpr)]
        return SBinary(_pos(meta), op, operands[0], operands[1])

    def add(self, meta: object, items: list[object]) -> SSum:
        terms: list[tuple[bool, SExpr]] = []
        negative = False
        for item in items:
            if isinstance(item, Token):
                negative = item.type == "MINUS"
            else:
                assert isinstance(item, SExpr)
                terms.append((negative, item))
        return SSum(_pos(meta), tuple(terms))

    def frob(self, meta: object, items: list[object]) -> SBinary:
        return self._binary("frob", meta, items)

    def inner(self, meta: object, items: list[object]) -> SBinary:
        return self._binary("frob", meta, items)

    def mul(self, meta: object, items: list[object]) -> SBinary:
        return self._binary("*", meta, items)

    def juxt(self, meta: object, items: list[object]) -> SBinary:
        operands = [item for item in items if isinstance(item, SExpr)]
        return SJuxt(_pos(meta), "*", operands[0], operands[1])

    def div(self, meta: object, items: list[object]) -> SBinary | SNumber:
        a, b = items
        pos = _pos(meta)
        if isinstance(b, SJuxt) and b.pos.end >= pos.end:  # not 1/(2 x): no parentheses
            # `1/2 ‖E‖²` reads as ½‖E‖² to a person and as 1/(2‖E‖²) by precedence: ask.
            raise MatgradSyntaxError(
                f"a division by a juxtaposed product at line {pos.line}, column {pos.column} "
                "is ambiguous (is `1/2 x` half of x, or 1/(2x)?): write (1/2) x, or 1/(2 x).")
        # A literal fraction such as 1/2 is one constant, so that printing it back reads the same.
        if isinstance(a, SNumber) and isinstance(b, SNumber) and b.value != 0:
            value = a.value / b.value
            if value and not Fraction(1, 10**300) <= abs(value) <= 10**300:  # as a literal
                raise MatgradSyntaxError(f"the quotient of numbers at line {pos.line}, column "
                                         f"{pos.column} is out of range: matgrad's constants lie "
                                         "between 1e-300 and 1e300 in size.")
            return SNumber(_pos(meta), value)
        return self._binary("/", meta, items)

    def hadamard(self, meta: object, items: list[object]) -> SBinary:
        return self._binary(".*", meta, items)

    def hadamard_div(self, meta: object, items: list[object]) -> SBinary:
        return self._binary("./", meta, items)

    def pow(self, meta: object, items: list[object]) -> SBinary:
        return self._binary("^", meta, items)

    def epow(self, meta: object, items: list[object]) -> SBinary:
        return self._binary(".^", meta, items)

    def spow(self, meta: object, items: list[object]) -> SExpr:
        base, token = items
        text = str(token)
        transposed = text.endswith("ᵀ")
        digits = text.removesuffix("ᵀ").translate(SUPERSCRIPT_DIGITS)
        exponent = parse_number("-1" if digits == "-" else digits)  # X⁻ᵀ is (X⁻¹)ᵀ
        power = SBinary(_pos(meta), "^", base, SNumber(_pos(token), exponent))  # type: ignore[arg-type]
        return SUnary(_pos(meta), "transpose", power) if transposed else power

    def neg(self, meta: object, items: list[object]) -> SUnary:
        return SUnary(_pos(meta), "neg", items[-1])  # type: ignore[arg-type]

    def transpose(self, meta: object, items: list[object]) -> SUnary:
        # ASCII ' is also the derivative mark of f'(A); resolution decides which it is.
        op = "quote" if str(items[1]) == "'" else "transpose"
        return SUnary(_pos(meta), op, items[0])  # type: ignore[arg-type]

    def prime(self, meta: object, items: list[object]) -> SUnary:
        return SUnary(_pos(meta), "prime", items[0])  # type: ignore[arg-type]

    def norm(self, meta: object, items: list[object]) -> SUnary:
        kind = "norm" if len(items) == 1 else NORM_SUBSCRIPTS[str(items[1])]
        return SUnary(_pos(meta), kind, items[0])  # type: ignore[arg-type]

    def call(self, meta: object, items: list[object]) -> SCall:
        callee, args = items
        return SCall(_pos(meta), callee, tuple(args))  # type: ignore[arg-type]

    def args(self, meta: object, items: list[SExpr]) -> list[SExpr]:
        return list(items)


def _terminal_text(term: str) -> str:
    """A terminal as the user would write it: its description, or its literal text."""
    if term in TERMINAL_NAMES:
        return TERMINAL_NAMES[term]
    try:
        pattern = _parser().get_terminal(term).pattern
    except KeyError:
        return "something else"
    if pattern.type == "str":
        return repr(pattern.value)
    return "something else"


def _describe_expected(expected: set[str]) -> str:
    names = sorted({_terminal_text(term) for term in expected})
    if len(names) > 8:
        names = [*names[:8], "…"]
    return ", ".join(names)


def _syntax_error(source: str, exc: UnexpectedInput, what: str) -> MatgradSyntaxError:
    line, column = exc.line, exc.column
    if isinstance(exc, UnexpectedCharacters):
        index = exc.pos_in_stream or 0
        found = f"character {source[index]!r}" if 0 <= index < len(source) \
            else "character"
        expected = _describe_expected(set(exc.allowed or ()))
    elif isinstance(exc, UnexpectedEOF):
        found = "end of input"
        expected = _describe_expected(set(exc.expected))
        line, column = source.count("\n") + 1, len(source.rsplit("\n", 1)[-1]) + 1
    elif isinstance(exc, UnexpectedToken):
        token = exc.token
        found = "end of input" if token.type == "$END" else f"{str(token)!r}"
        if token.type == "_SEP":
            found = "';' (the end of a statement)" if str(token).lstrip(" \t").startswith(
                ";") else "end of line"
        expected = _describe_expected(set(exc.accepts or exc.expected))
    else:  # pragma: no cover - Lark has no other kinds
        found, expected = "something unexpected", ""
    if line is None or line < 1:
        line, column = 1, 1
    excerpt = caret_excerpt(source, line, column)
    hint = f" Expected {expected}." if expected else ""
    return MatgradSyntaxError(
        f"syntax error in {what} at line {line}, column {column}: unexpected {found}.{hint}\n"
        f"{excerpt}".rstrip()
    )


def _check_depth(source: str, what: str) -> None:
    """Reject pathological nesting before Lark and Python recursion get to see it."""
    depth = 0
    for index, char in enumerate(source):
        if char in "(<":
            depth += 1
        elif char in ")>":
            depth -= 1
        if depth > MAX_DEPTH:
            line = source.count("\n", 0, index) + 1
            raise MatgradSyntaxError(
                f"{what} is nested too deeply (more than {MAX_DEPTH} open brackets at line "
                f"{line}); split it into let-bindings such as `A = …` on separate lines "
                f"{exceeded('MAX_DEPTH')}."
            )


def _parse(source: str, start: str, what: str) -> object:
    source = source.removeprefix(BYTE_ORDER_MARK)  # editors on Windows start files with one
    # A lone carriage return (classic Mac OS) ends a line as a newline does; one character
    # for one, so that every position still points into the text the user wrote.
    source = re.sub(r"\r(?!\n)", "\n", source)
    if len(source) > MAX_SOURCE_CHARS:
        raise MatgradSyntaxError(f"{what} is too long: split it into smaller programs "
                                 f"{exceeded('MAX_SOURCE_CHARS', len(source))}.")
    _check_depth(source, what)
    try:
        tree = _parser().parse(source, start=start)
    except UnexpectedInput as exc:
        raise _syntax_error(source, exc, what) from None
    except RecursionError:
        raise MatgradSyntaxError(f"{what} is nested too deeply to parse; split it into "
                                 "let-bindings.") from None
    return _transform(tree)


def _transform(tree: Tree[Token]) -> object:
    try:
        return _ToSurface().transform(tree)
    except RecursionError:
        raise MatgradSyntaxError("the program is nested too deeply; split it into "
                                 "let-bindings.") from None
    except Exception as exc:  # Lark wraps errors raised in callbacks
        inner = getattr(exc, "orig_exc", None)
        if isinstance(inner, MatgradSyntaxError):
            raise inner from None
        if isinstance(inner, RecursionError):
            raise MatgradSyntaxError("the program is nested too deeply; split it into "
                                     "let-bindings.") from None
        raise


def parse_program(source: str) -> list[Statement]:
    result = _parse(source, "program", "the program")
    assert isinstance(result, list)
    return result


def parse_rules(source: str, filename: str) -> list[RuleSource]:
    result = _parse(source, "rulefile", f"rule file {filename}")
    assert isinstance(result, list)
    return result
