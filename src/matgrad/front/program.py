"""The front end's output: a resolved `Program`, every shape known and every definition typed
IR.  Every layer below the front end reads programs as this type; none reads surface syntax.

Invariant: frozen; its definitions hold no unknown dimension (`DimVar`); `positions` point
into `source`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from matgrad.front.syntax import Pos
from matgrad.ir.dims import Shape, format_shape
from matgrad.ir.expr import Expr

ATTRIBUTES = {"data", "const", "positive", "spd", "symmetric", "onehot"}
SYMMETRIC_ATTRIBUTES = frozenset({"spd", "symmetric"})  # Xᵀ = X: the matrix must be square
# How the gradient of a symmetric parameter is read (rules/symmetric.rules, by rule name): for
# the Frobenius product on the symmetric matrices, or by each distinct entry.
SYMMETRIC_CONVENTIONS = {"frobenius": "sym-gradient", "elementwise": "sym-gradient-elementwise"}
# Marks that keep a parameter out of the default `wrt`: its gradient is not wanted.
NOT_DIFFERENTIATED = frozenset({"data", "const"})


def differentiated_by_default(attributes: frozenset[str]) -> bool:
    """Whether a parameter with these marks is differentiated when no `wrt` names any: the
    one default-`wrt` rule, for flat programs and loops alike."""
    return not attributes & NOT_DIFFERENTIATED


@dataclass(frozen=True)
class Program:
    """A resolved program: every shape known, every definition typed."""

    source: str
    shapes: dict[str, Shape]
    definitions: dict[str, Expr]
    objective: str
    wrt: tuple[str, ...] | None
    attributes: dict[str, frozenset[str]]
    parameters: tuple[str, ...]
    abstract_functions: frozenset[str]
    dims: tuple[str, ...]
    positions: dict[str, Pos] = field(default_factory=dict)
    # Abstract functions declared `rowwise` (ℓ: t×m → t×1); the others are elementwise.
    row_functions: frozenset[str] = frozenset()
    # Free symbols whose shapes were inferred from their uses rather than declared.
    inferred: tuple[str, ...] = ()
    # Declared matrices the objective never uses (often a typo in a name).
    unused: tuple[str, ...] = ()
    # Names the front end gave intermediates of an inline objective (A, Z₁, …; naming.py).
    invented: tuple[str, ...] = ()
    # The definitions as the user wrote them: before naming and stable forms (for display).
    written: dict[str, Expr] = field(default_factory=dict)
    # The gradient convention of symmetric parameters: a key of SYMMETRIC_CONVENTIONS.
    symmetric_gradient: str = "frobenius"

    @property
    def symmetric(self) -> frozenset[str]:
        """Names declared spd or symmetric (Sᵀ = S)."""
        return frozenset(name for name, marks in self.attributes.items()
                         if marks & SYMMETRIC_ATTRIBUTES)

    def notes(self) -> list[str]:
        """What the user should know about how the program was read: inferred shapes and
        declarations the objective does not use."""
        notes: list[str] = []
        if self.inferred:
            listed = ", ".join(f"{name}: {format_shape(self.shapes[name])}"
                               for name in self.inferred)
            notes.append(f"inferred: {listed} (not declared; their shapes were inferred from "
                         "their uses — declare them to check)")
        for name in self.unused:
            similar = [other for other in self.inferred if other.lower() == name.lower()]
            hint = f"; did you mean {name} where you wrote {similar[0]}?" if similar else "."
            notes.append(f"warning: '{name}' is declared but the objective {self.objective} "
                         f"does not use it{hint}")
        return notes

    @property
    def order(self) -> list[str]:
        return list(self.definitions)
