"""Golden NumPy modules: the generated code of every example and of representative programs, flat
and loop, kept in tests/golden/numpy/ so that a change to code generation is reviewed as a diff.

    MATGRAD_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_modules.py -n 0   # rewrite them

A missing golden file fails the test (it is written when the switch is on), so a new program
cannot pass unreviewed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import bind_for

import matgrad

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden" / "numpy"
UPDATE = os.environ.get("MATGRAD_UPDATE_GOLDEN") == "1"

# Abstract activations bound for code, as a user would (tests.helpers.bind_for keeps the ones a
# program has).
BIND = {"f": "tanh", "f1": "tanh", "f2": "sigmoid", "f3": "tanh", "f4": "sigmoid", "f[j]": "tanh"}

# Representative programs beyond the examples: each a different shape of objective.
PROGRAMS = {
    "least_squares": "A: m x n, data; b: m x 1, data; x: n x 1\nJ = ||A*x - b||^2",
    "quadratic_form": "A: n x n, data; x: n x 1\nJ = x'*A*x",
    "logistic_regression": (
        "X: t x n, data; y: t x 1, data; w: n x 1\n"
        "J = sum(softplus(X*w)) - y'*(X*w)"),
    "softmax_regression": (
        "X: t x n, data; Y: t x c, data, onehot; W: n x c\n"
        "J = -1/t * sum(Y .* log(softmax(X*W)))"),
    "trace_inverse": "X: n x n, spd; A: n x n, data\nJ = tr(inv(X)*A)",
    "logdet": "X: n x n, spd\nJ = logdet(X)",
    "gaussian_nll": (
        "S: n x n, spd; x: n x 1, data; mu: n x 1\n"
        "J = 1/2 * (x - mu)'*inv(S)*(x - mu) + 1/2 * logdet(S)"),
    "ridge": "X: t x n, data; y: t x 1, data; w: n x 1; lam: scalar, const\n"
             "J = 1/2 * ||X*w - y||^2 + lam/2 * ||w||^2",
    "attention_scores": (
        "X: t x d, data; Wq: d x e; Wk: d x e\n"
        "J = sum(softmax(X*Wq*(X*Wk)'))"),
    "sigmoid_inline": (
        "X: t x n, data; Y: t x m, data; W: n x m; b: 1 x m\n"
        "J = 1/2 * ||sigmoid(X*W + b) - Y||^2"),
    "residual_loop": (
        "X: t x n, data; Y: t x n, data\nZ[0] = X\n"
        "for j in 1..k:\n  W[j]: n x n\n  Z[j] = Z[j-1] + tanh(Z[j-1]*W[j])\nend\n"
        "J = 1/2 * ||Z[k] - Y||^2"),
    "gated_loop": (
        "X: t x n, data; Y: t x n, data\nZ[0] = X\n"
        "for j in 1..k:\n  W[j]: n x n\n  Z[j] = Z[j-1] .* sigmoid(Z[j-1]*W[j])\nend\n"
        "J = 1/2 * ||Z[k] - Y||^2"),
}


def _cases() -> dict[str, tuple[str, dict[str, str]]]:
    sources = {path.stem: path.read_text() for path in sorted((ROOT / "examples").glob("*.mg"))}
    sources.update(PROGRAMS)
    return {name: (source, bind_for(matgrad.derive(source), BIND))
            for name, source in sources.items()}


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_module_is_golden(name: str) -> None:
    source, bind = CASES[name]
    module = matgrad.derive(source).numpy_source(bind=bind)
    path = GOLDEN / f"{name}.py"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(module)
    assert path.exists(), f"no golden module for {name}: run with MATGRAD_UPDATE_GOLDEN=1"
    assert module == path.read_text(), (
        f"the generated module for {name} changed; review the diff and rerun with "
        "MATGRAD_UPDATE_GOLDEN=1 if it is meant")


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_module_passes_the_check(name: str) -> None:
    """The golden code is right, not only unchanged: the check runs it against differences."""
    source, bind = CASES[name]
    report = matgrad.check(matgrad.derive(source), bind=bind, seed=3)
    assert report.passed, str(report)
