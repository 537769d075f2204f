"""Reading what the user means: every input either means what a reader of the guide or of
matrixcalculus.org takes it to mean, or is refused with a message that says how to write it.

Each case of issue 11's "observed" list is here, with the right answer checked numerically
against an independent NumPy formula, or with the refusal it must get.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest
from helpers import numeric_gradient

import matgrad
from matgrad.front.syntax import parse_program


def value_and_gradients(source: str, values: dict[str, np.ndarray],
                        bind: dict[str, str] | None = None,
                        ) -> tuple[float, dict[str, np.ndarray]]:
    derivation = matgrad.derive(source)
    function = derivation.compile(bind=bind)
    arguments = {derivation.python_names[name]: value for name, value in values.items()
                 if name in derivation.python_names}
    value, gradients = function(**arguments)
    return float(value), gradients


def assert_means(source: str, reference: Callable[..., float], values: dict[str, np.ndarray],
                 bind: dict[str, str] | None = None) -> None:
    """matgrad's J equals the reference J (so the input was read as meant), and its gradients
    equal central differences of the reference."""
    value, gradients = value_and_gradients(source, values, bind)
    assert value == pytest.approx(scalar(reference(**values)), rel=1e-9, abs=1e-12)
    for name, gradient in gradients.items():
        expected = numeric_gradient(lambda moved: scalar(reference(**moved)), values, name)
        np.testing.assert_allclose(np.broadcast_to(gradient, expected.shape), expected,
                                   rtol=1e-5, atol=1e-7, err_msg=f"∂J/∂{name}")


def scalar(value: object) -> float:
    return float(np.asarray(value).item())


rng = np.random.default_rng(11)
x4 = rng.normal(size=(4, 1))
A4 = rng.normal(size=(4, 4))
X34 = rng.normal(size=(3, 4))


# ---- 1. names written together ---------------------------------------------------------------

@pytest.mark.parametrize(("source", "spelling"), [
    ("x: n x 1; A: n x n; J = xᵀAx", "`A x` or `A*x`"),
    ("Φ: t x n; θ: n x 1; y: t x 1; J = ‖Φθ − y‖²", "`Φ θ` or `Φ*θ`"),
    ("X: t x n; W: n x m; J = sum(XW)", "`X W` or `X*W`"),
])
def test_declared_names_written_together_are_refused_with_the_spelling(source: str,
                                                                       spelling: str) -> None:
    with pytest.raises(matgrad.UsageError, match="written together") as info:
        matgrad.derive(source)
    assert spelling in str(info.value)


def test_quadratic_form_written_with_spaces() -> None:
    assert str(matgrad.derive("x: n x 1; A: n x n; J = xᵀA x", wrt=["x"])) == "∂J/∂x = (A + Aᵀ) x"
    assert_means("x: n x 1; A: n x n, data; J = xᵀA x",
                 lambda x, A: scalar(x.T @ A @ x), {"x": x4, "A": A4})


def test_a_name_of_its_own_is_not_split_when_declared() -> None:
    derivation = matgrad.derive("A: n x n; x: n x 1; Ax: n x 1; J = sum(Ax .* x)")
    assert set(derivation.gradients) == {"x", "Ax"}


# ---- 2. norm subscripts ------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "reference"), [
    ("x: n x 1; J = ||x||_1", lambda x: scalar(np.abs(x).sum())),
    ("x: n x 1; J = ‖x‖₁", lambda x: scalar(np.abs(x).sum())),
    ("x: n x 1; J = ||x||_2", lambda x: scalar(np.linalg.norm(x))),
    ("x: n x 1; J = ‖x‖₂", lambda x: scalar(np.linalg.norm(x))),
    ("x: n x 1; J = ||x||_2^2", lambda x: scalar(np.linalg.norm(x) ** 2)),
    ("x: 1 x n; J = 3*||x||_1", lambda x: 3 * scalar(np.abs(x).sum())),
])
def test_vector_norm_subscripts(source: str, reference: Callable[..., float]) -> None:
    assert_means(source, reference, {"x": x4 if "n x 1" in source else x4.T})


@pytest.mark.parametrize("source", ["X: n x m; J = ||X||_F", "X: n x m; J = ‖X‖_F²",
                                    "X: n x m; J = ||X||_fro^2"])
def test_frobenius_subscripts(source: str) -> None:
    power = 2 if "²" in source or "^2" in source else 1
    assert_means(source, lambda X: scalar(np.linalg.norm(X) ** power), {"X": X34})


@pytest.mark.parametrize("source", ["X: n x m; J = ||X||_1", "X: n x m; J = ‖X‖₂"])
def test_operator_norms_of_matrices_are_refused(source: str) -> None:
    with pytest.raises(matgrad.UsageError, match="induced"):
        matgrad.derive(source)


# ---- 3. row-wise functions of a column -------------------------------------------------------

def _softmax(v: np.ndarray) -> np.ndarray:
    e = np.exp(v - v.max())
    return e / e.sum()


def test_softmax_of_a_column_applies_over_its_entries() -> None:
    W = rng.normal(size=(3, 4))
    y = np.zeros((3, 1))
    y[1] = 1.0
    assert_means("W: m x n; x: n x 1, data; y: m x 1, data; J = -y'*log(softmax(W*x))",
                 lambda W, x, y: scalar(-(y.T @ np.log(_softmax(W @ x)))),
                 {"W": W, "x": x4, "y": y})


def test_logsumexp_of_a_column_is_a_scalar() -> None:
    derivation = matgrad.derive("x: n x 1; J = logsumexp(x)")
    assert derivation.program.shapes["J"] == (1, 1)
    assert_means("x: n x 1; J = logsumexp(x)",
                 lambda x: scalar(np.log(np.exp(x).sum())), {"x": x4})


def test_a_row_keeps_the_row_wise_reading() -> None:
    assert_means("x: 1 x n; J = logsumexp(x)", lambda x: scalar(np.log(np.exp(x).sum())),
                 {"x": x4.T})


def test_softmax_of_an_inferred_column_is_read_once_its_shape_is_known() -> None:
    # v's shape is open where softmax is applied; y'*… makes it a column, read over entries.
    y = rng.normal(size=(4, 1))
    assert_means("y: m x 1, data; J = y' * softmax(v)",
                 lambda y, v: scalar(y.T @ _softmax(v)), {"y": y, "v": x4})


def test_logsumexp_of_an_inferred_column_is_refused() -> None:
    with pytest.raises(matgrad.UsageError, match="declare the shapes"):
        matgrad.derive("y: m x 1; J = sum(logsumexp(v)) + y'*v")


# ---- 4. functions ----------------------------------------------------------------------------

@pytest.mark.parametrize(("source", "suggestion"), [
    ("X: n x m; J = sum(tanhh(X))", "tanh"),
    ("X: n x m; J = sum(summ(X))", "sum"),
    ("X: n x m; J = sum(sigmod(X))", "sigmoid"),
    ("X: n x m; J = sum(exq(X))", "exp"),
])
def test_unknown_functions_are_refused_with_did_you_mean(source: str, suggestion: str) -> None:
    with pytest.raises(matgrad.UsageError, match="unknown function") as info:
        matgrad.derive(source)
    assert f"did you mean {suggestion}" in str(info.value)
    assert "`" in str(info.value) and ": function" in str(info.value)


def test_abstract_functions_named_as_the_guide_names_them() -> None:
    for name in ["f", "g", "h", "f1", "f₂", "σ", "ℓ"]:
        derivation = matgrad.derive(f"X: n x m; J = sum({name}(X))")
        assert "′" in str(derivation)


def test_declared_abstract_function() -> None:
    derivation = matgrad.derive("phi: function; X: n x m; J = sum(phi(X))")
    assert str(derivation) == "∂J/∂X = phi′(X)"
    assert_means("act: function; X: n x m; J = sum(act(X))",
                 lambda X: scalar(np.tanh(X).sum()), {"X": X34}, bind={"act": "tanh"})


def test_a_matrix_applied_like_a_function_says_declare_it() -> None:
    with pytest.raises(matgrad.UsageError, match="declare its shape"):
        matgrad.derive("x: n x 1; J = sum(Wt(x))")


@pytest.mark.parametrize(("source", "reference", "values"), [
    ("X: n x n; J = trace(X)", lambda X: scalar(np.trace(X)), {"X": A4}),
    ("X: n x n; A: n x n, data; J = trace(X'*A*X)", lambda X, A: scalar(np.trace(X.T @ A @ X)),
     {"X": A4, "A": A4.T @ A4}),
    ("x: n x 1; J = norm(x)", lambda x: scalar(np.linalg.norm(x)), {"x": x4}),
    ("X: n x m; J = sum(transpose(X)*X)", lambda X: scalar((X.T @ X).sum()), {"X": X34}),
    ("x: n x 1; J = mean(x)", lambda x: scalar(x.mean()), {"x": x4}),
    ("x: n x 1; J = mean(x .* x)", lambda x: scalar((x * x).mean()), {"x": x4}),
    ("x: n x 1; A: n x n, data; J = sum(A*diag(x)*A)",
     lambda x, A: scalar((A @ np.diag(x[:, 0]) @ A).sum()), {"x": x4, "A": A4}),
    ("x: 1 x n; J = sum(diag(x) * diag(x))", lambda x: scalar((np.diag(x[0]) ** 2).sum()),
     {"x": x4.T}),
    ("X: n x n; J = sum(diag(X) .* diag(X))", lambda X: scalar((np.diag(X) ** 2).sum()),
     {"X": A4}),
    ("X: n x m; J = sum(log1p(X .* X))", lambda X: scalar(np.log1p(X * X).sum()), {"X": X34}),
    ("X: n x m; J = sum(expm1(X))", lambda X: scalar(np.expm1(X).sum()), {"X": X34}),
    ("X: n x m; J = sum(sinh(X) + cosh(X) + arctan(X))",
     lambda X: scalar((np.sinh(X) + np.cosh(X) + np.arctan(X)).sum()), {"X": X34}),
    ("X: n x m; J = sum(ln(X .* X + 1))", lambda X: scalar(np.log(X * X + 1).sum()), {"X": X34}),
])
def test_functions_users_reach_for(source: str, reference: Callable[..., float],
                                   values: dict[str, np.ndarray]) -> None:
    assert_means(source, reference, values)


@pytest.mark.parametrize(("source", "message"), [
    ("X: n x m; J = mean(X)", "ambiguous"),
    ("X: n x m; J = norm(X)", "spectral norm in MATLAB"),
    ("X: n x m; J = sum(diag(X))", "square, or a vector"),
])
def test_ambiguous_builtins_are_refused(source: str, message: str) -> None:
    with pytest.raises(matgrad.MatgradError, match=message):
        matgrad.derive(source)


# ---- 5. typos in names -----------------------------------------------------------------------

def test_inferred_and_unused_names_are_reported() -> None:
    derivation = matgrad.derive("W: n x 1; x: n x 1; J = w'*x")
    assert derivation.notes == [
        "inferred: w: n×1 (not declared; their shapes were inferred from their uses — declare "
        "them to check)",
        "warning: 'W' is declared but the objective J does not use it; did you mean W where "
        "you wrote w?",
    ]
    assert matgrad.derive("W: n x m; J = sum(W)").notes == []


def test_cli_reports_notes_on_stderr() -> None:
    result = subprocess.run([sys.executable, "-m", "matgrad.cli", "-e",
                             "W: n x 1; x: n x 1; J = w'*x"], capture_output=True, text=True,
                            check=False, encoding="utf-8")
    assert result.returncode == 0
    assert result.stdout == "∂J/∂w = x\n∂J/∂x = w\n"
    assert "matgrad: inferred: w: n×1" in result.stderr
    assert "'W' is declared but the objective J does not use it" in result.stderr


def test_names_cannot_start_with_an_underscore() -> None:
    with pytest.raises(matgrad.MatgradSyntaxError):
        matgrad.derive("_w: n x 1; J = sum(_w)")


# ---- 6. notation -----------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "Z: t x m; Y: t x m; J = (1/2)‖Z − Y‖²",
    "Z: t x m; Y: t x m; J = (1/2)||Z - Y||^2",
    "Z: t x m; Y: t x m; J = 0.5 ‖Z − Y‖^2",
])
def test_a_scalar_juxtaposed_before_a_norm(source: str) -> None:
    Z, Y = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    assert_means(source, lambda Z, Y: 0.5 * scalar(np.sum((Z - Y) ** 2)), {"Z": Z, "Y": Y})


def test_a_division_by_a_juxtaposition_is_refused() -> None:
    with pytest.raises(matgrad.MatgradSyntaxError, match=r"write \(1/2\) x, or 1/\(2 x\)"):
        matgrad.derive("Z: t x m; Y: t x m; J = 1/2‖Z − Y‖²")


def test_products_of_norms_and_scaled_names() -> None:
    assert_means("X: n x m; J = 2‖X‖²", lambda X: 2 * scalar(np.sum(X ** 2)), {"X": X34})
    assert_means("x: n x 1; y: n x 1; J = ‖x‖‖y‖",
                 lambda x, y: scalar(np.linalg.norm(x) * np.linalg.norm(y)),
                 {"x": x4, "y": x4[::-1].copy()})
    assert_means("x: n x 1; J = 2 x'*x", lambda x: 2 * scalar(x.T @ x), {"x": x4})


@pytest.mark.parametrize("transpose", ["X^T", "X.'", "Xᵀ", "X⊤", "X'", "transpose(X)"])
def test_transpose_spellings(transpose: str) -> None:
    assert_means(f"X: n x m; A: n x m, data; J = tr({transpose} * A)",
                 lambda X, A: scalar(np.trace(X.T @ A)), {"X": X34, "A": X34[::-1].copy()})


def test_x_to_the_t_is_refused_when_t_is_a_name() -> None:
    with pytest.raises(matgrad.UsageError, match="could mean a power"):
        matgrad.derive("X: T x T; J = sum(X^T)")


@pytest.mark.parametrize("written", ["X⁻¹ᵀ", "X⁻ᵀ", "inv(X)'"])
def test_inverse_transpose_reads_back(written: str) -> None:
    spd = A4 @ A4.T + 4 * np.eye(4)
    a = rng.normal(size=(4, 1))
    assert_means(f"X: n x n, spd; a: n x 1, data; J = a'*{written}*a",
                 lambda X, a: scalar(a.T @ np.linalg.inv(X).T @ a), {"X": spd, "a": a})


def test_printed_inverse_transpose_parses_to_the_same_expression() -> None:
    derivation = matgrad.derive("X: n x n; J = logdet(X)")
    printed = str(derivation.gradients["X"])
    assert printed == "X⁻¹ᵀ"
    again = matgrad.derive(f"X: n x n; J = sum({printed})").program.definitions["J"]
    assert again.x == derivation.gradients["X"]  # type: ignore[attr-defined]


def test_d_and_of_are_names() -> None:
    assert_means("d: n x 1; x: n x 1, data; J = d'*x", lambda d, x: scalar(d.T @ x),
                 {"d": x4, "x": x4[::-1].copy()})
    assert_means("of: n x 1; J = sum(of .* of)", lambda of: scalar((of * of).sum()), {"of": x4})
    assert matgrad.derive("J = sum(W .* W)\nK = sum(W)\nof J").objective == "J"


def test_a_byte_order_mark_is_accepted() -> None:
    assert str(matgrad.derive("\ufeffW: n x m\nJ = sum(W .* W)")) == "∂J/∂W = 2W"


@pytest.mark.parametrize("source", [
    "X: t n", "X: t x", "J = sum(W[)", "X: t x n\nJ = sum(X *) + 1", "for j in 1..k W",
    "J = ||X", "X: t x n,", "J = <X, >", "J = 2 +", "X: ", "J = X^",
])
def test_errors_are_in_words(source: str) -> None:
    with pytest.raises(matgrad.MatgradSyntaxError) as info:
        parse_program(source)
    message = str(info.value)
    for token_name in ("_TIMES", "_times", "LSQB", "lsqb", "__ANON", "__anon", "RSQB", "_SEP",
                       "OPEN_BAR", "CLOSE_BAR", "NORM_SUB", "the character"):
        assert token_name not in message, message


def test_dimension_separator_is_named() -> None:
    with pytest.raises(matgrad.MatgradSyntaxError, match="'x' or '×' between two sizes"):
        parse_program("X: t n")


# ---- 7. varying exponents --------------------------------------------------------------------

def test_scalar_to_a_scalar_power() -> None:
    derivation = matgrad.derive("a: scalar; b: scalar; J = a^b")
    assert str(derivation) == "∂J/∂a = b a^(b − 1)\n∂J/∂b = a^(b) log(a)"
    assert_means("a: scalar; b: scalar; J = a^b", lambda a, b: scalar(a[0, 0] ** b[0, 0]),
                 {"a": np.array([[1.7]]), "b": np.array([[0.6]])})


def test_elementwise_power_with_a_parameter() -> None:
    positive = rng.uniform(0.5, 2.0, size=(3, 4))
    assert_means("X: n x m; p: scalar; J = sum(X .^ p)",
                 lambda X, p: scalar((X ** p[0, 0]).sum()),
                 {"X": positive, "p": np.array([[1.3]])})


def test_norm_to_a_parameter_power() -> None:
    w = rng.normal(size=(4, 1))
    assert_means("X: t x n, data; w: n x 1; p: scalar; J = norm2(X*w)^p",
                 lambda X, w, p: scalar(np.linalg.norm(X @ w) ** p[0, 0]),
                 {"X": X34, "w": w, "p": np.array([[2.5]])})


def test_check_samples_bases_of_varying_powers_positive() -> None:
    derivation = matgrad.derive("X: n x m; p: scalar; J = sum(X .^ p)")
    assert matgrad.check(derivation).passed
