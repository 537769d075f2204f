"""Hessian-vector products of layer loops at symbolic depth (engine/loop_second_order.py,
codegen/loop_product_module.py): one module for every depth, equal to the product of the same
network written out (derived and generated as a flat program) at depths 1–5, to HIPS autograd's at
depth 3, and to central differences of the loop's gradient (the check); the examples, weight
decay (a scalar family), residual layers that read Z[j-1] twice and random loop bodies; the
printed recursion, the CLI, and the JAX and PyTorch modules against NumPy's."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from autograd_reference import autograd_hvp
from backend_cases import assert_ruff_clean
from helpers import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from test_backend_loops import PROGRAMS
from test_loop_bodies import loop_programs

import matgrad
from matgrad.check import random_arguments
from matgrad.cli import main
from matgrad.codegen.signature import gradient_of, signature_of

ROOT = Path(__file__).resolve().parent.parent


def _bind(source: str, depth: int | None = None) -> dict[str, str]:
    if "f[j]" not in source:
        return {}
    if depth is None:
        return {"f[j]": "tanh"}
    return {"f": "tanh", **{f"f{j}": "tanh" for j in range(1, depth + 1)}}


def products_at(source: str, depth: int, seed: int = 0, backend: str = "numpy",
                ) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
    """(the loop module's components, the written-out product's, the written-out inputs and
    directions), each component by its written-out name (W1, b2, c)."""
    loop = matgrad.derive(source)
    product = loop.hvp()
    flat = matgrad.derive(source, depth={"k": depth})
    flat_product = flat.hvp()
    program = matgrad.parse(source, {"k": depth})
    sizes = {dim: 3 + index for index, dim in enumerate(program.dims)}
    rng = np.random.default_rng(seed)
    values = random_arguments(program, sizes, rng)
    directions = {f"V_{name}": rng.normal(size=np.shape(values[name])) for name in flat.wrt}
    arguments = {**values, **directions}
    signature = signature_of(product.result)
    function = product.compile(bind=_bind(source), backend=backend)
    returned = function(**signature.keywords(arguments, sizes, depth))
    flat_bind = {fn: "tanh" for fn in flat_product.program.abstract_functions}
    expected = flat_product.compile(bind=flat_bind)(**{
        flat_product.python_names[name]: value for name, value in arguments.items()
        if name in flat_product.python_names})
    got = {name: gradient_of(returned, signature, name, depth) for name in flat.wrt}
    return got, expected, arguments


@pytest.mark.parametrize("depth", [2, 3, 5])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_the_loop_product_is_the_written_out_product(name: str, depth: int) -> None:
    got, expected, _ = products_at(PROGRAMS[name], depth)
    assert set(got) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(np.asarray(got[key], dtype=float), value, rtol=1e-11,
                                   atol=1e-12, err_msg=key)


def test_the_loop_product_against_autograd() -> None:
    source = PROGRAMS["regression_loop"]
    got, _, arguments = products_at(source, 3, seed=5)
    flat = matgrad.derive(source, depth={"k": 3})
    program = flat.program
    sizes = {dim: 3 + index for index, dim in enumerate(program.dims)}
    values = {name: arguments[name] for name in program.parameters}
    reference = autograd_hvp(program, values, sizes, flat.wrt, _bind(source, 3),
                             {name: arguments[f"V_{name}"] for name in flat.wrt})
    for name in flat.wrt:
        np.testing.assert_allclose(got[name], np.broadcast_to(reference[name],
                                                              values[name].shape),
                                   rtol=1e-9, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_the_loop_product_passes_the_check(name: str) -> None:
    product = matgrad.derive(PROGRAMS[name]).hvp()
    report = matgrad.check(product, bind=_bind(PROGRAMS[name]), seed=2)
    assert report.passed, str(report)
    assert "k=3" in str(report) and "(∇²J V)_W1" in str(report)


@settings(max_examples=FUZZ_EXAMPLES // 25,
          deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loop_programs())
def test_random_loop_bodies(source: str) -> None:
    for depth in (1, 3):
        got, expected, _ = products_at(source, depth, seed=depth)
        for key, value in expected.items():
            np.testing.assert_allclose(np.asarray(got[key], dtype=float), value, rtol=1e-10,
                                       atol=1e-11, err_msg=f"{key} at depth {depth}")


def test_the_printed_recursion_names_both_sweeps() -> None:
    text = str(matgrad.derive(PROGRAMS["regression_loop"]).hvp())
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[:3] == ["for j = 1, …, k:",
                         "  (∇²J V)_Wⱼ = Zⱼ₋₁ᵀ(Ȧⱼ ⊙ ΔZⱼ ⊙ fⱼ′′(Aⱼ) + Δ̇Zⱼ ⊙ fⱼ′(Aⱼ)) + Żⱼ₋₁ᵀΔⱼ",
                         "  (∇²J V)_bⱼ = 1ᵀ(Ȧⱼ ⊙ ΔZⱼ ⊙ fⱼ′′(Aⱼ) + Δ̇Zⱼ ⊙ fⱼ′(Aⱼ))"]
    assert "  Ȧⱼ = Żⱼ₋₁Wⱼ + Zⱼ₋₁V_Wⱼ + V_bⱼ" in lines
    assert "  Żⱼ = Ȧⱼ ⊙ fⱼ′(Aⱼ)" in lines and "  Ż₀ = 0" in lines
    assert any(line.startswith("  Δ̇Zⱼ = (1 / t)") and "Żₖ" in line and line.endswith("if j = k")
               for line in lines)
    steps = matgrad.derive(PROGRAMS["regression_loop"]).hvp().steps_text()
    assert "The product for a generic layer j" in steps and "φ = " in steps


def test_the_cli_prints_generates_and_checks_a_loop_product(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    example = str(ROOT / "examples" / "regression_loop.mg")
    assert main([example, "--hvp"]) == 0
    assert capsys.readouterr().out.startswith("for j = 1, …, k:\n  (∇²J V)_Wⱼ = ")
    assert main([example, "--hvp", "--numpy", "--bind", "f[j]=tanh"]) == 0
    module = capsys.readouterr().out
    assert "def value_and_grad(X, Y, W, b, V_W, V_b):" in module
    assert "import matgrad" not in module
    assert_ruff_clean(module, tmp_path)
    assert main([example, "--hvp", "--check", "--bind", "f[j]=tanh"]) == 0
    assert "passed" in capsys.readouterr().out
    assert main([example, "--hvp", "--latex"]) == 0
    assert "(\\nabla^2 J\\,\\mathbf{V})_{\\mathbf{W}_{j}}" in capsys.readouterr().out


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_loop_product_in_jax_and_torch(backend: str) -> None:
    pytest.importorskip(backend)
    if backend == "jax":
        sys.modules["jax"].config.update("jax_enable_x64", True)
    source = PROGRAMS["regression_loop"]
    got, expected, _ = products_at(source, 3, backend=backend)
    for key, value in expected.items():
        np.testing.assert_allclose(np.asarray(got[key], dtype=float), value, rtol=1e-10,
                                   atol=1e-12, err_msg=key)


def test_a_loop_products_latex_compiles(tmp_path: Path) -> None:
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("pdflatex is not installed (texlive-latex-base; .ci/run installs it)")
    for name in ("regression_loop", "classification_loop"):
        document = matgrad.derive(PROGRAMS[name]).hvp().latex(standalone=True)
        assert "\\dot{\\mathbf{Z}}_{j}" in document and "\\begin{cases}" in document
        (tmp_path / f"{name}.tex").write_text(document, encoding="utf-8")
        result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error",
                                 f"{name}.tex"], cwd=tmp_path, capture_output=True, text=True,
                                check=False)
        assert result.returncode == 0, result.stdout[-2000:]


def test_the_readme_loop_example_is_what_the_cli_prints(
        capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("$ matgrad examples/regression_loop.mg --hvp\n", 1)[1].split("```")[0]
    assert main([str(ROOT / "examples" / "regression_loop.mg"), "--hvp"]) == 0
    printed = capsys.readouterr().out.splitlines()
    shown = [line for line in block.splitlines() if line.strip() != "…"]
    assert shown and all(line in printed for line in shown)


def test_the_dask_backend_refuses_a_loop_product_with_the_alternative() -> None:
    product = matgrad.derive(PROGRAMS["regression_loop"]).hvp()
    with pytest.raises(matgrad.MatgradError, match="--depth k=3"):
        product.source(backend="dask", bind={"f[j]": "tanh"})
