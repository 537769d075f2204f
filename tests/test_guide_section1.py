"""The guide's §1: eq. (3)–(4) reproduced by derivation, printed, stepped and checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_gradients_match, derived_gradients

import matgrad
from matgrad.functions import numeric

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "single_layer.mg"
GOLDEN = Path(__file__).parent / "golden"


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "matgrad.cli", *args], capture_output=True,
                          text=True, check=False, encoding="utf-8")


def test_gradients_are_eq_3_and_4() -> None:
    derivation = matgrad.derive(EXAMPLE.read_text())
    assert str(derivation.gradients["W"]) == "Xᵀ((Z − Y) ⊙ f′(A))"
    assert str(derivation.gradients["b"]) == "1ᵀ((Z − Y) ⊙ f′(A))"


def test_cli_output_is_golden() -> None:
    result = _run_cli(str(EXAMPLE))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (GOLDEN / "single_layer.txt").read_text()


def test_cli_steps_are_golden() -> None:
    result = _run_cli(str(EXAMPLE), "--steps")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (GOLDEN / "single_layer.steps.txt").read_text()


def test_api_str_is_cli_output() -> None:
    derivation = matgrad.derive(EXAMPLE.read_text())
    assert str(derivation) + "\n" == (GOLDEN / "single_layer.txt").read_text()


def test_every_step_cites_a_guide_identity() -> None:
    derivation = matgrad.derive(EXAMPLE.read_text())
    assert len(derivation.steps) >= 8
    for step in derivation.steps:
        numbers = {int(cite) for cite in step.cites if cite.isdigit()}
        assert numbers, f"step {step.rule} cites no identity of the guide"
        assert numbers <= set(range(5, 18))
    cited = {cite for step in derivation.steps for cite in step.cites}
    assert {"5", "6", "15", "17"} <= cited


def test_steps_chain_and_record_rules() -> None:
    derivation = matgrad.derive(EXAMPLE.read_text())
    rules = matgrad.rewrite.rules.load_rules()
    for previous, step in zip(derivation.steps, derivation.steps[1:], strict=False):
        rules.by_name(step.rule)  # every step names a rule from rules/
        if step.expands is None and step.rule != "read-gradient":
            assert step.before == previous.after


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu", "softplus", "identity"])
def test_matches_central_differences(activation: str) -> None:
    derivation = matgrad.derive(EXAMPLE.read_text())
    assert_gradients_match(derivation, seed=3, bind={"f": activation})


def test_matches_hand_written_eq_3_4() -> None:
    derivation = matgrad.derive(EXAMPLE.read_text())
    rng = np.random.default_rng(7)
    t, n, m = 6, 4, 3
    values = {"X": rng.normal(size=(t, n)), "Y": rng.normal(size=(t, m)),
              "W": rng.normal(size=(n, m)), "b": rng.normal(size=(1, m))}
    ours = derived_gradients(derivation, values, {"t": t, "n": n, "m": m}, {"f": "tanh"})
    a = values["X"] @ values["W"] + values["b"]
    delta = (np.tanh(a) - values["Y"]) * numeric("tanh", 1)(a)
    np.testing.assert_allclose(ours["W"], values["X"].T @ delta, rtol=1e-12)
    np.testing.assert_allclose(ours["b"], delta.sum(axis=0, keepdims=True), rtol=1e-12)


def test_one_line_objective_derives_the_same_gradient() -> None:
    # The mission's one-liner, without let-bindings: the guide's names A and Z are given to its
    # intermediates, so it prints (3)–(4) exactly; names="inline" substitutes them.
    source = "X: t x n; Y: t x m; W: n x m; b: 1 x m\nJ = 1/2 * ||f(X*W + b) - Y||^2\nwrt W, b"
    derivation = matgrad.derive(source)
    assert str(derivation) == str(matgrad.derive(EXAMPLE.read_text(encoding="utf-8")))
    assert_gradients_match(derivation, seed=1)
    inline = matgrad.derive(source, names="inline")
    assert str(inline.gradients["b"]) == "1ᵀ((f(X W + b) − Y) ⊙ f′(X W + b))"
    assert_gradients_match(inline, seed=1)
