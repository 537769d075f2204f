"""Which Hessian blocks to read in closed form, and which to assemble from the product.

A block H_ab is read off the component (∇²J V)_a by following V_b through every named tangent
and second-order adjoint between them (engine/kronecker.py), so its form — and the time to
read it — grows with that chain: in a written-out MLP of k layers the chain of the blocks of
layers i and j runs through about 2k − i − j named values (the tangents forward to the loss
and the adjoints back), so reading every block costs about k³ and prints k² forms of length up
to 2k.  Beyond CHAIN_LIMIT named values a closed form is neither short nor cheaper to evaluate
than the product itself, whose one evaluation per direction gives a whole column of blocks:
such a block is left to the Hessian-vector product (`compile()` assembles it column by column)
and is never read, so deriving the Hessian of a deep network costs the product's derivation
(linear in depth) plus the blocks near the loss.

The chain is counted before anything is read, on the product's named values: the names that
depend on V_b (forward from the direction) and that (∇²J V)_a reads (backward from the
component), as bit sets in one pass over the names in the order the engine named them.

Invariant: the choice changes which blocks carry a formula, never a value: an assembled block
is the product applied to unit directions.
"""

from __future__ import annotations

from dataclasses import dataclass

from matgrad.engine.results import Product
from matgrad.ir.expr import Expr, Sym

# Named values a closed form may run through: every block of the examples (at most 13, the
# scaled autoencoder) and, in a deep network, the blocks of its last four layers.
CHAIN_LIMIT = 16


@dataclass(frozen=True)
class BlockChoice:
    """How block (a, b) is computed: `closed` (read off in closed form) or assembled from the
    product; `chain` is the number of named values between V_b and (∇²J V)_a."""

    closed: bool
    chain: int

    @property
    def reason(self) -> str:
        """Why a block is assembled, in words (the empty string for a closed form)."""
        if self.closed:
            return ""
        return (f"assembled from the Hessian-vector product: its closed form runs through "
                f"{self.chain} named values (more than {CHAIN_LIMIT})")


def _names_read(expr: Expr, index: dict[str, int], reads: dict[str, int]) -> int:
    """The bit set of named values `expr` reads, directly or through other named values."""
    found = 0
    for node in expr.walk():
        if isinstance(node, Sym) and node.name in index:
            found |= reads[node.name] | (1 << index[node.name])
    return found


def block_choices(product: Product) -> dict[tuple[str, str], BlockChoice]:
    """The choice for every block (a, b) of the product's parameters (see the module)."""
    named = product.adjoints
    index = {name: position for position, name in enumerate(named)}
    reads: dict[str, int] = {}
    for name, value in named.items():  # each reads only the names named before it
        reads[name] = _names_read(value, index, reads)
    depends: dict[str, int] = {}
    for parameter, direction in product.directions.items():
        dependent = 0
        for name, value in named.items():
            if any(isinstance(node, Sym) and (node.name == direction or (
                    node.name in index and dependent >> index[node.name] & 1))
                   for node in value.walk()):
                dependent |= 1 << index[name]
        depends[parameter] = dependent
    wrt = product.first.wrt
    choices: dict[tuple[str, str], BlockChoice] = {}
    for a in wrt:
        read = _names_read(product.gradients[a], index, reads)
        for b in wrt:
            chain = (read & depends[b]).bit_count()
            choices[(a, b)] = BlockChoice(chain <= CHAIN_LIMIT, chain)
    return choices


__all__ = ["CHAIN_LIMIT", "BlockChoice", "block_choices"]
