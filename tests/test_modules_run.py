"""Every module matgrad hands out runs: programs whose modules once failed at every call (issue
28: a constant objective, traces and determinants of 1×1 values, folded constants out of range,
thousands of terms, a function name Python reads as another) generate code that compiles and
agrees with the IR interpreter in every installed backend, or are refused when generated."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from helpers import objective_value

import matgrad
from matgrad.codegen.emit import checked_source
from matgrad.ir.expr import MatMul

BACKENDS = [name for name, library in (("numpy", "numpy"), ("torch", "torch"), ("jax", "jax"))
            if importlib.util.find_spec(library) is not None]
RUNS = {
    "a zero objective": "W: n x n; J = sum(W) - sum(W)",
    "a constant objective with a parameter": "W: n x n; J = 3 + 0 * sum(W)",
    "the trace of a sum": "W: n x n; J = tr(sum(W))",
    "the trace of a scalar": "W: n x n; s: scalar; J = tr(s) + sum(W)",
    "the determinant of a scalar": "W: n x n; s: scalar; J = det(s) * sum(W)",
    "the log-determinant of a scalar": "W: n x n; s: scalar, positive; J = logdet(s) + sum(W)",
    "the inverse of a scalar": "W: n x n; s: scalar, positive; J = inv(s) * sum(W)",
    "the norm of a scalar": "W: n x n; s: scalar; J = ||s|| * sum(W)",
    "a folded power": "W: n x n; J = 10^3 * sum(W) + 2^-2 * sum(W)",
    "a long sum": "W: n x 1; V: n x 1; J = " + " + ".join(
        f"sum(W .* V .^ {k % 7 + 1}) * {k}" for k in range(1, 601)),
}


def _arguments(derivation: matgrad.Derivation, rng: np.random.Generator,
               ) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    program = derivation.program
    sizes = {dim: 3 for dim in program.dims}
    values = {}
    for name in program.parameters:
        rows, cols = (dim if isinstance(dim, int) else sizes[dim] for dim in program.shapes[name])
        values[name] = rng.uniform(0.5, 1.5, size=(rows, cols))
    return values, sizes


def _to(backend: str, value: np.ndarray) -> object:
    if backend == "torch":
        import torch  # noqa: PLC0415 - an optional backend, imported where it is tested
        return torch.as_tensor(value)
    if backend == "jax":
        import jax.numpy as jnp  # noqa: PLC0415 - an optional backend
        return jnp.asarray(value)
    return value


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("label", list(RUNS))
def test_the_module_runs_and_agrees(label: str, backend: str) -> None:
    derivation = matgrad.derive(RUNS[label])
    values, sizes = _arguments(derivation, np.random.default_rng(0))
    names = derivation.python_names
    function = derivation.compile(backend=backend)
    value, gradients = function(**{names[k]: _to(backend, v) for k, v in values.items()})
    expected, _ = objective_value(derivation.program, values, sizes)
    reference_value, reference = derivation.compile()(**{names[k]: v for k, v in values.items()})
    assert float(value) == pytest.approx(expected, rel=1e-6, abs=1e-9)
    for name in derivation.wrt:
        np.testing.assert_allclose(np.broadcast_to(np.asarray(gradients[name]),
                                                   values[name].shape),
                                   np.broadcast_to(reference[name], values[name].shape),
                                   rtol=1e-6, atol=1e-9)
    assert float(reference_value) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_the_long_sum_is_emitted_in_groups() -> None:
    source = "W: n x 1; J = " + " + ".join(f"sum(W .^ {k % 5 + 1}) * {k}" for k in range(1, 2001))
    derivation = matgrad.derive(source)
    module = derivation.numpy_source()  # compiled by Python before it is handed out
    value, gradients = derivation.compile()(W=np.full((2, 1), 0.5))
    weights = np.arange(1, 2001)
    powers = weights % 5 + 1
    assert value == pytest.approx(float(np.sum(weights * 2 * 0.5 ** powers)), rel=1e-12)
    np.testing.assert_allclose(gradients["W"], np.sum(weights * powers * 0.5 ** (powers - 1)),
                               rtol=1e-12)
    assert "+" in module


@pytest.mark.parametrize(("source", "message"), [
    ("W: n x n; J = 10^400 * sum(W)", "10\\^400 at line 1, column 15 is out of range"),
    ("W: n x n; J = (10^200)^2 * sum(W)", "out of range"),
    ("W: n x n; J = 10^-400 * sum(W)", "out of range"),
    ("W: n x n; J = sum(W) / 0", "sum\\(W\\) / 0 at line 1, column 15 divides by zero"),
    ("W: n x n; J = sum(W) / (1 - 1)", "divides by zero"),
    ("W: n x n; J = 0^-1 * sum(W)", "divides by zero"),
])
def test_constants_beyond_floating_point_are_refused(source: str, message: str) -> None:
    with pytest.raises(matgrad.MatgradError, match=message):
        matgrad.derive(source)


@pytest.mark.parametrize(("name", "read_as"), [("𝐧𝐩", "np"), ("ｆ", "f"), ("ℌ", "H")])
def test_function_names_python_reads_otherwise_are_refused(name: str, read_as: str) -> None:
    derivation = matgrad.derive("W: n x n; J = sum(W)")
    with pytest.raises(matgrad.MatgradError, match=f"read by Python as '{read_as}'"):
        derivation.numpy_source(name=name)
    cli = subprocess.run([sys.executable, "-m", "matgrad.cli", "-e", "W: n x n; J = sum(W)",
                          "--numpy", "--name", name], capture_output=True, text=True,
                         encoding="utf-8", check=False)
    assert cli.returncode == 2 and "Traceback" not in cli.stderr, cli.stderr
    assert matgrad.derive("W: n x n; J = sum(W)").compile(name="grad_ω") is not None


def test_a_module_that_cannot_compile_is_refused_when_generated() -> None:
    with pytest.raises(matgrad.MatgradError, match="cannot be compiled by Python"):
        checked_source("def value_and_grad(:\n    pass\n", "value_and_grad")
    deep = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    with pytest.raises(matgrad.MatgradError, match="cannot be compiled"):
        checked_source(deep, "value_and_grad")


def _products(expr: object) -> int:
    return sum(1 for node in expr.walk() if isinstance(node, MatMul))  # type: ignore[attr-defined]


@pytest.mark.parametrize(("power", "products"), [("W^16", 15), ("(W^4)^4", 15), ("(W^2)^3", 5),
                                                 ("((W^2)^2)^2", 7)])
def test_a_power_of_a_power_is_one_power(power: str, products: int) -> None:
    program = matgrad.parse(f"W: n x n; J = sum({power})")
    assert _products(program.definitions["J"]) == products


@pytest.mark.parametrize("power", ["W^17", "(W^4)^5", "((((((W)^16)^16)^16)^16)^16)^16",
                                   "((W^2)^3)^3"])
def test_a_power_beyond_the_limit_is_refused_before_the_work(power: str) -> None:
    # ((((((W)^16)^16)…)^16 wrote out 16⁶ factors (90 s for 52 characters).
    with pytest.raises(matgrad.MatgradError, match="matrix power of"):
        matgrad.parse(f"W: n x n; J = sum({power})")


@pytest.mark.parametrize(("depth", "exponent"), [(2, 4), (15, 2**15), (30, 2**30)])
def test_a_power_of_an_elementwise_power_is_one_power(depth: int, exponent: int) -> None:
    # ((W.^2).^2)… of depth 30 wrote out 2³⁰ Hadamard factors (more than 60 s).
    program = matgrad.parse("W: n x n; J = sum(" + "(" * depth + "W" + ").^2" * depth + ")")
    nodes = list(program.definitions["J"].walk())
    assert len(nodes) <= 2 * min(exponent, 16)  # W.^4 is W ⊙ W ⊙ W ⊙ W, W.^(2ᵏ) one node
    assert exponent <= 16 or any(getattr(node, "exponent", None) is not None
                                 and getattr(node.exponent, "value", None) == exponent
                                 for node in nodes)


def test_a_fractional_power_of_a_power_is_not_folded() -> None:
    # (x²)^½ = |x|, not x: only a whole outer exponent combines.
    derivation = matgrad.derive("W: n x n; J = sum((W.^2).^0.5)")
    value, gradients = derivation.compile()(W=np.array([[-2.0, 1.0], [3.0, -0.5]]))
    assert value == pytest.approx(6.5)
    np.testing.assert_allclose(gradients["W"], [[-1.0, 1.0], [1.0, -1.0]])
