"""Random expression trees and their renderings in every notation the language accepts.

A tree is nested tuples: ("sym", name), ("num", text), ("mul", a, b), ("add", a, b),
("sub", a, b), ("had", a, b), ("neg", a), ("T", a), ("inv", a), ("sq", a) (the matrix square),
("fn", name, a); an objective is ("sum", e), ("frob", a, b), ("norm2", e) or ("tr", e).
Every tree type-checks against DECLARATIONS.

`canonical(tree)` writes it one way (ASCII, explicit `*`, every compound operand in
parentheses).  `Renderer(seed).render_objective(tree)` writes it another way, each choice drawn
at random: juxtaposition (with or without a space where the tokens allow it), Unicode or ASCII
operators, a redundant pair of parentheses around any operand, `Xᵀ`/`X'`/`X⊤`/`X.'`,
`inv(X)`/`X⁻¹`/`X^-1`/`X^(-1)`, `X^2`/`X²`/`X X`, `<A, B>`/`A · B`/`A : B`/`sum(A .* B)`,
`‖E‖²`/`||E||^2`/`||E||_F^2`, `W₁`/`W1`.  Precedence, loosest first, as grammar/matgrad.lark:
sum < frob < product < unary minus < juxtaposition < power < postfix < atom.
"""

from __future__ import annotations

import random

from hypothesis import strategies as st

DECLARATIONS = ("A: n x n; B: n x n; W1: n x n; X: t x n; P: n x t; C: t x t; x: n x 1; "
                "c: t x 1; s: scalar\n")
SYMBOLS: dict[tuple[str, str], list[str]] = {
    ("n", "n"): ["A", "B", "W1"], ("t", "n"): ["X"], ("n", "t"): ["P"], ("t", "t"): ["C"],
    ("n", "1"): ["x"], ("t", "1"): ["c"], ("1", "1"): ["s", "2", "3"],
}
SHAPES = [*SYMBOLS, ("1", "n"), ("1", "t")]
FUNCTIONS = ["tanh", "exp", "sin", "sigmoid", "f"]
Tree = tuple[object, ...]

SUM, FROB, PRODUCT, UNARY, JUXT, POWER, POSTFIX, ATOM = range(8)


@st.composite
def trees(draw: st.DrawFn, shape: tuple[str, str], depth: int) -> Tree:
    leaves = SYMBOLS.get(shape, [])
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        if leaves:
            leaf = draw(st.sampled_from(leaves))
            return ("num", leaf) if leaf[0].isdigit() else ("sym", leaf)
        return ("T", draw(trees((shape[1], shape[0]), 0)))
    square = shape[0] == shape[1] and shape != ("1", "1")
    kinds = ["mul", "add", "sub", "had", "neg", "T", "fn", "scale"]
    kinds += ["inv", "sq"] if square else []
    kind = draw(st.sampled_from(kinds))
    sub = depth - 1
    if kind == "mul":
        inner = draw(st.sampled_from(["n", "t", "1"]))
        return ("mul", draw(trees((shape[0], inner), sub)), draw(trees((inner, shape[1]), sub)))
    if kind == "scale":
        return ("mul", draw(trees(("1", "1"), sub)), draw(trees(shape, sub)))
    if kind in ("add", "sub", "had"):
        return (kind, draw(trees(shape, sub)), draw(trees(shape, sub)))
    if kind == "T":
        return ("T", draw(trees((shape[1], shape[0]), sub)))
    if kind == "fn":
        return ("fn", draw(st.sampled_from(FUNCTIONS)), draw(trees(shape, sub)))
    return (kind, draw(trees(shape, sub)))


@st.composite
def objectives(draw: st.DrawFn, depth: int = 3) -> Tree:
    kind = draw(st.sampled_from(["sum", "frob", "norm2", "tr"]))
    if kind == "tr":
        return ("tr", draw(trees(draw(st.sampled_from([("n", "n"), ("t", "t")])), depth)))
    shape = draw(st.sampled_from(SHAPES))
    if kind == "frob":
        return ("frob", draw(trees(shape, depth)), draw(trees(shape, depth)))
    return (kind, draw(trees(shape, depth)))


def _superscript_base(text: str) -> str:
    """A base for a superscript: A⁻¹² is one superscript (−12), so (A⁻¹)² needs its brackets."""
    return f"({text})" if text[-1] in "⁰¹²³⁴⁵⁶⁷⁸⁹" else text


def _wrap(text: str, prec: int, needed: int) -> str:
    return text if prec >= needed else f"({text})"


def canonical(tree: Tree, hadamard_sum: bool = False) -> str:
    """The objective in one fixed notation; ⟨A, B⟩ as sum(A .* B) when `hadamard_sum` (a
    different tree with the same value, which the other spellings are compared with)."""
    renderer = Renderer(None)
    renderer.hadamard_sum = hadamard_sum
    return renderer.render_objective(tree)


class Renderer:
    """Writes trees in notations drawn from `random.Random(seed)`; seed None: canonical."""

    def __init__(self, seed: int | None) -> None:
        self.random = random.Random(seed) if seed is not None else None
        self.same_tree = True  # False once a rendering with another tree (sum(A .* B)) is used
        self.hadamard_sum = False  # the canonical spelling of ⟨A, B⟩ is sum(A .* B)

    def choose(self, canonical_choice: str, *others: str) -> str:
        if self.random is None:
            return canonical_choice
        return self.random.choice([canonical_choice, *others])

    def maybe(self) -> bool:
        return self.random is not None and self.random.random() < 0.3

    def operand(self, tree: Tree, needed: int) -> str:
        """An operand printed at precedence `needed` or above, sometimes parenthesised anyway
        (a pair of parentheses around a factor never changes what it means)."""
        text, prec = self.render(tree)
        if self.random is None:
            return text if prec >= ATOM else f"({text})"
        if self.maybe():
            return f"({text})"
        return _wrap(text, prec, needed)

    def render_objective(self, tree: Tree) -> str:
        self.same_tree = True
        kind = tree[0]
        if kind == "sum":
            return f"sum({self.render(tree[1])[0]})"
        if kind == "tr":
            return f"tr({self.render(tree[1])[0]})"
        if kind == "norm2":
            inner = self.render(tree[1])[0]
            return self.choose(f"||{inner}||^2", f"‖{inner}‖²", f"||{inner}||_F^2",
                               f"(‖{inner}‖)^2")
        a, b = self.render(tree[1])[0], self.render(tree[2])[0]
        spelled = self.choose("hadamard-sum" if self.hadamard_sum else f"<{a}, {b}>", "dot",
                              "colon", "hadamard-sum")
        if spelled == "dot":
            return f"{self.operand(tree[1], FROB)} · {self.operand(tree[2], PRODUCT)}"
        if spelled == "colon":
            return f"{self.operand(tree[1], FROB)} : {self.operand(tree[2], PRODUCT)}"
        if spelled == "hadamard-sum":
            self.same_tree = False
            return f"sum({self.operand(tree[1], PRODUCT)} .* {self.operand(tree[2], UNARY)})"
        return spelled

    def render(self, tree: Tree) -> tuple[str, int]:
        kind = tree[0]
        if kind == "sym":
            name = str(tree[1])
            return (self.choose(name, "W₁") if name == "W1" else name), ATOM
        if kind == "num":
            return str(tree[1]), ATOM
        if kind == "mul":
            return self.product(tree[1], tree[2])  # type: ignore[arg-type]
        if kind in ("add", "sub"):
            minus = self.choose("-", "−")
            op = "+" if kind == "add" else minus
            # Operands of a sum are always parenthesised when compound: A + (B + C) and
            # A + B + C are different trees to the resolver.
            left = self.operand(tree[1], PRODUCT)  # type: ignore[arg-type]
            right = self.operand(tree[2], PRODUCT)  # type: ignore[arg-type]
            return f"{left} {op} {right}", SUM
        if kind == "had":
            op = self.choose(".*", "⊙")
            left = self.operand(tree[1], PRODUCT)  # type: ignore[arg-type]
            return f"{left} {op} {self.operand(tree[2], UNARY)}", PRODUCT  # type: ignore[arg-type]
        if kind == "neg":
            return f"{self.choose('-', '−')}{self.operand(tree[1], UNARY)}", UNARY  # type: ignore[arg-type]
        if kind == "T":
            mark = self.choose("'", "ᵀ", "⊤", ".'")
            return f"{self.operand(tree[1], POSTFIX)}{mark}", POSTFIX  # type: ignore[arg-type]
        if kind == "inv":
            inner = self.operand(tree[1], POSTFIX)  # type: ignore[arg-type]
            call = f"inv({self.render(tree[1])[0]})"  # type: ignore[arg-type]
            mark = f"{_superscript_base(inner)}⁻¹"
            spelled = self.choose(call, mark, f"{inner}^-1", f"{inner}^(-1)")
            return spelled, (POSTFIX if spelled in (call, mark) else POWER)
        if kind == "sq":
            inner = self.operand(tree[1], POSTFIX)  # type: ignore[arg-type]
            spelled = self.choose(f"{inner}^2", f"{_superscript_base(inner)}²")
            return spelled, (POSTFIX if spelled.endswith("²") else POWER)
        # an elementwise function
        return f"{tree[1]}({self.render(tree[2])[0]})", POSTFIX  # type: ignore[arg-type]

    def product(self, left_tree: Tree, right_tree: Tree) -> tuple[str, int]:
        notation = self.choose("*", "juxtapose")
        if notation == "*":
            return f"{self.operand(left_tree, PRODUCT)} * {self.operand(right_tree, UNARY)}", \
                PRODUCT
        left = self.operand(left_tree, JUXT)
        right = self.operand(right_tree, POWER)
        if right[0] in "-−‖|<" or right[0].isdigit():
            right = f"({right})"  # never the start of a juxtaposed operand
        if left[-1].isdigit() and right[0] in "eE":
            right = f"({right})"  # 2 e… would read as a number
        word = left[-1].isalnum() and right[0].isalnum()
        space = " " if word or (self.random is not None and self.random.random() < 0.5) else ""
        return f"{left}{space}{right}", JUXT
