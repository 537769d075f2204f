"""Layers of symbolic depth: `for j in 1..k: … end`.

The recursion (23) is derived once (golden); the generated loop code must give the same values
and gradients as the program written out at depths k = 1…8 (the ordinary engine and code), and
as HIPS autograd on the written-out program; loops matgrad cannot derive exactly are refused
with a clear error.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from autograd_reference import autograd_gradients
from helpers import generated_arguments, random_inputs

import matgrad
from matgrad.cli import main
from matgrad.engine.results import LoopDerivation
from matgrad.errors import MatgradError, UnsupportedError, UsageError

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden"
REGRESSION = (ROOT / "examples" / "regression_loop.mg").read_text()
CLASSIFIER = (ROOT / "examples" / "classification_loop.mg").read_text()
ACTIVATIONS = ["tanh", "sigmoid", "softplus", "sin", "identity", "relu"]


def symbolic(source: str) -> matgrad.Derivation:
    derivation = matgrad.derive(source)
    assert isinstance(derivation.result, LoopDerivation)
    return derivation


def test_golden_recursion_23() -> None:
    derivation = symbolic(REGRESSION)
    assert str(derivation) + "\n" == (GOLDEN / "regression_loop.txt").read_text()
    cases = {name: (str(last), str(below))
             for name, last, below in derivation.result.layers.adjoint_cases()}
    assert cases == {"Δ[j]": ("(1 / t)(Zₖ − Y) ⊙ fₖ′(Aₖ)", "Δⱼ₊₁Wⱼ₊₁ᵀ ⊙ fⱼ′(Aⱼ)")}
    assert {name: str(g) for name, g in derivation.gradients.items()} == {
        "W[j]": "Zⱼ₋₁ᵀΔⱼ", "b[j]": "1ᵀΔⱼ"}


def test_the_body_is_derived_once_by_the_rules() -> None:
    derivation = symbolic(REGRESSION)
    rules = [step.rule for step in derivation.result.layers.body.steps]
    assert "d-elementwise" in rules and "frob-matmul-left" in rules
    assert str(derivation.result.layers.body.gradients["Z[j-1]"]) == "ΔⱼWⱼᵀ"
    assert str(derivation.result.layers.epilogue.gradients["Z[k]"]) == "(1 / t)(Zₖ − Y)"


def _layers(rng: np.random.Generator, k: int, widths: list[int], t: int
            ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    X = rng.normal(size=(t, widths[0]))
    W = [rng.normal(size=(widths[j - 1], widths[j])) for j in range(1, k + 1)]
    b = [rng.normal(size=(1, widths[j])) for j in range(1, k + 1)]
    return X, W, b


@pytest.mark.parametrize("k", range(1, 9))
def test_loop_code_equals_the_written_out_network(k: int) -> None:
    activation = ACTIVATIONS[k % len(ACTIVATIONS)]
    loop = symbolic(REGRESSION).compile(bind={"f": activation})
    written = matgrad.derive(REGRESSION, depth={"k": k})
    flat = written.compile(bind={f"f{j}": activation for j in range(1, k + 1)})
    rng = np.random.default_rng(k)
    widths = [int(w) for w in rng.integers(2, 6, size=k + 1)]
    X, W, b = _layers(rng, k, widths, t=7)
    Y = rng.normal(size=(7, widths[k]))
    value, grads = loop(X, Y, W, b)
    names = written.python_names
    arguments = {names["X"]: X, names["Y"]: Y}
    arguments |= {names[f"W{j}"]: W[j - 1] for j in range(1, k + 1)}
    arguments |= {names[f"b{j}"]: b[j - 1] for j in range(1, k + 1)}
    flat_value, flat_grads = flat(**arguments)
    assert value == pytest.approx(flat_value, rel=1e-12)
    for j in range(1, k + 1):
        np.testing.assert_allclose(grads["W"][j - 1], flat_grads[f"W{j}"], rtol=1e-12)
        np.testing.assert_allclose(grads["b"][j - 1], flat_grads[f"b{j}"], rtol=1e-12)


@pytest.mark.parametrize("k", range(1, 7))
def test_loop_code_matches_autograd(k: int) -> None:
    # HIPS autograd differentiates the written-out program on its own; nothing is shared with
    # matgrad's engine or code generator.
    activation = ACTIVATIONS[(k + 2) % len(ACTIVATIONS)]
    program = matgrad.parse(REGRESSION, depth={"k": k})
    rng = np.random.default_rng(10 + k)
    sizes = {"t": 6} | {f"n{j}": int(rng.integers(2, 5)) for j in range(k + 1)}
    values = random_inputs(program, sizes, rng)
    wrt = tuple(f"{p}{j}" for j in range(1, k + 1) for p in "Wb")
    reference = autograd_gradients(program, values, sizes, wrt,
                                   {f"f{j}": activation for j in range(1, k + 1)})
    loop = symbolic(REGRESSION).compile(bind={"f": activation})
    _, grads = loop(values["X"], values["Y"], [values[f"W{j}"] for j in range(1, k + 1)],
                    [values[f"b{j}"] for j in range(1, k + 1)])
    for j in range(1, k + 1):
        np.testing.assert_allclose(grads["W"][j - 1], reference[f"W{j}"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(grads["b"][j - 1], reference[f"b{j}"], rtol=1e-9, atol=1e-12)


def test_the_issue_one_liner_without_declarations() -> None:
    # No A[j] and no declared shapes: Z[j]'s adjoint is the body's input ΔZ[j] itself, which
    # must not get a name of its own (an un-indexed name would escape the j → j+1 shift).
    source = ("X: t x n, data; Y: t x m, data\nZ[0] = X\n"
              "for j in 1..k: Z[j] = f[j](Z[j-1]*W[j] + b[j]) end\n"
              "J = 1/(2*t) * ||Z[k] - Y||^2")
    inline = matgrad.derive(source, names="inline")
    assert isinstance(inline.result, LoopDerivation)
    cases = {str(below) for base in inline.result.layers.layered.carried
             for below in inline.result.layers.carried_cases(base)[1:]}
    assert cases == {"(ΔZⱼ₊₁ ⊙ fⱼ₊₁′(ZⱼWⱼ₊₁ + bⱼ₊₁)) Wⱼ₊₁ᵀ"}
    # With the guide's names (the default) the layer's argument is A[j] and the recursion (23).
    derivation = symbolic(source)
    assert "Δⱼ = Δⱼ₊₁Wⱼ₊₁ᵀ ⊙ fⱼ′(Aⱼ)" in str(derivation)
    with pytest.raises(MatgradError, match=r"declare it in the loop body"):
        derivation.numpy_source(bind={"f": "tanh"})
    declared = source.replace("Y: t x m", "Y: t x n").replace(
        "for j in 1..k: ", "for j in 1..k: W[j]: n x n; b[j]: 1 x n; ")
    for depth in (1, 2, 4):
        report = matgrad.check(symbolic(declared), bind={"f": "tanh"}, depth=depth, seed=depth)
        assert report.passed, str(report)


def test_classifier_loop_ends_with_eq_26() -> None:
    derivation = symbolic(CLASSIFIER)
    assert str(derivation.result.layers.epilogue.adjoints["Δ[k]"]) == "(1 / t)(Zₖ − Y)"
    cases = {name: (str(last), str(below))
             for name, last, below in derivation.result.layers.adjoint_cases()}
    assert cases["Δ[j]"] == ("ΔₖWₖᵀ ⊙ fₖ₋₁′(Aₖ₋₁)", "Δⱼ₊₁Wⱼ₊₁ᵀ ⊙ fⱼ′(Aⱼ)")
    assert str(derivation.gradients["W[k]"]) == "Zₖ₋₁ᵀΔₖ + lambda Wₖ"


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_classifier_loop_matches_central_differences(depth: int) -> None:
    report = matgrad.check(symbolic(CLASSIFIER), bind={"f": "tanh"}, depth=depth, seed=depth)
    assert report.passed, str(report)
    assert {p.name for p in report.parameters} >= {f"W{depth}", "W1", "b1"}


def test_classifier_loop_equals_written_out_at_depth_4() -> None:
    loop = symbolic(CLASSIFIER)
    written = matgrad.derive(CLASSIFIER, depth={"k": 4})
    rng = np.random.default_rng(4)
    sizes = {"t": 5} | {f"n{j}": int(rng.integers(2, 5)) for j in range(5)}
    values = random_inputs(written.program, sizes, rng)
    value, grads = loop.compile(bind={"f": "sigmoid"})(
        values["X"], values["Y"], values["lambda"],
        [values[f"W{j}"] for j in range(1, 5)], [values[f"b{j}"] for j in range(1, 5)])
    flat_value, flat_grads = written.compile(bind={f"f{j}": "sigmoid" for j in range(1, 4)})(
        **generated_arguments(written, values, sizes))
    assert value == pytest.approx(flat_value, rel=1e-12)
    for j in range(1, 5):
        np.testing.assert_allclose(grads["W"][j - 1], flat_grads[f"W{j}"], rtol=1e-11)


def test_loop_code_keeps_float32_and_loops_over_lists() -> None:
    derivation = symbolic(REGRESSION)
    source = derivation.numpy_source(bind={"f": "tanh"})
    assert "for j in range(1, k + 1):" in source and "for j in range(k, 0, -1):" in source
    assert "1.0 - " not in source or "np.subtract(1.0" in source  # tanh′ through the cached Z
    rng = np.random.default_rng(0)
    X, W, b = _layers(rng, 3, [4, 5, 3, 2], t=6)
    cast = [m.astype(np.float32) for m in W]
    _, grads = derivation.compile(bind={"f": "tanh"})(
        X.astype(np.float32), rng.normal(size=(6, 2)).astype(np.float32), cast,
        [m.astype(np.float32) for m in b])
    assert all(g.dtype == np.float32 for g in grads["W"])
    assert all(g is not w for g, w in zip(grads["W"], cast, strict=True))


@pytest.mark.parametrize("mutate, message", [
    (lambda X, Y, W, b: (X, Y, W, b[:-1]), "b must hold one matrix per layer"),
    (lambda X, Y, W, b: (X, Y, [W[0], W[1].T, W[2]], b), "W[2]"),
    (lambda X, Y, W, b: (X[:, :-1], Y, W, b), "W[1]"),
    (lambda X, Y, W, b: (X, Y[:-1], W, b), "the rows of Y"),
])
def test_loop_code_checks_its_arguments(mutate: object, message: str) -> None:
    function = symbolic(REGRESSION).compile(bind={"f": "tanh"})
    rng = np.random.default_rng(1)
    X, W, b = _layers(rng, 3, [4, 5, 3, 2], t=6)
    Y = rng.normal(size=(6, 2))
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        function(*mutate(X, Y, W, b))  # type: ignore[operator]


def test_one_line_loop_and_fixed_length_loops() -> None:
    one_line = REGRESSION.replace(
        "for j in 1..k:\n    W[j]: n[j-1] x n[j]; b[j]: 1 x n[j]\n"
        "    A[j] = Z[j-1]*W[j] + b[j]\n    Z[j] = f[j](A[j])\nend",
        "for j in 1..k: W[j]: n[j-1] x n[j]; b[j]: 1 x n[j]; "
        "Z[j] = f[j](Z[j-1]*W[j] + b[j]) end")
    assert "Zⱼ₋₁ᵀ" in str(matgrad.derive(one_line))
    fixed = matgrad.derive(REGRESSION.replace("1..k", "1..3").replace("n[k]", "n[3]")
                           .replace("Z[k]", "Z[3]"))
    assert set(fixed.gradients) == {"W1", "b1", "W2", "b2", "W3", "b3"}


@pytest.mark.parametrize("source, error, message", [
    (REGRESSION.replace("Z[j-1]*W[j]", "Z[j-2]*W[j]"), UnsupportedError, "reaches another layer"),
    ("alpha: scalar\n" + REGRESSION.replace("Z[j] = f[j]", "Z[j] = alpha * f[j]"),
     UnsupportedError,
     "shared by every layer"),
    (REGRESSION.replace("Z[0] = X\n", ""), UsageError, "needs a value before the loop"),
    (REGRESSION.replace("X: t x n[0], data", "X: t x n[0]"), UnsupportedError,
     "start value"),
    (REGRESSION.replace("Z[k] - Y", "Z[k] - Y + A[k-1]*ones(n[k-1], n[k])"), UnsupportedError,
     "reads a layer of the loop"),
    (REGRESSION + "\nfor i in 1..k: V[i]: 2 x 2 end", UnsupportedError, "second loop"),
    ("W[k]: 2 x 2\nJ = sum(W[k])", UsageError, "need a depth"),
    (REGRESSION.replace("    A[j] = Z", "    A[j+1] = Z"), UsageError, "own layer"),
])
def test_loops_beyond_reach_are_refused(source: str, error: type[MatgradError],
                                        message: str) -> None:
    with pytest.raises(error, match=message):
        matgrad.derive(source)


def test_cli_loop_output_depth_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(ROOT / "examples" / "regression_loop.mg")]) == 0
    assert "Δⱼ₊₁Wⱼ₊₁ᵀ ⊙ fⱼ′(Aⱼ)" in capsys.readouterr().out
    assert main([str(ROOT / "examples" / "regression_loop.mg"), "--depth", "k=2"]) == 0
    assert "∂J/∂W₂ = Z₁ᵀΔ₂" in capsys.readouterr().out
    assert main([str(ROOT / "examples" / "regression_loop.mg"), "--check", "--bind",
                 "f=tanh"]) == 0
    assert "passed" in capsys.readouterr().out
    assert main(["-e", REGRESSION.replace("Z[j-1]*W[j]", "Z[j-2]*W[j]")]) == 2
    assert "reaches another layer" in capsys.readouterr().err
    assert main([str(ROOT / "examples" / "regression_loop.mg"), "--depth", "k=x"]) == 2


def test_latex_prints_the_cases_of_23() -> None:
    fragment = symbolic(REGRESSION).latex()
    assert "\\begin{cases}" in fragment and "& j < k" in fragment
    assert "\\boldsymbol{\\Delta}_{j+1} \\mathbf{W}_{j+1}^\\top" in fragment


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="pdflatex not installed (.ci/run installs texlive-latex-base)")
def test_standalone_loop_document_compiles(tmp_path: Path) -> None:
    (tmp_path / "loop.tex").write_text(symbolic(CLASSIFIER).latex(standalone=True))
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                             "-no-shell-escape", "loop.tex"], check=False, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:]


@pytest.mark.parametrize("example", ["regression_loop", "classification_loop"])
def test_loop_module_is_clean_and_imports_only_numpy(example: str, tmp_path: Path) -> None:

    source = symbolic((ROOT / "examples" / f"{example}.mg").read_text()).numpy_source(
        bind={"f": "tanh"})
    imports = [alias.name for node in ast.walk(ast.parse(source))
               if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names]
    assert imports == ["numpy"]
    path = tmp_path / "generated.py"
    path.write_text(source)
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
                             "--select", "E,F,W,B,UP", "--line-length", "200", str(path)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


WEIGHT_DECAY = """X: t x n, data
Y: t x n, data
lam: scalar, data
Z[0] = X
r[0] = 0
for j in 1..k:
    W[j]: n x n
    Z[j] = tanh(Z[j-1]*W[j])
    r[j] = r[j-1] + ||W[j]||^2
end
J = 1/2 * ||Z[k] - Y||^2 + lam * r[k]
"""


@pytest.mark.parametrize("depth", [1, 3])
def test_a_penalty_over_all_layers_starts_at_a_number(depth: int) -> None:
    # Weight decay over every layer needed a dummy `r0: scalar, data`: the code generator took
    # only a name as a loop's start value.
    loop = symbolic(WEIGHT_DECAY)
    written = matgrad.derive(WEIGHT_DECAY, depth={"k": depth})
    rng = np.random.default_rng(depth)
    sizes = {"t": 4, "n": 3}
    values = random_inputs(written.program, sizes, rng)
    value, grads = loop.compile()(values["X"], values["Y"], values["lam"],
                                  [values[f"W{j}"] for j in range(1, depth + 1)])
    flat_value, flat_grads = written.compile()(**generated_arguments(written, values, sizes))
    assert value == pytest.approx(flat_value, rel=1e-12)
    for j in range(1, depth + 1):
        np.testing.assert_allclose(grads["W"][j - 1], flat_grads[f"W{j}"], rtol=1e-11)
    assert matgrad.check(loop, {"t": 3, "n": 2}).passed
