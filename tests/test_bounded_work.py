"""`--check` costs the same at any size and refuses inputs it cannot hold; inputs that ended in
an internal error (exit 3) get a clear message (exit 2) — issue 29's fuzzer classes."""

from __future__ import annotations

import importlib
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import matgrad
from matgrad.check import DIRECTIONS, EXHAUSTIVE_ENTRIES, SAMPLED_ENTRIES
from matgrad.limits import LIMITS

# The module (matgrad.check is also the name of its function on the package).
checking = importlib.import_module("matgrad.check")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "matgrad.cli", *args], capture_output=True,
                          text=True, check=False, encoding="utf-8")


def _counting(monkeypatch: pytest.MonkeyPatch, wrong: bool = False) -> list[int]:
    """Count the evaluations of the checked function (and, if `wrong`, spoil one entry of
    its gradient)."""
    calls = [0]
    original = checking.compiled

    def compiled(*args: Any, **kwargs: Any) -> Any:
        function = original(*args, **kwargs)

        def counted(*a: Any, **k: Any) -> Any:
            calls[0] += 1
            value, gradients = function(*a, **k)
            if wrong:
                gradients = {name: np.array(g, dtype=float) for name, g in gradients.items()}
                gradients["W"][7, 3] += 0.5
            return value, gradients

        return counted

    monkeypatch.setattr(checking, "compiled", compiled)
    return calls


@pytest.mark.parametrize("sizes", [{"n": 8, "m": 8}, {"n": 60, "m": 50}, {"n": 2000, "m": 2}])
def test_the_check_costs_the_same_at_any_size(sizes: dict[str, int],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # --sizes n=2000,m=2000 evaluated J twice per entry: 8 million runs.
    calls = _counting(monkeypatch)
    derivation = matgrad.derive("W: n x m; A: n x m, data; J = sum(tanh(W) .* A)")
    assert matgrad.check(derivation, sizes).passed
    assert calls[0] <= 1 + 2 * max(EXHAUSTIVE_ENTRIES, SAMPLED_ENTRIES + DIRECTIONS)


def test_a_small_parameter_is_checked_entry_by_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting(monkeypatch)
    assert matgrad.check(matgrad.derive("W: n x m; J = sum(W .* W)"), {"n": 3, "m": 2}).passed
    assert calls[0] == 1 + 2 * 6


def test_a_wrong_entry_is_found_by_the_directions(monkeypatch: pytest.MonkeyPatch) -> None:
    _counting(monkeypatch, wrong=True)
    derivation = matgrad.derive("W: n x m; J = sum(W .* W)")
    assert not matgrad.check(derivation, {"n": 40, "m": 30}, seed=1).passed


@pytest.mark.parametrize(("source", "sizes", "message"), [
    ("W: 1000000000 x 1; J = sum(W)", [], "would hold 1,000,000,000 numbers"),
    ("W: n x 1000000000; J = sum(W)", [], "would hold 4,000,000,000 numbers"),
    ("W: n x m; V: n x m; U: n x m; Q: n x m; J = <W, V> + <U, Q>",
     ["--sizes", "n=2000,m=1500"], "would hold 12,000,000 numbers"),
])
def test_inputs_the_check_cannot_hold_are_refused(source: str, sizes: list[str],
                                                  message: str) -> None:
    # W: 1000000000 x 1 hung at 2.5 GB; W: n x 1000000000 ended in a MemoryError (exit 3).
    result = cli("-e", source, "--check", *sizes)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "the limit is 10,000,000" in result.stderr and "internal error" not in result.stderr


def test_a_dense_hessian_check_too_large_is_refused() -> None:
    result = cli("-e", "W: n x m; J = sum(W .* W)", "--hessian", "--check", "--sizes",
                 "n=200,m=200")
    assert result.returncode == 2 and "--hvp --check" in result.stderr


@pytest.mark.parametrize(("arguments", "message"), [
    (["-e", "X: t x n, data; Y: t x n, data\nW[j]: n x n\nZ[0] = X\nfor j in 1..k:\n"
      "  Z[j] = tanh(Z[j-1]*W[j])\nend\nJ = sum(Z[k])"], "the index j has no value here"),
    (["-e", "X: t x n, data\nZ[0] = X\nfor j in 1..k:\n  W[j]: n[kk] x n\n"
      "  Z[j] = tanh(Z[j-1]*W[j])\nend\nJ = sum(Z[k])"], "the index kk has no value here"),
    (["-e", "X: X x n, data; w: n x 1; J = sum(X*w)", "--backend", "dask", "--check"],
     "names a matrix and a size"),
    (["-e", "W: n x n; J = sum(W)", "--check", "--sizes", "n=³"], "positive whole number"),
    (["-e", "X: t x n\nZ[0] = X\nfor j in 1..k: W[j]: n x n; Z[j] = tanh(Z[j-1]*W[j]) end\n"
      "J = sum(Z[k])", "--depth", "k=³"], "positive whole number"),
    (["-e", "W: n x n; J = sum(W)", "--sizes", "n=3"], "--sizes is for --check"),
    (["-e", "W: n x n; J = sum(W)", "--seed", "3"], "--seed is for --check"),
    (["-e", "W: n x n; J = sum(W)", "--depth", "k=3"], "has none"),
])
def test_fuzzer_classes_get_clear_messages(arguments: list[str], message: str) -> None:
    result = cli(*arguments)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


# ---- every stage's budget, named in its error (matgrad/limits.py) ----------------------------

LOOP = ("X: t x n\nW[j]: n x n\nH[0] = X\nfor j in 1..k:\n  H[j] = tanh(H[j-1]*W[j])\nend\n"
        "J = sum(H[k])")
# name: (the module whose copy of the limit is lowered to 2 (tidy: 0 rounds) for the test, or
# None; the call that meets it)
STAGES: dict[str, tuple[str | None, Any]] = {
    "MAX_SOURCE_CHARS": (None, lambda: matgrad.derive("W: n x m\nJ = sum(W)" + " " * 200_000)),
    "MAX_DEPTH": (None, lambda: matgrad.derive("W: n x m\nJ = sum(" + "(" * 201 + "W"
                                               + ")" * 201 + ")")),
    "MAX_WRITTEN_SIZE": (None, lambda: matgrad.derive("W: 2000000000 x 1\nJ = sum(W)")),
    "MAX_NODES": ("matgrad.front.resolve", lambda: matgrad.derive("W: n x m\nJ = sum(W .* W)")),
    "MAX_MATRIX_POWER": (None, lambda: matgrad.derive("W: n x n\nJ = sum((W^4)^5)")),
    "MAX_UNROLLED_DEPTH": (None, lambda: matgrad.derive(LOOP, depth={"k": 1001})),
    "MAX_STEPS": ("matgrad.engine.derive", lambda: matgrad.derive("W: n x m\nJ = sum(tanh(W))")),
    "MAX_TIDY_ROUNDS": ("matgrad.rewrite.simplify",
                        lambda: matgrad.derive("W: n x m\nJ = sum(tanh(W))")),
    "MAX_PROGRAM_VALUES": ("matgrad.codegen.array_program",
                           lambda: matgrad.derive("W: n x m\nJ = sum(tanh(W))").source()),
    "MAX_CHECK_SIZE": (None, lambda: matgrad.check(matgrad.derive("W: n x m\nJ = sum(W .* W)"),
                                                   {"n": 2001})),
    "MAX_CHECK_ENTRIES": (None, lambda: matgrad.check(
        matgrad.derive("W: n x 1000000000\nJ = sum(W .* W)"))),
}


def test_every_limit_has_a_stage_test() -> None:
    assert set(STAGES) == set(LIMITS)
    assert {limit.stage for limit in LIMITS.values()} == {
        "read", "resolve", "unroll", "derive", "tidy", "generate", "check"}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_each_stage_refuses_work_past_its_limit_and_names_it(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lowered, call = STAGES[name]
    if lowered is not None:  # met by a small input once the limit is small
        monkeypatch.setattr(importlib.import_module(lowered), name,
                            0 if name == "MAX_TIDY_ROUNDS" else 2)
    with pytest.raises(matgrad.MatgradError, match=f"matgrad's limit {name} allows "
                                                   f"{LIMITS[name].value:,}"):
        call()
