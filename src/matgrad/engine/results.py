"""The engine's results as plain data, one frozen class per kind:

- `Derivation`: the gradients of a flat program, read off by (17);
- `Product`: a Hessian-vector product ∇²J·V, the gradient of φ = Σₖ ∇ₖJ · Vₖ (its `first` is
  the derivation of J);
- `LoopDerivation`: a layer loop derived at symbolic depth, its `layers` the two derivations
  the recursion (23) is made of (a generic layer's and the epilogue's);
- `LoopProduct`: the Hessian-vector product of a loop, `layers` holding the products of both;
- `Jacobian`: ∂vec(F)/∂vec(X)ᵀ of a matrix-valued F, read off the vector-Jacobian product.

Every kind is a `Derivation` (its flat fields describe the whole result — every parameter's
gradient, every step — so a caller that only reads gradients or steps need not tell the kinds
apart); a consumer that must tell them apart looks the kind up in a table keyed by class
(`RESULT_KINDS`; tests/test_kinds.py checks that every table covers every kind).  The Hessian
(engine/hessian.py) and the row-block split (engine/rows.py) are kinds of their own.

Printers, code generation, the check and the façades read these; nothing below the engine knows
them and nothing here prints or generates code.

Invariants: frozen (a result is never edited after the engine returns it); a loop
derivation's `body` and `epilogue` are flat (`Derivation` or `Product`); no kind has an
optional field that another kind fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from matgrad.engine.history import Step
from matgrad.front.loops import LayeredProgram, carried_adjoint
from matgrad.front.program import Program
from matgrad.ir import indexing
from matgrad.ir.dims import Shape
from matgrad.ir.expr import Diff, Expr, Frob, Sym, substitute
from matgrad.ir.indexing import Index
from matgrad.ir.kronecker import KroneckerForm


@dataclass(frozen=True)
class Layers:
    """The layered part of a derivation at symbolic depth: the body derived once for a generic
    layer j (given ΔZ[j] = ∂J/∂Z[j]) and the code after the loop (given the loop's result)."""

    layered: LayeredProgram
    body: Derivation
    epilogue: Derivation
    parameters: tuple[str, ...]  # layer parameters (W[j], b[j]), then the epilogue's

    @property
    def objective(self) -> str:
        return self.epilogue.objective

    @property
    def steps(self) -> list[Step]:
        """Every step of both derivations: a generic layer's, then the epilogue's."""
        return [*self.body.steps, *self.epilogue.steps]

    @property
    def gradients(self) -> dict[str, Expr]:
        """∂J/∂P for each layer parameter P[j] (symbolic in j) and each epilogue parameter."""
        carried = {self.layered.at(base, -1) for base in self.layered.carried}
        finals = {self.layered.final(base) for base in self.layered.carried}
        result = {name: g for name, g in self.body.gradients.items() if name not in carried}
        result.update((name, g) for name, g in self.epilogue.gradients.items()
                      if name not in finals)
        return result

    def carried_cases(self, base: str) -> tuple[Expr, Expr]:
        """ΔZ[j] for j = hi (from the epilogue) and for j < hi (the body's ∂J/∂Z[j-1] one layer
        up): the two cases of the guide's (23)."""
        layered = self.layered
        last = self.epilogue.gradients[layered.final(base)]
        up = Index(layered.var, 1)
        below = self.body.gradients[layered.at(base, -1)]
        return last, indexing.rename(below, lambda n: indexing.substitute_symbol(
            n, layered.var, up))

    def adjoint_cases(self) -> list[tuple[str, Expr, Expr | None]]:
        """Each named adjoint of the body with ΔZ[j] replaced by its two cases: (name, value at
        j = hi written in the depth symbol, value for j < hi); for adjoints that do not read
        ΔZ[j], (name, value, None)."""
        layered = self.layered
        at_last = Index(layered.depth_symbol, layered.loop.stop[1])
        cases: list[tuple[str, Expr, Expr | None]] = []
        mappings_last: dict[Expr, Expr] = {}
        mappings_below: dict[Expr, Expr] = {}
        for base in layered.carried:
            last, below = self.carried_cases(base)
            mappings_last[Sym(carried_adjoint(base, layered))] = last
            mappings_below[Sym(carried_adjoint(base, layered))] = below
        for name, value in self.body.adjoints.items():
            if not (set(mappings_last) & {node for node in value.walk() if isinstance(node, Sym)}):
                cases.append((name, value, None))
                continue
            # ΔZ[j] is replaced first, then j → k (the epilogue's value has no j in it).
            last_value = indexing.rename(substitute(value, mappings_last),
                                         lambda n: indexing.substitute_symbol(n, layered.var,
                                                                              at_last))
            cases.append((name, last_value, substitute(value, mappings_below)))
        return cases

    def reads_carried_adjoint_directly(self) -> bool:
        names = {carried_adjoint(base, self.layered) for base in self.layered.carried}
        return any(isinstance(node, Sym) and node.name in names
                   for gradient in self.gradients.values() for node in gradient.walk())


@dataclass(frozen=True)
class Derivation:
    """The gradients read off by (17), the named adjoints Δ, every step and the shapes."""

    program: Program
    wrt: tuple[str, ...]
    gradients: dict[str, Expr]
    adjoints: dict[str, Expr]
    adjoint_nodes: dict[str, str]
    steps: list[Step]
    shapes: dict[str, Shape]
    node_adjoints: dict[str, Expr]
    @property
    def objective(self) -> str:
        return self.program.objective

    @property
    def first_order(self) -> Derivation:
        """The derivation of J itself: this one, or the one a product differentiates again."""
        return self

    @property
    def notes(self) -> list[str]:
        """How the program was read, for the user to confirm: shapes inferred rather than
        declared (`inferred: w: n×1`), declarations the objective never uses."""
        return self.program.notes()

    def reads_parameter(self, term: Expr) -> bool:
        """Whether a term of dJ is a finished G · dW for a parameter W."""
        return isinstance(term, Frob) and isinstance(term.b, Diff) and isinstance(
            term.b.x, Sym) and term.b.x.name in self.wrt


@dataclass(frozen=True)
class Product(Derivation):
    """A Hessian-vector product: the derivation of φ = Σₖ ∇ₖJ · Vₖ with the directions Vₖ
    constant, so its gradients are (∇²J V)ₖ."""

    first: Derivation  # the derivation of J whose gradient φ reads
    directions: dict[str, str]  # parameter → the name of its direction, V_<parameter>
    # Names the first derivation's adjoints have in φ's program: forward node → Δ name.
    first_adjoints: dict[str, str]

    @property
    def first_order(self) -> Derivation:
        return self.first


@dataclass(frozen=True)
class LoopDerivation(Derivation):
    """A loop at symbolic depth: flat fields over both parts of `layers`, and the parts."""

    layers: Layers

    @property
    def notes(self) -> list[str]:
        """None: a layer's program infers Z[j-1] by design."""
        return []


@dataclass(frozen=True)
class LoopProduct(LoopDerivation):
    """The Hessian-vector product of a loop: `layers` holds the products of the body and the
    epilogue (directions and tangents declared in the loop, for the signature);
    `forward[base]` is Ż (the family of forward tangents), `backward[base]` is Δ̇Z (the
    backward tangent, carried like ΔZ)."""

    first: LoopDerivation
    forward: dict[str, str]
    backward: dict[str, str]
    directions: dict[str, str]  # layer or epilogue parameter → its direction (V_W[j], V_c)

    @property
    def first_order(self) -> Derivation:
        return self.first


@dataclass(frozen=True)
class Jacobian(Derivation):
    """The Jacobian of a matrix-valued F: its flat fields are the derivation of φ = ⟨U, F⟩
    for a constant U of F's shape (the vector-Jacobian product Jᵀ vec(U), every step cited);
    `blocks[X]` is J_X = ∂vec(F)/∂vec(X)ᵀ in Kronecker form (None where none was read, with
    `reasons[X]`), and `differential` is dF = Σ_X J_X[dX] in the guide's notation (None
    unless every block was read)."""

    output: str  # F
    cotangent: str  # U
    blocks: dict[str, KroneckerForm | None]
    reasons: dict[str, str]
    differential: Expr | None


# Every kind of gradient-like result; each consumer's table has an entry for each.
RESULT_KINDS: tuple[type[Derivation], ...] = (Derivation, Product, LoopDerivation, LoopProduct,
                                              Jacobian)


class FlatFields(TypedDict):
    """The fields every kind has, as keywords."""

    program: Program
    wrt: tuple[str, ...]
    gradients: dict[str, Expr]
    adjoints: dict[str, Expr]
    adjoint_nodes: dict[str, str]
    steps: list[Step]
    shapes: dict[str, Shape]
    node_adjoints: dict[str, Expr]


def flat_fields(layers: Layers) -> FlatFields:
    """The flat fields of a loop's result: over both parts."""
    body, epilogue = layers.body, layers.epilogue
    return FlatFields(program=epilogue.program, wrt=layers.parameters,
                      gradients=layers.gradients,
                      adjoints={**body.adjoints, **epilogue.adjoints}, adjoint_nodes={},
                      steps=layers.steps, shapes={**epilogue.shapes, **body.shapes},
                      node_adjoints={})


def fields_of(derivation: Derivation) -> FlatFields:
    """The flat fields of any kind, to build another kind from them."""
    return FlatFields(program=derivation.program, wrt=derivation.wrt,
                      gradients=derivation.gradients, adjoints=derivation.adjoints,
                      adjoint_nodes=derivation.adjoint_nodes, steps=derivation.steps,
                      shapes=derivation.shapes, node_adjoints=derivation.node_adjoints)


def layered_derivation(layers: Layers) -> LoopDerivation:
    """The one result of a loop derivation: flat fields over both parts, and the parts."""
    return LoopDerivation(**flat_fields(layers), layers=layers)
