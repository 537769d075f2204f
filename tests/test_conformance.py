"""Conformance: scalar objectives of the Matrix Cookbook and matrixcalculus.org, each checked
against central differences and, where the source gives one, against its closed form.
SPD / positive inputs are declared, and the numerical check samples accordingly."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_gradients_match, derived_gradients, random_inputs, random_sizes

import matgrad

inv = np.linalg.inv
TRACES = "Matrix Cookbook, derivatives of traces"
INVERSES = "Matrix Cookbook, derivatives of inverses"
DETS = "Matrix Cookbook, derivatives of determinants"
FORMS = "Matrix Cookbook, linear and quadratic forms"
NORMS = "Matrix Cookbook, derivatives of norms"

# name: (program, parameter, closed form of the gradient or None, source)
OBJECTIVES: dict[str, tuple[str, str, object, str]] = {
    "tr(X)": ("X: n x n\nJ = tr(X)", "X", lambda v: np.eye(len(v["X"])), TRACES),
    "tr(AX)": ("A: n x n; X: n x n\nJ = tr(A*X)", "X", lambda v: v["A"].T, TRACES),
    "tr(XA)": ("A: n x n; X: n x n\nJ = tr(X*A)", "X", lambda v: v["A"].T, TRACES),
    "tr(AXB)": ("A: m x n; X: n x p; B: p x m\nJ = tr(A*X*B)", "X",
                lambda v: v["A"].T @ v["B"].T, TRACES),
    "tr(AX'B)": ("A: m x p; X: n x p; B: n x m\nJ = tr(A*X'*B)", "X",
                 lambda v: v["B"] @ v["A"], TRACES),
    "tr(X'X)": ("X: n x m\nJ = tr(X'*X)", "X", lambda v: 2 * v["X"], TRACES),
    "tr(X'AX)": ("A: n x n; X: n x m\nJ = tr(X'*A*X)", "X",
                 lambda v: (v["A"] + v["A"].T) @ v["X"], TRACES),
    "tr(XAX')": ("A: m x m; X: n x m\nJ = tr(X*A*X')", "X",
                 lambda v: v["X"] @ (v["A"] + v["A"].T), TRACES),
    "tr(AXX')": ("A: n x n; X: n x m\nJ = tr(A*X*X')", "X",
                 lambda v: (v["A"] + v["A"].T) @ v["X"], TRACES),
    "tr(X'BXC)": ("B: n x n; C: m x m; X: n x m\nJ = tr(X'*B*X*C)", "X",
                  lambda v: v["B"] @ v["X"] @ v["C"] + v["B"].T @ v["X"] @ v["C"].T,
                  TRACES),
    "tr(X^2)": ("X: n x n\nJ = tr(X*X)", "X", lambda v: 2 * v["X"].T, TRACES),
    "tr(inv(X)A)": ("A: n x n; X: n x n, spd\nJ = tr(inv(X)*A)", "X",
                    lambda v: -inv(v["X"]).T @ v["A"].T @ inv(v["X"]).T, INVERSES),
    "a'inv(X)b": ("a: n x 1; b: n x 1; X: n x n, spd\nJ = a'*inv(X)*b", "X",
                  lambda v: -inv(v["X"]).T @ v["a"] @ v["b"].T @ inv(v["X"]).T,
                  INVERSES),
    "det(X)": ("X: n x n, spd\nJ = det(X)", "X",
               lambda v: np.linalg.det(v["X"]) * inv(v["X"]).T, DETS),
    "logdet(X)": ("X: n x n, spd\nJ = logdet(X)", "X", lambda v: inv(v["X"]).T,
                  DETS),
    "det(AXB)": ("A: n x n; B: n x n; X: n x n, spd\nJ = det(A*X*B)", "X",
                 lambda v: np.linalg.det(v["A"] @ v["X"] @ v["B"]) * inv(v["X"]).T,
                 DETS),
    "logdet(X'X)": ("X: n x n, spd\nJ = logdet(X'*X)", "X", lambda v: 2 * inv(v["X"]).T,
                    DETS),
    "a'Xb": ("a: n x 1; b: m x 1; X: n x m\nJ = a'*X*b", "X", lambda v: v["a"] @ v["b"].T,
             FORMS),
    "a'X'b": ("a: m x 1; b: n x 1; X: n x m\nJ = a'*X'*b", "X", lambda v: v["b"] @ v["a"].T,
              FORMS),
    "a'Xa": ("a: n x 1; X: n x n\nJ = a'*X*a", "X", lambda v: v["a"] @ v["a"].T,
             FORMS),
    "b'X'Xc": ("b: m x 1; c: m x 1; X: n x m\nJ = b'*X'*X*c", "X",
               lambda v: v["X"] @ (v["b"] @ v["c"].T + v["c"] @ v["b"].T), FORMS),
    "x'Bx": ("x: n x 1; B: n x n\nJ = x'*B*x", "x", lambda v: (v["B"] + v["B"].T) @ v["x"],
             FORMS),
    "(Ax+b)'C(Dx+e)": ("A: m x n; x: n x 1; b: m x 1; C: m x p; D: p x n; e: p x 1\n"
                       "J = (A*x + b)'*C*(D*x + e)", "x",
                       lambda v: v["D"].T @ v["C"].T @ (v["A"] @ v["x"] + v["b"])
                       + v["A"].T @ v["C"] @ (v["D"] @ v["x"] + v["e"]), FORMS),
    "b'X'DXc": ("b: m x 1; c: m x 1; D: n x n; X: n x m\nJ = b'*X'*D*X*c", "X",
                lambda v: v["D"].T @ v["X"] @ v["b"] @ v["c"].T
                + v["D"] @ v["X"] @ v["c"] @ v["b"].T, FORMS),
    "||x||^2": ("x: n x 1\nJ = ||x||^2", "x", lambda v: 2 * v["x"], NORMS),
    "||x||": ("x: n x 1\nJ = norm2(x)", "x", lambda v: v["x"] / np.linalg.norm(v["x"]),
              NORMS),
    "||X||_F^2": ("X: n x m\nJ = ||X||^2", "X", lambda v: 2 * v["X"], NORMS),
    "least squares": ("A: m x n; x: n x 1; b: m x 1\nJ = ||A*x - b||^2", "x",
                      lambda v: 2 * v["A"].T @ (v["A"] @ v["x"] - v["b"]),
                      "matrixcalculus.org"),
    "ridge": ("A: m x n; x: n x 1; b: m x 1; lam: scalar\nJ = ||A*x - b||^2 + lam*x'*x", "x",
              lambda v: 2 * v["A"].T @ (v["A"] @ v["x"] - v["b"]) + 2 * v["lam"] * v["x"],
              "matrixcalculus.org"),
    "matrix least squares": ("X: t x n; W: n x m; Y: t x m\nJ = 1/2*||X*W - Y||^2", "W",
                             lambda v: v["X"].T @ (v["X"] @ v["W"] - v["Y"]),
                             "the guide (2)"),
    "sum of entries": ("X: n x m\nJ = sum(X)", "X", lambda v: np.ones_like(v["X"]),
                       "matrixcalculus.org"),
    "1'X1": ("X: n x m\nJ = 1'*X*ones(m, 1)", "X", lambda v: np.ones_like(v["X"]),
             "matrixcalculus.org"),
    "sum(exp(X))": ("X: n x m\nJ = sum(exp(X))", "X", lambda v: np.exp(v["X"]),
                    "matrixcalculus.org"),
    "sum(log(X))": ("X: n x m, positive\nJ = sum(log(X))", "X", lambda v: 1 / v["X"],
                    "matrixcalculus.org"),
    "x'*A*x / x'*x": ("x: n x 1; A: n x n\nJ = (x'*A*x) / (x'*x)", "x", None,
                      "Rayleigh quotient"),
    "logistic regression": ("X: t x n, data; y: t x 1, data; w: n x 1\n"
                            "J = sum(softplus(X*w)) - y'*X*w", "w",
                            lambda v: v["X"].T @ (1 / (1 + np.exp(-v["X"] @ v["w"])) - v["y"]),
                            "matrixcalculus.org"),
    "Gaussian log-likelihood": ("S: n x n, spd; x: n x 1, data\n"
                                "J = 1/2*logdet(S) + 1/2*x'*inv(S)*x", "S",
                                lambda v: 0.5 * inv(v["S"]).T - 0.5 * inv(v["S"]).T @ v["x"]
                                @ v["x"].T @ inv(v["S"]).T, DETS),
    "tr(A inv(X) B)": ("A: n x n; B: n x n; X: n x n, spd\nJ = tr(A*inv(X)*B)", "X",
                       lambda v: -inv(v["X"]).T @ v["A"].T @ v["B"].T @ inv(v["X"]).T,
                       INVERSES),
    "hadamard quadratic": ("A: n x m; X: n x m\nJ = sum(A .* X .* X)", "X",
                           lambda v: 2 * v["A"] * v["X"], "matrixcalculus.org"),
    "Frobenius product": ("A: n x m; X: n x m\nJ = <A, X>", "X", lambda v: v["A"],
                          "the guide (17)"),
    "elementwise division": ("A: n x m; X: n x m, positive\nJ = sum(A ./ X)", "X",
                             lambda v: -v["A"] / v["X"] ** 2, "matrixcalculus.org"),
    "tr(X^3)": ("X: n x n\nJ = tr(X^3)", "X", lambda v: 3 * (v["X"] @ v["X"]).T, TRACES),
    "sum(X.^3)": ("X: n x m\nJ = sum(X .^ 3)", "X", lambda v: 3 * v["X"] ** 2,
                  "matrixcalculus.org"),
    "norm1": ("X: n x m\nJ = norm1(X)", "X", lambda v: np.sign(v["X"]), NORMS),
    "a'X^-1 b": ("a: n x 1; b: n x 1; X: n x n, spd\nJ = a'*X^-1*b", "X",
                 lambda v: -inv(v["X"]).T @ v["a"] @ v["b"].T @ inv(v["X"]).T, INVERSES),
    "sum(X.^(1/2))": ("X: n x m, positive\nJ = sum(X .^ 0.5)", "X",
                      lambda v: 0.5 / np.sqrt(v["X"]), "matrixcalculus.org"),
    "<A, X.^(3/2)>": ("A: n x m; X: n x m, positive\nJ = <A, X .^ 1.5>", "X",
                      lambda v: 1.5 * v["A"] * np.sqrt(v["X"]), "matrixcalculus.org"),
    "sum(X.^-1)": ("X: n x m, positive\nJ = sum(X .^ -1)", "X", lambda v: -v["X"] ** -2.0,
                   "matrixcalculus.org"),
    "p-norm^p, p = 3/2": ("x: n x 1\nJ = sum(abs(x) .^ 1.5)", "x",
                          lambda v: 1.5 * np.sqrt(np.abs(v["x"])) * np.sign(v["x"]), NORMS),
    "softmax NLL, one-hot": ("X: t x n, data; W: n x m; Y: t x m, data, onehot\n"
                             "J = -1/t * sum(Y .* log(softmax(X*W)))", "W",
                             lambda v: v["X"].T @ (np.exp(v["X"] @ v["W"]) / np.exp(
                                 v["X"] @ v["W"]).sum(axis=1, keepdims=True) - v["Y"])
                             / len(v["X"]), "the guide (26)"),
    "softmax cross-entropy": ("X: t x n, data; W: n x m; Y: t x m, data\n"
                              "J = sum(logsumexp(X*W)) - <Y, X*W>", "W", None,
                              "the guide (26)"),
}


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_conformance(name: str) -> None:
    source, parameter, closed_form, _ = OBJECTIVES[name]
    derivation = matgrad.derive(source, [parameter])
    assert_gradients_match(derivation, seed=4, rtol=1e-5)
    assert matgrad.check(derivation, seed=4).passed
    if closed_form is not None:
        rng = np.random.default_rng(9)
        sizes = random_sizes(derivation.program, rng)
        values = random_inputs(derivation.program, sizes, rng)
        ours = derived_gradients(derivation, values, sizes)[parameter]
        expected = closed_form(values)
        if parameter in derivation.program.symmetric:
            # The Cookbook's forms are for an unconstrained X; on the symmetric matrices the
            # gradient is their projection, (G + Gᵀ)/2 (docs/language.md).
            expected = (expected + expected.T) / 2
        np.testing.assert_allclose(ours, expected, rtol=1e-8, atol=1e-10,
                                   err_msg=f"{name}: differs from {OBJECTIVES[name][3]}")


def test_at_least_forty_objectives() -> None:
    assert len(OBJECTIVES) >= 40


@pytest.mark.parametrize(("source", "expected"), [
    ("A: m x n; X: n x p; B: p x m\nJ = tr(A*X*B)", "AᵀBᵀ"),
    ("X: n x n; A: n x n\nJ = tr(X'*A*X)", "(A + Aᵀ) X"),
    ("X: n x n, spd\nJ = logdet(X)", "X⁻¹"),
    ("A: m x n; x: n x 1; b: m x 1\nJ = ||A*x - b||^2", "2Aᵀ(A x − b)"),
])
def test_textbook_forms(source: str, expected: str) -> None:
    derivation = matgrad.derive(source, ["x" if "x:" in source else "X"])
    assert str(next(iter(derivation.gradients.values()))) == expected


def test_an_operation_without_a_rule_says_so() -> None:
    rules = matgrad.rewrite.rules.load_rules()
    reduced = matgrad.rewrite.rules.RuleSet(tuple(r for r in rules.rules if r.name != "d-det"))
    with pytest.raises(matgrad.UnsupportedError, match=r"no rule for d\(det\(X\)\) yet"):
        matgrad.derive("X: n x n\nJ = det(X)", rules=reduced)
