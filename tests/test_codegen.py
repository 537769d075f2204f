"""NumPy code generation: correctness against hand-written eq. (3)–(4) and central differences,
dtype and shape handling, keyword calls, safety of generated code, and its style."""

from __future__ import annotations

import ast
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from autograd_reference import autograd_gradients
from helpers import (
    DEFAULT_BIND,
    FUZZ_EXAMPLES,
    bind_for,
    derived_gradients,
    generated_arguments,
    objective_value,
    random_inputs,
    random_sizes,
)
from hypothesis import HealthCheck, given, settings
from programs import programs

import matgrad
from matgrad.check import random_arguments
from matgrad.ir.expr import Const, Scale

ROOT = Path(__file__).resolve().parent.parent
SOURCE = (ROOT / "examples" / "single_layer.mg").read_text()
SIZES = {"t": 7, "n": 5, "m": 3}

HAND_WRITTEN = {
    "tanh": (np.tanh, lambda a: 1 - np.tanh(a) ** 2),
    "sigmoid": (lambda a: 1 / (1 + np.exp(-a)),
                lambda a: np.exp(-a) / (1 + np.exp(-a)) ** 2),
    "relu": (lambda a: np.maximum(a, 0), lambda a: (a > 0).astype(float)),
    "softplus": (lambda a: np.log1p(np.exp(a)), lambda a: 1 / (1 + np.exp(-a))),
    "identity": (lambda a: a, np.ones_like),
}


def guide_eq_3_4(X, Y, W, b, f, df):  # type: ignore[no-untyped-def]
    """The guide's eq. (2)–(4), written by hand."""
    a = X @ W + b
    z = f(a)
    delta = (z - Y) * df(a)
    return 0.5 * np.sum((z - Y) ** 2), X.T @ delta, delta.sum(axis=0, keepdims=True)


def inputs(seed: int = 0, dtype: type = np.float64) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = {"X": rng.normal(size=(7, 5)), "Y": rng.normal(size=(7, 3)),
              "W": rng.normal(size=(5, 3)), "b": rng.normal(size=(1, 3))}
    return {k: v.astype(dtype) for k, v in values.items()}


@pytest.mark.parametrize("activation", list(HAND_WRITTEN))
def test_matches_hand_written_eq_3_4(activation: str) -> None:
    function = matgrad.derive(SOURCE).compile(bind={"f": activation})
    values = inputs(1)
    value, grads = function(**values)
    f, df = HAND_WRITTEN[activation]
    expected_value, expected_w, expected_b = guide_eq_3_4(f=f, df=df, **values)
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(grads["W"], expected_w, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["b"], expected_b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation", list(HAND_WRITTEN))
def test_central_difference_check(activation: str) -> None:
    report = matgrad.check(matgrad.derive(SOURCE), SIZES, seed=2, bind={"f": activation})
    assert report.passed, str(report)
    assert all(p.max_rel_error < 1e-6 for p in report.parameters)


def test_check_reports_failure_for_a_wrong_formula() -> None:
    derivation = matgrad.derive(SOURCE)
    # A plausible slip: a factor 2 from ‖E‖² that was not cancelled by the 1/2.
    derivation.gradients["b"] = Scale(Const(Fraction(2)), derivation.gradients["b"])
    report = matgrad.check(derivation, SIZES, bind={"f": "tanh"})
    assert not report.passed
    assert "FAILED" in str(report)


def test_float32_in_float32_out() -> None:
    function = matgrad.derive(SOURCE).compile(bind={"f": "tanh"})
    _, grads = function(**inputs(3, np.float32))
    assert grads["W"].dtype == np.float32 and grads["b"].dtype == np.float32


def test_positional_and_keyword_calls_agree() -> None:
    derivation = matgrad.derive(SOURCE)
    function = derivation.compile(bind={"f": "tanh"})
    values = inputs(4)
    assert list(derivation.python_names) == ["X", "Y", "W", "b"]
    by_position = function(values["X"], values["Y"], values["W"], values["b"])
    by_keyword = function(b=values["b"], W=values["W"], Y=values["Y"], X=values["X"])
    assert by_position[0] == by_keyword[0]
    np.testing.assert_array_equal(by_position[1]["W"], by_keyword[1]["W"])


def test_entry_shape_errors_name_the_argument() -> None:
    function = matgrad.derive(SOURCE).compile(bind={"f": "tanh"})
    values = inputs(5)
    values["W"] = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"W must be n x m with n = 5, m = 3, got shape \(4, 3\)"):
        function(**values)
    values = inputs(5)
    values["X"] = np.zeros(7)
    with pytest.raises(ValueError, match=r"X must be t x n, got shape \(7,\)"):
        function(**values)


def test_scalar_parameter_accepts_float_0d_and_1x1() -> None:
    derivation = matgrad.derive("X: t x n; alpha: scalar\nJ = sum(alpha * tanh(X)) + alpha^2")
    function = derivation.compile()
    X = np.random.default_rng(0).normal(size=(3, 2))
    results = [function(X=X, alpha=a) for a in (0.7, np.float64(0.7), np.array(0.7),
                                                 np.array([[0.7]]))]
    for value, grads in results:
        assert isinstance(grads["alpha"], float)
        assert value == pytest.approx(results[0][0])
        assert grads["alpha"] == pytest.approx(np.tanh(X).sum() + 1.4)
    with pytest.raises(ValueError, match="alpha must be a scalar"):
        function(X=X, alpha=np.ones(2))


def test_generated_code_is_what_an_expert_writes() -> None:
    source = matgrad.derive(SOURCE).numpy_source(bind={"f": "tanh"})
    body = source.split("def value_and_grad", 1)[1]
    assert "A = X @ W\n    A += b\n" in body                    # 𝟏b a broadcast, in place
    assert "Z = np.tanh(A)" in body
    assert "delta_A = Z * Z\n" in body and "np.subtract(1.0, delta_A, delta_A)\n" in body
    assert "X.T @ delta_A" in body
    assert "_column_sum(delta_A)" in body                        # footnote 2: 1ᵀΔ
    assert "np.ones" not in body and "for " not in body
    assert body.count("Z - Y") == 1                              # computed once
    assert body.count("np.tanh") == 1


def test_generated_module_imports_only_numpy() -> None:
    source = matgrad.derive(SOURCE).numpy_source(bind={"f": "sigmoid"})
    tree = ast.parse(source)
    imports = [node for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [(alias.name for alias in node.names) and [a.name for a in node.names]
            for node in imports] == [["numpy"]]


@pytest.mark.parametrize("program", [
    SOURCE,
    "X: t x n; W: n x m; c: t x 1\nJ = sum(logsumexp(X*W + c)) + 1/t * sum(W .* W)",
    "x: n x 1; A: n x n; lam: scalar\nJ = x'*A*x + lam/2 * norm2(x)",
    # −(−s) first in a sum: `--s` would lint as a decrement (B002); found by the fuzzer.
    "s: scalar; W: n x m\nJ = -(-s) + sum(W)",
])
def test_generated_code_passes_ruff(program: str, tmp_path: Path) -> None:
    path = tmp_path / "generated.py"
    derivation = matgrad.derive(program)
    path.write_text(derivation.numpy_source(bind=bind_for(derivation, {"f": "tanh"})))
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
                             "--select", "E,F,W,B,UP", "--line-length", "100", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_dunder_names_cannot_reach_code() -> None:
    # A name cannot start with `_` at all (so that `||x||_1` is a norm's subscript).
    with pytest.raises(matgrad.MatgradSyntaxError, match="unexpected character '_'"):
        matgrad.derive("__import__: n x m\nJ = sum(__import__)")


def test_keyword_names_are_renamed() -> None:
    derivation = matgrad.derive("lambda: scalar; W: n x m\nJ = lambda * sum(W .* W)")
    function = derivation.compile()
    assert derivation.python_names == {"lambda": "lambda_", "W": "W"}
    _, grads = function(lambda_=2.0, W=np.ones((2, 3)))
    np.testing.assert_allclose(grads["W"], 4 * np.ones((2, 3)))
    assert grads["lambda"] == pytest.approx(6.0)


@pytest.mark.parametrize("bind", ["tanh); import os; (", "__import__", "os.system", "np.exp"])
def test_bind_values_are_validated(bind: str) -> None:
    with pytest.raises(matgrad.CodegenError, match="must be one of the built-in functions"):
        matgrad.derive(SOURCE).numpy_source(bind={"f": bind})


@pytest.mark.parametrize("backend", ["numpy", "torch", "jax", "array-api"])
def test_unbound_abstract_function_is_a_clear_error(backend: str) -> None:
    # The same words for every backend (it said "no NumPy implementation" to torch users).
    with pytest.raises(matgrad.CodegenError, match="the abstract function f has no definition "
                       "to generate code from: bind it to a built-in function"):
        matgrad.derive(SOURCE).source(backend)


def test_bad_function_name() -> None:
    with pytest.raises(matgrad.CodegenError, match="not a usable Python function name"):
        matgrad.derive(SOURCE).numpy_source(name="import")


def test_cli_numpy_and_check() -> None:
    module = subprocess.run([sys.executable, "-m", "matgrad.cli", str(ROOT / "examples" /
                            "single_layer.mg"), "--numpy", "--bind", "f=tanh"],
                            capture_output=True, text=True, check=True, encoding="utf-8")
    assert module.stdout.startswith('"""J and its gradient')
    checked = subprocess.run([sys.executable, "-m", "matgrad.cli", str(ROOT / "examples" /
                             "single_layer.mg"), "--check", "--bind", "f=sigmoid", "--sizes",
                              "t=7,n=5,m=3"], capture_output=True, text=True, check=False,
                             encoding="utf-8")
    assert checked.returncode == 0, checked.stderr
    assert "passed" in checked.stdout
    bad = subprocess.run([sys.executable, "-m", "matgrad.cli", "-e", "W: n x m; J = sum(W)",
                          "--bind", "f=os.system", "--numpy"], capture_output=True, text=True,
                         check=False, encoding="utf-8")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_code_agrees_with_the_interpreter(source: str) -> None:
    """Generated code against two independent references: the IR interpreter of evaluate.py
    and HIPS autograd's reverse mode on the program itself."""
    derivation = matgrad.derive(source)
    function = derivation.compile(bind=bind_for(derivation))
    rng = np.random.default_rng(0)
    sizes = random_sizes(derivation.program, rng)
    values = random_inputs(derivation.program, sizes, rng)
    value, grads = function(**generated_arguments(derivation, values, sizes))
    expected_value, _ = objective_value(derivation.program, values, sizes)
    expected = derived_gradients(derivation, values, sizes)
    reference = autograd_gradients(derivation.program, values, sizes, derivation.wrt,
                                   DEFAULT_BIND)
    assert value == pytest.approx(expected_value, rel=1e-9, abs=1e-9)
    for name in derivation.wrt:
        scale = max(1.0, float(np.max(np.abs(reference[name]))))
        np.testing.assert_allclose(grads[name], expected[name], rtol=1e-9, atol=1e-9 * scale)
        np.testing.assert_allclose(grads[name], reference[name], rtol=1e-9, atol=1e-9 * scale,
                                   err_msg=f"∂J/∂{name} differs from HIPS autograd")
        assert np.shape(grads[name]) == np.shape(values[name]) or np.size(values[name]) == 1


def test_gradients_never_alias_the_inputs() -> None:
    function = matgrad.derive("X: n x m; W: n x m\nJ = <X, W> + sum(W')").compile()
    X, W = np.ones((2, 3)), np.zeros((2, 3))
    _, grads = function(X=X, W=W)
    grads["W"] += 5.0
    grads["X"] += 5.0
    np.testing.assert_array_equal(X, np.ones((2, 3)))
    np.testing.assert_array_equal(W, np.zeros((2, 3)))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=programs())
def test_generated_modules_of_random_programs_pass_ruff(source: str, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("ruff") / "generated.py"
    derivation = matgrad.derive(source)
    path.write_text(derivation.numpy_source(bind=bind_for(derivation)))
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
                             "--select", "E,F,W,B,UP", "--line-length", "100", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_matrix_chain_order_is_chosen_from_shapes() -> None:
    # A x xᵀ B left to right forms the n×n outer product A x xᵀ and multiplies it by B (n³);
    # (A x)(xᵀB) costs 3n².  The order follows the shapes; the value is the same.
    derivation = matgrad.derive("A: n x n; B: n x n; x: n x 1\nJ = sum(A*x*x'*B)", ["x"])
    source = derivation.numpy_source()
    assert "(x.T @ B)" in source and "x.T @ B" not in source.replace("(x.T @ B)", "")
    assert matgrad.check(derivation, sizes={"n": 6}).passed
    # A chain already in its best order is left as written: x'Ax never forms x xᵀ.
    quadratic = matgrad.derive("A: n x n; x: n x 1\nJ = x'*A*x", ["x"]).numpy_source()
    assert "x @ x.T" not in quadratic


def test_the_docstring_shows_the_bound_functions() -> None:
    # It printed f'(A) after f was bound to tanh.
    derivation = matgrad.derive("X: t x n, data\nW: n x m\nJ = sum(f(X*W))")
    docstring = derivation.numpy_source(bind={"f": "tanh"}).split('"""')[1]
    assert "f'" not in docstring and "tanh(A) .* tanh(A)" in docstring
    assert "with f = tanh." in docstring


@pytest.mark.parametrize("example", ["single_layer", "classification_2layer", "tied_autoencoder",
                                     "scaled_autoencoder"])
def test_unchecked_modules_compute_the_same_gradients(example: str) -> None:
    """checks=False drops the entry checks only: same J and gradients on the same inputs, and
    no conversion or shape test left in the function."""
    derivation = matgrad.derive((ROOT / "examples" / f"{example}.mg").read_text())
    bind = bind_for(derivation, {"f": "tanh", "f1": "tanh", "f2": "sigmoid", "f3": "tanh",
                                 "f4": "sigmoid"})
    checked = derivation.compile(bind=bind)
    unchecked_source = derivation.numpy_source(bind=bind, checks=False)
    assert "raise ValueError" not in unchecked_source and "astype" not in unchecked_source
    unchecked = derivation.compile(bind=bind, checks=False)
    rng = np.random.default_rng(5)
    sizes = {dim: 3 + index for index, dim in enumerate(derivation.program.dims)}
    values = random_arguments(derivation.program, sizes, rng)
    names = derivation.python_names
    arguments = {names[name]: value for name, value in values.items()}
    value, gradients = checked(**arguments)
    fast_value, fast_gradients = unchecked(**arguments)
    assert fast_value == value
    for name, gradient in gradients.items():
        np.testing.assert_array_equal(fast_gradients[name], gradient)


def test_unchecked_loop_modules_are_refused_with_the_reason() -> None:
    derivation = matgrad.derive((ROOT / "examples" / "regression_loop.mg").read_text())
    with pytest.raises(matgrad.UsageError, match="checks=False is for programs without a"):
        derivation.numpy_source(bind={"f": "tanh"}, checks=False)
