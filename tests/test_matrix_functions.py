"""Matrix functions (expm, logm, sqrtm, non-integer matrix powers): every table row against
central differences, a corpus of objectives against hand-written NumPy/SciPy objectives
differentiated by central differences (never matgrad's own evaluator), the backends against
NumPy, how `X^p` reads, and the refusals.

Arguments are not symmetric (a transpose too many or too few would not show at a symmetric
point) and have their eigenvalues near 1, inside the principal logarithm's domain.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import scipy.linalg
from helpers import directional_derivative, numeric_gradient

import matgrad
from matgrad.matrix_functions import MATRIX_FUNCTIONS

N = 4
Array = np.ndarray


def _near_identity(rng: np.random.Generator, n: int = N) -> Array:
    return np.eye(n) + 0.4 * rng.normal(size=(n, n)) / np.sqrt(n)


@pytest.mark.parametrize("name", sorted(MATRIX_FUNCTIONS))
def test_frechet_derivative_of_each_row_is_the_linear_part(name: str) -> None:
    rng = np.random.default_rng(1)
    row = MATRIX_FUNCTIONS[name]
    x, e = _near_identity(rng), rng.normal(size=(N, N))
    numeric = directional_derivative(lambda moved: row.evaluate(moved["X"]), {"X": x},
                                     {"X": e})
    np.testing.assert_allclose(row.frechet(x, e), numeric, rtol=1e-6, atol=1e-8)


def test_a_logarithm_that_is_not_real_is_an_error_not_its_real_part() -> None:
    with pytest.raises(np.linalg.LinAlgError, match="not real"):
        MATRIX_FUNCTIONS["logm"].evaluate(-np.eye(2))


def _tr(a: Array) -> float:
    return float(np.trace(a))


# Each objective: matgrad's program, the same objective written by hand in NumPy/SciPy, the
# parameters.  Shapes: X, Y, B, S: n×n; A: n×n; w: n×1; t, p: scalars; M: n×m, W: m×n.
expm, logm, sqrtm = scipy.linalg.expm, scipy.linalg.logm, scipy.linalg.sqrtm
CORPUS: list[tuple[str, Callable[[dict[str, Array]], float], tuple[str, ...]]] = [
    ("X: n x n\nJ = tr(expm(X))", lambda v: _tr(expm(v["X"])), ("X",)),
    ("X: n x n; A: n x n\nJ = sum(A .* expm(X))",
     lambda v: float(np.sum(v["A"] * expm(v["X"]))), ("X",)),
    ("X: n x n; B: n x n\nJ = ||expm(X) - B||^2",
     lambda v: float(np.sum((expm(v["X"]) - v["B"]) ** 2)), ("X",)),
    ("X: n x n; w: n x 1\nJ = w'*expm(X)*w",
     lambda v: (v["w"].T @ expm(v["X"]) @ v["w"]).item(), ("X", "w")),
    ("A: n x n; B: n x n; t: scalar\nJ = tr(B*expm(t*A))",
     lambda v: _tr(v["B"] @ expm(v["t"].item() * v["A"])), ("t",)),
    ("X: n x n; A: n x n\nJ = sum(tanh(expm(X)) .* A)",
     lambda v: float(np.sum(np.tanh(expm(v["X"])) * v["A"])), ("X",)),
    ("X: n x n; Y: n x n\nJ = tr(expm(X)*expm(Y))",
     lambda v: _tr(expm(v["X"]) @ expm(v["Y"])), ("X", "Y")),
    ("M: n x m; W: m x n\nJ = sum(expm(M*W))",
     lambda v: float(np.sum(expm(v["M"] @ v["W"]))), ("M", "W")),
    ("X: n x n\nJ = logdet(expm(X))", lambda v: _tr(v["X"]), ("X",)),
    ("X: n x n\nJ = tr(logm(X))", lambda v: _tr(logm(v["X"]).real), ("X",)),
    ("X: n x n; A: n x n\nJ = sum(A .* logm(X))",
     lambda v: float(np.sum(v["A"] * logm(v["X"]).real)), ("X",)),
    ("X: n x n\nJ = ||logm(X)||^2", lambda v: float(np.sum(logm(v["X"]).real ** 2)), ("X",)),
    ("X: n x n; B: n x n\nJ = ||logm(X) - logm(B)||^2",
     lambda v: float(np.sum((logm(v["X"]) - logm(v["B"])).real ** 2)), ("X",)),
    ("X: n x n; w: n x 1\nJ = w'*logm(X)*w",
     lambda v: (v["w"].T @ logm(v["X"]).real @ v["w"]).item(), ("X",)),
    ("X: n x n\nJ = tr(sqrtm(X))", lambda v: _tr(sqrtm(v["X"]).real), ("X",)),
    ("X: n x n; A: n x n\nJ = ||sqrtm(X) - A||^2",
     lambda v: float(np.sum((sqrtm(v["X"]).real - v["A"]) ** 2)), ("X",)),
    ("X: n x n; A: n x n\nJ = tr(A * X^0.5)", lambda v: _tr(v["A"] @ sqrtm(v["X"]).real),
     ("X",)),
    ("X: n x n; A: n x n\nJ = tr(A * X^(-1/2))",
     lambda v: _tr(v["A"] @ np.linalg.inv(sqrtm(v["X"]).real)), ("X",)),
    ("X: n x n\nJ = tr(X^1.5)",
     lambda v: _tr(scipy.linalg.fractional_matrix_power(v["X"], 1.5).real), ("X",)),
    ("X: n x n; p: scalar\nJ = tr(X^p)",
     lambda v: _tr(expm(v["p"].item() * logm(v["X"])).real), ("X", "p")),
    ("X: n x n; A: n x n\nJ = tr(A * X^(-2))",
     lambda v: _tr(v["A"] @ np.linalg.matrix_power(np.linalg.inv(v["X"]), 2)), ("X",)),
]


def _values(source: str, rng: np.random.Generator) -> dict[str, Array]:
    """Random arguments for a corpus program: square matrices near I, the rest normal."""
    program = matgrad.derive(source).program
    values: dict[str, Array] = {}
    for name in program.parameters:
        rows, cols = (N if dim in ("n",) else 3 if dim == "m" else int(dim)
                      for dim in program.shapes[name])
        values[name] = (_near_identity(rng, rows) if rows == cols and rows > 1
                        else rng.normal(size=(rows, cols)) * 0.5)
    return values


@pytest.mark.parametrize(("source", "objective", "wrt"), CORPUS,
                         ids=[source.split("\n")[-1] for source, _, _ in CORPUS])
def test_corpus_gradient_matches_central_differences_of_a_hand_written_objective(
        source: str, objective: Callable[[dict[str, Array]], float], wrt: tuple[str, ...]
) -> None:
    values = _values(source, np.random.default_rng(7))
    derivation = matgrad.derive(source, wrt=list(wrt))
    value, gradients = derivation.compile()(**values)
    assert value == pytest.approx(objective(values), rel=1e-9, abs=1e-9)
    for name in wrt:
        reference = numeric_gradient(objective, values, name)
        np.testing.assert_allclose(np.asarray(gradients[name]).reshape(reference.shape),
                                   reference, rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parametrize(("text", "expected"), [
    ("X^0.5", "tr(A sqrtm(X))"),      # the principal square root, as MATLAB's X^0.5
    ("X^(1/2)", "tr(A sqrtm(X))"),
    ("X^(-1/2)", "tr(A sqrtm(X)⁻¹)"),
    ("X^-2", "tr(A((X X)⁻¹))"),
    ("X^0", "tr(A I)"),
    ("X^1.5", "tr(A expm((3/2) logm(X)))"),
])
def test_how_a_matrix_power_reads(text: str, expected: str) -> None:
    derivation = matgrad.derive(f"X: n x n; A: n x n\nJ = tr(A * {text}) + sum(X)")
    assert str(derivation.program.definitions["J"]) == f"{expected} + sum(X)"


def test_gradient_of_a_trace_of_a_matrix_function_is_its_derivative_transposed() -> None:
    """tr f(X) has the gradient f′(X)ᵀ (Higham 2008, Theorem 3.8), read in closed form."""
    texts = {name: matgrad.derive(f"X: n x n\nJ = tr({name}(X))").text()
             for name in MATRIX_FUNCTIONS}
    assert texts["expm"] == "∂J/∂X = expm(Xᵀ)"
    assert texts["logm"] == "∂J/∂X = Xᵀ⁻¹"
    assert texts["sqrtm"] == "∂J/∂X = (1/2) sqrtm(Xᵀ)⁻¹"


def test_steps_cite_the_matrix_function_rules() -> None:
    derivation = matgrad.derive("X: n x n; A: n x n\nJ = sum(A .* logm(X))")
    rules = [step.rule for step in derivation.steps]
    assert "d-logm" in rules and "frob-frechet-logm" in rules
    assert r"L_{\operatorname{logm}}" in derivation.latex()
    assert "Higham 11.9" in derivation.latex()


@pytest.mark.parametrize(("source", "backend"), [
    ("X: n x n; A: n x n\nJ = sum(A .* expm(X))", "jax"),
    ("X: n x n; A: n x n\nJ = sum(A .* expm(X))", "torch"),
    ("X: n x n; A: n x n\nJ = ||sqrtm(X) - A||^2", "jax"),
])
def test_backend_agrees_with_numpy(source: str, backend: str) -> None:
    pytest.importorskip(backend)
    values = _values(source, np.random.default_rng(3))
    derivation = matgrad.derive(source, wrt=["X"])
    reference = derivation.compile()(**values)
    got = derivation.compile(backend=backend)(**values)
    gradient = np.asarray(got[1]["X"])
    # JAX computes in float32 unless x64 was switched on (another test module may have).
    tolerance = 1e-4 if gradient.dtype == np.float32 else 1e-6
    assert float(got[0]) == pytest.approx(reference[0], rel=tolerance)
    np.testing.assert_allclose(gradient, reference[1]["X"], rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize(("function", "backend"), [
    ("logm", "jax"), ("logm", "torch"), ("sqrtm", "torch"), ("expm", "array-api"),
])
def test_a_backend_without_the_function_refuses_it_by_name(function: str, backend: str) -> None:
    derivation = matgrad.derive(f"X: n x n\nJ = sum({function}(X))")
    with pytest.raises(matgrad.CodegenError, match=f"cannot generate {function}"):
        derivation.source(backend=backend)


def test_the_numpy_module_imports_scipy_only_where_it_needs_it() -> None:
    with_function = matgrad.derive("X: n x n\nJ = tr(expm(X))").numpy_source()
    without = matgrad.derive("X: n x n\nJ = tr(X)").numpy_source()
    assert "import scipy.linalg" in with_function
    assert "scipy" not in without


def test_a_matrix_function_of_a_non_square_matrix_is_refused() -> None:
    with pytest.raises(matgrad.ShapeError, match="takes a square matrix"):
        matgrad.derive("X: n x m\nJ = tr(expm(X))")


def test_check_samples_a_logarithm_argument_in_its_domain_and_explains_otherwise() -> None:
    assert matgrad.check(matgrad.derive("X: n x n\nJ = tr(logm(X))")).passed
    with pytest.raises(matgrad.UsageError, match="eigenvalue on the closed negative real axis"):
        matgrad.check(matgrad.derive("X: n x n; A: n x n\nJ = tr(logm(A + X))"), seed=0)


@pytest.mark.parametrize("source", [
    "X: n x n; A: n x n, const\nJ = sum(A .* expm(X))",
    "X: n x n; A: n x n, const\nJ = sum(A .* logm(X))",
    "X: n x n; A: n x n, const\nJ = ||sqrtm(X) - A||^2",
    "X: n x n; p: scalar\nJ = tr(X^p)",
])
def test_hessian_vector_products_through_the_second_frechet_derivative(source: str) -> None:
    """d L_f(X, E) = L_f(X, dE) + L⁽²⁾_f(X; dX, E): the product against central differences
    of the gradient (non-symmetric points and directions), and the dense Hessian from it."""
    derivation = matgrad.derive(source)
    product = derivation.hvp()
    assert matgrad.check(product).passed
    values = _values(source, np.random.default_rng(2))
    direction = {f"V_{name}": np.random.default_rng(3).normal(size=values[name].shape)
                 for name in derivation.wrt}
    got = product.compile()(**values, **direction)
    gradient = derivation.compile()
    along = {name: direction[f"V_{name}"] for name in derivation.wrt}
    for name in derivation.wrt:
        numeric = directional_derivative(
            lambda moved, name=name: np.asarray(gradient(**moved)[1][name]), values, along)
        np.testing.assert_allclose(np.asarray(got[name]).reshape(numeric.shape), numeric,
                                   rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_second_order_of_expm_in_other_backends(backend: str) -> None:
    pytest.importorskip(backend)
    source = "X: n x n; A: n x n, const\nJ = sum(A .* expm(X))"
    product = matgrad.derive(source).hvp()
    values = _values(source, np.random.default_rng(4))
    direction = np.random.default_rng(5).normal(size=(N, N))
    reference = product.compile()(**values, V_X=direction)["X"]
    got = np.asarray(product.compile(backend=backend)(**values, V_X=direction)["X"])
    tolerance = 1e-4 if got.dtype == np.float32 else 1e-8
    np.testing.assert_allclose(got, reference, rtol=tolerance, atol=tolerance)
