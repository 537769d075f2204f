"""Resolution of programs and rules: statements in order — declarations, let-bindings, the
`wrt` and `objective` lines, each kind one entry of `STATEMENTS` — resolved by the expression
resolver (expressions.py) into a frozen `Program` (program.py); the two sides of a rule in one
shape context.

- `name(arg)` is an elementwise function unless `name` is a matrix (then it is a product); an
  abstract function is one of the guide's one-letter names (`f`, `g₁`, `f[j]`) or declared
  `name: function`, and any other unknown name is refused with "did you mean …?" (calls.py);
- a dimension name used as a value (`1/t`) is that dimension's size;
- the input is read as meant or refused: declared names written together (`Ax`) are refused
  with the spelling (scope.py), a row-wise built-in of a column applies over its entries, an
  operator norm or an ambiguous `mean(X)`/`norm(X)` of a matrix is refused once shapes are
  final;
- with `naming="guide"`, intermediates get the guide's names (naming.py).

Defaults (documented in docs/language.md): an undeclared symbol gets unknown dimensions that are
unified by its uses; `*` between operands not known to be 1×1 is a matrix product; dimensions
still unknown at the end are named `d1`, `d2`, ….

The same resolver reads rule files (`mode="rule"`): there every name is a pattern variable,
lower-case ones are 1×1 scalars, `f`/`h` are elementwise function variables, `g` a row-wise one,
`d(X)` / `dX` is a differential and a literal `0` is a zero matrix of any shape.

Invariant: the result carries no `DimVar`; every error is a `MatgradError` naming what is wrong
and where.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from matgrad.errors import MatgradError, ShapeError, UsageError
from matgrad.front.expressions import Resolver
from matgrad.front.naming import name_intermediates
from matgrad.front.program import ATTRIBUTES, SYMMETRIC_ATTRIBUTES, Program
from matgrad.front.scope import KEYWORDS, SPECIAL_CALLS
from matgrad.front.syntax import Decl, Let, Objective, Pos, SExpr, Statement, Wrt
from matgrad.front.words import FUNCTION_DECLARATION, ROWWISE_DECLARATION
from matgrad.functions import ELEMENTWISE, FUNCTION_ALIASES, NAMED_GRADIENTS, ROWWISE
from matgrad.ir.dims import SCALAR, Dim, DimVar, Shape, format_shape
from matgrad.ir.expr import Expr, Sym, size, substitute, symbols
from matgrad.ir.shapes import Unifier
from matgrad.limits import MAX_NODES, exceeded

__all__ = ["resolve_program", "resolve_rule"]


def _declared_shape(decl: Decl) -> Shape:
    assert not isinstance(decl.shape, str), "row-wise function declarations have no shape"
    return SCALAR if decl.shape is None else decl.shape


@dataclass
class _Statements:
    """What the statements of a program set besides the resolver's scope."""

    attributes: dict[str, frozenset[str]] = field(default_factory=dict)
    positions: dict[str, Pos] = field(default_factory=dict)
    wrt: tuple[str, ...] | None = None
    objective: str | None = None


def _let(resolver: Resolver, statement: Let, read: _Statements) -> None:
    if statement.name in resolver.definitions or statement.name in resolver.declared:
        raise UsageError(f"'{statement.name}' is defined twice (line {statement.pos.line})"
                         "; each name is bound once.")
    if statement.name in resolver.matrices_used:
        raise UsageError(f"'{statement.name}' is used before it is defined at line "
                         f"{statement.pos.line}; define it first.")
    if statement.name in KEYWORDS:
        raise UsageError(f"'{statement.name}' at line {statement.pos.line} is a keyword "
                         "of the language; choose another name.")
    expr, shape = resolver.expr(statement.value)
    if statement.name in symbols(expr):
        raise UsageError(f"'{statement.name}' at line {statement.pos.line} is defined by "
                         "an expression that reads it: each name is bound once, so "
                         f"write the new value under a new name ({statement.name}2 = "
                         "…).")
    resolver.definitions[statement.name] = expr
    resolver.shapes[statement.name] = shape
    read.positions[statement.name] = statement.pos


def _declaration(resolver: Resolver, statement: Decl, read: _Statements) -> None:
    _declare(resolver, statement, read.attributes)
    if statement.name not in resolver.row_functions:
        read.positions[statement.name] = statement.pos


def _wrt(resolver: Resolver, statement: Wrt, read: _Statements) -> None:
    read.wrt = (read.wrt or ()) + statement.names


def _objective_line(resolver: Resolver, statement: Objective, read: _Statements) -> None:
    read.objective = statement.name


# What each kind of statement does to the program being resolved.
STATEMENTS: dict[type[Statement], Callable[[Resolver, Any, _Statements], None]] = {
    Decl: _declaration, Let: _let, Wrt: _wrt, Objective: _objective_line}


def _sizes(resolver: Resolver, statements: list[Statement]) -> None:
    """The sizes the declarations name, in order; a name that is a size and a matrix is
    refused (X: X x n — is X in 1/X the size or the matrix?)."""
    for statement in statements:
        if isinstance(statement, Decl) and statement.shape not in (ROWWISE_DECLARATION,
                                                                  FUNCTION_DECLARATION):
            for dim in _declared_shape(statement):
                if isinstance(dim, str) and dim not in resolver.dims:
                    resolver.dims.append(dim)
    lines_of = {s.name: s.pos.line for s in statements if isinstance(s, (Decl, Let))}
    for dim in set(resolver.dims) & set(lines_of):
        raise UsageError(f"'{dim}' at line {lines_of[dim]} names a matrix and a size; give the "
                         "size another name.")


def _the_objective(resolver: Resolver, named: str | None, matrix: bool = False) -> str:
    """The objective: the `objective` line's name, else the last definition; 1×1 unless a
    `matrix` objective (whose Jacobian is asked for) may be of any shape."""
    if not resolver.definitions:
        raise UsageError("the program defines no objective: add a line such as "
                         "`J = 1/2 * ||X*W - Y||^2`.")
    objective = list(resolver.definitions)[-1] if named is None else named
    if objective not in resolver.definitions:
        raise UsageError(f"the objective '{objective}' is not defined by a `{objective} = …` "
                         "line.")
    if not matrix and not resolver.unifier.unify_shapes(resolver.shapes[objective], SCALAR):
        shape_text = resolver.shape_text(resolver.shapes[objective])
        raise ShapeError(f"the objective {objective} is {shape_text}, not a scalar: matgrad "
                         f"differentiates scalar objectives; use sum({objective}) or "
                         f"||{objective}||^2, or ask for the Jacobian of {objective} "
                         "(--jacobian, derive(…, jacobian=True)).")
    return objective


def resolve_program(source: str, statements: list[Statement],
                    naming: Literal["guide", "inline"] = "inline",
                    matrix_objective: bool = False) -> Program:
    """Resolve a parsed program; raises MatgradError subclasses for every kind of bad input.
    With `naming="guide"` the intermediates of inline expressions are named as the guide names
    them (naming.py), so that a one-line objective derives like its let-bound form; with
    `matrix_objective` the objective may be a matrix (its Jacobian is asked for)."""
    resolver = Resolver(source, "program")
    _sizes(resolver, statements)
    read = _Statements()
    for statement in statements:
        STATEMENTS[type(statement)](resolver, statement, read)
    objective = _the_objective(resolver, read.objective, matrix_objective)
    # A 𝟏 whose size its context leaves open is a vector, as the guide's 1 always is.
    for dim in resolver.ones_dims:
        resolver.unifier.unify(dim, 1)
    resolver.run_deferred()
    total = sum(size(expr) for expr in resolver.definitions.values())
    if total > MAX_NODES:
        raise UsageError("the program is too large for a derivation: split it, or name "
                         f"repeated parts with let-bindings {exceeded('MAX_NODES', total)}.")
    names: dict[DimVar, str] = {}
    shapes = {name: (resolver.final_dim(s[0], names), resolver.final_dim(s[1], names))
              for name, s in resolver.shapes.items()}
    column_reads = resolver.column_reads()
    definitions = {name: resolver.finish(substitute(expr, column_reads) if column_reads else expr,
                                         names)
                   for name, expr in resolver.definitions.items()}
    parameters = _free_symbols(objective, definitions)
    dims = tuple(dict.fromkeys([*resolver.dims, *(d for d in names.values())]))
    inferred = tuple(name for name in parameters if name not in resolver.declared)
    unused = tuple(name for name in resolver.declared if name not in parameters)
    invented: tuple[str, ...] = ()
    written = dict(definitions)
    if naming == "guide":
        named = name_intermediates(definitions, shapes, {*dims, *resolver.functions})
        definitions, shapes, invented = named.definitions, named.shapes, named.invented
    return Program(source, shapes, definitions, objective, read.wrt, read.attributes,
                   parameters, frozenset(resolver.functions), dims, read.positions,
                   frozenset(resolver.row_functions), inferred, unused, invented, written)


def _declare(resolver: Resolver, decl: Decl, attributes: dict[str, frozenset[str]]) -> None:
    if decl.name in resolver.declared or decl.name in resolver.definitions or \
            decl.name in resolver.declared_functions or decl.name in resolver.row_functions:
        raise UsageError(f"'{decl.name}' is declared twice (line {decl.pos.line}).")
    if decl.name in resolver.matrices_used:
        raise UsageError(f"'{decl.name}' is used before its declaration at line "
                         f"{decl.pos.line}; put declarations first.")
    unknown = set(decl.attributes) - ATTRIBUTES
    if unknown:
        raise UsageError(f"unknown attribute {', '.join(sorted(unknown))} for '{decl.name}' at "
                         f"line {decl.pos.line}; known: {', '.join(sorted(ATTRIBUTES))}.")
    if (decl.name in ELEMENTWISE or decl.name in ROWWISE or decl.name in SPECIAL_CALLS
            or decl.name in NAMED_GRADIENTS or decl.name in FUNCTION_ALIASES):
        raise UsageError(f"'{decl.name}' at line {decl.pos.line} is a built-in function name; "
                         "choose another name.")
    if decl.name in KEYWORDS:
        raise UsageError(f"'{decl.name}' at line {decl.pos.line} is a keyword of the language; "
                         "choose another name.")
    if decl.shape in (FUNCTION_DECLARATION, ROWWISE_DECLARATION):
        kind = "a row-wise function" if decl.shape == ROWWISE_DECLARATION else "a function"
        if decl.attributes:
            raise UsageError(f"'{decl.name}' at line {decl.pos.line} is {kind}; attributes "
                             "belong to matrices.")
        kinds = (resolver.row_functions if decl.shape == ROWWISE_DECLARATION
                 else resolver.declared_functions)
        kinds.add(decl.name)
        resolver.functions.add(decl.name)
        return
    resolver.declared.add(decl.name)
    resolver.shapes[decl.name] = _declared_shape(decl)
    symmetric = SYMMETRIC_ATTRIBUTES & set(decl.attributes)
    rows, cols = resolver.shapes[decl.name]
    if symmetric and rows != cols:
        raise UsageError(f"'{decl.name}' at line {decl.pos.line} is declared "
                         f"{', '.join(sorted(symmetric))} but is {rows} x {cols}: a symmetric "
                         f"matrix is square ({decl.name}: {rows} x {rows}).")
    attributes[decl.name] = frozenset(decl.attributes)


def _free_symbols(objective: str, definitions: dict[str, Expr]) -> tuple[str, ...]:
    """Symbols the objective depends on that are not let-bound, in order of first appearance."""
    seen: dict[str, None] = {}
    visited: set[str] = set()
    stack = [objective]
    order: list[str] = []
    while stack:
        name = stack.pop()
        if name in visited:
            continue
        visited.add(name)
        order.append(name)
        for node in definitions[name].walk():
            if isinstance(node, Sym) and node.name in definitions:
                stack.append(node.name)
    for name in sorted(order, key=list(definitions).index):
        for node in definitions[name].walk():
            if isinstance(node, Sym) and node.name not in definitions:
                seen.setdefault(node.name)
    return tuple(seen)


# ---- rule files -----------------------------------------------------------------------------


@dataclass
class ResolvedPattern:
    lhs: Expr
    rhs: Expr
    var_shapes: dict[str, Shape]
    unifier: Unifier


def resolve_rule(source: str, lhs: SExpr, rhs: SExpr, same_shape: bool = True,
                 square: tuple[str, ...] = ()) -> ResolvedPattern:
    """Resolve both sides of a rule in one shape context; normally of the same shape.  The
    variables in `square` (the rule's `square(X)` guards) are square matrices."""
    resolver = Resolver(source, "rule")
    unifier = resolver.unifier
    left, left_shape = resolver.expr(lhs)
    for name in square:
        if name in resolver.shapes:
            unifier.unify(*resolver.shapes[name])
    left_dims = [dim for shape in [*resolver.shapes.values(), left_shape] for dim in shape
                 if isinstance(dim, DimVar)]
    before = {dim: unifier.find(dim) for dim in left_dims}
    right, right_shape = resolver.expr(rhs)
    same = unifier.unify_shapes(left_shape, right_shape) if same_shape else True
    # The right side may not narrow the left side's shapes (make X square, or 1×1): such a
    # rule would only hold for some of the matrices its left side matches.
    groups: dict[Dim, set[Dim]] = {}
    for dim, old in before.items():
        groups.setdefault(unifier.find(dim), set()).add(old)
    narrowed = any(len(olds) > 1 or (not isinstance(new, DimVar) and olds != {new})
                   for new, olds in groups.items())
    if not same or narrowed:
        raise MatgradError(f"the two sides have different shapes: "
                           f"{format_shape(left_shape)} and {format_shape(right_shape)}")
    return ResolvedPattern(left, right, dict(resolver.shapes), unifier)
