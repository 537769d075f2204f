"""The passes between Lark's lexer and its LALR parser: names that are called told from names
that are multiplied, and a norm's opening bar told from its closing one.

Invariants: the passes look only at tokens already read (the contextual lexer lexes each token
in the parser's current state, so a pass must never read ahead); a token keeps its position.
"""

from __future__ import annotations

from collections.abc import Iterator

from lark import Token
from lark.lark import PostLex

from matgrad.errors import MatgradSyntaxError
from matgrad.front.words import (
    FUNCTION_DECLARATION,
    IDENTITY_NAME,
    ROWWISE_DECLARATION,
    lookalike,
    normalize_name,
)

# Tokens after which a bar closes a norm that is still open (they end an operand).
_OPERAND_ENDS = frozenset({"NAME", "NUMBER", "INT", "RPAR", "RSQB", "MORETHAN", "TRANSPOSE",
                           "PRIME", "SUPERSCRIPT", "NORM_SUB", "BOLD_ONE", "_CLOSE_BAR"})


class _Callees:
    """Tells a call from a product with a parenthesised factor, which the text alone does not:
    the lexer reads every name directly followed by `(` as a function name (FNAME), and this
    pass turns it back into a plain NAME when the program has made the name a matrix, a scalar
    or a size before (declared `W: n x m`, bound `A = …`, or written as a size).  Declarations
    and bindings come before their uses (the resolver refuses anything else), so one pass in
    reading order knows every such name by the time it is used.

    Statement heads are followed with a small state machine over the tokens: a head name, then
    `:` (a declaration, whose shape says matrix or function) or `=` (a binding)."""

    def __init__(self) -> None:
        # Matrices, scalars and sizes: never called.  `I` is the identity until declared a
        # function (the printer writes I(A + B) for the product).
        self.values: set[str] = {IDENTITY_NAME}
        self.state = "start"
        self.head = ""

    def relabel(self, token: Token) -> Token:
        if token.type == "FNAME" and normalize_name(str(token)) in self.values:
            return Token.new_borrow_pos("NAME", str(token), token)
        return token

    def follow(self, token: Token) -> None:
        text, kind = str(token), token.type
        if kind == "_SEP":
            self.state = "start"
        elif self.state == "start":
            if text == "for":
                self.state = "loop header"
            elif kind in ("NAME", "OF"):
                self.head, self.state = normalize_name(text), "head"
            else:
                self.state = "expression"
        elif self.state == "loop header":
            if text == ":":
                self.state = "start"
        elif self.state == "head":
            if text == "[":
                self.state = "head index"
            elif text == ":":
                self.state = "shape"
            else:
                if text == "=":
                    self.values.add(self.head)
                self.state = "expression"
        elif self.state == "head index":
            if text == "]":
                self.state = "head"
        elif self.state == "shape":
            if text in (FUNCTION_DECLARATION, ROWWISE_DECLARATION):
                self.values.discard(self.head)
            else:
                self.values.add(self.head)
                self.follow_size(token)
            self.state = "sizes"
        elif self.state == "sizes":
            if text == ",":
                self.state = "expression"  # attributes follow
            else:
                self.follow_size(token)

    def follow_size(self, token: Token) -> None:
        if token.type == "NAME":
            self.values.add(normalize_name(str(token)))


class PostLexer(PostLex):
    """The passes between Lark's lexer and its parser: calls told from products (`_Callees`),
    then a norm's opening bar told from its closing one.

    Bars: `||` and `‖` leave them to context: a bar closes the innermost open norm when it
    follows an operand, and opens a norm otherwise.  So `‖a‖‖b‖` is a product of two norms and
    `(1/2)‖E‖²` a scaled norm, with one lookbehind."""

    always_accept = ("BAR",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        callees = _Callees()
        open_bars = 0
        previous = ""
        for token in stream:
            if token.type in ("NAME", "FNAME") and (found := lookalike(str(token))):
                raise MatgradSyntaxError(
                    f"'{token}' at line {token.line}, column {token.column} is written with the "
                    f"Greek letter {found[0]}, which prints like the Latin {found[1]}: write "
                    f"{found[1]} (or spell the Greek letter out, e.g. alpha).")
            token = callees.relabel(token)
            callees.follow(token)
            if token.type == "BAR":
                if previous in _OPERAND_ENDS and open_bars:
                    open_bars -= 1
                    token = Token.new_borrow_pos("_CLOSE_BAR", token.value, token)
                else:
                    open_bars += 1
                    token = Token.new_borrow_pos("_OPEN_BAR", token.value, token)
            elif token.type == "_SEP":
                open_bars = 0
            previous = token.type
            yield token
