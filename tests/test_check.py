"""The numerical check's verdict: relative to the gradient's size plus the rounding noise of
central differences (≈ ε|J|/h), so vanishing gradients do not fail and wrong ones still do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import matgrad
from matgrad.check import CheckReport, parameter_report
from matgrad.codegen import emit as numpy_backend
from matgrad.codegen import loop_module as numpy_loop
from matgrad.codegen import signature as signatures
from matgrad.codegen.emit import PythonEmitter
from matgrad.codegen.loop_module import LoopCodegen

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def verdict(derived: np.ndarray, numeric: np.ndarray, value: float) -> bool:
    report = parameter_report("W", derived, numeric, value, step=1e-6)
    return CheckReport((report,), 1e-6, {}).passed


def test_a_vanishing_gradient_within_the_noise_passes() -> None:
    numeric = np.full((2, 2), 3e-9)
    derived = numeric + 2e-10  # 7 % relative: only the differences' rounding (|J| = 1)
    assert verdict(derived, numeric, value=1.0)


def test_a_wrong_gradient_still_fails() -> None:
    numeric = np.array([[1.0, -2.0], [0.5, 3.0]])
    assert not verdict(2 * numeric, numeric, value=1.0)
    assert not verdict(numeric + 1e-4, numeric, value=1.0)
    tiny = np.full((2, 2), 3e-9)
    assert not verdict(tiny + 1e-6, tiny, value=1.0)  # far beyond the noise


def test_a_deep_narrow_network_passes() -> None:
    # issue 17: a 10-layer tanh network at t = n = 2 has gradients near the noise.
    lines = ["X: t x n, data; Y: t x n, data; " + "; ".join(f"W{i}: n x n" for i in range(1, 11))]
    previous = "X"
    for i in range(1, 11):
        lines.append(f"A{i} = {previous}*W{i}; Z{i} = tanh(A{i})")
        previous = f"Z{i}"
    lines.append(f"J = 1/2*||{previous} - Y||^2")
    derivation = matgrad.derive("\n".join(lines))
    for seed in range(4):
        assert matgrad.check(derivation, sizes={"t": 2, "n": 2}, seed=seed).passed


def _count_generators(monkeypatch: pytest.MonkeyPatch, run: Callable[[], object]) -> int:
    made = [0]
    flat_init, loop_init = PythonEmitter.__init__, LoopCodegen.__init__

    def flat(self: PythonEmitter, *args: Any, **kwargs: Any) -> None:
        made[0] += 1
        flat_init(self, *args, **kwargs)

    def loop(self: LoopCodegen, *args: Any, **kwargs: Any) -> None:
        made[0] += 1
        loop_init(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(PythonEmitter, "__init__", flat)
        patch.setattr(LoopCodegen, "__init__", loop)
        run()
    return made[0]


def test_check_generates_the_module_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # It generated code for every evaluation of J: a 40-layer network took 34 s to check.
    layers = "\n".join(f"W{i}: n x n\nZ{i} = tanh(Z{i - 1}*W{i})" for i in range(1, 6))
    derivation = matgrad.derive(f"X: t x n, data\nY: t x n, data\nZ0 = X\n{layers}\n"
                                "J = 1/2*||Z5 - Y||^2")
    small = _count_generators(monkeypatch, lambda: matgrad.check(derivation, {"t": 2, "n": 2}))
    large = _count_generators(monkeypatch, lambda: matgrad.check(derivation, {"t": 3, "n": 3}))
    assert small == large <= 3  # the module, its argument names, its size arguments


def test_loop_check_generates_the_module_once(monkeypatch: pytest.MonkeyPatch) -> None:
    derivation = matgrad.derive((EXAMPLES / "regression_loop.mg").read_text())
    def run(size: int) -> Callable[[], object]:
        sizes = {"t": size, "n0": size, "n1": size, "n2": size, "n3": size}
        return lambda: matgrad.check(derivation, sizes, bind={"f": "tanh"})

    # However many evaluations the sizes ask for, the code is generated the same few times.
    assert _count_generators(monkeypatch, run(2)) == _count_generators(monkeypatch, run(3))


def test_a_singular_gram_matrix_is_named_with_the_sizes_to_pass() -> None:
    # logdet(XᵀX) at n = 4 < p = 5: "max relative error nan … FAILED" and no hint before.
    derivation = matgrad.derive("X: n x p\nJ = logdet(X'*X)")
    with np.errstate(all="ignore"):
        report = matgrad.check(derivation)
    assert not report.passed
    assert "XᵀX is singular when n = 4 < p = 5; pass --sizes n=6." in str(report)
    assert matgrad.check(derivation, {"n": 6}).passed


def test_logdet_and_inverse_operands_are_sampled_invertible() -> None:
    # A random normal X has det < 0 half the time: logdet(X) was nan there.
    for seed in range(5):
        assert matgrad.check(matgrad.derive("X: n x n\nJ = logdet(X)"), seed=seed).passed


def test_a_non_finite_objective_is_said_so() -> None:
    with np.errstate(all="ignore"):
        report = matgrad.check(matgrad.derive("x: n x 1\nJ = sum(log(x - 10))"))
    assert "J = nan at the random inputs" in str(report) and not report.passed


def test_a_singular_inverse_during_the_check_is_a_clear_error() -> None:
    # x 𝟏ᵀ has rank one: the generated code's LinAlgError reached the user as a traceback.
    derivation = matgrad.derive("x: n x 1\nJ = tr(inv(x*ones(1, n)))")
    with pytest.raises(matgrad.UsageError, match="a matrix that it inverts is singular"):
        matgrad.check(derivation)


@pytest.mark.parametrize("example", ["single_layer.mg", "regression_loop.mg"])
def test_check_works_out_the_signature_once(monkeypatch: pytest.MonkeyPatch,
                                            example: str) -> None:
    """One calling convention, shared by the generated module and the check (the §1 check built
    366 generators to learn the argument names once per evaluation)."""
    made = [0]
    for module, name in ((signatures, "flat_signature"), (signatures, "loop_signature"),
                         (numpy_backend, "flat_signature"), (numpy_loop, "loop_signature")):
        original = getattr(module, name)

        def counted(*args: Any, original: Any = original, **kwargs: Any) -> Any:
            made[0] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    derivation = matgrad.derive((EXAMPLES / example).read_text())
    assert matgrad.check(derivation, bind={"f": "tanh"}).passed
    assert made[0] == 1


def test_the_loop_check_does_not_read_the_source_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # The written-out program comes from the derivation's statements, not from parsing again.
    derivation = matgrad.derive((EXAMPLES / "regression_loop.mg").read_text())

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the check parsed the source text again")

    monkeypatch.setattr("matgrad.front.read.parse_program", refuse)
    monkeypatch.setattr("matgrad.front.syntax.parse_program", refuse)
    assert matgrad.check(derivation, bind={"f": "tanh"}).passed
