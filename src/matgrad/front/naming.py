"""Naming intermediates: an objective written on one line is derived as the guide writes it.

The guide names the argument and the value of every activation (Aⱼ = Zⱼ₋₁Wⱼ + bⱼ, Zⱼ = fⱼ(Aⱼ))
and differentiates over those names, so its results are recursions of linear size (23) rather
than nested expressions that grow with depth.  This pass gives an inline program the same names:

- each elementwise or row-wise function application with a compound argument gets a name for
  its argument (A, or A₁, A₂, … when there are several) and one for its value (Z, Z₁, …), unless
  the user's program already names them;
- `log` and the row-wise losses (logsumexp, a declared ℓ) are part of a loss, as the guide
  writes −1ᵀ(Y ⊙ log Z)1 and ℓ(Zₖ): neither their argument nor their value is named (names
  inside their argument are), so that the stable forms of rules/stable.rules still see
  log(softmax(…)) and log(1 − σ(…)) through the names;
- a compound subexpression written more than once is named once (S, S₁, …), and a norm
  inside another norm's argument is named (N, N₁, …), an inverse inside another inverse too
  (Inverse, Inverse₁, …): their derivatives would otherwise repeat them at every level;
- a subexpression DEEP_STEP (16) levels tall, and each multiple, is named (T, T₁, …): deep
  nesting of any other construct, X(X(X(…))), then derives in linear time and size;
- in a layer loop, `Z[j] = f[j](Z[j-1]*W[j] + b[j])` gains `A[j] = Z[j-1]*W[j] + b[j]`, on the
  surface syntax before the loop is analysed (name_layer_arguments).

Invariants: values are unchanged (each name is bound to exactly the expression it replaces, in
evaluation order, before its first use); invented names never clash with a name, size or function
of the user's program and depend only on the program (the same input gives the same names); the
pass is idempotent on its own output.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from matgrad.front.loops import statement_names
from matgrad.front.syntax import Decl, Let, Loop, SBinary, SCall, SExpr, SName, Statement
from matgrad.ir import indexing
from matgrad.ir.dims import Shape
from matgrad.ir.expr import (
    Apply,
    Const,
    DimSize,
    Expr,
    Identity,
    Inv,
    MatMul,
    Neg,
    Norm,
    Ones,
    RowGrad,
    Scale,
    Sym,
    Transpose,
    Zero,
    size,
)
from matgrad.ir.shapes import shape_of

# Stems tried in order for (argument, value) names until none clashes with the user's names.
ACTIVATION_STEMS = (("A", "Z"), ("U", "V"), ("P", "Q"), ("Pre", "Act"))
SHARED_STEMS = ("S", "R", "Common")
NORM_STEMS = ("N", "Nrm", "Norm")
DEEP_STEMS = ("T", "Part", "Chain")
# Nodes named when nested in their own kind, whose derivative repeats them (see _nested).
NESTED_STEMS: dict[type[Expr], tuple[str, ...]] = {Norm: NORM_STEMS,
                                                   Inv: ("Inverse", "InverseOf")}
# A subexpression this many levels tall (and each multiple) is named: X(X(X(…))) of depth k
# would otherwise differentiate to k terms of k factors, all inline (quadratic size and time).
DEEP_STEP = 16
# Functions that belong to a loss rather than a layer: nothing around them is named.
LOSS_FUNCTIONS = frozenset({"log"})
# A repeated subexpression smaller than this (X W, Xᵀ) is cheaper to read than a name.
MIN_SHARED_SIZE = 3


@dataclass
class NamedProgram:
    """Definitions with the invented names bound before their first use."""

    definitions: dict[str, Expr]
    shapes: dict[str, Shape]
    invented: tuple[str, ...] = field(default_factory=tuple)


def _is_trivial(expr: Expr) -> bool:
    """Leaves, a transposed or negated leaf, and broadcasts (1𝟏, 𝟏b): naming them would not
    help a reader."""
    if isinstance(expr, (Sym, Const, DimSize, Ones, Zero, Identity)):
        return True
    if isinstance(expr, Scale):
        return _is_trivial(expr.s) and _is_trivial(expr.x)
    if isinstance(expr, MatMul):
        return (isinstance(expr.a, Ones) or isinstance(expr.b, Ones)) and all(
            _is_trivial(kid) for kid in (expr.a, expr.b))
    return isinstance(expr, (Transpose, Neg)) and _is_trivial(expr.x)


def _is_application(expr: Expr) -> bool:
    """A layer's function: elementwise, or softmax (a row gradient).  A row-wise
    vector-to-scalar function (logsumexp, a declared ℓ) is a loss, as in the guide's (19)."""
    if isinstance(expr, Apply):
        return expr.order == 0 and expr.fn not in LOSS_FUNCTIONS
    return isinstance(expr, RowGrad)


def _application_arg(expr: Expr) -> Expr:
    assert isinstance(expr, (Apply, RowGrad))
    return expr.arg


def _worth_naming(expr: Expr, uses: Counter[Expr]) -> bool:
    """An application is named when its argument is compound (the guide's A = XW + b) or when
    it is used more than once."""
    arg = _application_arg(expr)
    inner = arg.x if isinstance(arg, Transpose) else arg
    return not _is_trivial(inner) or uses[expr] > 1


class _Namer:
    def __init__(self, definitions: dict[str, Expr], shapes: dict[str, Shape],
                 taken: set[str]) -> None:
        self.source = definitions
        self.shapes = dict(shapes)
        self.taken = set(taken) | set(definitions) | set(shapes)
        self.uses = self._count_uses(definitions)
        applications = self._applications(definitions)
        self.numbered = len(applications) > 1
        self.stems = self._choose_stems(len(applications))
        self.count = 0
        self.out: dict[str, Expr] = {}
        self.invented: list[str] = []
        # Expressions already bound to a name (the user's definitions first) → that name.
        self.bound: dict[Expr, Expr] = {expr: Sym(name) for name, expr in definitions.items()
                                        if not _is_trivial(expr)}
        self.memo: dict[Expr, Expr] = {}

    # ---- planning ---------------------------------------------------------------------------

    @staticmethod
    def _count_uses(definitions: dict[str, Expr]) -> Counter[Expr]:
        uses: Counter[Expr] = Counter()
        for expr in definitions.values():
            uses.update(expr.walk())
        return uses

    def _applications(self, definitions: dict[str, Expr]) -> list[Expr]:
        found: dict[Expr, None] = {}
        for expr in definitions.values():
            for node in expr.walk():
                if _is_application(node) and _worth_naming(node, self.uses):
                    found.setdefault(node)
        return list(found)

    def _choose_stems(self, count: int) -> tuple[str, str]:
        for stems in ACTIVATION_STEMS:
            names = [self._name(stem, index, count > 1) for stem in stems
                     for index in range(1, count + 1)]
            if not any(name in self.taken for name in names):
                return stems
        return ACTIVATION_STEMS[-1]  # _fresh adds underscores should even these clash

    @staticmethod
    def _name(stem: str, index: int, numbered: bool) -> str:
        return f"{stem}{index}" if numbered else stem

    def _fresh(self, name: str) -> str:
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name

    def _bind(self, name: str, expr: Expr) -> Expr:
        name = self._fresh(name)
        self.out[name] = expr
        self.shapes[name] = shape_of(expr, self.shapes)
        self.invented.append(name)
        reference = Sym(name)
        self.bound[expr] = reference
        return reference

    # ---- rewriting --------------------------------------------------------------------------

    def run(self) -> NamedProgram:
        for name, expr in self.source.items():
            self.out[name] = self._rewrite(expr, root=True)
        return NamedProgram(self.out, self.shapes, tuple(self.invented))

    def _rewrite(self, expr: Expr, root: bool = False) -> Expr:
        if not root and expr in self.bound:
            return self.bound[expr]
        if expr in self.memo and not root:
            return self.memo[expr]
        if self._is_scaled_application(expr):
            # αⱼfⱼ(Aⱼ) is the layer's value, as the guide's (31) writes Zⱼ = αⱼfⱼ(Aⱼ).
            assert isinstance(expr, Scale)
            inner = self._rewrite(expr.x, root=True)
            scaled: Expr = Scale(self._rewrite(expr.s), inner)
            if not root:
                scaled = self.bound.get(scaled) or self._bind(
                    self._name(self.stems[1], self.count, self.numbered), scaled)
            self.memo[expr] = scaled
            return scaled
        kids = expr.children()
        new = expr.with_children(tuple(self._rewrite(kid) for kid in kids)) if kids else expr
        if _is_application(expr) and _worth_naming(expr, self.uses):
            new = self._name_application(new, root)
        self.memo[expr] = new
        return new

    def _is_scaled_application(self, expr: Expr) -> bool:
        return (isinstance(expr, Scale) and _is_trivial(expr.s) and _is_application(expr.x)
                and _worth_naming(expr.x, self.uses) and self.uses[expr.x] == 1)

    def _name_application(self, expr: Expr, root: bool) -> Expr:
        assert isinstance(expr, (Apply, RowGrad))
        self.count += 1
        argument_stem, value_stem = self.stems
        arg = expr.arg
        # A column read over its entries is softmax(aᵀ)ᵀ: the name is for a, not aᵀ.
        inner, transposed = (arg.x, True) if isinstance(arg, Transpose) else (arg, False)
        if not _is_trivial(inner):
            if inner in self.bound:
                reference = self.bound[inner]
            else:
                reference = self._bind(self._name(argument_stem, self.count, self.numbered),
                                       inner)
            arg = Transpose(reference) if transposed else reference
            expr = type(expr)(expr.fn, arg, *(() if not isinstance(expr, Apply) else (0,)))
        if root:
            return expr
        if expr in self.bound:
            return self.bound[expr]
        return self._bind(self._name(value_stem, self.count, self.numbered), expr)


def _share_repeats(named: NamedProgram, taken: set[str]) -> NamedProgram:
    """Name each compound subexpression written more than once, largest first."""
    uses: Counter[Expr] = Counter()
    for expr in named.definitions.values():
        uses.update(node for node in expr.walk()
                    if not isinstance(node, Sym) and size(node) >= MIN_SHARED_SIZE)
    repeated = [expr for expr, count in uses.items() if count > 1 and not _is_trivial(expr)]
    if not repeated:
        return named
    # Largest first, and never one whose every use is inside a chosen one.
    repeated.sort(key=size, reverse=True)
    chosen: list[Expr] = []
    covered: dict[Expr, int] = {}  # node → uses accounted for by chosen expressions around it
    for expr in repeated:
        if covered.get(expr, 0) >= uses[expr]:
            continue
        chosen.append(expr)
        for node in set(expr.walk()) - {expr}:
            covered[node] = covered.get(node, 0) + uses[expr]
    return _bind_subexpressions(named, chosen, SHARED_STEMS, taken)


def _nested(named: NamedProgram, kind: type[Expr]) -> list[Expr]:
    """Nodes of `kind` inside the argument of another, deepest first.  A norm's or an
    inverse's derivative repeats the node itself (d‖x‖ = xᵀdx / ‖x‖, dX⁻¹ = −X⁻¹ dX X⁻¹), so
    unnamed nesting grows exponentially with depth."""
    found: dict[Expr, None] = {}
    for expr in named.definitions.values():
        stack: list[tuple[Expr, bool]] = [(expr, False)]
        while stack:
            node, inside = stack.pop()
            if isinstance(node, kind) and inside and not _is_trivial(node.x):  # type: ignore[attr-defined]
                found.setdefault(node)
            stack.extend((kid, inside or isinstance(node, kind)) for kid in node.children())
    return sorted(found, key=size)


def _deep_subexpressions(named: NamedProgram) -> list[Expr]:
    """Subexpressions whose height (levels above the leaves) is a multiple of DEEP_STEP,
    innermost first: naming them keeps deep nesting of any construct linear."""
    heights: dict[Expr, int] = {}
    chosen: dict[Expr, None] = {}
    for expr in named.definitions.values():
        # Post-order without recursion: a node's height after its children's.
        stack: list[tuple[Expr, bool]] = [(expr, False)]
        while stack:
            node, ready = stack.pop()
            if node in heights:
                continue
            kids = node.children()
            if not ready and kids:
                stack.append((node, True))
                stack.extend((kid, False) for kid in kids)
                continue
            height = 1 + max((heights[kid] for kid in kids), default=-1)
            heights[node] = height
            if height and height % DEEP_STEP == 0 and node is not expr and not _is_trivial(node):
                chosen.setdefault(node)
    return sorted(chosen, key=lambda node: heights[node])


def _bind_subexpressions(named: NamedProgram, chosen: list[Expr], stems: tuple[str, ...],
                         taken: set[str]) -> NamedProgram:
    """Each chosen subexpression bound to a name of one stem (S or S₁, S₂, …), innermost first,
    before the definition that first uses it."""
    if not chosen:
        return named
    occupied = set(taken) | set(named.definitions) | set(named.shapes)
    stem = next((s for s in stems if not any(
        name in occupied for name in ([s] if len(chosen) == 1 else
                                      [f"{s}{i}" for i in range(1, len(chosen) + 1)]))),
        stems[-1])
    names = {expr: (stem if len(chosen) == 1 else f"{stem}{index}")
             for index, expr in enumerate(chosen, start=1)}
    shapes = dict(named.shapes)
    out: dict[str, Expr] = {}
    invented = list(named.invented)
    placed: dict[Expr, Expr] = {}

    def replace(expr: Expr) -> Expr:
        if expr in placed:
            return placed[expr]
        kids = expr.children()
        new = expr.with_children(tuple(replace(kid) for kid in kids)) if kids else expr
        if expr in names:
            name = names[expr]
            while name in occupied:
                name += "_"
            occupied.add(name)
            out[name] = new
            shapes[name] = shape_of(new, shapes)
            invented.append(name)
            new = Sym(name)
            placed[expr] = new
        return new

    for name, expr in named.definitions.items():
        kids = expr.children()
        # A definition that is itself a chosen expression keeps its own name.
        out[name] = expr.with_children(tuple(replace(kid) for kid in kids)) if kids else expr
    return NamedProgram(out, shapes, tuple(invented))


def name_intermediates(definitions: dict[str, Expr], shapes: dict[str, Shape],
                       taken: set[str]) -> NamedProgram:
    """The program with its intermediates named as the guide names them (see the module doc);
    `taken` holds every other name of the program (sizes, functions) to keep clear of."""
    named = _Namer(definitions, shapes, taken).run()
    named = _share_repeats(named, taken | set(definitions))
    for kind, stems in NESTED_STEMS.items():
        named = _bind_subexpressions(named, _nested(named, kind), stems, taken | set(definitions))
    return _bind_subexpressions(named, _deep_subexpressions(named), DEEP_STEMS,
                                taken | set(definitions))


# ---- layer loops ----------------------------------------------------------------------------

def _named_call(value: SExpr) -> SCall | None:
    """The activation of a layer written inline: f[j](…) or α[j] * f[j](…)."""
    if isinstance(value, SBinary) and value.op == "*" and isinstance(value.b, SCall):
        value = value.b
    if isinstance(value, SCall) and isinstance(value.callee, SName) and len(value.args) == 1 \
            and not isinstance(value.args[0], SName):
        return value
    return None


def _replace_call_arg(value: SExpr, reference: SName) -> SExpr:
    if isinstance(value, SBinary):
        return replace(value, b=_replace_call_arg(value.b, reference))
    assert isinstance(value, SCall)
    return replace(value, args=(reference,))


def name_layer_arguments(statements: list[Statement]) -> list[Statement]:
    """In a layer loop, `Z[j] = f[j](Z[j-1]*W[j] + b[j])` becomes `A[j] = Z[j-1]*W[j] + b[j];
    Z[j] = f[j](A[j])`, as the guide writes its layers, so that the recursion is over Δⱼ = ∂J/∂Aⱼ
    (23).  The stem is A unless the program already uses it (then U, P, …); a layer with two
    such bindings (U[j] = tanh(…); Z[j] = σ(…)) names each argument with a stem of its own."""
    used = {indexing.base_of(name) for statement in statements
            for name in statement_names(statement)}
    result: list[Statement] = []
    for statement in statements:
        if not isinstance(statement, Loop):
            result.append(statement)
            continue
        body: list[Decl | Let] = []
        for item in statement.body:
            call = _named_call(item.value) if isinstance(item, Let) else None
            parts = indexing.split(item.name) if call is not None else None
            if call is None or parts is None or parts[1].symbol != statement.var \
                    or parts[1].offset != 0:
                body.append(item)
                continue
            assert isinstance(item, Let)
            stem = next((argument for argument, _ in ACTIVATION_STEMS if argument not in used),
                        None)
            if stem is None:  # every stem taken: the argument stays as written
                body.append(item)
                continue
            used.add(stem)
            name = indexing.make(stem, parts[1])
            body.append(Let(name, call.args[0], call.args[0].pos))
            body.append(replace(item, value=_replace_call_arg(item.value,
                                                              SName(call.args[0].pos, name))))
        result.append(replace(statement, body=tuple(body)))
    return result
