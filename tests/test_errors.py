"""Bad input gets one clear paragraph (what, where, how to fix): a MatgradError subclass from
the API, the message and exit status 2 from the CLI, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import matgrad
from matgrad.rewrite.rules import RuleSet, load_rules


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "matgrad.cli", *args], capture_output=True,
                          text=True, input=stdin, check=False, encoding="utf-8")


def test_syntax_error_points_at_the_token() -> None:
    with pytest.raises(matgrad.MatgradSyntaxError) as info:
        matgrad.derive("X: t x n\nJ = sum(X *) + 1")
    message = str(info.value)
    assert "line 2, column 12" in message
    assert "unexpected ')'" in message
    assert "Expected" in message and "a name" in message
    assert message.splitlines()[-2:] == ["    J = sum(X *) + 1", "               ^"]


def test_unbalanced_brackets() -> None:
    with pytest.raises(matgrad.MatgradSyntaxError, match="end of input"):
        matgrad.derive("J = sum((X)")


def test_unexpected_character() -> None:
    with pytest.raises(matgrad.MatgradSyntaxError, match="unexpected character '\\$'"):
        matgrad.derive("J = sum(X $ Y)")


def test_shape_mismatch_names_operator_and_shapes() -> None:
    with pytest.raises(matgrad.ShapeError) as info:
        matgrad.derive("X: t x n; W: m x k\nJ = sum(X*W)")
    message = str(info.value)
    assert message.startswith("X*W: matrix product of (t×n)·(m×k): inner dimensions n and m "
                              "differ")
    assert "line 2" in message


def test_elementwise_mismatch() -> None:
    with pytest.raises(matgrad.ShapeError, match=r"A \+ B: sum of \(t×n\) and \(m×n\)"):
        matgrad.derive("A: t x n; B: m x n\nJ = sum(A + B)")


def test_non_scalar_objective() -> None:
    with pytest.raises(matgrad.ShapeError, match="objective J is t×n, not a scalar"):
        matgrad.derive("X: t x n\nJ = 2 * X")


def test_unknown_wrt_symbol() -> None:
    with pytest.raises(matgrad.UsageError, match=r"with respect to 'Q'.*free symbols are: W"):
        matgrad.derive("W: n x m\nJ = sum(W)", wrt=["Q"])


def test_wrt_a_let_binding() -> None:
    with pytest.raises(matgrad.UsageError, match="defined by a let-binding"):
        matgrad.derive("W: n x m\nZ = 2*W\nJ = sum(Z)", wrt=["Z"])


def test_empty_program() -> None:
    with pytest.raises(matgrad.UsageError, match="defines no objective"):
        matgrad.derive("# nothing here\n")


def test_use_before_definition() -> None:
    with pytest.raises(matgrad.UsageError, match="used before it is defined"):
        matgrad.derive("J = sum(Z)\nZ = 2*W")


def test_missing_rule_is_an_error_not_a_wrong_gradient() -> None:
    # Without the product rules for ⊙, d(A ⊙ B) has no rule: matgrad must say so.
    rules = load_rules()
    reduced = RuleSet(tuple(r for r in rules.rules if not r.name.startswith("d-hadamard")))
    with pytest.raises(matgrad.UnsupportedError, match=r"no rule for d\(W ⊙ W\) yet"):
        matgrad.derive("W: n x m\nJ = sum(W .* W)", rules=reduced)


@pytest.mark.parametrize(("source", "needle"), [
    ("P: n x m; X: n x m\nJ = sum(X .^ P)", "must be a scalar"),  # a varying exponent
    ("X: n x m\nJ = sum(X^(1/2))", "matrix power"),              # a root of a non-square
    ("X: n x m\nJ = sum(X^2)", "matrix power"),                  # not square
])
def test_unsupported_is_said_not_wrong(source: str, needle: str) -> None:
    with pytest.raises(matgrad.UnsupportedError, match=needle):
        matgrad.derive(source)


def test_errors_are_matgrad_errors() -> None:
    for cls in (matgrad.MatgradSyntaxError, matgrad.ShapeError, matgrad.UnsupportedError,
                matgrad.UsageError):
        assert issubclass(cls, matgrad.MatgradError)


@pytest.mark.parametrize(("args", "stdin", "needle"), [
    (["-e", "J = (X"], None, "syntax error"),
    (["-e", "X: t x n; W: m x k; J = sum(X*W)"], None, "inner dimensions n and m differ"),
    (["-e", "W: n x m; J = sum(W)", "--wrt", "Q"], None, "cannot differentiate"),
    (["-e", "X: t x n; J = X"], None, "not a scalar"),
    (["no/such/file.mg"], None, "no such file"),
    (["."], None, "is a directory"),
    ([], None, "no program given"),
    (["-"], "J = = 1", "syntax error"),
])
def test_cli_errors_exit_2_without_traceback(args: list[str], stdin: str | None,
                                             needle: str) -> None:
    result = cli(*args, stdin=stdin)
    assert result.returncode == 2
    assert result.stderr.startswith("matgrad: error:")
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_rejects_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.mg"
    path.write_bytes("J = sum(W) # caf\xe9".encode("latin-1"))
    result = cli(str(path))
    assert result.returncode == 2
    assert "not UTF-8" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(("source", "advice", "not_said"), [
    # MATLAB's A / X is A X⁻¹, not an elementwise division
    ("A: n x n; X: n x n; J = sum(A / X)", "write A \\* inv\\(X\\); to divide elementwise", None),
    ("x: n x 1; J = sum(max(x, 0))", "max\\(x, 0\\) is relu\\(x\\)", "softmax"),
    ("x: n x 1; J = sum(min(x, 0))", "min\\(x, 0\\) is −relu\\(−x\\)", "did you mean"),
    # the matrix functions of a non-square matrix: the elementwise function is named
    ("X: n x m; J = sum(expm(X))", "for the function of each entry write exp", "did you mean"),
])
def test_near_misses_get_advice_that_is_right(source: str, advice: str,
                                              not_said: str | None) -> None:
    with pytest.raises(matgrad.MatgradError, match=advice) as info:
        matgrad.derive(source)
    assert not_said is None or not_said not in str(info.value)
    result = cli("-e", source)
    assert result.returncode == 2 and "Traceback" not in result.stderr
