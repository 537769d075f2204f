"""The IR: immutable, hashable expression nodes, one class per operation.

Invariants:
- nodes are frozen dataclasses; equal structure means equal value and equal hash;
- constructors never simplify (a silent simplification would be a derivation step nobody sees);
  the only normalization is that `Add` flattens nested `Add`s into one n-ary sum;
- every node knows its child expressions (`children`) and can be rebuilt with new ones
  (`with_children`), so traversals, matching and printing dispatch on the class alone.

Scalars are 1×1 matrices (MATLAB semantics).  `Scale(s, X)` is scalar times matrix, `MatMul` is
the true matrix product, `Hadamard` the elementwise product (⊙), `Frob` the Frobenius product (·),
and `RowDot` the guide's row-wise product (a column of row dot products).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from fractions import Fraction
from operator import attrgetter
from typing import Any, ClassVar

from matgrad.ir.dims import Dim


@dataclass(frozen=True, slots=True)
class Expr:
    """Base class.  `_kids` names the fields that hold child expressions, in order."""

    _kids: ClassVar[tuple[str, ...]] = ()
    # The structural hash, computed once: derivations hash the same subtrees many times.
    _hash: int | None = field(default=None, init=False, repr=False, compare=False,
                              kw_only=True)

    def children(self) -> tuple[Expr, ...]:
        return tuple(getattr(self, name) for name in self._kids)

    def with_children(self, kids: tuple[Expr, ...]) -> Expr:
        if kids == self.children():
            return self
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        values.update(zip(self._kids, kids, strict=True))
        return type(self)(**values)

    def __str__(self) -> str:
        # The text printer registers itself here (printing sits above the IR in the layering).
        return _TEXT_PRINTER[0](self) if _TEXT_PRINTER else repr(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython and Jupyter show the formula (d.gradients['W'] as Xᵀ((Z − Y) ⊙ f′(A))), not
        the tree of the dataclass repr, which stays what repr() gives."""
        printer.text(str(self))

    def __reduce__(self) -> tuple[Callable[..., Expr], tuple[object, ...]]:
        # Pickled (by multiprocessing, by Dask) without the cached hash: string hashes differ
        # per process.  matgrad itself never unpickles anything.
        return type(self), tuple(getattr(self, f.name) for f in fields(self) if f.init)

    def walk(self) -> Iterator[Expr]:
        """Every node, pre-order, iteratively (deep trees must not hit the recursion limit)."""
        stack: list[Expr] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children()))


_TEXT_PRINTER: list[Callable[[Expr], str]] = []


def register_text_printer(printer: Callable[[Expr], str]) -> None:
    """Make `str(expr)` the guide's notation; called once by matgrad.ir.text."""
    _TEXT_PRINTER[:] = [printer]


# ---- leaves ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sym(Expr):
    """A named matrix: a parameter, a data matrix or a let-bound intermediate."""

    name: str


@dataclass(frozen=True, slots=True)
class Var(Expr):
    """A pattern variable of a rule (only in rules/, never in a user's program)."""

    name: str


@dataclass(frozen=True, slots=True)
class Const(Expr):
    """A numeric scalar constant, exact."""

    value: Fraction


@dataclass(frozen=True, slots=True)
class DimSize(Expr):
    """The value of a named dimension used as a scalar, e.g. the `t` of `1/t`."""

    dim: str


@dataclass(frozen=True, slots=True)
class Ones(Expr):
    """The all-ones matrix 𝟏 (the guide's 1); a column `rows×1` broadcasts a row vector."""

    rows: Dim
    cols: Dim


@dataclass(frozen=True, slots=True)
class Zero(Expr):
    """The zero matrix, what (8) gives for the differential of a constant."""

    rows: Dim
    cols: Dim


@dataclass(frozen=True, slots=True)
class Identity(Expr):
    """The identity matrix I of size n×n."""

    size: Dim


# ---- operations -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Add(Expr):
    """An n-ary sum (n ≥ 2); nested sums are flattened on construction."""

    terms: tuple[Expr, ...]

    def __post_init__(self) -> None:
        if any(isinstance(term, Add) for term in self.terms):
            flat: list[Expr] = []
            for term in self.terms:
                flat.extend(term.terms if isinstance(term, Add) else (term,))
            object.__setattr__(self, "terms", tuple(flat))
        if len(self.terms) < 2:
            raise ValueError("Add needs at least two terms")

    def children(self) -> tuple[Expr, ...]:
        return self.terms

    def with_children(self, kids: tuple[Expr, ...]) -> Expr:
        return self if kids == self.terms else Add(kids)


@dataclass(frozen=True, slots=True)
class Neg(Expr):
    x: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x",)


@dataclass(frozen=True, slots=True)
class Scale(Expr):
    """`s X`: the 1×1 expression s times every entry of X."""

    s: Expr
    x: Expr
    _kids: ClassVar[tuple[str, ...]] = ("s", "x")


@dataclass(frozen=True, slots=True)
class Div(Expr):
    """`X / s`: every entry of X divided by the 1×1 expression s."""

    x: Expr
    s: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x", "s")


@dataclass(frozen=True, slots=True)
class Power(Expr):
    """`s ^ p` for 1×1 s and constant p; `‖E‖²` is `Power(Norm(E), 2)`."""

    base: Expr
    exponent: Expr
    _kids: ClassVar[tuple[str, ...]] = ("base", "exponent")


@dataclass(frozen=True, slots=True)
class HadPower(Expr):
    """`E .^ p`, the elementwise (Hadamard) power by a constant p that is not a whole number
    1…16 (those are written out as E ⊙ ⋯ ⊙ E)."""

    base: Expr
    exponent: Expr
    _kids: ClassVar[tuple[str, ...]] = ("base", "exponent")


@dataclass(frozen=True, slots=True)
class MatMul(Expr):
    a: Expr
    b: Expr
    _kids: ClassVar[tuple[str, ...]] = ("a", "b")


@dataclass(frozen=True, slots=True)
class Hadamard(Expr):
    """A ⊙ B, elementwise product (binary; chains nest to the left)."""

    a: Expr
    b: Expr
    _kids: ClassVar[tuple[str, ...]] = ("a", "b")


@dataclass(frozen=True, slots=True)
class HadDiv(Expr):
    """A ./ B, elementwise division."""

    a: Expr
    b: Expr
    _kids: ClassVar[tuple[str, ...]] = ("a", "b")


@dataclass(frozen=True, slots=True)
class Frob(Expr):
    """A · B = Σᵢⱼ AᵢⱼBᵢⱼ, the Frobenius product (a 1×1 result)."""

    a: Expr
    b: Expr
    _kids: ClassVar[tuple[str, ...]] = ("a", "b")


@dataclass(frozen=True, slots=True)
class RowDot(Expr):
    """The guide's row-wise product: the column whose i-th entry is Aᵢ · Bᵢ."""

    a: Expr
    b: Expr
    _kids: ClassVar[tuple[str, ...]] = ("a", "b")


@dataclass(frozen=True, slots=True)
class Transpose(Expr):
    x: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x",)


@dataclass(frozen=True, slots=True)
class Apply(Expr):
    """An elementwise function; `order` counts derivatives (`f′` has order 1)."""

    fn: str
    arg: Expr
    order: int = 0
    _kids: ClassVar[tuple[str, ...]] = ("arg",)


@dataclass(frozen=True, slots=True)
class RowApply(Expr):
    """A row-wise vector-to-scalar function g (identity 16): r×c → r×1."""

    fn: str
    arg: Expr
    _kids: ClassVar[tuple[str, ...]] = ("arg",)


@dataclass(frozen=True, slots=True)
class RowGrad(Expr):
    """∇g(X): the matrix whose i-th row is the gradient of g at row i of X."""

    fn: str
    arg: Expr
    _kids: ClassVar[tuple[str, ...]] = ("arg",)


@dataclass(frozen=True, slots=True)
class Sum(Expr):
    """Sum of all entries (a 1×1 result)."""

    x: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x",)


@dataclass(frozen=True, slots=True)
class Norm(Expr):
    """The Frobenius (Euclidean) norm ‖X‖."""

    x: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x",)


@dataclass(frozen=True, slots=True)
class Trace(Expr):
    """tr(X) of a square X (a 1×1 result)."""

    x: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x",)


@dataclass(frozen=True, slots=True)
class Det(Expr):
    """det(X) of a square X."""

    x: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x",)


@dataclass(frozen=True, slots=True)
class LogDet(Expr):
    """log det(X) of a square X with positive determinant (log |det X| in code)."""

    x: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x",)


@dataclass(frozen=True, slots=True)
class Inv(Expr):
    """The inverse X⁻¹ of a square X."""

    x: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x",)


@dataclass(frozen=True, slots=True)
class MatFun(Expr):
    """A matrix function f(X) of a square X (`fn` names a row of functions.MATRIX_FUNCTIONS:
    expm, logm, sqrtm), defined by its power series or the principal branch, not entry by
    entry."""

    fn: str
    x: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x",)


@dataclass(frozen=True, slots=True)
class Frechet(Expr):
    """L_f(X, E): the Fréchet derivative of the matrix function `fn` at X in the direction E,
    the linear part of f(X + E) − f(X) (Higham, Functions of Matrices, 2008, §3.1)."""

    fn: str
    x: Expr
    e: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x", "e")


@dataclass(frozen=True, slots=True)
class Frechet2(Expr):
    """L⁽²⁾_f(X; E₁, E₂): the second Fréchet derivative of the matrix function `fn`, the
    derivative of L_f(X, E₂) along E₁ (symmetric in E₁ and E₂; Higham & Relton, SIAM J. Matrix
    Anal. Appl. 35, 2014)."""

    fn: str
    x: Expr
    e1: Expr
    e2: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x", "e1", "e2")


@dataclass(frozen=True, slots=True)
class Diff(Expr):
    """The differential dX."""

    x: Expr
    _kids: ClassVar[tuple[str, ...]] = ("x",)


def _cache_hash(cls: type[Expr]) -> None:
    structural = cls.__hash__
    # The class takes part: the fields alone hash d(sum(X)) and sum(d(X)) alike, and the
    # engine's cycle check sums term hashes.
    kind = cls.__name__

    def cached_hash(self: Expr) -> int:
        known = self._hash
        if known is None:
            known = hash((kind, structural(self)))
            object.__setattr__(self, "_hash", known)
        return known

    cls.__hash__ = cached_hash  # type: ignore[method-assign, assignment]


# `dataclass(slots=True)` replaces each class by a new one; the originals stay registered as
# subclasses, so the node classes are taken by name from this module.
NODE_CLASSES: tuple[type[Expr], ...] = tuple(dict.fromkeys(
    globals()[cls.__name__] for cls in Expr.__subclasses__()))


def _fast_children(cls: type[Expr]) -> None:
    """`children()` without a generator per call: the engine asks for children constantly."""
    if "children" in cls.__dict__:
        return  # the class has its own (Add's terms)
    kids = cls._kids
    if not kids:
        cls.children = lambda self: ()  # type: ignore[method-assign]
    elif len(kids) == 1:
        only = attrgetter(kids[0])
        cls.children = lambda self: (only(self),)  # type: ignore[method-assign]
    else:
        several = attrgetter(*kids)

        def children(self: Expr) -> tuple[Expr, ...]:
            # A function, not the attrgetter itself: an attrgetter does not bind as a method.
            kids_of_self: tuple[Expr, ...] = several(self)
            return kids_of_self

        cls.children = children  # type: ignore[method-assign]


for _node_class in NODE_CLASSES:
    _cache_hash(_node_class)
    _fast_children(_node_class)
    # IPython takes a class's own __repr__ (the dataclass's) before a base's _repr_pretty_:
    # each node class gets its own, so that a notebook shows the formula.
    _node_class._repr_pretty_ = Expr._repr_pretty_  # type: ignore[method-assign]


# ---- helpers --------------------------------------------------------------------------------

ONE = Const(Fraction(1))


def add(terms: list[Expr] | tuple[Expr, ...]) -> Expr:
    """The sum of one or more terms (a single term is returned as it is)."""
    if not terms:
        raise ValueError("add() of no terms")
    return terms[0] if len(terms) == 1 else Add(tuple(terms))


def height(expr: Expr) -> int:
    """Levels above the leaves (a leaf is 0), computed without recursion."""
    heights: dict[int, int] = {}
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        node, ready = stack.pop()
        kids = node.children()
        if not ready and kids:
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids)
            continue
        heights[id(node)] = 1 + max((heights[id(kid)] for kid in kids), default=-1)
    return heights[id(expr)]


def contains_diff(expr: Expr) -> bool:
    return any(isinstance(node, Diff) for node in expr.walk())


def symbols(expr: Expr) -> set[str]:
    return {node.name for node in expr.walk() if isinstance(node, Sym)}


def size(expr: Expr) -> int:
    return sum(1 for _ in expr.walk())


def substitute(expr: Expr, mapping: dict[Expr, Expr]) -> Expr:
    """Replace every occurrence of a key of `mapping` (structurally) by its value."""
    if expr in mapping:
        return mapping[expr]
    kids = expr.children()
    if not kids:
        return expr
    return expr.with_children(tuple(substitute(kid, mapping) for kid in kids))
