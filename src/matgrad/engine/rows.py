"""Row decomposition: whether an objective is a sum over the row blocks of its data.

The guide's losses are sums over the rows of the data (its (19): J = (1/t)𝟏ᵀℓ(Zₖ) + p(W)).  When
every data argument is t×· and J is a linear combination of sums over the rows (𝟏ᵀ…, sum, ‖·‖²,
⟨·,·⟩, Xᵀ…) of row-local values (row i reads the data's row i only) and of terms on the
parameters alone (penalties), then for any split of the rows into blocks b

    J = Σ_b J_b + p,   ∇J = Σ_b ∇J_b + ∇p,

with J_b the data terms evaluated on block b.  This module decides that, one rule per operation
(a table of the kinds of the operands), and builds the two programs whose derivations give J_b
and p.

Invariants: a decomposition is exact or refused, never approximate: the refusal names the term
that couples rows and why.  The block program differs from the program only in the rows of its
data: t becomes the block's t_b in shapes, ones and zeros, while a size t read as a number (the
1/t of a mean) keeps meaning the whole t (the block function takes it as an argument).  The
input program is not changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from fractions import Fraction

from matgrad.engine.derive import derivation_of
from matgrad.engine.results import Derivation, LoopDerivation, Product
from matgrad.engine.second_order import hvp_derivation
from matgrad.errors import UnsupportedError
from matgrad.front.program import Program
from matgrad.ir.dims import Dim, Shape
from matgrad.ir.expr import (
    Add,
    Apply,
    Const,
    Det,
    DimSize,
    Div,
    Expr,
    Frechet,
    Frechet2,
    Frob,
    Hadamard,
    HadDiv,
    HadPower,
    Identity,
    Inv,
    LogDet,
    MatFun,
    MatMul,
    Neg,
    Norm,
    Ones,
    Power,
    RowApply,
    RowDot,
    RowGrad,
    Scale,
    Sum,
    Sym,
    Trace,
    Transpose,
    Zero,
    add,
)
from matgrad.ir.text import to_text
from matgrad.rewrite.rules import RuleSet

# What the step cites: the guide's (19) and the additivity of 𝟏ᵀ over stacked row blocks.
CITATION = "the guide (19); 𝟏ᵀ[Z₁; Z₂] = 𝟏ᵀZ₁ + 𝟏ᵀZ₂"


class Kind(Enum):
    """How a value depends on the rows of the data."""

    FREE = "free"  # reads no row of the data (parameters, constants, sizes)
    ROWS = "rows"  # t×·: row i reads the data's row i only
    COLS = "cols"  # ·×t: the transpose of a ROWS value
    SUM = "sum"    # a sum over every row of row-local values: Σ_b of the same on each block
    # A sum over the rows plus a value that reads none (XᵀX + λI): not a sum over blocks (the
    # second part would be counted once per block), so only a refusal can come of it.
    AFFINE = "affine"


@dataclass(frozen=True)
class RowDecomposition:
    """J = Σ_b J_b + p over the row blocks b of `rows`."""

    objective: str                # J
    rows: str                     # the dimension split into blocks (t)
    block_rows: str               # the rows of one block in the block program (t_b)
    data: tuple[str, ...]         # the arguments split into row blocks, in program order
    data_terms: Expr              # J_b: the terms summed over the rows
    penalty: Expr | None          # p: the terms on the parameters only
    block_program: Program        # the program of J_b (data t_b×·, sizes t as numbers)
    penalty_program: Program | None
    # For a layer loop: the depth its layers were written out at to decide the split.
    written_out_depth: int | None = None


class _Coupled(Exception):
    """A term that is not a sum over row blocks, and why (becomes the user's error)."""

    def __init__(self, node: Expr, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


Kinds = tuple[Kind, ...]
KindRule = Callable[[Expr, Kinds], Kind]

F, R, C, S = Kind.FREE, Kind.ROWS, Kind.COLS, Kind.SUM
ROWWISE = frozenset({R, C})
NOT_SUMMED = frozenset({F, R, C})


def _table(entries: Mapping[Kinds, Kind], refusals: Mapping[Kinds, str] | None = None,
           default: str = "combines values of different rows") -> KindRule:
    def rule(node: Expr, kinds: Kinds) -> Kind:
        if kinds in entries:
            return entries[kinds]
        raise _Coupled(node, (refusals or {}).get(kinds, default))
    return rule


def _elementwise(what: str) -> KindRule:
    """f(E) entry by entry: the rows stay where they are; f of a sum is not a sum."""
    def rule(node: Expr, kinds: Kinds) -> Kind:
        if kinds[0] in NOT_SUMMED:
            return kinds[0]
        raise _Coupled(node, f"applies {what} to a sum over the rows, which is not a sum of "
                             "per-block terms")
    return rule


def _row_function(node: Expr, kinds: Kinds) -> Kind:
    if kinds[0] in (F, R):
        return kinds[0]
    if kinds[0] is C:
        raise _Coupled(node, "applies a row-wise function across the rows (each of its rows "
                             "reads every data row)")
    raise _Coupled(node, "applies a row-wise function to a sum over the rows")


def _same_or_scaled_sum(product: str) -> KindRule:
    """Entrywise products and quotients: row-local with row-local; a sum over the rows with a
    value that reads no row (linear in the sum)."""
    return _table({(F, F): F, (R, R): R, (C, C): C, (S, F): S, (F, S): S},
                  {(S, S): f"is a {product} of two sums over the rows"})


def _add_rule(node: Expr, kinds: Kinds) -> Kind:
    found = set(kinds)
    if len(found) == 1:
        return kinds[0]
    if found <= {S, F, Kind.AFFINE}:
        return Kind.AFFINE
    raise _Coupled(node, "adds values of different rows")


def _transpose(node: Expr, kinds: Kinds) -> Kind:
    return {R: C, C: R}.get(kinds[0], kinds[0])


def _square(what: str) -> KindRule:
    def rule(node: Expr, kinds: Kinds) -> Kind:
        if all(kind is F for kind in kinds):
            return F
        raise _Coupled(node, f"takes {what} of a sum over the rows, which couples them (it is "
                             "not a sum of per-block terms)")
    return rule


def _norm(node: Expr, kinds: Kinds) -> Kind:
    if kinds[0] is F:
        return F
    raise _Coupled(node, "is the square root of a sum over the rows, not a sum; the squared "
                         "norm ‖·‖² is one")


def _power(node: Expr, kinds: Kinds) -> Kind:
    assert isinstance(node, Power)
    if kinds[0] is F:
        return F
    if kinds[0] is S and node.exponent == Const(Fraction(1)):
        return S
    raise _Coupled(node, "raises a sum over the rows to a power, which is not a sum of "
                         "per-block terms")


def _scale(node: Expr, kinds: Kinds) -> Kind:
    factor, value = kinds
    if factor is F:
        return value
    if factor is S and value is F:
        return S
    raise _Coupled(node, "multiplies a sum over the rows by a value that reads the rows")


def _div(node: Expr, kinds: Kinds) -> Kind:
    value, divisor = kinds
    if divisor is F:
        return value
    raise _Coupled(node, "divides by a sum over the rows (a normalisation over all rows)")


def _sum(node: Expr, kinds: Kinds) -> Kind:
    return F if kinds[0] is F else S


def _trace(node: Expr, kinds: Kinds) -> Kind:
    if kinds[0] in (F, S):
        return kinds[0]
    raise _Coupled(node, "is the trace of a matrix with a side of every row")


MATMUL = _table(
    {(F, F): F, (R, F): R, (F, C): C, (C, R): S, (S, F): S, (F, S): S},
    {(R, C): "is a matrix with a row and a column for every data row (a Gram matrix XXᵀ): it "
             "pairs every row with every other",
     (S, S): "is a product of two sums over the rows",
     (R, S): "multiplies each row by a sum over all rows, which couples them",
     (S, C): "multiplies each row by a sum over all rows, which couples them"})

# One rule per operation: the kinds of the operands (in field order) → the kind of the result.
KIND_RULES: dict[type[Expr], KindRule] = {
    Add: _add_rule,
    Neg: lambda node, kinds: kinds[0],
    Transpose: _transpose,
    Scale: _scale,
    Div: _div,
    Power: _power,
    HadPower: _elementwise("a power"),
    Apply: _elementwise("a function"),
    RowApply: _row_function,
    RowGrad: _row_function,
    RowDot: _table({(F, F): F, (R, R): R}),
    MatMul: MATMUL,
    Hadamard: _same_or_scaled_sum("product"),
    HadDiv: _table({(F, F): F, (R, R): R, (C, C): C, (S, F): S},
                   {(F, S): "divides by a sum over the rows",
                    (S, S): "is a quotient of two sums over the rows"}),
    Frob: _table({(F, F): F, (R, R): S, (C, C): S, (S, F): S, (F, S): S},
                 {(S, S): "is a product of two sums over the rows"}),
    Sum: _sum,
    Trace: _trace,
    Norm: _norm,
    Det: _square("the determinant"),
    LogDet: _square("the log-determinant"),
    Inv: _square("the inverse"),
    MatFun: _square("a matrix function"),
    Frechet: _square("a matrix function"),
    Frechet2: _square("a matrix function"),
}


class _Classifier:
    """The kind of every value of a program, each node and definition once."""

    def __init__(self, program: Program, rows: str, data: frozenset[str]) -> None:
        self.program = program
        self.rows = rows
        self.data = data
        self.memo: dict[Expr, Kind] = {}

    def kind(self, node: Expr) -> Kind:
        known = self.memo.get(node)
        if known is None:
            known = self.memo[node] = self._kind(node)
        return known

    def _sides(self, node: Expr, rows: Dim, cols: Dim) -> Kind:
        if rows == self.rows and cols == self.rows:
            raise _Coupled(node, f"is {self.rows}×{self.rows}: it pairs every row with every "
                                 "other")
        return R if rows == self.rows else C if cols == self.rows else F

    def _kind(self, node: Expr) -> Kind:
        if isinstance(node, Sym):
            definition = self.program.definitions.get(node.name)
            if definition is not None:
                return self.kind(definition)
            return R if node.name in self.data else F
        if isinstance(node, (Ones, Zero)):
            return self._sides(node, node.rows, node.cols)
        if isinstance(node, Identity):
            return self._sides(node, node.size, node.size)
        if isinstance(node, (Const, DimSize)):
            return F  # a size is a number: 1/t means the whole t in every block
        if isinstance(node, Power) and isinstance(node.base, Norm) and \
                node.exponent == Const(Fraction(2)):
            inner = self.kind(node.base.x)  # ‖E‖² = Σ of squares: additive over rows
            return F if inner is F else S if inner in ROWWISE else _power(node, (S,))
        rule = KIND_RULES.get(type(node))
        if rule is None:
            raise _Coupled(node, "is an operation the row decomposition has no rule for")
        kinds = tuple(self.kind(kid) for kid in node.children())
        if Kind.AFFINE not in kinds or isinstance(node, Add):
            return rule(node, kinds)
        # The operation's own refusal where it has one (logdet of a sum over the rows) …
        rule(node, tuple(S if kind is Kind.AFFINE else kind for kind in kinds))
        # … else it is linear, but what it reads adds a term every block would count again.
        raise _Coupled(node, "reads a sum over the rows plus a term on the parameters only, "
                             "which every block would count again; write the two as separate "
                             "terms of the objective (J = … + λ‖W‖²)")


def _linear_terms(node: Expr, classifier: _Classifier) -> list[Expr]:
    """The objective as a list of terms whose sum it is, distributing negation and scaling by
    values that read no data row (so (1/t)(Σ ℓ + λ‖W‖²) gives two terms)."""
    if isinstance(node, Add):
        return [term for kid in node.terms for term in _linear_terms(kid, classifier)]
    if isinstance(node, Neg):
        return [Neg(term) for term in _linear_terms(node.x, classifier)]
    if isinstance(node, Scale) and classifier.kind(node.s) is F:
        return [Scale(node.s, term) for term in _linear_terms(node.x, classifier)]
    if isinstance(node, Div) and classifier.kind(node.s) is F:
        return [Div(term, node.s) for term in _linear_terms(node.x, classifier)]
    if isinstance(node, Sym) and node.name in classifier.program.definitions:
        inner = _linear_terms(classifier.program.definitions[node.name], classifier)
        if len(inner) > 1:
            return inner
    return [node]


def _choose_rows(program: Program, wrt: tuple[str, ...], rows: str | None) -> str:
    marked = [name for name in program.parameters
              if "data" in program.attributes.get(name, frozenset())]
    candidates = marked or [name for name in program.parameters if name not in wrt]
    if rows is not None:
        if rows not in program.dims:
            raise UnsupportedError(f"the rows dimension '{rows}' is not a size of this "
                                   f"program; its sizes are {', '.join(program.dims)}.")
        return rows
    # The rows are a size of the data that no parameter has (parameters are shared by every
    # block): X: t x n, S: n x n, data, w: n x 1 split along t.
    shared = {dim for name in wrt for dim in program.shapes[name]}
    firsts = {program.shapes[name][0] for name in candidates
              if isinstance(program.shapes[name][0], str)}
    firsts = (firsts - shared) or firsts  # else the parameter with the rows is refused below
    if len(firsts) == 1:
        return str(firsts.pop())
    if not candidates or not firsts:
        raise UnsupportedError(
            "no data argument has named rows to split into blocks: mark the data (X: t x n, "
            "data) or name the rows dimension (rows='t', --rows t).")
    listed = ", ".join(sorted(map(str, firsts)))
    raise UnsupportedError(f"the data arguments have different rows ({listed}): name the "
                           "dimension to split into blocks (rows='t', --rows t).")


def _block_dim(program: Program, rows: str) -> str:
    taken = set(program.dims) | set(program.shapes)
    name = f"{rows}_b"
    while name in taken:
        name += "b"
    return name


def _renamed(shape: Shape, rows: str, block: str) -> Shape:
    return (block if shape[0] == rows else shape[0], block if shape[1] == rows else shape[1])


def _with_block_rows(node: Expr, rows: str, block: str, memo: dict[Expr, Expr]) -> Expr:
    """`node` on one block: ones and zeros with t rows get t_b; sizes t read as numbers stay."""
    done = memo.get(node)
    if done is not None:
        return done
    if isinstance(node, Ones):
        done = Ones(*_renamed((node.rows, node.cols), rows, block))
    elif isinstance(node, Zero):
        done = Zero(*_renamed((node.rows, node.cols), rows, block))
    elif node.children():
        done = node.with_children(tuple(_with_block_rows(kid, rows, block, memo)
                                        for kid in node.children()))
    else:
        done = node
    memo[node] = done
    return done


def _reachable(program: Program, root: Expr) -> list[str]:
    """The definitions `root` reads, directly or through others, in program order."""
    found: set[str] = set()
    stack = [root]
    while stack:
        for node in stack.pop().walk():
            if isinstance(node, Sym) and node.name in program.definitions and \
                    node.name not in found:
                found.add(node.name)
                stack.append(program.definitions[node.name])
    return [name for name in program.definitions if name in found]


def _part_program(program: Program, objective: Expr, rows: str | None, block: str) -> Program:
    """The program whose objective is `objective` (the data terms or the penalty), with only
    the definitions it reads; with `rows`, its data on one block of rows."""
    memo: dict[Expr, Expr] = {}

    def on_block(node: Expr) -> Expr:
        return node if rows is None else _with_block_rows(node, rows, block, memo)

    names = _reachable(program, objective)
    definitions = {name: on_block(program.definitions[name]) for name in names}
    definitions[program.objective] = on_block(objective)
    used = {node.name for value in definitions.values() for node in value.walk()
            if isinstance(node, Sym)}
    parameters = tuple(name for name in program.parameters if name in used)
    shapes = dict(program.shapes) if rows is None else {
        name: _renamed(shape, rows, block) for name, shape in program.shapes.items()}
    dims = program.dims if rows is None else (*program.dims, block)
    return replace(program, shapes=shapes, definitions=definitions, parameters=parameters,
                   wrt=None, dims=dims, inferred=(), unused=(), invented=(), written={})


@dataclass(frozen=True)
class TermSplit:
    """The objective's terms by kind: summed over the rows, or on the parameters only."""

    rows: str
    data: tuple[str, ...]
    summed: tuple[Expr, ...]
    penalty: tuple[Expr, ...]


def _data_arguments(program: Program, wrt: tuple[str, ...], rows: str) -> list[str]:
    data: list[str] = []
    for name in program.parameters:
        first, second = program.shapes[name]
        if second == rows and first != rows:
            raise UnsupportedError(
                f"'{name}' ({first}×{second}) has the rows {rows} as its columns; declare it "
                f"with the rows first ({name}: {rows} x {first}) so that its rows are split "
                "into blocks.")
        if first == rows:
            if name in wrt:
                raise UnsupportedError(
                    f"the parameter '{name}' has a row for every row of the data "
                    f"({first}×{second}); a row-block split needs parameters that every "
                    f"block shares (if the data's rows are another size, name it: rows='…', "
                    "--rows …).")
            data.append(name)
    return data


def split_terms(program: Program, wrt: tuple[str, ...], rows: str | None = None,
                data_required: bool = True) -> TermSplit:
    """The objective's terms split into sums over the row blocks of `rows` (default: the rows
    of the data) and terms on the parameters only, or an `UnsupportedError` naming the term
    that couples rows.  `data_required=False`: a program that reads no data row is all
    penalty (one term of a larger objective)."""
    rows = _choose_rows(program, wrt, rows)
    data = _data_arguments(program, wrt, rows)
    if not data and data_required:
        raise UnsupportedError(f"no argument has {rows} rows: there is nothing to split into "
                               "row blocks.")
    classifier = _Classifier(program, rows, frozenset(data))
    objective = program.definitions[program.objective]
    summed: list[Expr] = []
    penalty: list[Expr] = []
    try:
        for term in _linear_terms(objective, classifier):
            kind = classifier.kind(term)
            if kind is F:
                penalty.append(term)
            elif kind is S:
                summed.append(term)
            elif kind is Kind.AFFINE:
                raise _Coupled(term, "adds a sum over the rows to a term on the parameters "
                                     "inside another operation; write the two as separate "
                                     "terms of the objective (J = … + λ‖W‖²)")
            else:
                raise _Coupled(term, "is not summed over the rows")
    except _Coupled as refusal:
        raise UnsupportedError(
            f"{program.objective} is not a sum over the row blocks of {rows}: "
            f"{to_text(refusal.node)} {refusal.reason}.  Splitting the rows needs "
            f"{program.objective} = Σ_b {program.objective}_b + p(parameters).") from None
    if not summed and data_required:
        raise UnsupportedError(f"{program.objective} reads no row of the data "
                               f"({', '.join(data)}): there is nothing to sum over row blocks.")
    return TermSplit(rows, tuple(data), tuple(summed), tuple(penalty))


def row_decomposition(program: Program, wrt: tuple[str, ...],
                      rows: str | None = None) -> RowDecomposition:
    """J = Σ_b J_b + p over the row blocks of `rows` (default: the rows of the data), or an
    `UnsupportedError` naming the term that couples rows."""
    split = split_terms(program, wrt, rows)
    block = _block_dim(program, split.rows)
    data_terms = add(split.summed)
    penalty_terms = add(split.penalty) if split.penalty else None
    return RowDecomposition(
        program.objective, split.rows, block, split.data, data_terms, penalty_terms,
        _part_program(program, data_terms, split.rows, block),
        None if penalty_terms is None else _part_program(program, penalty_terms, None, block))


@dataclass(frozen=True)
class RowBlocks:
    """The derivations a row-block split runs: J_b on one block and p (None: no penalty) —
    or, for a Hessian-vector product, the products of each (∇²J V = Σ_b ∇²J_b V + ∇²p V)."""

    decomposition: RowDecomposition
    block: Derivation
    penalty: Derivation | None
    # A loop's block program weights the penalty by the constant `weight` (1 on the first
    # block, 0 on the others) and reads the whole t as the constant `total_rows`.
    weight: str | None = None
    total_rows: str | None = None


def _part_derivation(part: Program, wrt: tuple[str, ...], rules: RuleSet,
                     second_order: bool) -> Derivation:
    derived = derivation_of(part, tuple(name for name in wrt if name in part.parameters),
                            rules)
    return hvp_derivation(derived, rules) if second_order else derived


def row_blocks(derivation: Derivation, rules: RuleSet, rows: str | None = None) -> RowBlocks:
    """The split of `derivation` (a gradient or a Hessian-vector product, flat) into row
    blocks: the decomposition and the derivation of each part by the same engine."""
    assert not isinstance(derivation, LoopDerivation), "a loop is split by engine/row_loops.py"
    first, product = derivation.first_order, isinstance(derivation, Product)
    split = row_decomposition(first.program, first.wrt, rows)
    penalty = None if split.penalty_program is None else _part_derivation(
        split.penalty_program, first.wrt, rules, product)
    return RowBlocks(split, _part_derivation(split.block_program, first.wrt, rules, product),
                     penalty)


__all__ = ["CITATION", "Kind", "RowBlocks", "RowDecomposition", "row_blocks",
           "row_decomposition"]
