"""Loading and validating rules/*.rules: every identity the engine applies is data from there.

A rule file is read with the same grammar and resolver as programs (start symbol `rulefile`,
resolution in rule mode).  Validation at load, each failure a `RuleError` naming file and line:
unique names, at least one cited identity, a known phase, right-hand variables bound on the left,
known guards on left-hand variables, both sides of the same shape (except `readoff`, whose right
side is the gradient read off a term), and every size of a right-hand 𝟏 or 0 determined by the
left-hand side.

Phases: `differentiate` rewrites d(…); `isolate` rewrites a whole term of dJ; `tidy` rewrites
anywhere, silently; `readoff` recognises a finished term G · dX and gives G; `stabilize`
rewrites a program's definitions into numerically stable forms before differentiation;
`derivatives` writes f′ and f″ of a built-in function out, for printers and code generation
(rewrite/derivative_forms.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from matgrad.errors import MatgradError, RuleError
from matgrad.front.rule_file import RuleText, read_rule_file
from matgrad.ir.dims import Dim, DimVar, Shape
from matgrad.ir.expr import (
    Add,
    Apply,
    Diff,
    Expr,
    Identity,
    Ones,
    RowApply,
    RowGrad,
    Var,
    Zero,
    contains_diff,
    substitute,
)
from matgrad.ir.shapes import Unifier
from matgrad.resources import rule_files
from matgrad.rewrite.match import FUNCTION_VARS, Bindings, Instantiator, Matcher, ShapeOf

PHASES = ("differentiate", "isolate", "tidy", "readoff", "stabilize", "derivatives", "symmetric")


class GuardContext:
    """What guards may ask about an expression; the engine provides the real answers."""

    def is_constant(self, expr: Expr) -> bool:
        raise NotImplementedError

    def is_scalar(self, expr: Expr) -> bool:
        raise NotImplementedError

    def is_onehot(self, expr: Expr) -> bool:
        """A declared `onehot` matrix: each row has one entry 1, the others 0."""
        return False

    def shape_of(self, expr: Expr) -> Shape:
        raise NotImplementedError

    def is_row(self, expr: Expr) -> bool:
        """A 1×n value (a row; 1×1 included)."""
        return self.shape_of(expr)[0] == 1

    def is_column(self, expr: Expr) -> bool:
        """An n×1 value (a column; 1×1 included)."""
        return self.shape_of(expr)[1] == 1


GUARDS: dict[str, Callable[[GuardContext, Expr], bool]] = {
    "const": lambda ctx, expr: ctx.is_constant(expr),
    "has_d": lambda ctx, expr: contains_diff(expr),
    "no_d": lambda ctx, expr: not contains_diff(expr),
    "scalar": lambda ctx, expr: ctx.is_scalar(expr),
    "onehot": lambda ctx, expr: ctx.is_onehot(expr),
    "row": lambda ctx, expr: ctx.is_row(expr),
    "column": lambda ctx, expr: ctx.is_column(expr),
    # A square matrix; the rule's sides are resolved with it square (front/resolve.py).
    "square": lambda ctx, expr: ctx.shape_of(expr)[0] == ctx.shape_of(expr)[1],
}


@dataclass(frozen=True)
class Rule:
    name: str
    cites: tuple[str, ...]
    phase: str
    lhs: Expr
    rhs: Expr
    guards: tuple[tuple[str, str], ...]
    var_shapes: dict[str, Shape]
    source: str
    # (X, Y, F(X)) when the rule is F(X + Y) => F(X) + F(Y): it then distributes over a whole
    # n-term sum in one application (linear time), as a textbook writes d(a + b + c).
    spreads: tuple[str, str, Expr] | None = None

    @property
    def head(self) -> type[Expr] | None:
        """The node class the rule can match at its top (None: any), for indexing."""
        pattern = self.lhs.x if isinstance(self.lhs, Diff) and self.phase == "differentiate" \
            else self.lhs
        return None if isinstance(pattern, Var) else type(pattern)

    def cites_guide(self) -> bool:
        return any(cite.isdigit() for cite in self.cites)


def _canonical(expr: Expr, unifier: Unifier) -> Expr:
    if isinstance(expr, (Ones, Zero)):
        return type(expr)(unifier.find(expr.rows), unifier.find(expr.cols))
    if isinstance(expr, Identity):
        return Identity(unifier.find(expr.size))
    kids = expr.children()
    return expr.with_children(tuple(_canonical(kid, unifier) for kid in kids)) if kids else expr


def _vars(expr: Expr) -> set[str]:
    return {node.name for node in expr.walk() if isinstance(node, Var)}


def _functions(expr: Expr) -> set[str]:
    return {node.fn for node in expr.walk()
            if isinstance(node, (Apply, RowApply, RowGrad)) and node.fn in FUNCTION_VARS}


def _dims(expr: Expr) -> set[Dim]:
    found: set[Dim] = set()
    for node in expr.walk():
        if isinstance(node, (Ones, Zero)):
            found.update((node.rows, node.cols))
        elif isinstance(node, Identity):
            found.add(node.size)
    return {dim for dim in found if isinstance(dim, DimVar)}


def build_rule(source: RuleText, where: str) -> Rule:
    location = f"{where}:{source.line}"
    if not source.cites:
        raise RuleError(f"{location}: rule {source.name} cites no identity")
    if source.phase not in PHASES:
        raise RuleError(f"{location}: unknown phase {source.phase}; known: {', '.join(PHASES)}")
    try:
        resolved = source.resolved(same_shape=source.phase != "readoff")
    except MatgradError as exc:
        raise RuleError(f"{location}: rule {source.name}: {exc}") from None
    unifier = resolved.unifier
    lhs = _canonical(resolved.lhs, unifier)
    rhs = _canonical(resolved.rhs, unifier)
    var_shapes = {name: unifier.find_shape(shape) for name, shape in resolved.var_shapes.items()}
    unbound = _vars(rhs) - _vars(lhs)
    if unbound:
        raise RuleError(f"{location}: rule {source.name}: {', '.join(sorted(unbound))} on the "
                        "right is not bound on the left")
    if _functions(rhs) - _functions(lhs):
        raise RuleError(f"{location}: rule {source.name}: a function on the right is not bound "
                        "on the left")
    guards: list[tuple[str, str]] = []
    for guard_name, args in source.guards:
        if guard_name not in GUARDS:
            raise RuleError(f"{location}: rule {source.name}: unknown guard {guard_name}; known: "
                            f"{', '.join(sorted(GUARDS))}")
        for arg in args:
            if arg not in _vars(lhs):
                raise RuleError(f"{location}: rule {source.name}: guard {guard_name}({arg}) names"
                                " a variable the left side does not bind")
            guards.append((guard_name, arg))
    determined = _dims(lhs) | {dim for name in _vars(lhs) for dim in var_shapes[name]
                               if isinstance(dim, DimVar)}
    if _dims(rhs) - determined:
        raise RuleError(f"{location}: rule {source.name}: the size of a 𝟏 or 0 on the right is "
                        "not determined by the left side")
    cited = tuple(cite for cite in source.cites)
    return Rule(source.name, cited, source.phase, lhs, rhs, tuple(guards), var_shapes, location,
                _distribution(lhs, rhs))


def _distribution(lhs: Expr, rhs: Expr) -> tuple[str, str, Expr] | None:
    """(X, Y, F(X)) when `lhs => rhs` reads F(X + Y) => F(X) + F(Y) for a context F that holds
    one sum of two distinct variables, each used once on the left."""
    sums = [node for node in lhs.walk() if isinstance(node, Add)]
    if len(sums) != 1 or len(sums[0].terms) != 2 or not isinstance(rhs, Add) \
            or len(rhs.terms) != 2:
        return None
    first, second = sums[0].terms
    if not (isinstance(first, Var) and isinstance(second, Var)) or first == second:
        return None
    occurrences = [node for node in lhs.walk() if node in (first, second)]
    if len(occurrences) != 2:
        return None
    hole = sums[0]
    if rhs.terms != (substitute(lhs, {hole: first}), substitute(lhs, {hole: second})):
        return None
    return first.name, second.name, rhs.terms[0]


def apply_rule(rule: Rule, expr: Expr, shape_of: ShapeOf,
               guard_context: GuardContext) -> Expr | None:
    """`rule` applied at the top of `expr` (None when it does not match or a guard fails).

    A distributing rule F(X + Y) => F(X) + F(Y) matched on an n-term sum (X the first term, Y
    the rest) gives all n terms F(t₁) + … + F(tₙ) at once when the guards hold for every term —
    the same result as applying it n − 1 times, without rebuilding the rest of the sum each time.
    """
    bindings = Matcher(rule.var_shapes, shape_of).match(rule.lhs, expr, Bindings())
    if bindings is None:
        return None
    if not all(GUARDS[guard](guard_context, bindings.exprs[arg]) for guard, arg in rule.guards):
        return None
    build = Instantiator(shape_of).build
    if rule.spreads is not None:
        first, rest, template = rule.spreads
        head, tail = bindings.exprs[first], bindings.exprs[rest]
        if isinstance(tail, Add) and not isinstance(head, Add):
            terms = (head, *tail.terms)
            holes = (first, rest)
            if all(GUARDS[guard](guard_context, term if arg in holes else bindings.exprs[arg])
                   for term in terms for guard, arg in rule.guards):
                parts = []
                for term in terms:
                    bindings.exprs[first] = term
                    parts.append(build(template, bindings))
                return Add(tuple(parts))
    return build(rule.rhs, bindings)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]

    def phase(self, phase: str) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.phase == phase)

    def by_name(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    def indexed(self, phase: str) -> dict[type[Expr] | None, tuple[Rule, ...]]:
        """Rules of a phase by head class; each list keeps file order, wildcards included."""
        rules = self.phase(phase)
        heads = {rule.head for rule in rules}
        return {head: tuple(rule for rule in rules if rule.head in (head, None))
                for head in heads | {None}}


def load_rule_texts(texts: Iterable[tuple[str, str]]) -> RuleSet:
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for where, text in texts:
        for source in read_rule_file(text, where):
            rule = build_rule(source, where)
            if rule.name in seen:
                raise RuleError(f"{rule.source}: rule name {rule.name} is already used at "
                                f"{seen[rule.name]}")
            seen[rule.name] = rule.source
            rules.append(rule)
    return RuleSet(tuple(rules))


@cache
def load_rules() -> RuleSet:
    """The rules shipped in rules/, read and checked once per process (from their text: no
    cache of objects is ever unpickled)."""
    files: list[Path] = rule_files()
    return load_rule_texts([(f"rules/{path.name}", path.read_text(encoding="utf-8"))
                            for path in files])
