"""The PyTorch backend against the NumPy backend: every flat example and representative
program, the random-program property, float64 and float32 CPU tensors (dtype kept), no
autograd tape, stable at logits ±1000; the module imports only torch and passes ruff.  CUDA
tensors stay on their device where a CUDA device exists.

Tolerances: float64 1e-10 relative; float32 2e-4 relative to the gradient's size.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from backend_cases import FLAT, PROGRAMS, ROOT, assert_close, assert_ruff_clean, both
from helpers import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from programs import programs

import matgrad

torch = pytest.importorskip("torch", reason="torch is not installed (pip install 'matgrad[torch]')")
torch.set_num_threads(1)  # one pytest worker per core


def tensors(array: np.ndarray) -> object:
    return torch.from_numpy(np.ascontiguousarray(array))


@pytest.mark.parametrize("name", sorted(FLAT))
def test_torch_agrees_with_numpy(name: str) -> None:
    expected, got, _, _ = both(FLAT[name], "torch", convert=tensors)
    assert_close(expected, got, 1e-10)


@pytest.mark.parametrize("name", sorted(FLAT))
def test_torch_updates_only_its_own_buffers_in_place(name: str) -> None:
    """In-place updates (`t *= …`, `t.neg_().add_(1.0)`) touch only buffers the module itself
    allocated: every input tensor is unchanged after the call, and again equal to NumPy's."""
    expected, _, function, arguments = both(FLAT[name], "torch", seed=4, convert=tensors)
    before = {name: value.clone() for name, value in arguments.items()
              if isinstance(value, torch.Tensor)}
    got = function(**arguments)
    for key, value in before.items():
        assert torch.equal(arguments[key], value), f"{key} was changed"
    assert_close(expected, got, 1e-10)


def test_torch_code_updates_fresh_buffers_in_place() -> None:
    source = matgrad.derive(FLAT["single_layer"]).source("torch", bind={"f": "sin"})
    assert "delta_A *= delta_Z" in source
    source = matgrad.derive("X: t x n, data; W: n x m\nJ = sum(sin(1 - X*W))").source("torch")
    assert "A.neg_().add_(1.0)" in source and "grad_W.neg_()" in source


@pytest.mark.parametrize("function", ["tanh", "sigmoid"])
def test_torch_computes_the_derivative_product_in_one_kernel(function: str) -> None:
    # Δ ⊙ f′(A) from Z = f(A) as autograd's own kernel: one pass instead of four.
    source = matgrad.derive(FLAT["single_layer"]).source("torch", bind={"f": function})
    assert f"delta_A = torch.ops.aten.{function}_backward(delta_Z, Z)" in source
    assert "neg_" not in source
    expected, got, _, _ = both(FLAT["single_layer"], "torch", seed=6, convert=tensors,
                               bind={"f": function})
    assert_close(expected, got, 1e-10)


def test_mixed_dtypes_are_promoted_and_the_layer_is_one_addmm() -> None:
    # float32 data with float64 weights: promoted at entry as NumPy promotes them (torch's
    # matmul would refuse them), so X W + b can be one addmm with the bias as its start.
    derivation = matgrad.derive(FLAT["single_layer"])
    source = derivation.source("torch", bind={"f": "tanh"})
    assert "A = torch.addmm(b, X, W)" in source and "A += b" not in source
    function = derivation.compile(backend="torch", bind={"f": "tanh"})
    rng = np.random.default_rng(8)
    arrays = {"X": rng.normal(size=(6, 3)).astype("float32"), "Y": rng.normal(size=(6, 2)),
              "W": rng.normal(size=(3, 2)), "b": rng.normal(size=(1, 2)).astype("float32")}
    value, gradients = function(**{name: tensors(array) for name, array in arrays.items()})
    expected, expected_gradients = derivation.compile(bind={"f": "tanh"})(**arrays)
    assert all(gradient.dtype == torch.float64 for gradient in gradients.values())
    assert_close((expected, expected_gradients),
                 (value, {name: gradient.numpy() for name, gradient in gradients.items()}), 1e-12)
    # A loop module's entry does not promote: its layers keep `A += b`.
    loop = matgrad.derive((ROOT / "examples" / "regression_loop.mg").read_text())
    assert "addmm" not in loop.source("torch", bind={"f[j]": "tanh"})


@pytest.mark.parametrize("convert", [float, lambda number: torch.tensor([[number]],
                                                                     dtype=torch.float64)])
def test_scalars_alone_are_computed_in_double_precision(convert: Any) -> None:
    # No matrix argument gives a dtype: Python floats and float64 scalars are doubles, as in
    # NumPy (torch's default dtype, float32, lost 8 digits of a^b; found by the corpus).
    derivation = matgrad.derive("a: scalar; b: scalar\nJ = a^b")
    value, gradients = derivation.compile(backend="torch")(convert(0.8924), convert(-0.5227))
    assert value == pytest.approx(0.8924 ** -0.5227, rel=1e-14)
    assert gradients["a"] == pytest.approx(-0.5227 * 0.8924 ** -1.5227, rel=1e-14)


def test_torch_reduces_with_blas_dot_and_positional_sums() -> None:
    # ‖E‖² as one BLAS dot (no E ⊙ E array), 1ᵀΔ as sum(0, True): PyTorch parses keyword
    # arguments more slowly; the numbers of 1/(2t) multiply before they scale ⟨E, E⟩.
    derivation = matgrad.derive(FLAT["regression_3layer"])
    source = derivation.source("torch", bind={name: "tanh" for name in
                                              derivation.program.abstract_functions})
    assert "J = 0.5 * tmp1 * torch.dot(tmp2.reshape(-1), tmp2.reshape(-1))" in source
    assert ".sum(0, True)" in source and "keepdims" not in source
    # A transposed (non-contiguous) operand: reshape copies where a view cannot be taken.
    program = "X: n x m, data; W: m x n\nJ = <X', W> + ||X' - W||^2"
    assert "torch.dot(" in matgrad.derive(program).source("torch")
    expected, got, _, _ = both(program, "torch", seed=3, convert=tensors)
    assert_close(expected, got, 1e-10)


@pytest.mark.parametrize("name", ["single_layer", "classification_2layer", "logistic_regression"])
def test_torch_float32_stays_float32(name: str) -> None:
    expected, got, _, _ = both(FLAT[name], "torch", "float32", seed=2, convert=tensors)
    assert all(gradient.dtype == torch.float32 for gradient in got[1].values())
    assert_close(expected, got, 2e-4)


def test_torch_records_no_autograd_tape() -> None:
    derivation = matgrad.derive(FLAT["single_layer"])
    function = derivation.compile(bind={"f": "tanh"}, backend="torch")
    rng = np.random.default_rng(3)
    arguments = [torch.tensor(rng.normal(size=shape), requires_grad=True)
                 for shape in ((5, 3), (5, 2), (3, 2), (1, 2))]
    _, gradients = function(*arguments)
    assert all(gradient.grad_fn is None and not gradient.requires_grad
               for gradient in gradients.values())


def test_torch_softmax_is_stable_at_large_logits() -> None:
    derivation = matgrad.derive(PROGRAMS["softmax_regression"])
    function = derivation.compile(backend="torch")
    X = np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [3.0, 1.0]])
    Y = np.eye(3)[[0, 1, 2]]
    W = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, -1.0]])
    value, gradients = function(tensors(X), tensors(Y), tensors(W))
    expected, expected_gradients = derivation.compile()(X, Y, W)
    assert np.isfinite(value) and value == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(gradients["W"].numpy(), expected_gradients["W"], rtol=1e-12)


def test_the_torch_module_imports_only_torch_and_passes_ruff(tmp_path: Path) -> None:
    source = matgrad.derive(FLAT["gaussian_nll"]).source("torch")
    imports = [ast.unparse(node) for node in ast.walk(ast.parse(source))
               if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert imports == ["import torch"]
    assert "np." not in source
    assert_ruff_clean(source, tmp_path)


# Programs whose code creates an array: an identity, a broadcast number (an objective whose
# terms cancel), a row function of a 1×1 value.  PyTorch creates it with the inputs' dtype and
# device (zero layers of a loop: tests/test_backend_loops.py).
CREATED = {
    "identity": "X: n x n\nJ = tr(X + eye(n)) + sum(X*eye(n) .* X)",
    "broadcast": "x: n x 1; A: n x n, data\nJ = sum(tanh(A*x) - tanh(A*x)) + x'*A*x",
    "1x1": "x: n x 1\nJ = logsumexp(x'*x)",
}


@pytest.mark.parametrize("name", sorted(CREATED))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_arrays_torch_creates_take_the_inputs_dtype_and_device(name: str, dtype: str) -> None:
    source = matgrad.derive(CREATED[name]).source("torch")
    assert "device=float_device" in source and "float_device = " in source
    expected, got, _, _ = both(CREATED[name], "torch", dtype, seed=3, convert=tensors)
    assert all(gradient.dtype == getattr(torch, dtype) for gradient in got[1].values())
    assert_close(expected, got, 1e-10 if dtype == "float64" else 2e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_tensors_stay_on_their_device() -> None:
    derivation = matgrad.derive(FLAT["single_layer"])
    function = derivation.compile(bind={"f": "tanh"}, backend="torch")
    rng = np.random.default_rng(4)
    arguments = [torch.tensor(rng.normal(size=shape), device="cuda")
                 for shape in ((5, 3), (5, 2), (3, 2), (1, 2))]
    _, gradients = function(*arguments)
    assert all(gradient.device.type == "cuda" for gradient in gradients.values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", sorted(CREATED))
def test_arrays_torch_creates_are_on_the_inputs_cuda_device(name: str) -> None:
    derivation = matgrad.derive(CREATED[name])
    function = derivation.compile(backend="torch")
    rng = np.random.default_rng(5)
    arguments = {arg: torch.tensor(rng.normal(size=(3, 3) if arg in ("X", "A") else (3, 1)),
                                   device="cuda") for arg in derivation.python_names.values()
                 if arg in ("X", "A", "x")}
    _, gradients = function(**arguments)
    assert all(gradient.device.type == "cuda" for gradient in gradients.values())


@settings(max_examples=FUZZ_EXAMPLES // 10, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_torch_agrees_with_numpy_on_random_programs(source: str) -> None:
    # Every idiom has a PyTorch spelling: no program is refused.
    expected, got, _, _ = both(source, "torch", seed=5, convert=tensors)
    assert_close(expected, got, 1e-9)
