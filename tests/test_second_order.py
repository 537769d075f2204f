"""Hessian-vector products (engine/second_order.py): the gradient of φ = ∇J · V, derived by the
engine on its own result.  Each is checked against two independent references — HIPS autograd's
reverse mode run twice on the program itself, and central differences of the compiled gradient
along V — on the examples, the conformance set and random programs; textbook forms are pinned."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from autograd_reference import autograd_hvp
from helpers import DEFAULT_BIND, FUZZ_EXAMPLES, bind_for, random_inputs, random_sizes
from hypothesis import HealthCheck, given, settings
from programs import programs
from test_conformance import OBJECTIVES

import matgrad
from matgrad.api import Derivation
from matgrad.cli import main
from matgrad.engine.results import Product
from matgrad.errors import MatgradError, UnsupportedError
from matgrad.functions import ELEMENTWISE, NAMED_GRADIENTS, ROWWISE

ROOT = Path(__file__).resolve().parent.parent
ACTIVATIONS = ["tanh", "sigmoid", "softplus", "sin", "exp", "arctan"]


def _bind(derivation: Derivation) -> dict[str, str]:
    """Every abstract function bound, each layer's to another built-in (f1 tanh, f2 sigmoid…)."""
    functions = sorted(derivation.program.abstract_functions)
    return {fn: DEFAULT_BIND.get(fn, ACTIVATIONS[index % len(ACTIVATIONS)])
            for index, fn in enumerate(functions)}


def assert_hvp_matches_autograd(derivation: Derivation, seed: int = 0,
                                bind: dict[str, str] | None = None) -> None:
    """The compiled product against autograd's, at random inputs and random directions."""
    product = derivation.hvp()
    bind = _bind(derivation) if bind is None else bind
    function = product.compile(bind=bind)
    rng = np.random.default_rng(seed)
    program = derivation.program
    sizes = random_sizes(program, rng)
    values = random_inputs(program, sizes, rng)
    directions = {name: rng.normal(size=values[name].shape) for name in derivation.wrt}
    for name in set(derivation.wrt) & program.symmetric:  # S + hV stays symmetric
        directions[name] = directions[name] + directions[name].T
    second = product.result
    assert isinstance(second, Product)
    arguments: dict[str, Any] = {product.python_names[name]: value
                                 for name, value in values.items()
                                 if name in product.python_names}
    arguments.update({product.python_names[second.directions[name]]: direction
                      for name, direction in directions.items()})
    arguments.update({keyword: sizes[dim] for dim, keyword in product.size_arguments.items()})
    result = function(**arguments)
    reference = autograd_hvp(program, values, sizes, derivation.wrt, bind, directions)
    assert set(result) == set(derivation.wrt)
    for name in derivation.wrt:
        expected = np.broadcast_to(reference[name], values[name].shape)
        scale = max(1.0, float(np.max(np.abs(expected))))
        np.testing.assert_allclose(np.broadcast_to(result[name], values[name].shape),
                                   expected, rtol=1e-8, atol=1e-9 * scale,
                                   err_msg=f"(∇²J V)_{name} differs from HIPS autograd")


EXAMPLES = sorted(path.name for path in (ROOT / "examples").glob("*.mg"))


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_examples_against_autograd(example: str) -> None:
    source = (ROOT / "examples" / example).read_text()
    depth = {"k": 3} if "loop" in example else None
    assert_hvp_matches_autograd(matgrad.derive(source, depth=depth))


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_examples_pass_the_check(example: str) -> None:
    source = (ROOT / "examples" / example).read_text()
    depth = {"k": 3} if "loop" in example else None
    derivation = matgrad.derive(source, depth=depth)
    report = matgrad.check(derivation.hvp(), bind=_bind(derivation), seed=1)
    assert report.passed, str(report)
    assert "Hessian-vector product" in str(report)


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_the_conformance_set_against_autograd(name: str) -> None:
    source, parameter, _, _ = OBJECTIVES[name]
    assert_hvp_matches_autograd(matgrad.derive(source, [parameter]), seed=3)


def test_the_l1_norm_has_a_zero_product() -> None:
    product = matgrad.derive("X: n x m\nJ = norm1(X)").hvp()
    result = product.compile()(X=np.ones((2, 3)) * 0.5, V_X=np.ones((2, 3)))
    np.testing.assert_array_equal(result["X"], np.zeros((2, 3)))


@settings(max_examples=FUZZ_EXAMPLES // 12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_against_autograd(source: str) -> None:
    derivation = matgrad.derive(source)
    assert_hvp_matches_autograd(derivation, bind=bind_for(derivation))


# The textbook cases: what the product prints (∇²J V = ∇φ, φ = ∇J · V).
@pytest.mark.parametrize(("source", "printed"), [
    ("x: n x 1; A: n x n, data\nJ = x'*A*x", "(∇²J V)_x = (Aᵀ + A) V_x"),
    ("A: m x n, data; b: m x 1, data; x: n x 1\nJ = ||A*x - b||^2",
     "(∇²J V)_x = 2Aᵀ(A V_x)"),
    ("X: t x n, data; y: t x 1, data; w: n x 1\nJ = sum(softplus(X*w)) - y'*X*w",
     "(∇²J V)_w = Xᵀ(X V_w ⊙ (sigmoid(A) ⊙ (𝟏 − sigmoid(A))))"),
    ("X: t x n, data; Y: t x m, data, onehot; W: n x m\nJ = sum(logsumexp(X*W)) - <Y, X*W>",
     "(∇²J V)_W = Xᵀ(Ṡ ⊙ softmax(S) − (Ṡ ⊙ softmax(S))𝟏 𝟏ᵀ ⊙ softmax(S))"),
    ("A: n x n, data; X: n x m\nJ = tr(X'*A*X)", "(∇²J V)_X = (Aᵀ + A) V_X"),
    ("X: n x n, spd\nJ = logdet(X)", "(∇²J V)_X = −X⁻¹V_X X⁻¹"),  # V_X symmetric too
])
def test_textbook_products(source: str, printed: str) -> None:
    assert str(matgrad.derive(source).hvp()).splitlines()[0] == printed


def test_the_single_layer_names_its_tangents() -> None:
    """The guide's §1 network: the tangent Ȧ = X V_W + 𝟏V_b of A is named, and both
    components read it, as forward-over-reverse by hand would write them."""
    product = matgrad.derive((ROOT / "examples" / "single_layer.mg").read_text()).hvp()
    text = str(product)
    assert text.splitlines()[:2] == [
        "(∇²J V)_W = Xᵀ(Ȧ ⊙ f′(A) ⊙ f′(A) + Ȧ ⊙ ΔZ ⊙ f′′(A))",
        "(∇²J V)_b = 1ᵀ(Ȧ ⊙ f′(A) ⊙ f′(A) + Ȧ ⊙ ΔZ ⊙ f′′(A))"]
    assert "  Ȧ = X V_W + V_b" in text
    assert product.text("ascii").splitlines()[0].startswith("(d2J V)_W = X'*(A_dot .* ")
    steps = product.steps_text()
    assert steps.splitlines()[0].startswith("φ = XᵀΔ · V_W + 1ᵀΔ · V_b")
    assert "by (15)" in steps and "by (14), with Δ = ΔZ ⊙ f′(A)" in steps


def _mlp(k: int) -> str:
    lines = ["X: t x n, data", "Y: t x n, data"]
    lines += [f"W{j}: n x n; b{j}: 1 x n" for j in range(1, k + 1)]
    previous = "X"
    for j in range(1, k + 1):
        lines.append(f"A{j} = {previous}*W{j} + b{j}; Z{j} = tanh(A{j})")
        previous = f"Z{j}"
    lines.append(f"J = 1/2 * ||Z{k} - Y||^2")
    return "\n".join(lines)


def test_a_deep_networks_product_keeps_its_names_and_grows_linearly() -> None:
    """Every layer gets its tangents Ȧⱼ, Żⱼ and Δ̇ⱼ; the printed product grows by about the
    same amount per layer (no inlined chain)."""
    sizes = {}
    for k in (4, 8, 16):
        product = matgrad.derive(_mlp(k)).hvp()
        sizes[k] = len(str(product))
        names = set(product.adjoints)
        assert {f"A\u0307{j}" for j in range(1, k + 1)} <= names
        assert {f"Δ\u0307{j}" for j in range(2, k + 1)} <= names
    assert (sizes[16] - sizes[8]) / 8 < 1.5 * (sizes[8] - sizes[4]) / 4
    assert_hvp_matches_autograd(matgrad.derive(_mlp(4)), seed=2)


def test_second_derivatives_of_every_built_in_generate() -> None:
    """f″ is lowered by its rule (rules/derivatives.rules) for every built-in."""
    for fn in ("tanh", "sigmoid", "relu", "exp", "log", "sqrt", "square", "abs", "sin", "cos",
               "softplus", "identity", "log1p", "expm1", "sinh", "cosh", "arctan"):
        positive = fn in ("log", "sqrt")
        source = f"x: n x 1{', positive' if positive else ''}\nJ = sum({fn}(x))"
        assert_hvp_matches_autograd(matgrad.derive(source), seed=len(fn))


def test_the_module_returns_the_components_only() -> None:
    product = matgrad.derive("x: n x 1; A: n x n, data\nJ = x'*A*x").hvp()
    source = product.numpy_source()
    assert source.startswith('"""The Hessian-vector product of J')
    assert "def value_and_grad(x, A, V_x):" in source
    assert "phi" not in source.split("def value_and_grad")[1]  # φ itself is not computed
    rng = np.random.default_rng(0)
    A, x, v = rng.normal(size=(4, 4)), rng.normal(size=(4, 1)), rng.normal(size=(4, 1))
    result = product.compile()(x, A, V_x=v)
    np.testing.assert_allclose(result["x"], (A + A.T) @ v, rtol=1e-12)


def test_the_cli_prints_checks_and_typesets_the_product(capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path) -> None:
    example = str(ROOT / "examples" / "single_layer.mg")
    assert main([example, "--hvp"]) == 0
    assert capsys.readouterr().out.startswith("(∇²J V)_W = ")
    assert main([example, "--hvp", "--check", "--bind", "f=sigmoid"]) == 0
    assert "(∇²J V)_b: max relative error" in capsys.readouterr().out
    assert main([example, "--hvp", "--numpy", "--bind", "f=tanh"]) == 0
    assert "A_dot = X @ V_W" in capsys.readouterr().out
    assert main([example, "--hvp", "--latex"]) == 0
    assert "\\dot{\\mathbf{A}}" in capsys.readouterr().out


def test_a_loops_hessian_blocks_are_refused_clearly(capsys: pytest.CaptureFixture[str],
                                                     ) -> None:
    """A loop at symbolic depth has its product (tests/test_loop_second_order.py) but not its
    blocks: refused with the way to get them."""
    source = (ROOT / "examples" / "regression_loop.mg").read_text()
    with pytest.raises(UnsupportedError, match="--depth k=3"):
        matgrad.derive(source).hessian()
    assert main([str(ROOT / "examples" / "regression_loop.mg"), "--hessian"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_no_third_derivatives() -> None:
    product = matgrad.derive("x: n x 1\nJ = sum(tanh(x))").hvp()
    with pytest.raises(MatgradError, match="third derivatives"):
        product.hvp()


def test_the_first_derivation_is_left_as_it_was() -> None:
    derivation = matgrad.derive((ROOT / "examples" / "single_layer.mg").read_text())
    before = (str(derivation), dict(derivation.program.definitions))
    derivation.hvp()
    assert (str(derivation), dict(derivation.program.definitions)) == before


def _single_layer_product() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], Derivation]:
    product = matgrad.derive((ROOT / "examples" / "single_layer.mg").read_text()).hvp()
    rng = np.random.default_rng(5)
    values = {"X": rng.normal(size=(6, 4)), "Y": rng.normal(size=(6, 3)),
              "W": rng.normal(size=(4, 3)), "b": rng.normal(size=(1, 3)),
              "V_W": rng.normal(size=(4, 3)), "V_b": rng.normal(size=(1, 3))}
    return values, product.compile(bind={"f": "tanh"})(**values), product


def test_jax_agrees_with_numpy() -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)  # as tests/test_jax_backend.py: float64
    values, expected, product = _single_layer_product()
    result = product.compile(bind={"f": "tanh"}, backend="jax")(**values)
    for name in ("W", "b"):
        np.testing.assert_allclose(np.asarray(result[name]), expected[name], rtol=1e-10)


def test_torch_agrees_with_numpy() -> None:
    torch = pytest.importorskip("torch")
    values, expected, product = _single_layer_product()
    result = product.compile(bind={"f": "tanh"}, backend="torch")(
        **{name: torch.tensor(value) for name, value in values.items()})
    for name in ("W", "b"):
        np.testing.assert_allclose(result[name].numpy(), expected[name], rtol=1e-10)


# ---- Hessians in matrix form ------------------------------------------------------------------

def autograd_hessian(derivation: Derivation, values: dict[str, np.ndarray],
                     sizes: dict[str, int], bind: dict[str, str]) -> dict[tuple[str, str], Any]:
    """Every block from autograd's double reverse mode, one unit direction per column (vec
    order: columns stacked)."""
    wrt = derivation.wrt
    blocks: dict[tuple[str, str], Any] = {}
    for b in wrt:
        count = values[b].size
        columns: dict[str, list[np.ndarray]] = {a: [] for a in wrt}
        for j in range(count):
            directions = {name: np.zeros_like(values[name]) for name in wrt}
            unit = np.zeros(count)
            unit[j] = 1.0
            directions[b] = unit.reshape(values[b].shape, order="F")
            product = autograd_hvp(derivation.program, values, sizes, wrt, bind, directions)
            for a in wrt:
                column = np.broadcast_to(product[a], values[a].shape)
                columns[a].append(np.reshape(column, -1, order="F"))
        for a in wrt:
            blocks[(a, b)] = np.stack(columns[a], axis=1)
    return blocks


HESSIANS: dict[str, tuple[str, dict[tuple[str, str], str | None]]] = {
    "x'Ax": ("x: n x 1; A: n x n, data\nJ = x'*A*x", {("x", "x"): "Aᵀ + A"}),
    "least squares": ("A: m x n, data; b: m x 1, data; x: n x 1\nJ = ||A*x - b||^2",
                      {("x", "x"): "2(AᵀA)"}),
    "logistic regression": (
        "X: t x n, data; y: t x 1, data; w: n x 1\nJ = sum(softplus(X*w)) - y'*X*w",
        {("w", "w"): "Xᵀ((sigmoid(A) ⊙ (𝟏 − sigmoid(A)))𝟏ᵀ ⊙ X)"}),
    "logistic regression with a bias and ridge": (
        "X: t x n, data; y: t x 1, data; w: n x 1; c: scalar\n"
        "J = sum(softplus(X*w + c)) - y'*(X*w + c) + 1/2*||w||^2",
        {("w", "w"): "Xᵀ((sigmoid(A) ⊙ (𝟏 − sigmoid(A)))𝟏ᵀ ⊙ X) + I",
         ("w", "c"): "Xᵀ((sigmoid(A) ⊙ (𝟏 − sigmoid(A)))𝟏)",
         ("c", "w"): "1ᵀ((sigmoid(A) ⊙ (𝟏 − sigmoid(A)))𝟏ᵀ ⊙ X)",
         ("c", "c"): "1ᵀ((sigmoid(A) ⊙ (𝟏 − sigmoid(A)))𝟏)"}),
    "a row vector": ("x: 1 x n; B: n x n, data\nJ = x*B*x'", {("x", "x"): "Bᵀ + B"}),
    "(x'x)^2": ("x: n x 1\nJ = (x'*x)^2", {("x", "x"): "8(x xᵀ) + 4((xᵀx)I)"}),
    "Rayleigh quotient": ("x: n x 1; A: n x n, data\nJ = (x'*A*x) / (x'*x)", {}),
    "a quadratic and a scalar": ("x: n x 1; a: scalar; A: n x n, data\nJ = a^2 * x'*A*x",
                                 {}),
    "matrix least squares": ("X: t x n, data; W: n x m; Y: t x m, data\n"
                             "J = 1/2*||X*W - Y||^2", {("W", "W"): "Iₘ ⊗ (XᵀX)"}),
    "logdet": ("X: n x n, spd\nJ = logdet(X)",
               {("X", "X"): "−1/2(X⁻¹ ⊗ X⁻¹) − 1/2(X⁻¹ ⊗ X⁻¹) K₍ₙ,ₙ₎"}),
    "the layer norm (a form too long to read)": (
        "X: t x n; Y: t x n, data; C = X - X*ones(n, n)/n; V = (C .* C)*ones(n, 1)/n + 0.1\n"
        "J = 1/2*||C ./ sqrt(V) - Y||^2", {("X", "X"): None}),
}


@pytest.mark.parametrize("name", list(HESSIANS))
def test_hessian_blocks_against_autograd(name: str) -> None:
    source, printed = HESSIANS[name]
    derivation = matgrad.derive(source)
    hessian = derivation.hessian()
    for key, expected in printed.items():
        block = hessian.blocks[key]
        if expected is None:
            assert block is None and hessian.reasons[key]
        else:
            assert f"{key[0]}∂{key[1]} = {expected}" in str(hessian)
    bind = _bind(derivation)
    rng = np.random.default_rng(7)
    sizes = random_sizes(derivation.program, rng)
    values = random_inputs(derivation.program, sizes, rng)
    function = hessian.compile(bind=bind)
    arguments = {derivation.python_names[k]: v for k, v in values.items()
                 if k in derivation.python_names}
    arguments.update({keyword: sizes[dim] for dim, keyword in derivation.size_arguments.items()})
    blocks = function(**arguments)
    reference = autograd_hessian(derivation, values, sizes, bind)
    assert set(blocks) == set(reference)
    for key, expected in reference.items():
        scale = max(1.0, float(np.max(np.abs(expected))))
        np.testing.assert_allclose(blocks[key], expected, rtol=1e-8, atol=1e-9 * scale,
                                   err_msg=f"H{key} differs from autograd")


def test_the_hessian_cli_prints_checks_and_typesets(capsys: pytest.CaptureFixture[str]) -> None:
    source = "X: t x n, data; y: t x 1, data; w: n x 1\nJ = sum(softplus(X*w)) - y'*X*w"
    assert main(["-e", source, "--hessian", "--check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("∂²J/∂w∂w = Xᵀ(") and "passed" in out
    assert main(["-e", source, "--hessian", "--latex"]) == 0
    assert "\\partial^2 J" in capsys.readouterr().out
    assert main(["-e", source, "--hessian", "--numpy"]) == 0
    assert "def hessian(X, y, w):" in capsys.readouterr().out
    assert main(["-e", source, "--hessian", "--backend", "jax"]) == 2
    assert "--hvp --backend jax" in capsys.readouterr().err


def test_second_order_latex_compiles(tmp_path: Path) -> None:
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("pdflatex is not installed (texlive-latex-base; .ci/run installs it)")
    derivation = matgrad.derive((ROOT / "examples" / "single_layer.mg").read_text())
    logistic = matgrad.derive("X: t x n, data; y: t x 1, data; w: n x 1; c: scalar\n"
                              "J = sum(softplus(X*w + c)) - y'*(X*w + c)")
    for name, document in (("hvp", derivation.hvp().latex(standalone=True)),
                           ("hessian", logistic.hessian().latex(standalone=True))):
        path = tmp_path / f"{name}.tex"
        path.write_text(document, encoding="utf-8")
        result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error",
                                 path.name], cwd=tmp_path, capture_output=True, text=True,
                                check=False)
        assert result.returncode == 0, result.stdout[-2000:]


def _through(fn: str) -> str:
    """A program that takes `fn` of the function table through a product of parameters."""
    if fn in NAMED_GRADIENTS:  # softmax(A) = ∇logsumexp(A), row by row
        return f"X: t x n, data, positive; W: n x m, positive; Y: t x m, data\n" \
               f"J = sum({fn}(X*W/4) .* Y)"
    return f"X: t x n, data, positive; W: n x m, positive\nJ = sum({fn}(X*W/4))"


@pytest.mark.parametrize("fn", sorted({*ELEMENTWISE, *ROWWISE, *NAMED_GRADIENTS}))
def test_every_function_of_the_table_has_second_order(fn: str) -> None:
    # sumsq (RMSNorm, triplet losses) had a gradient but "no rule for d(∇sumsq(X))".
    derivation = matgrad.derive(_through(fn))
    assert_hvp_matches_autograd(derivation, seed=len(fn))
    hessian = derivation.hessian()
    assert set(hessian.blocks) == {("W", "W")}
    rng = np.random.default_rng(len(fn))
    values = {"X": rng.uniform(0.5, 1.5, size=(4, 3)), "W": rng.uniform(0.5, 1.5, size=(3, 2))}
    if "Y" in derivation.program.parameters:
        values["Y"] = rng.uniform(0, 1, size=(4, 2))
    direction = rng.normal(size=(3, 2))
    dense = hessian.compile()(**values)[("W", "W")]
    product = derivation.hvp()
    second = product.result
    assert isinstance(second, Product)
    arguments = {**values, product.python_names[second.directions["W"]]: direction}
    applied = product.compile()(**arguments)["W"]
    np.testing.assert_allclose(dense @ direction.reshape(-1, order="F"),
                               np.asarray(applied).reshape(-1, order="F"), rtol=1e-8, atol=1e-10)
