"""A corpus of objectives that users bring, each with an independent NumPy reference.

Written from matrixcalculus.org's documented examples, the Matrix Cookbook (Petersen &
Pedersen, 2012) and the losses of machine learning (regression, classification, attention,
normalisation, likelihoods, factorisation, networks written inline and with names), in the
notations people type: ASCII and Unicode, `||·||` and `‖·‖`, subscripted norms, `X^T`.

Each reference is called with the generated function's argument names (α as alpha), so
lambdas stand even where a helper would do (ruff's PLW0108 is off for this file).  Each
reference is the objective written by hand in NumPy from its textbook definition, never
from matgrad's output; test_corpus.py checks that matgrad's value equals it (so the input was
read as meant) and that matgrad's gradients equal its central differences.  Entries with
`refused` are inputs that must get a clear MatgradError instead of a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

MCO = "matrixcalculus.org"
COOKBOOK = "Matrix Cookbook"
ML = "machine learning"
NOTATION = "notation"


@dataclass(frozen=True)
class Case:
    label: str
    source: str
    reference: Callable[..., float] | None
    origin: str
    bind: dict[str, str] = field(default_factory=dict)
    positive: tuple[str, ...] = ()  # inputs the reference's domain needs positive
    refused: str | None = None      # a regex the refusal's message must match


def s(value: object) -> float:
    """A 1×1 result as a float."""
    return float(np.asarray(value).item())


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def softmax_rows(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def logsumexp_rows(x: np.ndarray) -> np.ndarray:
    peak = x.max(axis=1, keepdims=True)
    return peak + np.log(np.exp(x - peak).sum(axis=1, keepdims=True))


def softplus(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(x))


inv, det, tr = np.linalg.inv, np.linalg.det, np.trace


def fro2(x: np.ndarray) -> float:
    return float((x * x).sum())


def norm(x: np.ndarray) -> float:
    return float(np.sqrt((x * x).sum()))


def logdet(x: np.ndarray) -> float:
    return float(np.linalg.slogdet(x)[1])


CASES: list[Case] = [
    # ---- matrixcalculus.org -----------------------------------------------------------------
    Case("quadratic form", "x: n x 1; A: n x n\nJ = x'*A*x", lambda x, A: s(x.T @ A @ x), MCO),
    Case("exp quadratic", "x: n x 1; A: n x n, data\nJ = exp(x)'*A*exp(x)",
         lambda x, A: s(np.exp(x).T @ A @ np.exp(x)), MCO),
    Case("logistic loss (mco)", "X: t x n, data; y: t x 1, data; w: n x 1\n"
         "J = sum(log(exp(-y .* (X*w)) + 1))",
         lambda X, y, w: s(np.log(np.exp(-y * (X @ w)) + 1).sum()), MCO),
    Case("least squares + l1", "X: t x n, data; y: t x 1, data; w: n x 1; lambda: scalar, data\n"
         "J = norm2(X*w - y)^2 + lambda*norm1(w)",
         lambda X, y, w, lambda_: s(fro2(X @ w - y) + lambda_ * np.abs(w).sum()), MCO),
    Case("scalar power", "a: scalar; b: scalar\nJ = a^b", lambda a, b: s(a ** b), MCO,
         positive=("a",)),
    Case("sin quadratic", "x: n x 1; A: n x n, data\nJ = sin(x)'*A*sin(x)",
         lambda x, A: s(np.sin(x).T @ A @ np.sin(x)), MCO),
    Case("trace of XAX'", "X: n x m; A: m x m, data\nJ = tr(X*A*X')",
         lambda X, A: s(tr(X @ A @ X.T)), MCO),
    Case("det", "X: n x n, spd\nJ = det(X)", lambda X: s(det(X)), MCO),
    Case("logdet", "X: n x n, spd\nJ = log(det(X))", lambda X: logdet(X), MCO),
    Case("inverse bilinear", "X: n x n, spd; a: n x 1, data; b: n x 1, data\nJ = a'*inv(X)*b",
         lambda X, a, b: s(a.T @ inv(X) @ b), MCO),
    Case("norm to a power", "X: t x n, data; w: n x 1; p: scalar\nJ = norm2(X*w)^p",
         lambda X, w, p: s(norm(X @ w) ** p), MCO),
    Case("sum of exp", "A: n x n, data; x: n x 1\nJ = sum(exp(A*x))",
         lambda A, x: s(np.exp(A @ x).sum()), MCO),
    Case("tanh quadratic", "x: n x 1; A: n x n, data\nJ = tanh(x)'*A*x",
         lambda x, A: s(np.tanh(x).T @ A @ x), MCO),
    Case("elementwise power", "X: n x m; p: scalar\nJ = sum(X .^ p)",
         lambda X, p: s((X ** p).sum()), MCO, positive=("X",)),
    Case("log of quadratic", "x: n x 1; A: n x n, spd\nJ = log(x'*A*x)",
         lambda x, A: s(np.log(x.T @ A @ x)), MCO),
    # ---- Matrix Cookbook ----------------------------------------------------------------------
    Case("tr(AXB)", "A: m x n; X: n x p; B: p x m\nJ = tr(A*X*B)",
         lambda A, X, B: s(tr(A @ X @ B)), COOKBOOK),
    Case("tr(X'BXC)", "B: n x n, data; C: m x m, data; X: n x m\nJ = tr(X'*B*X*C)",
         lambda B, C, X: s(tr(X.T @ B @ X @ C)), COOKBOOK),
    Case("tr(X^2)", "X: n x n\nJ = tr(X*X)", lambda X: s(tr(X @ X)), COOKBOOK),
    Case("tr(X^3)", "X: n x n\nJ = tr(X^3)", lambda X: s(tr(X @ X @ X)), COOKBOOK),
    Case("tr(inv(X)A)", "A: n x n, data; X: n x n, spd\nJ = tr(inv(X)*A)",
         lambda A, X: s(tr(inv(X) @ A)), COOKBOOK),
    Case("tr(AX⁻¹B)", "A: m x n, data; X: n x n, spd; B: n x m, data\nJ = tr(A*X⁻¹*B)",
         lambda A, X, B: s(tr(A @ inv(X) @ B)), COOKBOOK),
    Case("det(AXB)", "A: n x n, data; B: n x n, data; X: n x n, spd\nJ = det(A*X*B)",
         lambda A, B, X: s(det(A @ X @ B)), COOKBOOK),
    Case("logdet(X'X)", "X: n x n, spd\nJ = logdet(X'*X)", lambda X: logdet(X.T @ X), COOKBOOK),
    Case("a'Xb", "a: n x 1, data; b: m x 1, data; X: n x m\nJ = a'*X*b",
         lambda a, b, X: s(a.T @ X @ b), COOKBOOK),
    Case("a'X'b", "a: m x 1, data; b: n x 1, data; X: n x m\nJ = a'*X'*b",
         lambda a, b, X: s(a.T @ X.T @ b), COOKBOOK),
    Case("b'X'Xc", "b: m x 1, data; c: m x 1, data; X: n x m\nJ = b'*X'*X*c",
         lambda b, c, X: s(b.T @ X.T @ X @ c), COOKBOOK),
    Case("(Xb+c)'D(Xb+c)", "X: n x m; b: m x 1, data; c: n x 1, data; D: n x n, data\n"
         "J = (X*b + c)'*D*(X*b + c)",
         lambda X, b, c, D: s((X @ b + c).T @ D @ (X @ b + c)), COOKBOOK),
    Case("affine form with d", "d: n x 1; x: n x 1, data\nJ = d'*x + x'*d",
         lambda d, x: s(2 * d.T @ x), COOKBOOK),
    Case("||X||_F^2", "X: n x m\nJ = ||X||_F^2", lambda X: fro2(X), COOKBOOK),
    Case("||x - a||_2", "x: n x 1; a: n x 1, data\nJ = ||x - a||_2",
         lambda x, a: norm(x - a), COOKBOOK),
    Case("tr(A X' X)", "A: m x m, data; X: n x m\nJ = tr(A*X'*X)",
         lambda A, X: s(tr(A @ X.T @ X)), COOKBOOK),
    Case("sum(diag(X))", "X: n x n\nJ = sum(diag(X) .* diag(X))",
         lambda X: s((np.diag(X) ** 2).sum()), COOKBOOK),
    Case("x'diag(a)x", "x: n x 1; a: n x 1, data\nJ = x'*diag(a)*x",
         lambda x, a: s(x.T @ np.diag(a[:, 0]) @ x), COOKBOOK),
    Case("det(X)^2", "X: n x n, spd\nJ = det(X)^2", lambda X: s(det(X) ** 2), COOKBOOK),
    Case("tr(X'X)^(1/2)", "X: n x m\nJ = tr(X'*X)^(1/2)", lambda X: norm(X), COOKBOOK),
    Case("rayleigh quotient", "x: n x 1; A: n x n, data\nJ = (x'*A*x)/(x'*x)",
         lambda x, A: s((x.T @ A @ x) / (x.T @ x)), COOKBOOK),
    Case("inverse quadratic", "X: n x n, spd; a: n x 1, data\nJ = a'*inv(X)*inv(X)*a",
         lambda X, a: s(a.T @ inv(X) @ inv(X) @ a), COOKBOOK),
    Case("mahalanobis", "x: n x 1; m: n x 1, data; S: n x n, spd, data\n"
         "J = (x - m)'*inv(S)*(x - m)",
         lambda x, m, S: s((x - m).T @ inv(S) @ (x - m)), COOKBOOK),
    Case("trace of inverse", "X: n x n, spd\nJ = tr(inv(X))", lambda X: s(tr(inv(X))), COOKBOOK),
    Case("frobenius inner", "A: n x m, data; X: n x m\nJ = <A, X .* X>",
         lambda A, X: s((A * X * X).sum()), COOKBOOK),
    # ---- machine learning -----------------------------------------------------------------
    Case("linear regression", "X: t x n, data; y: t x 1, data; w: n x 1\n"
         "J = 1/2 * ||X*w - y||^2", lambda X, y, w: 0.5 * fro2(X @ w - y), ML),
    Case("mean squared error", "X: t x n, data; y: t x 1, data; w: n x 1\n"
         "J = 1/t * ||X*w - y||^2", lambda X, y, w: fro2(X @ w - y) / X.shape[0], ML),
    Case("ridge", "X: t x n, data; y: t x 1, data; w: n x 1; lambda: scalar, data\n"
         "J = ||X*w - y||^2 + lambda * ||w||^2",
         lambda X, y, w, lambda_: s(fro2(X @ w - y) + lambda_ * fro2(w)), ML),
    Case("lasso", "X: t x n, data; y: t x 1, data; w: n x 1\n"
         "J = 1/2 * ||X*w - y||^2 + 0.1 * ||w||_1",
         lambda X, y, w: 0.5 * fro2(X @ w - y) + 0.1 * float(np.abs(w).sum()), ML),
    Case("elastic net", "X: t x n, data; y: t x 1, data; w: n x 1\n"
         "J = 1/2*||X*w - y||^2 + 0.3*norm1(w) + 0.2*||w||^2",
         lambda X, y, w: 0.5 * fro2(X @ w - y) + 0.3 * float(np.abs(w).sum()) + 0.2 * fro2(w),
         ML),
    Case("logistic regression (BCE)", "X: t x n, data; y: t x 1, data; w: n x 1\n"
         "J = -sum(y .* log(sigmoid(X*w)) + (1 - y) .* log(1 - sigmoid(X*w)))",
         lambda X, y, w: s(-(y * np.log(sigmoid(X @ w))
                            + (1 - y) * np.log(1 - sigmoid(X @ w))).sum()), ML),
    Case("logistic regression (softplus)", "X: t x n, data; y: t x 1, data; w: n x 1\n"
         "J = sum(softplus(X*w) - y .* (X*w))",
         lambda X, y, w: s((softplus(X @ w) - y * (X @ w)).sum()), ML),
    Case("logistic with bias", "X: t x n, data; y: t x 1, data; w: n x 1; c: scalar\n"
         "J = -1/t * sum(y .* log(sigmoid(X*w + c)) + (1 - y) .* log(1 - sigmoid(X*w + c)))",
         lambda X, y, w, c: s(-(y * np.log(sigmoid(X @ w + c)) + (1 - y)
                                * np.log(1 - sigmoid(X @ w + c))).sum() / X.shape[0]), ML),
    Case("softmax regression", "X: t x n, data; Y: t x m, data, onehot; W: n x m\n"
         "J = -1/t * sum(Y .* log(softmax(X*W)))",
         lambda X, Y, W: s(-(Y * np.log(softmax_rows(X @ W))).sum() / X.shape[0]), ML),
    Case("softmax regression with bias", "X: t x n, data; Y: t x m, data, onehot; W: n x m; "
         "b: 1 x m\nJ = -sum(Y .* log(softmax(X*W + b)))",
         lambda X, Y, W, b: s(-(Y * np.log(softmax_rows(X @ W + b))).sum()), ML),
    Case("softmax of a column (mco)", "W: m x n; x: n x 1, data; y: m x 1, data\n"
         "J = -y'*log(softmax(W*x))",
         lambda W, x, y: s(-(y.T @ np.log(softmax_rows((W @ x).T).T))), ML),
    Case("logsumexp of logits", "X: t x n, data; W: n x m\nJ = sum(logsumexp(X*W))",
         lambda X, W: s(logsumexp_rows(X @ W).sum()), ML),
    Case("poisson regression", "X: t x n, data; y: t x 1, data; w: n x 1\n"
         "J = sum(exp(X*w) - y .* (X*w))",
         lambda X, y, w: s((np.exp(X @ w) - y * (X @ w)).sum()), ML),
    Case("hinge loss", "X: t x n, data; y: t x 1, data; w: n x 1\n"
         "J = sum(relu(1 - y .* (X*w)))",
         lambda X, y, w: s(np.maximum(1 - y * (X @ w), 0).sum()), ML),
    Case("squared hinge + l2", "X: t x n, data; y: t x 1, data; w: n x 1\n"
         "J = ||relu(1 - y .* (X*w))||^2 + 0.5*||w||^2",
         lambda X, y, w: fro2(np.maximum(1 - y * (X @ w), 0)) + 0.5 * fro2(w), ML),
    Case("single layer (guide)", "X: t x n, data; Y: t x m, data; W: n x m; b: 1 x m\n"
         "J = 1/2 * ||f(X*W + b) - Y||^2",
         lambda X, Y, W, b: 0.5 * fro2(np.tanh(X @ W + b) - Y), ML, bind={"f": "tanh"}),
    Case("single layer, unicode", "X: t × n, data; Y: t × m, data; W: n × m; b: 1 × m\n"
         "J = (1/2)‖tanh(X W + b) − Y‖²",
         lambda X, Y, W, b: 0.5 * fro2(np.tanh(X @ W + b) - Y), NOTATION),
    Case("two layers inline", "X: t x n, data; Y: t x m, data; W1: n x k; W2: k x m\n"
         "J = 1/2*||tanh(tanh(X*W1)*W2) - Y||^2",
         lambda X, Y, W1, W2: 0.5 * fro2(np.tanh(np.tanh(X @ W1) @ W2) - Y), ML),
    Case("two layers named", "X: t x n, data; Y: t x m, data; W1: n x k; W2: k x m\n"
         "A1 = X*W1; Z1 = tanh(A1); A2 = Z1*W2; Z2 = tanh(A2)\nJ = 1/2*||Z2 - Y||^2",
         lambda X, Y, W1, W2: 0.5 * fro2(np.tanh(np.tanh(X @ W1) @ W2) - Y), ML),
    Case("mlp relu + sigmoid with biases", "X: t x n, data; Y: t x m, data; W1: n x k; "
         "b1: 1 x k; W2: k x m; b2: 1 x m\n"
         "J = 1/(2*t) * ||sigmoid(relu(X*W1 + b1)*W2 + b2) - Y||^2",
         lambda X, Y, W1, b1, W2, b2: fro2(sigmoid(np.maximum(X @ W1 + b1, 0) @ W2 + b2) - Y)
         / (2 * X.shape[0]), ML),
    Case("mlp classifier inline", "X: t x n, data; Y: t x m, data, onehot; W1: n x k; "
         "W2: k x m\nJ = -1/t * sum(Y .* log(softmax(tanh(X*W1)*W2)))",
         lambda X, Y, W1, W2: s(-(Y * np.log(softmax_rows(np.tanh(X @ W1) @ W2))).sum()
                                / X.shape[0]), ML),
    Case("mlp with weight decay", "X: t x n, data; Y: t x m, data; W1: n x k; W2: k x m\n"
         "J = 1/2*||tanh(X*W1)*W2 - Y||^2 + 0.01*(||W1||^2 + ||W2||^2)",
         lambda X, Y, W1, W2: 0.5 * fro2(np.tanh(X @ W1) @ W2 - Y)
         + 0.01 * (fro2(W1) + fro2(W2)), ML),
    Case("residual layer", "X: t x n, data; Y: t x n, data; W: n x n\n"
         "J = 1/2*||X + tanh(X*W) - Y||^2",
         lambda X, Y, W: 0.5 * fro2(X + np.tanh(X @ W) - Y), ML),
    Case("gated layer", "X: t x n, data; Y: t x n, data; W: n x n; V: n x n\n"
         "J = 1/2*||tanh(X*W) .* sigmoid(X*V) - Y||^2",
         lambda X, Y, W, V: 0.5 * fro2(np.tanh(X @ W) * sigmoid(X @ V) - Y), ML),
    Case("tied autoencoder", "X: t x n, data; W: n x k\nJ = 1/2*||tanh(X*W)*W' - X||^2",
         lambda X, W: 0.5 * fro2(np.tanh(X @ W) @ W.T - X), ML),
    Case("linear autoencoder", "X: t x n, data; W: n x k; V: k x n\nJ = ||X*W*V - X||^2",
         lambda X, W, V: fro2(X @ W @ V - X), ML),
    Case("matrix factorisation", "X: n x m, data; U: n x k; V: m x k\n"
         "J = ||X - U*V'||^2 + 0.1*(||U||^2 + ||V||^2)",
         lambda X, U, V: fro2(X - U @ V.T) + 0.1 * (fro2(U) + fro2(V)), ML),
    Case("masked factorisation", "X: n x m, data; M: n x m, data; U: n x k; V: m x k\n"
         "J = ||M .* (X - U*V')||^2",
         lambda X, M, U, V: fro2(M * (X - U @ V.T)), ML),
    Case("nonnegative factorisation (KL-free)", "X: n x m, data; U: n x k; V: k x m\n"
         "J = 1/2*||X - exp(U)*exp(V)||_F^2",
         lambda X, U, V: 0.5 * fro2(X - np.exp(U) @ np.exp(V)), ML),
    Case("attention", "X: t x n, data; Wq: n x k; Wk: n x k; Wv: n x m; Y: t x m, data\n"
         "J = 1/2*||softmax(X*Wq*(X*Wk)')*X*Wv - Y||^2",
         lambda X, Wq, Wk, Wv, Y: 0.5 * fro2(softmax_rows(X @ Wq @ (X @ Wk).T) @ X @ Wv - Y),
         ML),
    Case("scaled attention, named", "X: t x n, data; Wq: n x k; Wk: n x k; Wv: n x m; "
         "Y: t x m, data\nQ = X*Wq; K = X*Wk; V = X*Wv\n"
         "P = softmax(Q*K'/sqrt(k))\nJ = 1/2*||P*V - Y||^2",
         lambda X, Wq, Wk, Wv, Y: 0.5 * fro2(softmax_rows(
             (X @ Wq) @ (X @ Wk).T / np.sqrt(Wq.shape[1])) @ (X @ Wv) - Y), ML),
    Case("layer norm (centred rows)", "X: t x n; G: n x n, data\n"
         "C = X - X*ones(n, n)/n\nJ = sum((C .* C)*G)",
         lambda X, G: s(((X - X.mean(axis=1, keepdims=True)) ** 2 @ G).sum()), ML),
    Case("layer norm (standardised rows)", "X: t x n; Y: t x n, data\n"
         "C = X - X*ones(n, n)/n\nV = (C .* C)*ones(n, 1)/n + 0.1\n"
         "J = 1/2*||C ./ sqrt(V) - Y||^2",
         lambda X, Y: 0.5 * fro2((X - X.mean(axis=1, keepdims=True))
                                 / np.sqrt(X.var(axis=1, keepdims=True) + 0.1) - Y), ML),
    Case("gaussian nll", "S: n x n, spd; C: n x n, data\nJ = 1/2*logdet(S) + 1/2*tr(inv(S)*C)",
         lambda S, C: 0.5 * logdet(S) + 0.5 * s(tr(inv(S) @ C)), ML),
    Case("gaussian nll of data", "X: t x n, data; mu: 1 x n; S: n x n, spd\n"
         "J = t/2*logdet(S) + 1/2*tr((X - mu)*inv(S)*(X - mu)')",
         lambda X, mu, S: X.shape[0] / 2 * logdet(S)
         + 0.5 * s(tr((X - mu) @ inv(S) @ (X - mu).T)), ML),
    Case("gaussian KL", "S: n x n, spd; P: n x n, spd, data; m: n x 1\n"
         "J = 1/2*(tr(inv(P)*S) + m'*inv(P)*m - logdet(S))",
         lambda S, P, m: 0.5 * (s(tr(inv(P) @ S) + m.T @ inv(P) @ m) - logdet(S)), ML),
    Case("cosine similarity", "x: n x 1; y: n x 1, data\nJ = x'*y / (||x|| * ||y||)",
         lambda x, y: s(x.T @ y) / (norm(x) * norm(y)), ML),
    Case("pca trace", "X: t x n, data; W: n x k\nJ = -tr(W'*X'*X*W) + ||W'*W - eye(k)||^2",
         lambda X, W: -s(tr(W.T @ X.T @ X @ W)) + fro2(W.T @ W - np.eye(W.shape[1])), ML),
    Case("kernel ridge dual", "K: t x t, spd, data; y: t x 1, data; a: t x 1\n"
         "J = 1/2*a'*K*a - a'*y",
         lambda K, y, a: s(0.5 * a.T @ K @ a - a.T @ y), ML),
    Case("smooth l1 (pseudo-huber)", "X: t x n, data; y: t x 1, data; w: n x 1\n"
         "J = sum(sqrt(1 + (X*w - y) .^ 2) - 1)",
         lambda X, y, w: s((np.sqrt(1 + (X @ w - y) ** 2) - 1).sum()), ML),
    Case("log-cosh loss", "X: t x n, data; y: t x 1, data; w: n x 1\n"
         "J = sum(log(cosh(X*w - y)))",
         lambda X, y, w: s(np.log(np.cosh(X @ w - y)).sum()), ML),
    Case("mean of squares", "x: n x 1\nJ = mean(x .* x)", lambda x: s((x * x).mean()), ML),
    Case("log1p penalty", "W: n x m\nJ = sum(log1p(W .* W))",
         lambda W: s(np.log1p(W * W).sum()), ML),
    Case("expm1 and arctan", "W: n x m\nJ = sum(expm1(W) .* arctan(W))",
         lambda W: s((np.expm1(W) * np.arctan(W)).sum()), ML),
    Case("trace alias", "X: n x n; A: n x n, data\nJ = trace(A*X) + trace(X'*X)",
         lambda X, A: s(tr(A @ X) + tr(X.T @ X)), ML),
    Case("norm alias of a vector", "x: n x 1\nJ = norm(x)^3", lambda x: norm(x) ** 3, ML),
    Case("declared abstract function", "act: function; X: t x n, data; W: n x m\n"
         "J = sum(act(X*W))", lambda X, W: s(np.sin(X @ W).sum()), ML, bind={"act": "sin"}),
    Case("indexed one-letter function", "X: t x n, data; W: n x m\nJ = sum(g1(X*W))",
         lambda X, W: s(np.cos(X @ W).sum()), ML, bind={"g1": "cos"}),
    # ---- the same objectives in other notations -----------------------------------------------
    Case("X^T", "X: n x m; A: n x m, data\nJ = tr(X^T*A)", lambda X, A: s(tr(X.T @ A)), NOTATION),
    Case("X.'", "X: n x m; A: n x m, data\nJ = tr(X.'*A)", lambda X, A: s(tr(X.T @ A)),
         NOTATION),
    Case("X⊤", "X: n x m; A: n x m, data\nJ = tr(X⊤ A)", lambda X, A: s(tr(X.T @ A)), NOTATION),
    Case("transpose()", "X: n x m; A: n x m, data\nJ = tr(transpose(X)*A)",
         lambda X, A: s(tr(X.T @ A)), NOTATION),
    Case("juxtaposed quadratic", "x: n x 1; A: n x n\nJ = xᵀA x", lambda x, A: s(x.T @ A @ x),
         NOTATION),
    Case("Φθ with a space", "Φ: t x n, data; θ: n x 1; y: t x 1, data\nJ = ‖Φ θ − y‖²",
         lambda Phi, theta, y: fro2(Phi @ theta - y), NOTATION),
    Case("(1/2)‖·‖²", "Z: t x m; Y: t x m, data\nJ = (1/2)‖Z − Y‖²",
         lambda Z, Y: 0.5 * fro2(Z - Y), NOTATION),
    Case("(1/2)||·||^2", "Z: t x m; Y: t x m, data\nJ = (1/2)||Z - Y||^2",
         lambda Z, Y: 0.5 * fro2(Z - Y), NOTATION),
    Case("2‖X‖²", "X: n x m\nJ = 2‖X‖²", lambda X: 2 * fro2(X), NOTATION),
    Case("‖x‖₁", "x: n x 1\nJ = ‖x‖₁", lambda x: float(np.abs(x).sum()), NOTATION),
    Case("||x||_2^2", "x: n x 1\nJ = ||x||_2^2", lambda x: fro2(x), NOTATION),
    Case("‖X‖_F²", "X: n x m\nJ = ‖X‖_F²", lambda X: fro2(X), NOTATION),
    Case("product of norms", "x: n x 1; y: n x 1\nJ = ‖x‖‖y‖",
         lambda x, y: norm(x) * norm(y), NOTATION),
    Case("X⁻¹ᵀ", "X: n x n, spd; a: n x 1, data\nJ = a'*X⁻¹ᵀ*a",
         lambda X, a: s(a.T @ inv(X).T @ a), NOTATION),
    Case("X⁻ᵀ", "X: n x n, spd; a: n x 1, data\nJ = a'*X⁻ᵀ*a",
         lambda X, a: s(a.T @ inv(X).T @ a), NOTATION),
    Case("X^-1", "X: n x n, spd; a: n x 1, data\nJ = a'*X^-1*a",
         lambda X, a: s(a.T @ inv(X) @ a), NOTATION),
    Case("<A, B> frobenius", "X: n x m; A: n x m, data\nJ = <A, X> + A : X",
         lambda X, A: 2 * s((A * X).sum()), NOTATION),
    Case("1ᵀ column sums", "X: t x n\nJ = sum(1'*X .* (1'*X))",
         lambda X: s((X.sum(axis=0) ** 2).sum()), NOTATION),
    Case("ascii hadamard and division", "X: n x m; Y: n x m, positive\nJ = sum(X .* X ./ Y)",
         lambda X, Y: s((X * X / Y).sum()), NOTATION, positive=("Y",)),
    Case("unicode hadamard", "X: n x m; Y: n x m, data\nJ = sum(X ⊙ Y ⊙ X)",
         lambda X, Y: s((X * X * Y).sum()), NOTATION),
    Case("scalar juxtaposed", "x: n x 1\nJ = 3 x'*x", lambda x: 3 * s(x.T @ x), NOTATION),
    Case("byte order mark", "\ufeffx: n x 1\nJ = x'*x", lambda x: s(x.T @ x), NOTATION),
    Case("d and of as names", "d: n x 1; of: n x 1, data\nJ = d'*of",
         lambda d, of: s(d.T @ of), NOTATION),
    Case("greek names", "α: scalar; β: n x 1\nJ = α * β'*β",
         lambda alpha, beta: s(alpha * (beta.T @ beta)), NOTATION),
    Case("ln alias", "X: n x m, positive\nJ = sum(ln(X))", lambda X: s(np.log(X).sum()),
         NOTATION, positive=("X",)),
    Case("objective named by of", "W: n x m\nL = sum(W .* W)\nM = sum(W)\nof L",
         lambda W: fro2(W), NOTATION),
    # ---- refused: never a guess ---------------------------------------------------------------
    Case("names run together", "x: n x 1; A: n x n\nJ = xᵀAx", None, NOTATION,
         refused="written together.*`A x`"),
    Case("Φθ run together", "Φ: t x n; θ: n x 1; y: t x 1\nJ = ‖Φθ − y‖²", None, NOTATION,
         refused="written together"),
    Case("XW run together", "X: t x n; W: n x m\nJ = sum(XW)", None, NOTATION,
         refused="`X W` or `X\\*W`"),
    Case("typo tanhh", "X: n x m\nJ = sum(tanhh(X))", None, ML,
         refused="did you mean tanh"),
    Case("typo summ", "X: n x m\nJ = summ(X)", None, ML, refused="did you mean sum"),
    Case("typo sigmod", "X: n x m\nJ = sum(sigmod(X))", None, ML,
         refused="did you mean sigmoid"),
    Case("unknown softmaxx", "X: n x m\nJ = sum(softmaxx(X))", None, ML,
         refused="did you mean softmax"),
    Case("mean of a matrix", "X: t x n\nJ = mean(X)", None, ML, refused="ambiguous"),
    Case("norm of a matrix", "X: t x n\nJ = norm(X)", None, ML, refused="spectral"),
    Case("operator 2-norm", "X: t x n\nJ = ||X||_2", None, COOKBOOK, refused="induced"),
    Case("operator 1-norm", "X: t x n\nJ = ‖X‖₁", None, COOKBOOK, refused="induced"),
    Case("ambiguous division", "Z: t x m; Y: t x m\nJ = 1/2 ||Z - Y||^2", None, NOTATION,
         refused="ambiguous"),
    Case("X^T with a size T", "X: T x T\nJ = sum(X^T)", None, NOTATION,
         refused="could mean a power"),
    Case("softmax of an inferred column", "y: m x 1, data\nJ = y'*softmax(v)",
         lambda y, v: s(y.T @ softmax_rows(v.T).T), ML),
    Case("logsumexp of an inferred column", "y: m x 1\nJ = sum(logsumexp(v)) + y'*v", None, ML,
         refused="declare the shapes"),
    Case("underscore name", "_w: n x 1\nJ = sum(_w)", None, NOTATION,
         refused="unexpected character '_'"),
    Case("matrix power of a rectangle", "X: n x m\nJ = sum(X^2)", None, NOTATION,
         refused="not supported"),
    Case("elementwise exponent matrix", "X: n x m; P: n x m\nJ = sum(X .^ P)", None,
         NOTATION, refused="must be a scalar"),
    Case("non-scalar objective", "X: n x m\nJ = X'*X", None, NOTATION, refused="not a scalar"),
]
