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

Evaluating is chosen apart from reading: a closed form is a chain of Kronecker factors applied
one after the other, and past EVALUATE_LIMIT named values (measured: an 8-layer MLP's blocks,
up to 6× slower evaluated than assembled) one call of the product on a batch of unit directions
(every operation on them batch-safe, `batch_safe`: a leading axis is a batch to NumPy's matrix
product, elementwise operations and sums counted from the end, but not to a trace, an inner
product, a row-wise function or a scalar returned as a float) gives the block column for less.
Such a block keeps its formula in print; the generated module assembles it.

Invariant: the choice changes which blocks carry a formula and how the module computes them,
never a value: an assembled block is the product applied to unit directions.
"""

from __future__ import annotations

from dataclasses import dataclass

from matgrad.engine.results import Product
from matgrad.ir.dims import SCALAR
from matgrad.ir.expr import (
    Add,
    Apply,
    Const,
    DimSize,
    Div,
    Expr,
    Hadamard,
    HadDiv,
    HadPower,
    Identity,
    MatMul,
    Neg,
    Ones,
    Scale,
    Sym,
    Transpose,
    Zero,
)

# Named values a closed form may run through: every block of the examples (at most 13, the
# scaled autoencoder) and, in a deep network, the blocks of its last four layers.
CHAIN_LIMIT = 16
# Named values a closed form evaluated by the generated module may run through where the
# product can take a batch of directions (measured, one thread: a 2-layer MLP's chains of 2 and
# 4 are faster closed; an 8-layer MLP's longer ones 2–6× slower than the batched product;
# again with the factors applied to stacks of directions, 8 layers, n = 8: limits 4 / 8 / 16
# give 68 / 84 / 132 ms).
EVALUATE_LIMIT = 4

# The node classes that act on a batch of matrices as on each matrix (their lowered
# operations: matmul, add, neg, mul, div, pow, apply, transpose, broadcasts, sums by ones).
BATCH_SAFE: tuple[type[Expr], ...] = (Sym, Const, DimSize, Ones, Zero, Identity, Add, Neg,
                                      Scale, Div, HadPower, MatMul, Hadamard, HadDiv,
                                      Transpose, Apply)


@dataclass(frozen=True)
class BlockChoice:
    """How block (a, b) is computed: `closed` (read off in closed form) or assembled from the
    product; `evaluated`: the generated module evaluates the closed form (else it assembles
    the block from the batched product); `chain` is the number of named values between V_b and
    (∇²J V)_a."""

    closed: bool
    chain: int
    evaluated: bool = True

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


def block_choices(product: Product, batched: bool) -> dict[tuple[str, str], BlockChoice]:
    """The choice for every block (a, b) of the product's parameters (see the module);
    `batched`: whether the product is `batch_safe`."""
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
            choices[(a, b)] = BlockChoice(chain <= CHAIN_LIMIT, chain,
                                          chain <= EVALUATE_LIMIT or not batched)
    return choices


def batch_safe(product: Product) -> bool:
    """Whether every expression of `product` that reads a direction is batch-safe (see the
    module) and every parameter is a matrix; conservative: an operation not in BATCH_SAFE
    keeps the product one direction a call, which is always right."""
    if any(product.shapes[name] == SCALAR for name in product.first.wrt):
        return False
    dependent = set(product.directions.values())
    for name, value in product.adjoints.items():  # in the order the engine named them
        if any(isinstance(node, Sym) and node.name in dependent for node in value.walk()):
            dependent.add(name)
    reads: dict[Expr, bool] = {}  # whether a node reads a direction, each node once

    def safe(node: Expr) -> bool:
        kids = [safe(kid) for kid in node.children()]
        if not all(kids):
            return False
        if node not in reads:
            reads[node] = (isinstance(node, Sym) and node.name in dependent) or any(
                reads[kid] for kid in node.children())
        return not reads[node] or isinstance(node, BATCH_SAFE)

    return all(safe(value) for value in [*product.adjoints.values(),
                                         *product.gradients.values()])


__all__ = ["BATCH_SAFE", "CHAIN_LIMIT", "EVALUATE_LIMIT", "BlockChoice", "batch_safe",
           "block_choices"]
