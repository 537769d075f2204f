"""The command line: options, notations and help."""

from __future__ import annotations

import subprocess
import sys

import pytest

from matgrad.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "matgrad.cli", *args], capture_output=True,
                          text=True, check=False, encoding="utf-8")


def test_expression_and_wrt() -> None:
    result = run("-e", "x: n x 1; A: n x n; J = x'*A*x", "--wrt", "x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "∂J/∂x = (A + Aᵀ) x"


def test_ascii_output() -> None:
    result = run("-e", "X: t x n; W: n x m; Y: t x m; J = 1/2*||X*W - Y||^2", "--wrt", "W",
                 "--ascii")
    assert result.stdout.strip() == "dJ/dW = X'*(X*W - Y)"


def test_default_wrt_skips_data(capsys: object) -> None:
    assert main(["examples/single_layer.mg"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "∂J/∂W" in out and "∂J/∂b" in out and "∂J/∂X" not in out


def test_wrt_overrides_the_program() -> None:
    result = run("examples/single_layer.mg", "--wrt", "X")
    assert result.returncode == 0
    assert result.stdout.startswith("∂J/∂X = ((Z − Y) ⊙ f′(A)) Wᵀ")


def test_help_has_examples() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "examples:" in result.stdout and "--steps" in result.stdout


def test_stdin() -> None:
    result = subprocess.run([sys.executable, "-m", "matgrad.cli", "-"], input="W: n x m\n"
                            "J = sum(W .* W)", capture_output=True, text=True, check=False,
                            encoding="utf-8")
    assert result.stdout.strip() == "∂J/∂W = 2W"


def test_numpy_and_check_both_take_effect() -> None:
    result = run("examples/single_layer.mg", "--numpy", "--check", "--bind", "f=tanh")
    assert result.returncode == 0, result.stderr
    assert "def value_and_grad(" in result.stdout
    assert result.stdout.rstrip().endswith("passed")


def test_check_with_latex_prints_both() -> None:
    result = run("-e", "X: n x m; J = sum(sqrt(X .* X + 1) .* X)", "--latex", "--check")
    assert result.returncode == 0, result.stderr
    assert "\\begin{align*}" in result.stdout and result.stdout.rstrip().endswith("passed")


@pytest.mark.parametrize(("flags", "message"), [
    (["--latex", "--numpy"], "--numpy and --latex choose different outputs"),
    (["--pdf", "out.pdf", "--numpy"], "choose different outputs"),
    (["--standalone"], "--standalone belongs to --latex"),
    (["--numpy", "--steps"], "--steps change the printed gradients"),
    (["--latex", "--ascii"], "--ascii change the printed gradients"),
    (["--pdf", "out.pdf", "-o", "x.tex"], "leave out -o"),
])
def test_flags_that_cannot_combine_are_refused(flags: list[str], message: str) -> None:
    result = run("examples/single_layer.mg", *flags)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
