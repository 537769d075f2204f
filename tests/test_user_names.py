"""Compiled functions take the names the program declared: a Python keyword (`lambda`) through
`**kwargs` as well as its documented spelling (`lambda_`), a Greek letter as itself (`α=`) or
spelled out (`alpha=`), the arguments keyed like the gradients; two declared names that Python
spells alike (α and alpha) are refused instead of one silently taking the other's value."""

from __future__ import annotations

import numpy as np
import pytest

import matgrad

RIDGE = "A: t x n, data; b: t x 1, data; x: n x 1; lambda: scalar, data\n" \
        "J = ||A*x - b||^2 + lambda*x'*x"


def test_a_keyword_is_taken_by_its_own_name_and_its_spelling() -> None:
    function = matgrad.derive(RIDGE).compile()
    rng = np.random.default_rng(0)
    A, b, x = rng.normal(size=(4, 3)), rng.normal(size=(4, 1)), rng.normal(size=(3, 1))
    by_name = function(A=A, b=b, x=x, **{"lambda": 0.3})
    by_spelling = function(A=A, b=b, x=x, lambda_=0.3)
    expected = float(np.sum((A @ x - b) ** 2) + 0.3 * np.sum(x * x))
    assert by_name[0] == pytest.approx(expected) and by_spelling[0] == pytest.approx(expected)
    np.testing.assert_allclose(by_name[1]["x"], by_spelling[1]["x"])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_arguments_and_gradient_keys_are_the_declared_names(backend: str) -> None:
    pytest.importorskip(backend)
    derivation = matgrad.derive("α: scalar; W: n x n; J = α*sum(W .* W)")
    function = derivation.compile(backend=backend)
    W = np.ones((2, 2))
    if backend == "torch":
        import torch  # noqa: PLC0415 - an optional backend, imported where it is tested
        W = torch.ones((2, 2), dtype=torch.float64)
    value, gradients = function(**{"α": 2.0, "W": W})
    assert set(gradients) == {"α", "W"}
    assert float(value) == pytest.approx(8.0)
    assert float(function(alpha=2.0, W=W)[0]) == pytest.approx(8.0)


@pytest.mark.parametrize(("declarations", "first", "second"), [
    ("α: scalar; alpha: scalar", "α", "alpha"),
    ("lambda: scalar; lambda_: scalar", "lambda", "lambda_"),
])
def test_names_python_spells_alike_are_refused(declarations: str, first: str,
                                               second: str) -> None:
    derivation = matgrad.derive(f"{declarations}; W: n x n\n"
                                f"J = {first}*sum(W) + {second}*sum(W .* W)")
    with pytest.raises(matgrad.MatgradError, match=f"'{first}' and '{second}' are both"):
        derivation.compile()


def test_most_names_need_no_wrapper() -> None:
    # The declared names are the arguments: the generated function itself, with no cost.
    function = matgrad.derive("X: n x m; W: n x m; J = <X, W>").compile()
    assert function.__name__ == "value_and_grad" and not hasattr(function, "__wrapped__")
