"""Named regression tests: every failure the property tests found, kept as a plain example."""

from __future__ import annotations

import numpy as np
import pytest
from autograd_reference import autograd_gradients
from helpers import (
    DEFAULT_BIND,
    assert_gradients_match,
    bind_for,
    generated_arguments,
    random_inputs,
    random_sizes,
)
from programs import DECLARATIONS

import matgrad
from matgrad.ir.text import to_text

FOUND_BY_HYPOTHESIS = {
    # like terms cancelling to a zero of the right shape, not a 1×1 zero
    "cancelling-terms-keep-their-shape": "J = sum((Y - (Y - Y))) + sum(W)",
    # a scalar factor that is an exact zero, Scale(0, s)
    "zero-scalar-factor": "J = <(s - (s + 2)), s> + sum(W)",
    # 𝟏𝟏ᵀ products of ones on both sides of @
    "ones-times-ones": "J = sum(((A + B) + ones(1, n)))",
    # a 1×1 operand of @ may be a Python float in generated code
    "scalar-operand-of-matmul": "J = c' * ((1/2 * c) * (ones(1, t) / (2 + square(3)))) * c",
    # a let-bound value left as a NumPy broadcast
    "broadcast-let-binding": ("H = (((ones(m, 1) * ones(1, t)) / (2 + square(s))))'\n"
                              "G = f(H) + H\nJ = sum(((Y .* Y) .* (c * b))) + sum(H .* G)"),
    # a size no argument determines becomes a keyword-only argument
    "free-dimension": "J = sum(c * ones(1, n)) + sum(b)",
    # sum of a 1×1 value that is a float
    "sum-of-a-scalar": "J = sum(s) + sum(2) + sum(Y)",
    # a gradient broadcast to its full shape, reused transposed by another gradient
    "broadcast-gradient-reused": "J = sum((A + (P)')) + sum(W) + <W, V>",
    # d on the left of a Frobenius product nested in another (found by the 20 000-program run)
    "nested-frobenius-differential-left": "J = <A, (A - (B - A))> + sum(W) + <W, V>",
    # f′(A) written through a let-bound Z = f(A) that the code does not compute (long run)
    "cached-output-not-computed": "H = tanh((Y + Y))\nG = f(H) + H\n"
                                  "J = sum(tanh((Y + Y))) + sum(W) + <W, V>",
    # a double negation in a user's definition: generated code must not read `--A`
    "double-negation": "J = sum((-(-A))) + sum(W) + <W, V>",
    # ‖E‖² at E = 0, where ‖E‖ is not differentiable but ‖E‖² is
    "squared-norm-of-zero": "J = 1/2 * ||(Y - Y)||^2 + sum(W) + <W, V>",
}


@pytest.mark.parametrize("name", list(FOUND_BY_HYPOTHESIS))
def test_regression(name: str) -> None:
    source = DECLARATIONS + FOUND_BY_HYPOTHESIS[name]
    derivation = matgrad.derive(source)
    assert_gradients_match(derivation, seed=1)
    function = derivation.compile(bind=bind_for(derivation))
    rng = np.random.default_rng(2)
    sizes = random_sizes(derivation.program, rng)
    values = random_inputs(derivation.program, sizes, rng)
    _, grads = function(**generated_arguments(derivation, values, sizes))
    reference = autograd_gradients(derivation.program, values, sizes, derivation.wrt,
                                   DEFAULT_BIND)
    for parameter in derivation.wrt:
        np.testing.assert_allclose(grads[parameter], reference[parameter], rtol=1e-9,
                                   atol=1e-9)


def test_size_named_only_in_ones_is_a_keyword_argument() -> None:
    # Found while writing the regressions above: `k` appears in no declaration.
    derivation = matgrad.derive("c: t x 1; b: 1 x m\nJ = sum(c * ones(1, k)) + sum(b)")
    assert derivation.size_arguments == {"k": "k"}
    _, grads = derivation.compile()(np.ones((3, 1)), np.ones((1, 2)), k=4)
    np.testing.assert_allclose(grads["c"], 4 * np.ones((3, 1)))
    assert matgrad.check(derivation).passed


def test_softmax_of_a_scalar_in_generated_code() -> None:
    # Found by the random programs once softmax joined them: a 1×1 argument reached the row
    # helper as a Python float.  softmax of a 1×1 is 1, its gradient 0.
    source = ("s: scalar; W: n x m\nJ = sum(softmax(s) * W) + sum(logsumexp(s * W))")
    derivation = matgrad.derive(source)
    assert matgrad.check(derivation).passed


def test_a_constant_exponent_written_as_a_fraction() -> None:
    # Found by the random programs: (-1/2) is a division of constants, not a Const node.
    for source in ("A: n x m, positive\nJ = sum(A .^ (-1/2))", "s: scalar\nJ = (2 + s*s)^(-1/2)"):
        assert matgrad.check(matgrad.derive(source)).passed


def test_a_negated_broadcast_round_trips() -> None:
    # Found by the round-trip property: −(𝟏1ᵀ) + P printed `−ones(1, t) + P`, which resolved to
    # 𝟏(−1ᵀ): equal values, another tree.  Broadcasts now keep the minus sign outside.

    declarations = "P: n x t"
    program = matgrad.parse(f"{declarations}\nJ = sum(-(ones(n, 1) * ones(1, t)) + P)")
    for style in ("unicode", "ascii"):
        text = to_text(program.definitions["J"], style, exact=True)
        assert matgrad.parse(f"{declarations}\nJ = {text}").definitions == program.definitions


def test_a_product_of_ones_and_a_negation_round_trips() -> None:
    # The companion case: a product 𝟏(−1ᵀ) the user wrote is not a broadcast and keeps its 𝟏.

    declarations = "A: t x n"
    program = matgrad.parse(f"{declarations}\nJ = sum(A - ones(t, 1) * (-ones(1, n)))")
    for style in ("unicode", "ascii"):
        text = to_text(program.definitions["J"], style, exact=True)
        assert matgrad.parse(f"{declarations}\nJ = {text}").definitions == program.definitions


def test_the_norm_of_a_constant_is_generated_right() -> None:
    """norm2(1 + 2) folds to the number 3: the scaled-norm helper took only arrays (found by
    the random-program property at 2 000 examples)."""
    derivation = matgrad.derive("W: n x m\nJ = norm2(1 + 2) + sum(W)")
    value, gradients = derivation.compile()(W=np.ones((2, 3)))
    assert value == pytest.approx(9.0)
    np.testing.assert_array_equal(gradients["W"], np.ones((2, 3)))
