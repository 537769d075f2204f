"""Hessian blocks of matrix parameters in Kronecker form, read off the Hessian-vector product.

The component (∇²J V)_a is linear in each direction V_b.  Reading it bottom-up, every
subexpression E that depends on V_b is a sum of chains of elementary linear maps
(ir/kronecker.py) applied to V_b, by one identity per operation:

    V_b ↦ the empty chain,   A E ↦ Kron(I, A) ∘ E,   E B ↦ Kron(Bᵀ, I) ∘ E,
    K ⊙ E ↦ Mask(K) ∘ E,   E ⊘ K ↦ Mask(K, divide) ∘ E,   Eᵀ ↦ Flip ∘ E,
    ⟨K, E⟩ ↦ Inner(K) ∘ E,   sum(E) ↦ Inner(𝟏) ∘ E,   tr(E) ↦ Inner(I) ∘ E,
    rowdot(K, E) ↦ Kron(𝟏ᵀ, I) ∘ Mask(K) ∘ E,
    s K ↦ Spread(K) ∘ s (s 1×1 depending on V_b),   s E, E / s ↦ coefficients,

and a tangent (Ȧ, Δ̇) is read through its definition.  The chains are then shortened and the
sum merged by the algebra of ir/kronecker.py, and every matrix in them tidied.  So
‖X − UVᵀ‖² gives H_UU = 2(VᵀV ⊗ I), logdet X gives −(X⁻¹ ⊗ X⁻ᵀ) K₍ₙ,ₙ₎ and the §1 network
gives (I ⊗ Xᵀ) diag(vec(…)) (I ⊗ X).

Invariant: a form is exact (every step is an identity of linear algebra) or NoClosedForm is
raised with the reason — never a guess.
"""

from __future__ import annotations

from fractions import Fraction

from matgrad.engine.results import Derivation
from matgrad.ir.dims import SCALAR, Shape
from matgrad.ir.expr import (
    Add,
    Const,
    Diff,
    Div,
    Expr,
    Frob,
    Hadamard,
    HadDiv,
    Identity,
    MatMul,
    Neg,
    Ones,
    RowDot,
    Scale,
    Sum,
    Sym,
    Trace,
    Transpose,
    Zero,
)
from matgrad.ir.kronecker import (
    Factor,
    Flip,
    Inner,
    Kron,
    KroneckerForm,
    Mask,
    Spread,
    Term,
    factor_expressions,
    map_expressions,
    merged_terms,
    pulled_signs,
    shortened,
    times,
)
from matgrad.ir.shapes import shape_of
from matgrad.rewrite.rules import GuardContext, RuleSet
from matgrad.rewrite.simplify import Tidier

Terms = list[Term]

# Terms a block's reading may collect before they are merged: a tangent read twice at each of
# k levels gives 2ᵏ chains (X², X⁴, … written out: 682 at k = 5, read and merged in 63 s),
# and a form of more than MAX_TERMS (16) after merging is refused anyway; past this the
# block is left to the product (every form of the examples and the corpus collects 36 or
# fewer).
MAX_READ_TERMS = 256


class NoClosedForm(Exception):
    """The block has no matrix form by the rules this reader knows (the message says why)."""


def _then(factor: Factor, terms: Terms) -> Terms:
    """factor ∘ (the sum `terms`)."""
    return [Term(term.coefficient, (factor, *term.factors)) for term in terms]


def _scaled(coefficient: Expr, terms: Terms) -> Terms:
    return [Term(times(coefficient, term.coefficient), term.factors) for term in terms]


class DirectionReader(GuardContext):
    """What reading a block off the product needs, for one direction v: which names depend on
    v (v and the tangents that read it), shapes, and the tidy rules with their guards."""

    def __init__(self, product: Derivation, direction: str, directions: frozenset[str],
                 rules: RuleSet) -> None:
        self.product = product
        self.direction = direction
        self.directions = directions | {direction}
        self.shapes = product.shapes
        self.memo: dict[Expr, Shape] = {}
        # The direction and the tangents that read it (the adjoints are in the order the
        # engine named them, each reading only those named before it).
        self.dependent: set[str] = {direction}
        for name, value in product.adjoints.items():
            if any(isinstance(node, Sym) and node.name in self.dependent
                   for node in value.walk()):
                self.dependent.add(name)
        self.tidier = Tidier(rules.phase("tidy"), self.shape_of, self)

    # ---- GuardContext (the tidy rules' guards) ---------------------------------------------

    def shape_of(self, expr: Expr) -> Shape:
        return shape_of(expr, self.shapes, self.memo)

    def is_constant(self, expr: Expr) -> bool:
        return not self._reads_directions(expr)

    def is_scalar(self, expr: Expr) -> bool:
        return self.shape_of(expr) == SCALAR

    # ---- what an expression reads ----------------------------------------------------------

    def _reads_directions(self, expr: Expr) -> bool:
        """Whether expr reads any direction or tangent (or a differential)."""
        return any(isinstance(node, Diff) or (isinstance(node, Sym) and (
            node.name in self.directions or node.name in self.product.adjoints))
            for node in expr.walk())

    def _reads_this(self, expr: Expr) -> bool:
        """Whether expr depends on v, directly or through a tangent."""
        return any(isinstance(node, Sym) and node.name in self.dependent
                   for node in expr.walk())

    def _constant(self, expr: Expr) -> Expr:
        if self._reads_directions(expr):
            raise NoClosedForm("a product of two factors that both depend on the directions")
        return expr


class KroneckerReader(DirectionReader):
    """Reads the chains of each subexpression of the product linear in one direction."""

    def __init__(self, product: Derivation, direction: str, directions: frozenset[str],
                 rules: RuleSet) -> None:
        super().__init__(product, direction, directions, rules)
        self.read: dict[Expr, Terms | None] = {}

    def terms(self, expr: Expr) -> Terms | None:
        """The chains of `expr` applied to the direction, None when it does not read it."""
        if expr not in self.read:
            self.read[expr] = self._terms(expr) if self._reads_this(expr) else None
        return self.read[expr]

    def _required(self, expr: Expr) -> Terms:
        found = self.terms(expr)
        assert found is not None, "only called on expressions that read the direction"
        return found

    def _terms(self, expr: Expr) -> Terms:
        shape = self.shape_of(expr)
        if isinstance(expr, Sym):
            if expr.name == self.direction:
                return [Term(None, ())]
            return self._required(self.product.adjoints[expr.name])  # a tangent
        if isinstance(expr, Add):
            if any(not self._reads_directions(term) and not isinstance(term, Zero)
                   for term in expr.terms):
                raise NoClosedForm("the product is not linear in the directions")
            collected = [term for part in expr.terms if (found := self.terms(part)) is not None
                         for term in found]
            if len(collected) > MAX_READ_TERMS:  # only a sum makes the list longer
                raise NoClosedForm(f"it runs to more than {MAX_READ_TERMS} terms "
                                   "before they are merged (too large to be useful)")
            return collected
        if isinstance(expr, Neg):
            return _scaled(Neg(Const(Fraction(1))), self._required(expr.x))
        if isinstance(expr, Transpose):
            return _then(Flip(self.shape_of(expr.x)), self._required(expr.x))
        if isinstance(expr, Trace):
            inner = self.shape_of(expr.x)
            return _then(Inner(Identity(inner[0]), inner), self._required(expr.x))
        if isinstance(expr, Sum):
            inner = self.shape_of(expr.x)
            return _then(Inner(Ones(*inner), inner), self._required(expr.x))
        if isinstance(expr, Scale):
            if self._reads_this(expr.x):
                return _scaled(self._constant(expr.s), self._required(expr.x))
            return _then(Spread(self._constant(expr.x), shape), self._required(expr.s))
        if isinstance(expr, Div):
            return _scaled(Div(Const(Fraction(1)), self._constant(expr.s)),
                           self._required(expr.x))
        if isinstance(expr, MatMul):
            if self._reads_this(expr.b):
                return _then(Kron(None, self._constant(expr.a), self.shape_of(expr.b), shape),
                             self._required(expr.b))
            return _then(Kron(Transpose(self._constant(expr.b)), None, self.shape_of(expr.a),
                              shape), self._required(expr.a))
        if isinstance(expr, (Hadamard, HadDiv)):
            return self._hadamard(expr, shape)
        if isinstance(expr, Frob):
            varying, factor = (expr.b, expr.a) if self._reads_this(expr.b) else (expr.a,
                                                                                  expr.b)
            return _then(Inner(self._constant(factor), self.shape_of(varying)),
                         self._required(varying))
        if isinstance(expr, RowDot):
            varying, factor = (expr.b, expr.a) if self._reads_this(expr.b) else (expr.a,
                                                                                  expr.b)
            inner = self.shape_of(varying)
            rows = Kron(Ones(1, inner[1]), None, inner, shape)  # (K ⊙ E)𝟏
            return _then(rows, _then(Mask(self._constant(factor), inner),
                                     self._required(varying)))
        raise NoClosedForm(f"no rule reads a Kronecker form off {type(expr).__name__} yet")

    def _hadamard(self, expr: Hadamard | HadDiv, shape: Shape) -> Terms:
        varying, factor = (expr.a, expr.b) if self._reads_this(expr.a) else (expr.b, expr.a)
        if isinstance(expr, HadDiv) and varying is expr.b:
            raise NoClosedForm("the directions divide (the product is not linear)")
        factor = self._constant(factor)
        inner = self.shape_of(varying)
        if self.shape_of(factor) == SCALAR and inner != SCALAR:
            coefficient = factor if isinstance(expr, Hadamard) else Div(Const(Fraction(1)),
                                                                       factor)
            return _scaled(coefficient, self._required(varying))
        if inner != shape:
            raise NoClosedForm("an elementwise product broadcasts the directions")
        return _then(Mask(factor, inner, divide=isinstance(expr, HadDiv)),
                     self._required(varying))

    # ---- the block -------------------------------------------------------------------------

    def tidied(self, form: KroneckerForm) -> KroneckerForm:
        """The form with its expressions tidied and signs pulled into the coefficients."""
        return KroneckerForm(tuple(pulled_signs(map_expressions(term, self.tidier.tidy))
                                   for term in form.terms), form.source, form.target)

    def block(self, component: Expr) -> KroneckerForm:
        """The form of V ↦ component, shortened, merged and tidied."""
        source = self.shapes[self.direction]
        target = self.shape_of(component)
        found = self.terms(component) or []
        terms = [pulled_signs(map_expressions(Term(term.coefficient, shortened(term.factors)),
                                              self.tidier.tidy)) for term in found]
        terms = merged_terms(terms, source)
        terms = [pulled_signs(map_expressions(Term(term.coefficient, shortened(term.factors)),
                                              self.tidier.tidy)) for term in terms]
        kept = [_cleaned(term) for term in terms]
        return KroneckerForm(tuple(term for term in kept if term is not None), source, target)


def _cleaned(term: Term) -> Term | None:
    """None for a term that tidied to zero; a coefficient of exactly 1 (what merging two
    unscaled chains leaves) is dropped."""
    expressions = [*([] if term.coefficient is None else [term.coefficient]),
                   *(expr for factor in term.factors for expr in factor_expressions(factor))]
    if any(isinstance(expr, Zero) or (isinstance(expr, Const) and expr.value == 0)
           for expr in expressions):
        return None
    if isinstance(term.coefficient, Const) and term.coefficient.value == 1:
        return Term(None, term.factors)
    return term


__all__ = ["DirectionReader", "KroneckerReader", "NoClosedForm"]
