"""The engine: reverse accumulation over named nodes, every rewrite a named rule.

dJ is kept as a list of terms, each a 1×1 expression linear in the differentials.  Starting from
d(definition of J), the engine repeats, for the latest let-bound node N that still carries a
differential (as the guide unrolls (20)–(22)):
  1. merge the finished terms G · dN into one, substitute dN = d(definition of N);
  2. rewrite the first unfinished term: first any d(…) of a compound expression by the
     `differentiate` rules (8)–(16), then the whole term by the `isolate` rules (5)–(7);
  3. tidy the result (rules/tidy.rules and constant folding) and split it into terms;
until every term is G · dM for a parameter or an earlier node M (recognised by the `readoff`
rule (17)).  The coefficient of N is its adjoint; it is named Δ (for Aⱼ: Δⱼ) when it feeds more
than one term and the backward pass continues through it, as in the guide's (23); otherwise it
is inlined, as in (3)–(4).  Derivation time and output size are linear in the program's size.

Invariants: only the engine creates `Step`s; given the same input the steps are identical; a term
no rule can rewrite raises `UnsupportedError` naming it — never a wrong gradient.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Container
from dataclasses import dataclass, replace

from matgrad.engine.history import Edit, History, Step
from matgrad.engine.results import Derivation
from matgrad.engine.symmetric import on_symmetric_matrices
from matgrad.errors import RuleError, UnsupportedError
from matgrad.front.program import SYMMETRIC_CONVENTIONS, Program
from matgrad.front.read import refuse_let_bound
from matgrad.ir import indexing
from matgrad.ir.dims import SCALAR, Shape
from matgrad.ir.expr import (
    Add,
    Apply,
    Diff,
    Expr,
    Frob,
    Sym,
    Zero,
    add,
    contains_diff,
    height,
    substitute,
)
from matgrad.ir.shapes import shape_of
from matgrad.ir.text import to_text
from matgrad.limits import MAX_STEPS, exceeded
from matgrad.rewrite.rules import GuardContext, Rule, RuleSet, apply_rule
from matgrad.rewrite.simplify import Tidier

MAX_INLINED_HEIGHT = 16

# How the adjoint of a node is named: (node, names taken) → a fresh name.
AdjointNamer = Callable[[str, Container[str]], str]


@dataclass
class EngineResult:
    gradients: dict[str, Expr]
    adjoints: dict[str, Expr]
    adjoint_nodes: dict[str, str]
    steps: list[Step]
    shapes: dict[str, Shape]
    # Every expanded node's coefficient (named or inlined), for naming code temporaries.
    node_adjoints: dict[str, Expr]
    # The program as derived: its definitions in their stable forms (rules/stable.rules).
    program: Program


def adjoint_name(node: str, taken: Container[str]) -> str:
    """Δⱼ for the guide's Aⱼ (and A[j]), Δ for A, ΔN for any other node N; never a name already
    taken."""
    parts = indexing.split(node)
    if parts is not None:
        # An indexed node keeps an indexed adjoint (Δ[j], then Δ_[j]), so that shifting the
        # layer index (j → j+1) reaches it.
        base, index = parts
        stem = "Δ" if base == "A" else "Δ" + base
        while indexing.make(stem, index) in taken:
            stem += "_"
        return indexing.make(stem, index)
    if node == "A":
        name = "Δ"
    elif node[:1] == "A" and node[1:].isdigit():
        name = "Δ" + node[1:]
    else:
        name = "Δ" + node
    while name in taken:
        name += "_"
    return name


# The functions under which a named argument is looked through for a stable form (log1p(exp z)).
LOGARITHMS = frozenset({"log", "log1p"})


class Engine(GuardContext):
    def __init__(self, program: Program, wrt: tuple[str, ...], rules: RuleSet,
                 outer_nodes: frozenset[str] = frozenset(),
                 namer: AdjointNamer | None = None) -> None:
        # The engine's own copy: stabilising rewrites its definitions, never the caller's.
        self.program = replace(program, definitions=dict(program.definitions))
        # Parameters that stand for nodes of an enclosing program (a loop body's Z[j-1]): an
        # adjoint feeding one is named, as one feeding a let-bound node is.
        self.outer_nodes = outer_nodes
        # The second-order derivation names its adjoints as tangents (Ȧ, Δ̇): second_order.py.
        self.namer: AdjointNamer = namer or adjoint_name
        self.wrt = wrt
        self.shapes: dict[str, Shape] = dict(program.shapes)
        self.shape_memo: dict[Expr, Shape] = {}
        self.varying = set(wrt) | self._varying_nodes(program, set(wrt))
        self.differentiate_rules = rules.indexed("differentiate")
        self.isolate_rules = rules.phase("isolate")
        self.readoff_rules = rules.phase("readoff")
        self.read_by: dict[str, Rule] = {}  # parameter → the read-off rule that read it
        if not self.readoff_rules:
            raise RuleError("the rules have no readoff phase: nothing would read a gradient "
                            "off dJ (rules/readoff.rules).")
        self.tidier = Tidier(rules.phase("tidy"), self.shape_of, self)
        self.symmetric_rule = (_symmetric_rule(rules, program.symmetric_gradient)
                               if set(wrt) & program.symmetric else None)
        self.steps: list[Step] = []
        self.dims: dict[str, object] = dict.fromkeys(program.dims)
        self.state: list[Expr] = []
        # The name each term of the state reads off (G · dN → N), None while unfinished.
        self.targets: list[str | None] = []
        self.history = History()
        self.adjoints: dict[str, Expr] = {}
        self.adjoint_nodes: dict[str, str] = {}
        self.node_adjoints: dict[str, Expr] = {}
        self.const_memo: dict[Expr, bool] = {}
        self.finished_memo: dict[Expr, tuple[str, Expr] | None] = {}
        self.target_memo: dict[Expr, tuple[int, ...] | None] = {}
        self._stabilize(Tidier(rules.phase("stabilize"), self.shape_of, self))

    def _stabilize(self, stabilizer: Tidier) -> None:
        """Rewrite every definition into its stable form (rules/stable.rules).  Nodes used under
        a log or log1p, as in `Z = softmax(A); … log(Z)`, `Z = σ(A); … log(1 − Z)` or
        `E = exp(A); … log1p(E)`, are looked through (one level): if the log with their
        definitions written in has a stable form, that form replaces it."""
        definitions = self.program.definitions
        for name, definition in definitions.items():
            looked_through: dict[Expr, Expr] = {}
            for node in definition.walk():
                if not (isinstance(node, Apply) and node.fn in LOGARITHMS and node.order == 0):
                    continue
                named: dict[Expr, Expr] = {kid: definitions[kid.name] for kid in node.arg.walk()
                                           if isinstance(kid, Sym) and kid.name in definitions}
                if named:
                    inlined = Apply(node.fn, substitute(node.arg, named))
                    stable = stabilizer.tidy(inlined)
                    if stable != inlined:
                        looked_through[node] = stable
            if looked_through:
                definition = substitute(definition, looked_through)
            definitions[name] = stabilizer.tidy(definition)

    def _fold_definitions(self, expr: Expr, names: dict[Expr, Expr]) -> Expr:
        """Subexpressions equal to a node's definition written as the node (softmax(A₂) → Z₂ when
        Z₂ = softmax(A₂)), as the guide writes (26); values are unchanged."""
        return substitute(expr, names) if names else expr

    # ---- GuardContext -----------------------------------------------------------------------

    def shape_of(self, expr: Expr) -> Shape:
        return shape_of(expr, self.shapes, self.shape_memo)

    def is_constant(self, expr: Expr) -> bool:
        known = self.const_memo.get(expr)
        if known is None:
            known = not any(isinstance(node, Diff) or (isinstance(node, Sym)
                                                       and node.name in self.varying)
                            for node in expr.walk())
            self.const_memo[expr] = known
        return known

    def is_scalar(self, expr: Expr) -> bool:
        return self.shape_of(expr) == SCALAR

    def is_onehot(self, expr: Expr) -> bool:
        # Only a constant one-hot matrix: a varying one leaves the set the identity holds on.
        return (isinstance(expr, Sym) and "onehot" in self.program.attributes.get(expr.name, ())
                and self.is_constant(expr))

    @staticmethod
    def _varying_nodes(program: Program, wrt: set[str]) -> set[str]:
        varying: set[str] = set()
        for name, definition in program.definitions.items():
            if any(isinstance(node, Sym) and (node.name in wrt or node.name in varying)
                   for node in definition.walk()):
                varying.add(name)
        return varying

    # ---- rules ------------------------------------------------------------------------------

    def _apply(self, rule: Rule, expr: Expr) -> Expr | None:
        return apply_rule(rule, expr, self.shape_of, self)

    def finished(self, term: Expr) -> tuple[str, Expr] | None:
        """(M, G) when the term reads G · dM for a varying name M, by (17)."""
        if term in self.finished_memo:
            return self.finished_memo[term]
        result = self._finished(term)
        self.finished_memo[term] = result
        return result

    def _finished(self, term: Expr) -> tuple[str, Expr] | None:
        if not (isinstance(term, Frob) and isinstance(term.b, Diff) and isinstance(term.b.x, Sym)
                and term.b.x.name in self.varying):
            return None
        for rule in self.readoff_rules:
            coefficient = self._apply(rule, term)
            if coefficient is not None:
                self.read_by.setdefault(term.b.x.name, rule)
                return term.b.x.name, coefficient
        return None

    def _differential_target(self, term: Expr) -> tuple[int, ...] | None:
        """Path to the first d(…) that a differentiate rule must rewrite (pre-order)."""
        if term not in self.target_memo:
            self.target_memo[term] = self._find_target(term)
        return self.target_memo[term]

    def _find_target(self, term: Expr) -> tuple[int, ...] | None:
        stack: list[tuple[Expr, tuple[int, ...]]] = [(term, ())]
        while stack:
            node, path = stack.pop()
            if isinstance(node, Diff):
                if not (isinstance(node.x, Sym) and node.x.name in self.varying):
                    return path
                continue
            kids = node.children()
            stack.extend((kid, (*path, i)) for i, kid in reversed(list(enumerate(kids))))
        return None

    @staticmethod
    def _at(expr: Expr, path: tuple[int, ...]) -> Expr:
        for index in path:
            expr = expr.children()[index]
        return expr

    def _replace(self, expr: Expr, path: tuple[int, ...], new: Expr) -> Expr:
        if not path:
            return new
        kids = list(expr.children())
        kids[path[0]] = self._replace(kids[path[0]], path[1:], new)
        return expr.with_children(tuple(kids))

    def _rewrite(self, term: Expr) -> tuple[Rule, Expr, tuple[int, ...]]:
        path = self._differential_target(term)
        if path is not None:
            target = self._at(term, path)
            assert isinstance(target, Diff)
            candidates = self.differentiate_rules.get(type(target.x),
                                                      self.differentiate_rules[None])
            for rule in candidates:
                result = self._apply(rule, target)
                if result is not None:
                    return rule, self._replace(term, path, result), path
            raise UnsupportedError(
                f"no rule for d({to_text(target.x)}) yet: matgrad cannot differentiate "
                f"{_describe(target.x)} (rules/ has no differential identity for it).")
        for rule in self.isolate_rules:
            result = self._apply(rule, term)
            if result is not None:
                return rule, result, ()
        raise UnsupportedError(
            f"no rule moves the differential out of {to_text(term)} yet: matgrad cannot bring "
            "this term into the form G · dX (rules/isolate.rules has no identity for it).")

    # ---- the derivation ---------------------------------------------------------------------

    def _split(self, expr: Expr) -> list[Expr]:
        terms = list(expr.terms) if isinstance(expr, Add) else [expr]
        return [term for term in terms if not isinstance(term, Zero)]

    def _splice(self, index: int, terms: list[Expr]) -> None:
        """The term at `index` replaced by `terms`, recorded in the history."""
        self._change({index: tuple(terms)})

    def _change(self, replaced: dict[int, tuple[Expr, ...]]) -> None:
        """The terms at the positions of `replaced` replaced by the given terms (none: deleted),
        in place, with the finished target of each term kept alongside; recorded as one edit."""
        if not replaced:
            return
        for index in sorted(replaced, reverse=True):
            new = replaced[index]
            self.state[index:index + 1] = new
            self.targets[index:index + 1] = [self._target(term) for term in new]
        self.history.record(Edit(tuple(replaced.items())))

    def _target(self, term: Expr) -> str | None:
        done = self.finished(term)
        return None if done is None else done[0]

    def _open(self, term: Expr) -> bool:
        return self.finished(term) is None

    def _read_off_for(self, node: str) -> list[int]:
        """Positions of the finished terms G · dN of `node` (a scan at C speed)."""
        positions: list[int] = []
        try:
            while True:
                positions.append(self.targets.index(node, positions[-1] + 1 if positions else 0))
        except ValueError:
            return positions

    def _process(self, node: str, expands: str | None, start: int = 0) -> int:
        """Rewrite unfinished terms until every term of dJ is finished.

        Every d(…) of the node is expanded before any term is isolated, as the guide writes
        Δ · (Z dW + db + dZ W) before reading off its parts by (6): the term rewritten is the
        first open one with a d(…) to expand, else the first open one.  The open terms are
        those grown from the one term at `start` (the others are finished), and cursors keep the
        search linear: no d(…) to expand lies before `scan` or at or after `fresh` (only a rewrite
        makes new terms, and it makes them where it rewrites), no open term before `first` or
        at or after `end`.  Returns `end`: the terms grown fill start … end − 1.
        """
        # Relative to the state at the start: a repeat of the multiset of terms is what counts.
        signature = 0
        seen: set[tuple[int, int]] = set()
        scan, first = start, start
        fresh = end = start + 1
        while True:
            state = self.state
            while scan < fresh and not (self._open(state[scan])
                                        and self._differential_target(state[scan]) is not None):
                scan += 1
            if scan < fresh:
                index = scan
            else:
                while first < end and not self._open(state[first]):
                    first += 1
                if first == end:
                    return end
                index = first
            if len(self.steps) >= MAX_STEPS:
                raise UnsupportedError("the derivation did not finish: split the program "
                                       "into smaller let-bindings "
                                       f"{exceeded('MAX_STEPS', len(self.steps))}.")
            # The same multiset of terms twice means the rules go round in a circle (each term's
            # rewrite is determined by the term alone).
            key = (len(state), signature & 0xFFFF_FFFF_FFFF_FFFF)
            if key in seen:
                raise UnsupportedError(
                    f"the rules go round in a circle on {to_text(state[index])}; this is a "
                    "gap in rules/ — please report the program.")
            seen.add(key)
            before_at = self.history.now
            rule, rewritten, path = self._rewrite(state[index])
            used: list[str] = []
            tidied = self._split(self.tidier.tidy(rewritten, used))
            signature += sum(map(hash, tidied)) - hash(state[index])
            self._splice(index, tidied)
            self.steps.append(Step(rule.name, rule.cites, node, index, path,
                                   tuple(dict.fromkeys(used)), expands, len(self.steps),
                                   before_at, self.history.now, history=self.history,
                                   phase=rule.phase))
            expands = None
            # New terms (which may hold a d(…)) fill index … index + len(tidied) − 1.
            end += len(tidied) - 1
            if index == scan:
                fresh += len(tidied) - 1
            else:
                scan, fresh = index, index + len(tidied)
            first = min(first, index)

    def _expand(self, node: str, indices: list[int]) -> None:
        coefficients = [self.finished(self.state[i])[1] for i in indices]  # type: ignore[index]
        merged = self.tidier.tidy(add(coefficients))
        # Both looked up in place: copying them per node made long programs quadratic.
        taken: ChainMap[str, object] = ChainMap(self.shapes, self.dims)  # type: ignore[arg-type]
        name = self.namer(node, taken)
        self.shapes[name] = self.shapes[node]
        reference = Sym(name)
        first = indices[0]
        expanded = Frob(reference, Diff(self.program.definitions[node]))
        replaced: dict[int, tuple[Expr, ...]] = dict.fromkeys(indices[1:], ())
        replaced[first] = (expanded,)
        self._change(replaced)
        start = len(self.steps)
        # Only the expanded term is open; what it grows into stays within first … end − 1, and
        # the finished terms around it cannot mention the fresh adjoint name: the work per node
        # does not depend on the depth.
        end = self._process(node, node, first)
        if len(self.steps) > start:
            # The step shows G · dN becoming G · d(definition): its state before, the merged G.
            self.steps[start] = replace(self.steps[start],
                                        shown_term=(first, Frob(reference, Diff(Sym(node)))))
        self._settle_adjoint(node, name, merged, start, range(first, end))

    def _settle_adjoint(self, node: str, name: str, value: Expr, start: int,
                        grown: range) -> None:
        reference = Sym(name)
        users = [done for index in grown
                 if (done := self.finished(self.state[index])) is not None
                 and any(n == reference for n in done[1].walk())]
        feeds_node = any(target in self.program.definitions or target in self.outer_nodes
                         for target, _ in users)
        self.node_adjoints[node] = value
        # An adjoint that is a single name already (a loop body's ΔZ[j]) needs no name of its own;
        # a tall one is named even with one user, so that inlining never builds nesting that
        # grows with the program's depth (X(X(…(X)…)) of depth 200).
        shared = len(users) >= 2 or height(value) >= MAX_INLINED_HEIGHT
        if shared and feeds_node and not isinstance(value, Sym):
            self.adjoints[name] = value
            self.adjoint_nodes[name] = node
            return
        mapping: dict[Expr, Expr] = {reference: value}
        replaced: dict[int, tuple[Expr, ...]] = {}
        for index in grown:
            term = self.state[index]
            new = self.tidier.tidy(substitute(term, mapping))
            if new != term:
                replaced[index] = (new,)
        self._change(replaced)
        self.history.inline(start, len(self.steps), mapping)
        del self.shapes[name]

    def run(self) -> EngineResult:
        objective = self.program.objective
        if objective not in self.varying:
            self.state = []
        else:
            self._change({0: (Diff(self.program.definitions[objective]),)})
            self._process(objective, objective)
        for node in reversed(self.program.order):
            if node == objective or node not in self.varying:
                continue
            indices = self._read_off_for(node)
            if indices:
                self._expand(node, indices)
        gradients: dict[str, Expr] = {}
        read_off: dict[str, list[Expr]] = {}
        for term in self.state:
            done = self.finished(term)
            if done is not None:
                read_off.setdefault(done[0], []).append(done[1])
        for parameter in self.wrt:
            coefficients = read_off.get(parameter, [])
            if coefficients:
                gradient = self.tidier.tidy(add(coefficients))
            else:
                gradient = Zero(*self.shapes[parameter])
            gradients[parameter] = gradient
            # The read-off rule that read this parameter's terms (a zero gradient, read off
            # no term, cites the phase's first rule: dJ has no term in d(parameter)).
            rule = self.read_by.get(parameter, self.readoff_rules[0])
            read = [(rule, gradient)]
            if parameter in self.program.symmetric and self.symmetric_rule is not None:
                # On the symmetric matrices, under the program's convention: a cited step.
                gradient = gradients[parameter] = on_symmetric_matrices(
                    self.symmetric_rule, gradient, self, self.program.symmetric,
                    self.tidier.tidy)
                read.append((self.symmetric_rule, gradient))
            for rule, value in read:
                self.steps.append(Step(rule.name, rule.cites, parameter, 0, (), (), None,
                                       len(self.steps), self.history.now, None, (value,),
                                       history=self.history, phase=rule.phase))
        names: dict[Expr, Expr] = {
            definition: Sym(name) for name, definition in self.program.definitions.items()
            if definition.children() and name != self.program.objective}
        gradients = {name: self._fold_definitions(g, names) for name, g in gradients.items()}
        adjoints = {name: self._fold_definitions(a, names) for name, a in self.adjoints.items()}
        return EngineResult(gradients, adjoints, self.adjoint_nodes, self.steps, self.shapes,
                            self.node_adjoints, self.program)


def _symmetric_rule(rules: RuleSet, convention: str) -> Rule:
    """The rule that reads a symmetric parameter's gradient under `convention`."""
    return rules.by_name(SYMMETRIC_CONVENTIONS[convention])


def _describe(expr: Expr) -> str:
    return f"this {type(expr).__name__} expression"


def run_engine(program: Program, wrt: tuple[str, ...], rules: RuleSet,
               outer_nodes: frozenset[str] = frozenset(),
               namer: AdjointNamer | None = None) -> EngineResult:
    refuse_let_bound(program, wrt)
    return Engine(program, wrt, rules, outer_nodes, namer).run()


def derivation_of(program: Program, wrt: tuple[str, ...], rules: RuleSet,
                  outer_nodes: frozenset[str] = frozenset(),
                  namer: AdjointNamer | None = None) -> Derivation:
    """Run the engine on a resolved program (`outer_nodes`, `namer`: see Engine) and return
    its result as data; `program` is left as it was (the derivation holds the program as
    derived)."""
    result = run_engine(program, wrt, rules, outer_nodes, namer)
    return Derivation(result.program, wrt, result.gradients, result.adjoints, result.adjoint_nodes,
                      result.steps, result.shapes, result.node_adjoints)


__all__ = ["AdjointNamer", "EngineResult", "Step", "adjoint_name", "contains_diff",
           "derivation_of", "run_engine"]
