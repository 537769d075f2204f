"""Second order: the Hessian-vector product, derived by running the engine on its own result.

∇²J·V is the gradient of φ = Σₖ ∇ₖJ · Vₖ with the directions Vₖ constant.  So the first
derivation becomes a program — the forward definitions, then the adjoint of every node as a
let-binding of its own (Δ = ΔZ ⊙ f′(A)), then φ — and the engine derives φ with respect to the
same parameters, every step a cited rule as in the first derivation.  Reverse accumulation over
that program is the textbook's forward-over-reverse: the adjoint of a first-order adjoint Δ is the
tangent Ȧ of its node (the derivative of A along V), and the adjoint of a forward node N is the
tangent Δ̇N of its adjoint; both are named so (a combining dot after the first letter), and
output size stays linear in the program's size because every node keeps its name.

Invariants: the first derivation is not changed; the product's program reads the first
derivation's values exactly (names only fold subexpressions that are equal, structurally, to a
named value), so whatever the naming finds, the product is the gradient of φ.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import replace

from matgrad.engine.derive import adjoint_name, derivation_of
from matgrad.engine.results import Derivation, Jacobian, LoopDerivation, Product, fields_of
from matgrad.errors import UnsupportedError
from matgrad.front.program import Program
from matgrad.ir.dims import SCALAR, Shape
from matgrad.ir.expr import Const, Expr, Frob, Ones, Sym, Zero, add, substitute
from matgrad.rewrite.rules import RuleSet

DOT = "\u0307"  # combining dot above: Ȧ is the tangent of A along V
DIRECTION_PREFIX = "V_"
PHI = "φ"  # the objective of the product's program, φ = ∇J · V
THIRD_ORDER = ("third derivatives are not derived: the Hessian-vector product is matgrad's "
               "highest order.")


def fresh(name: str, taken: Container[str]) -> str:
    while name in taken:
        name += "_"
    return name


def dotted(name: str, taken: Container[str]) -> str:
    """The tangent's name: a dot over the first letter (A → Ȧ, Δ₁ → Δ̇₁, ΔZ → Δ̇Z)."""
    return fresh(name[:1] + DOT + name[1:], taken)


def fold(expr: Expr, names: dict[Expr, Expr]) -> Expr:
    """`expr` with every subexpression equal to a key of `names` replaced by its name, inner
    ones first (so that Xᵀ((Z − Y) ⊙ f′(A)) becomes XᵀΔ once Z − Y is ΔZ and ΔZ ⊙ f′(A) is Δ)."""
    kids = expr.children()
    if kids:
        expr = expr.with_children(tuple(fold(kid, names) for kid in kids))
    return names.get(expr, expr)


def _named_adjoints(first: Derivation, taken: set[str]) -> tuple[dict[str, Expr],
                                                                  dict[str, str],
                                                                  dict[Expr, Expr]]:
    """The adjoint of every expanded node as a definition: (definitions, node → its adjoint's
    name, value → name for folding).  The first derivation inlined the adjoints with one use;
    here each is named, so that the second derivation reaches it as a node (and names its
    tangent) instead of differentiating its expression at every use."""
    program = first.program
    folds: dict[Expr, Expr] = {
        definition: Sym(name) for name, definition in program.definitions.items()
        if definition.children() and name != program.objective}
    named_adjoint = {node: name for name, node in first.adjoint_nodes.items()}
    definitions: dict[str, Expr] = {}
    names: dict[str, str] = {}
    values: dict[Expr, Expr] = {}
    # In the order of expansion, the latest node first: an adjoint reads only the adjoints of
    # nodes after its own, which are named by then.
    for node, raw in first.node_adjoints.items():
        if node in named_adjoint:
            name = named_adjoint[node]
            definitions[name] = fold(first.adjoints[name], values)
            names[node] = name
            continue
        value = fold(substitute(raw, folds), values)
        if not value.children() or isinstance(value, (Ones, Zero, Const)):
            continue  # a name or a constant already
        name = adjoint_name(node, taken)
        taken.add(name)
        definitions[name] = value
        names[node] = name
        values[value] = Sym(name)
    return definitions, names, values


def hvp_program(first: Derivation) -> tuple[Program, dict[str, str], dict[str, str]]:
    """φ = Σₖ ∇ₖJ · V_k as a program over the first derivation's values (see the module),
    the directions' names (parameter → V name) and the first adjoints' (node → Δ name)."""
    if first.first_order is not first:
        raise UnsupportedError(THIRD_ORDER)
    program = first.program
    if program.symmetric_gradient != "frobenius" and set(first.wrt) & program.symmetric:
        raise UnsupportedError(
            "second derivatives of a symmetric parameter are taken on the symmetric matrices "
            "with the Frobenius inner product: derive with symmetric='frobenius' (the default) "
            "for --hvp and --hessian.")
    if isinstance(first, Jacobian):
        raise UnsupportedError(
            f"{first.output} is a matrix: its second derivative is a third-order tensor. Take "
            f"the Hessian of a scalar of it (sum({first.output}), ||{first.output}||^2).")
    if isinstance(first, LoopDerivation):
        raise UnsupportedError(
            "a layer loop at symbolic depth has its Hessian-vector product derived for any "
            "depth (d.hvp(), --hvp), but not its Hessian's blocks yet: write the layers out "
            "(depth={'k': 3}, --depth k=3) for those.")
    program = first.program
    taken: set[str] = set(first.shapes) | set(program.dims) | set(program.definitions)
    adjoint_definitions, first_adjoints, values = _named_adjoints(first, taken)
    shapes: dict[str, Shape] = dict(first.shapes)
    for node, name in first_adjoints.items():
        shapes[name] = shapes[node]
    directions: dict[str, str] = {}
    attributes = dict(program.attributes)
    for parameter in first.wrt:
        direction = fresh(DIRECTION_PREFIX + parameter, taken)
        taken.add(direction)
        directions[parameter] = direction
        shapes[direction] = program.shapes[parameter]
        if parameter in program.symmetric:  # only symmetric directions stay on the space
            attributes[direction] = frozenset({"symmetric", "const"})
    objective = fresh(PHI, taken)
    terms: list[Expr] = [Frob(fold(gradient, values), Sym(directions[parameter]))
                         for parameter, gradient in first.gradients.items()
                         if not isinstance(gradient, Zero)]
    definitions = {name: value for name, value in program.definitions.items()
                   if name != program.objective}
    definitions.update(adjoint_definitions)
    definitions[objective] = add(terms) if terms else Zero(*SCALAR)
    shapes[objective] = SCALAR
    product = replace(
        program, shapes=shapes, definitions=definitions, objective=objective, wrt=first.wrt,
        attributes=attributes,
        parameters=(*program.parameters, *directions.values()), inferred=(), unused=(),
        invented=(), written={})
    return product, directions, first_adjoints


def hvp_derivation(first: Derivation, rules: RuleSet) -> Product:
    """The Hessian-vector product ∇²J·V of a derivation of J: a derivation whose gradients are
    (∇²J V)ₖ for each parameter k, its adjoints named as tangents."""
    program, directions, first_adjoints = hvp_program(first)
    tangent_of = {name: node for node, name in first_adjoints.items()}

    def name_tangent(node: str, taken: Container[str]) -> str:
        if node in tangent_of:  # the adjoint of Δ is the tangent of its node: Ȧ
            return dotted(tangent_of[node], taken)
        if node in first.program.definitions:  # the adjoint of A is the tangent of Δ: Δ̇
            return dotted(first_adjoints.get(node) or adjoint_name(node, ()), taken)
        return adjoint_name(node, taken)

    result = derivation_of(program, first.wrt, rules, namer=name_tangent)
    return Product(**fields_of(result), first=first, directions=directions,
                   first_adjoints=first_adjoints)


__all__ = ["DIRECTION_PREFIX", "DOT", "THIRD_ORDER", "dotted", "hvp_derivation", "hvp_program"]
