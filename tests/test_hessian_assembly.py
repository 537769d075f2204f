"""The generated assembly of Hessian blocks (codegen/hessian_assembly.py): the helper that
applies a form's factors against the vec matrices of random chains (linear_maps.py, an
independent reading of the same factors), what is written out rather than interpreted, and
which of H_ab and H_ba is computed.  The written statements' values are checked with every
block's: against autograd (tests/test_kronecker.py, every conformance objective and example)
and against the operators of `compile(dense=False)` (test_the_generated_module_matches_the_
factors)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import matgrad
from matgrad.codegen.hessian_assembly import HELPERS, computed_blocks
from matgrad.ir.evaluate import Environment, evaluate
from matgrad.ir.expr import Sym
from matgrad.ir.kronecker import Factor, Flip, Inner, Kron, KroneckerForm, Mask, Spread, Term
from matgrad.linear_maps import KroneckerOperator

NETWORK = ("X: t x n, data; Y: t x m, data; W: n x m; b: 1 x m\n"
           "J = 1/2 * ||tanh(X*W + b) - Y||^2")
MLP = ("X: t x n, data; Y: t x n, data; W1: n x n; b1: 1 x n; W2: n x n; b2: 1 x n\n"
       "Z1 = tanh(X*W1 + b1)\nJ = 1/2*||tanh(Z1*W2 + b2) - Y||^2")


def _helpers() -> dict[str, Any]:
    namespace: dict[str, Any] = {"np": np, "_ONES": frozenset()}
    exec(compile("\n\n".join(HELPERS.values()), "<hessian helpers>", "exec"), namespace)
    return namespace


def _random_chain(rng: np.random.Generator, env: dict[str, np.ndarray], length: int
                  ) -> tuple[tuple[Factor, ...], tuple[int, int]]:
    """A chain of `length` random factors (applied right to left, as a form lists them) from
    a random source shape, its matrices fresh symbols in `env`; identities where a Kronecker
    factor has none."""
    def symbol(shape: tuple[int, int], offset: float = 0.0) -> Sym:
        name = f"K{len(env)}"
        env[name] = rng.normal(size=shape) + offset
        return Sym(name)

    source = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    shape, applied = source, []
    for _ in range(length):
        kinds = ["kron", "mask", "flip", "inner"] + (["spread"] if shape == (1, 1) else [])
        kind = kinds[int(rng.integers(0, len(kinds)))]
        factor: Factor
        if kind == "kron":
            target = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
            outer = symbol((target[1], shape[1])) if rng.integers(0, 3) else None
            inner = symbol((target[0], shape[0])) if rng.integers(0, 3) else None
            target = (shape[0] if inner is None else target[0],
                      shape[1] if outer is None else target[1])
            factor = Kron(outer, inner, shape, target)
        elif kind == "mask":
            factor = Mask(symbol(shape, 3.0), shape, bool(rng.integers(0, 2)))  # no zero divisor
        elif kind == "flip":
            factor = Flip(shape)
        elif kind == "inner":
            factor = Inner(symbol(shape), shape)
        else:
            target = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
            factor = Spread(symbol(target), target)
        applied.append(factor)
        shape = factor.target
    return tuple(reversed(applied)), source


def _spec(factor: Factor) -> tuple[str, str | None, str | bool | None]:
    """The module's spec of a factor whose matrices are symbols (codegen/hessian_module.py)."""
    def name(expr: Any) -> str | None:
        return None if expr is None else expr.name

    if isinstance(factor, Kron):
        return ("kron", name(factor.outer), name(factor.inner))
    if isinstance(factor, Mask):
        return ("mask", name(factor.factor), factor.divide)
    if isinstance(factor, Flip):
        return ("flip", None, None)
    if isinstance(factor, Inner):
        return ("inner", name(factor.factor), None)
    return ("spread", name(factor.factor), None)


@pytest.mark.parametrize("seed", range(60))
def test_the_helper_applies_random_chains_as_their_vec_matrices(seed: int) -> None:
    # Every kind of factor first (on the unit directions) and later (on the stack), chains of
    # one to five, identities in Kronecker factors, a second term with a coefficient.
    rng = np.random.default_rng(seed)
    env: dict[str, np.ndarray] = {}
    factors, source = _random_chain(rng, env, 1 + seed % 5)
    target = factors[0].target
    coefficient = 0.5 + float(rng.random())
    env["c"] = np.array([[coefficient]])
    form = KroneckerForm((Term(None, factors), Term(Sym("c"), factors)), source, target)
    expected = KroneckerOperator(form, lambda expr: evaluate(expr, Environment(env, {})),
                                 int).toarray()
    terms = [(None, [_spec(factor) for factor in factors]),
             ("c", [_spec(factor) for factor in factors])]
    parts = {**env, "c": coefficient}
    got = _helpers()["_kronecker_block"](terms, parts, source, target)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert got.shape == (target[0] * target[1], source[0] * source[1])


def test_the_network_blocks_are_written_out_not_interpreted() -> None:
    # The §1 network's four blocks: one batched product on the diagonal, one product for the
    # column of H_Wb, H_bW its transpose, a diagonal; no spec interpreted at run time.
    module = matgrad.derive(NETWORK).hessian().source()
    assembly = module[module.index("def _assemble_hessian("):module.index("def hessian(")]
    assert "_kronecker_block(" not in assembly and "np.kron(" not in assembly
    assert assembly.count("_block_diagonal(") == 2 and "np.diag(" in assembly
    assert "block_1.T.copy()" in assembly
    # the module carries the one helper its statements call
    assert "def _block_diagonal(" in module and "def _kronecker_block(" not in module
    assert "def _kron(" not in module and "def _product_columns(" not in module
    # the parts of ones the written statements do without are not computed
    parts = module[module.index("def _hessian_parts("):module.index("def _block_diagonal(")]
    assert "broadcast_to" not in parts


def test_a_module_carries_the_helpers_its_statements_call_and_theirs() -> None:
    # A form written out by no statement goes through _kronecker_block, which needs the rest.
    module = matgrad.derive(MLP).hessian().source()
    for helper in ("_kronecker_block", "_structured", "_units", "_on_stack", "_kron",
                   "_block_diagonal"):
        assert f"def {helper}(" in module
    assert "_ONES = frozenset(" in module and "def _product_columns(" not in module


def test_the_block_with_the_smaller_column_is_computed() -> None:
    # Of H_ab and H_ba the one carrying fewer unit directions through its chain (b1's n
    # against W2's n²) is computed; a formula before the product; else the first.
    hessian = matgrad.derive(MLP).hessian()
    module = hessian.source()
    namespace: dict[str, Any] = {}
    exec(compile(module, "<hessian module>", "exec"), namespace)
    specs = namespace["_BLOCKS"]
    shapes = {"W1": ("n", "n"), "b1": (1, "n"), "W2": ("n", "n"), "b2": (1, "n")}
    mirrors = computed_blocks(specs, shapes)
    assert mirrors[("W2", "b1")] is None and mirrors[("b1", "W2")] == ("W2", "b1")
    assert mirrors[("W1", "W2")] is None and mirrors[("W2", "W1")] == ("W1", "W2")
    assert mirrors[("W1", "b1")] is None and mirrors[("b1", "W1")] == ("W1", "b1")
    mixed = {("a", "b"): ("product", None), ("b", "a"): ("kronecker", [])}
    assert computed_blocks(mixed, {"a": (1, "n"), "b": ("n", "n")}) == {
        ("b", "a"): None, ("a", "b"): ("b", "a")}
    # a size that is not provably smaller keeps the first
    assert computed_blocks({("x", "y"): ("kronecker", []), ("y", "x"): ("kronecker", [])},
                           {"x": ("n", 1), "y": ("m", 1)})[("x", "y")] is None
