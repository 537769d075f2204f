"""The numerical check's verdict: relative to the gradient's size plus the rounding noise of
central differences (≈ ε|J|/h), so vanishing gradients do not fail and wrong ones still do."""

from __future__ import annotations

import numpy as np

import matgrad
from matgrad.check import CheckReport, parameter_report


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
