"""The guide's §3 networks at concrete depth: the recursions (23), (26), (27), (31) as matgrad
prints them (golden), and k-layer networks for k = 1…6 checked against central differences and
HIPS autograd with several activation mixes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from autograd_reference import autograd_gradients
from helpers import assert_gradients_match, bind_for

import matgrad

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
SECTION_3 = ["regression_3layer", "classification_2layer", "tied_autoencoder",
             "scaled_autoencoder"]
ACTIVATIONS = ["tanh", "sigmoid", "softplus", "sin", "identity"]


@pytest.mark.parametrize("name", SECTION_3)
def test_golden_output(name: str) -> None:
    derivation = matgrad.derive((ROOT / "examples" / f"{name}.mg").read_text())
    assert str(derivation) + "\n" == (GOLDEN / f"{name}.txt").read_text()


def test_eq_23_recursion() -> None:
    derivation = matgrad.derive((ROOT / "examples" / "regression_3layer.mg").read_text())
    assert str(derivation.adjoints["Δ3"]) == "(1 / t)(Z₃ − Y) ⊙ f₃′(A₃)"
    assert str(derivation.adjoints["Δ2"]) == "Δ₃W₃ᵀ ⊙ f₂′(A₂)"
    assert str(derivation.gradients["W3"]) == "Z₂ᵀΔ₃"
    assert str(derivation.gradients["b2"]) == "1ᵀΔ₂"


def test_eq_26_softmax_delta() -> None:
    derivation = matgrad.derive((ROOT / "examples" / "classification_2layer.mg").read_text())
    assert str(derivation.adjoints["Δ2"]) == "(1 / t)(Z₂ − Y)"


def test_eq_27_tied_weights_sum_both_uses() -> None:
    derivation = matgrad.derive((ROOT / "examples" / "tied_autoencoder.mg").read_text())
    assert str(derivation.gradients["W2"]) == "Z₁ᵀΔ₂ + Δ₃ᵀZ₂"
    assert str(derivation.gradients["W1"]).endswith(" + Δ₄ᵀZ₃")
    assert str(derivation.adjoints["Δ3"]) == "Δ₄W₁ ⊙ f₃′(A₃)"


def test_eq_31_scaled_activations() -> None:
    derivation = matgrad.derive((ROOT / "examples" / "scaled_autoencoder.mg").read_text())
    assert str(derivation.gradients["alpha4"]) == "ΔZ₄ · f₄(A₄)"
    assert str(derivation.adjoints["Δ4"]) == "alpha₄ΔZ₄ ⊙ f₄′(A₄)"


@pytest.mark.parametrize("name", SECTION_3)
def test_section_3_matches_central_differences(name: str) -> None:
    derivation = matgrad.derive((ROOT / "examples" / f"{name}.mg").read_text())
    bind = {"f1": "tanh", "f2": "sigmoid", "f3": "softplus", "f4": "sin"}
    assert matgrad.check(derivation, bind=bind_for(derivation, bind)).passed


def mlp(k: int) -> str:
    """A k-layer regression network written out, as a user would."""
    lines = ["X: t x n0, data", f"Y: t x n{k}, data"]
    lines += [f"W{j}: n{j - 1} x n{j}; b{j}: 1 x n{j}" for j in range(1, k + 1)]
    previous = "X"
    for j in range(1, k + 1):
        lines.append(f"A{j} = {previous}*W{j} + b{j}; Z{j} = f{j}(A{j})")
        previous = f"Z{j}"
    lines.append(f"J = 1/(2*t) * ||Z{k} - Y||^2 + 1/2 * ||W1||^2")
    return "\n".join(lines)


@pytest.mark.parametrize("k", range(1, 7))
def test_k_layer_networks(k: int) -> None:
    derivation = matgrad.derive(mlp(k))
    bind = {f"f{j}": ACTIVATIONS[(j + k) % len(ACTIVATIONS)] for j in range(1, k + 1)}
    assert_gradients_match(derivation, seed=k, bind=bind)
    rng = np.random.default_rng(k)
    sizes = {f"n{j}": int(rng.integers(2, 5)) for j in range(k + 1)} | {"t": 5}
    values = {name: rng.normal(size=tuple(d if isinstance(d, int) else sizes[d]
                                          for d in derivation.program.shapes[name]))
              for name in derivation.program.parameters}
    _, grads = derivation.compile(bind=bind)(**values)
    reference = autograd_gradients(derivation.program, values, sizes, derivation.wrt, bind)
    for name in derivation.wrt:
        np.testing.assert_allclose(grads[name], reference[name], rtol=1e-9, atol=1e-12)
    # the recursion (23): one Δ per layer above the first, never an inlined chain
    assert len(derivation.adjoints) == k - 1


def test_output_size_grows_linearly_with_depth() -> None:
    # Time is measured by benchmarks/bench_networks.py (its derivation table), not asserted here.
    sizes = {k: len(str(matgrad.derive(mlp(k)))) for k in (4, 8, 16)}
    # characters per added layer stay about constant (two-digit names are a little longer)
    assert (sizes[16] - sizes[8]) / 8 < 1.5 * (sizes[8] - sizes[4]) / 4


def test_penalties_add_their_gradients() -> None:
    # (19)'s penalty p: weight decay λ/2‖W₁‖² and an L1 penalty λ Σ|W₂| add λW₁ and λ sign(W₂).
    source = mlp(2).replace(" + 1/2 * ||W1||^2", " + lambda/2 * ||W1||^2 + lambda * sum(abs(W2))")
    source = "lambda: scalar, const\n" + source
    derivation = matgrad.derive(source)
    assert str(derivation.gradients["W1"]).endswith(" + lambda W₁")
    assert str(derivation.gradients["W2"]).endswith(" + lambda sign(W₂)")
    bind = {"f1": "tanh", "f2": "sigmoid"}
    assert_gradients_match(derivation, seed=5, bind=bind)
    program = matgrad.parse(source)
    rng = np.random.default_rng(6)
    sizes = {"t": 5, "n0": 3, "n1": 4, "n2": 2}
    values = {name: rng.normal(size=tuple(d if isinstance(d, int) else sizes[d]
                                          for d in program.shapes[name]))
              for name in program.parameters}
    names = derivation.python_names
    _, grads = derivation.compile(bind=bind)(**{names[k]: v for k, v in values.items()})
    reference = autograd_gradients(program, values, sizes, derivation.wrt, bind)
    for name in derivation.wrt:
        np.testing.assert_allclose(grads[name], reference[name], rtol=1e-9, atol=1e-12)
