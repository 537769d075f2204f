"""Softmax classification (the guide's §3.2): softmax as a row-wise function (24), its
differential (25), the stable rewrite log softmax(A) = A − logsumexp(A)𝟏ᵀ, one-hot targets giving
Δ = (1/t)(Z − Y) of (26), and generated code that stays finite and correct at logits of ±1000."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from autograd_reference import autograd_gradients
from helpers import assert_gradients_match, generated_arguments, random_inputs

import matgrad
from matgrad.check import one_hot_rows
from matgrad.engine.derive import Engine
from matgrad.rewrite.rules import load_rules
from matgrad.rewrite.simplify import Tidier

ROOT = Path(__file__).resolve().parent.parent

SINGLE_LAYER = """X: t x n, data; Y: t x m, data, onehot; W: n x m; b: 1 x m
A = X*W + b; Z = softmax(A)
J = -1/t * sum(Y .* log(Z))"""


def test_classifier_prints_eq_26() -> None:
    derivation = matgrad.derive(SINGLE_LAYER)
    assert str(derivation.gradients["W"]) == "(1 / t) Xᵀ(Z − Y)"
    assert str(derivation.gradients["b"]) == "(1 / t) 1ᵀ(Z − Y)"


def test_log_softmax_is_rewritten_before_differentiation() -> None:
    derivation = matgrad.derive(SINGLE_LAYER)
    objective = str(derivation.program.definitions["J"])
    assert "log(" not in objective and "logsumexp(A)" in objective
    source = derivation.numpy_source()
    assert "np.log(" not in source.split("def value_and_grad")[1]
    assert {"stable-log-softmax", "stable-onehot-rows"} <= set(_stabilize_rules_fired(SINGLE_LAYER))


def _stabilize_rules_fired(source: str) -> list[str]:
    """The names of the stabilize rules that rewrite the objective's definition."""

    engine = Engine(matgrad.parse(source), ("W", "b"), load_rules())
    tidier = Tidier(load_rules().phase("stabilize"), engine.shape_of, engine)
    fired: list[str] = []
    tidier.tidy(matgrad.parse(source.replace("log(Z)", "log(softmax(A))")).definitions["J"],
                fired)
    return fired


@pytest.mark.parametrize("onehot", [True, False])
def test_classifier_matches_central_differences_and_autograd(onehot: bool) -> None:
    # Without `onehot`, Y is any matrix (label smoothing): the rewrite must not assume rows
    # summing to one, and the gradient is still right.
    source = SINGLE_LAYER if onehot else SINGLE_LAYER.replace(", onehot", "")
    derivation = matgrad.derive(source)
    assert_gradients_match(derivation, seed=3)
    rng = np.random.default_rng(5)
    sizes = {"t": 6, "n": 4, "m": 5}
    values = random_inputs(matgrad.parse(source), sizes, rng)
    compiled = derivation.compile()
    _, grads = compiled(**generated_arguments(derivation, values, sizes))
    reference = autograd_gradients(matgrad.parse(source), values, sizes, ("W", "b"), {})
    for name in ("W", "b"):
        np.testing.assert_allclose(grads[name], reference[name], rtol=1e-9, atol=1e-12)


def test_onehot_rewrite_not_applied_when_targets_vary() -> None:
    derivation = matgrad.derive(SINGLE_LAYER, wrt=["W", "Y"])
    assert "Y𝟏" in str(derivation.gradients["W"]) or "1ᵀ" in str(derivation.gradients["W"])
    assert_gradients_match(derivation, seed=1)


def test_softmax_differential_eq_25() -> None:
    # A squared error on softmax outputs needs d softmax itself: z ⊙ (da − (z · da)𝟏ᵀ).
    source = """X: t x n, data; Y: t x m, data; W: n x m
A = X*W; Z = softmax(A)
J = 1/2 * ||Z - Y||^2"""
    derivation = matgrad.derive(source)
    assert any(step.rule == "d-softmax" for step in derivation.steps)
    assert_gradients_match(derivation, seed=2)


def test_two_layer_classifier_example() -> None:
    derivation = matgrad.derive((ROOT / "examples" / "classification_2layer.mg").read_text())
    assert str(derivation.adjoints["Δ2"]) == "(1 / t)(Z₂ − Y)"
    assert matgrad.check(derivation, bind={"f1": "tanh"}).passed


@pytest.mark.parametrize("scale", [1000.0, -1000.0])
def test_generated_code_is_stable_at_large_logits(scale: float) -> None:
    derivation = matgrad.derive(SINGLE_LAYER)
    function = derivation.compile()
    rng = np.random.default_rng(0)
    t, n, m = 7, 3, 4
    X = rng.normal(size=(t, n))
    W = scale * rng.normal(size=(n, m))
    b = scale * rng.normal(size=(1, m))
    Y = one_hot_rows(t, m, rng)
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        value, grads = function(X, Y, W, b)
    logits = X @ W + b
    # The reference in exact-ish terms: log-sum-exp by the max shift, written independently.
    peak = logits.max(axis=1, keepdims=True)
    log_z = logits - peak - np.log(np.exp(logits - peak).sum(axis=1, keepdims=True))
    expected_value = -np.sum(Y * log_z) / t
    probabilities = np.exp(log_z)
    assert np.isfinite(value) and abs(value) > 1.0  # a confident, mostly wrong classifier
    np.testing.assert_allclose(value, expected_value, rtol=1e-12)
    np.testing.assert_allclose(grads["W"], X.T @ (probabilities - Y) / t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(grads["b"], (probabilities - Y).sum(axis=0, keepdims=True) / t,
                               rtol=1e-10, atol=1e-12)
