"""A corpus of objectives written two ways each, with an independent reference in autograd.

Each pair is the same objective in two notations a user might type — juxtaposition and `*`,
Unicode and ASCII, parenthesised factors with postfix marks (`A (X B)ᵀ`, `(B + I)⁻¹`), `⟨A, B⟩`
spellings, `X^T`, subscripts, redundant parentheses, named and one-line — and a reference
written by hand with autograd.numpy from the textbook definition, never from matgrad's output.
test_notation_pairs.py checks that both forms give the reference's value and autograd's
gradients.  The first entries are the misreadings of issue 28 (a declared matrix followed by a
parenthesised factor with a postfix mark was read as a call).

References are called by the generated function's argument names, in the lambda's order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import autograd.numpy as anp


@dataclass(frozen=True)
class Pair:
    label: str
    declarations: str
    first: str
    second: str
    reference: Callable[..., object]

    def sources(self) -> tuple[str, str]:
        """Both programs; a form that binds names itself (`A = …; J = …`) is kept whole."""
        return tuple(f"{self.declarations}\n{form if 'J =' in form else 'J = ' + form}"
                     for form in (self.first, self.second))  # type: ignore[return-value]


def s(value: object) -> object:
    return anp.sum(value)


def sigmoid(x: object) -> object:
    return 1 / (1 + anp.exp(-x))


def softplus(x: object) -> object:
    return anp.logaddexp(0.0, x)


def softmax_rows(x: object) -> object:
    e = anp.exp(x - anp.max(x, axis=1, keepdims=True))
    return e / anp.sum(e, axis=1, keepdims=True)


def logsumexp_rows(x: object) -> object:
    peak = anp.max(x, axis=1, keepdims=True)
    return peak + anp.log(anp.sum(anp.exp(x - peak), axis=1, keepdims=True))


def logdet(x: object) -> object:
    return anp.linalg.slogdet(x)[1]


def fro2(x: object) -> object:
    return anp.sum(x * x)


I = anp.eye  # noqa: E741 - the identity, as the objectives write it

SQ = "A: n x n; B: n x n; X: n x n; x: n x 1; y: n x 1, data"
SQD = "X: n x n, data; A: n x n; B: n x n"
SPD = "A: n x n; B: n x n, spd; X: n x n, spd; x: n x 1"
REG = "X: t x n, data; Y: t x m, data; W: n x m; b: 1 x m"
LIN = "A: t x n, data; b: t x 1, data; x: n x 1; lambda: scalar, data"
ATT = "X: t x n, data; Wq: n x k; Wk: n x k; Wv: n x m"
FAC = "X: t x n, data; U: t x k; V: n x k"
CLS = "X: t x n, data; y: t x 1, data; w: n x 1"

PAIRS: list[Pair] = [
    # ---- the misreadings of issue 28: a matrix, then a parenthesised factor with a mark ----
    Pair("tr(X A (X B)ᵀ)", SQD, "tr(X A (X B)ᵀ)", "tr(X*A*(X*B)')",
         lambda X, A, B: anp.trace(X @ A @ (X @ B).T)),
    Pair("||X (W)ᵀ - Y||²", "X: t x n, data; W: m x n; Y: t x m, data", "||X (W)ᵀ - Y||^2",
         "||X*W' - Y||^2", lambda X, W, Y: fro2(X @ W.T - Y)),
    Pair("tr(A (B + I)⁻¹)", SPD, "tr(A (B + eye(n))⁻¹)", "tr(A*inv(B + eye(n)))",
         lambda A, B, X, x: anp.trace(A @ anp.linalg.inv(B + I(4)))),
    Pair("tr(A (X + A)²)", SQ, "tr(A (X + A)²)", "tr(A*(X + A)*(X + A))",
         lambda A, B, X, x, y: anp.trace(A @ (X + A) @ (X + A))),
    Pair("sum(exp(X (W)^2/10))", "X: n x n, data; W: n x n", "sum(exp(X (W)^2/10))",
         "sum(exp(X*(W*W)/10))", lambda X, W: s(anp.exp(X @ W @ W / 10))),
    Pair("tr((A)(B)ᵀ)", SQ, "tr((A)(B)ᵀ)", "tr(A*B')", lambda A, B, X, x, y: anp.trace(A @ B.T)),
    Pair("attention one-liner", ATT, "sum(softmax(X Wq (X Wk)ᵀ) X Wv)",
         "sum(softmax(X*Wq*(X*Wk)')*X*Wv)",
         lambda X, Wq, Wk, Wv: s(softmax_rows(X @ Wq @ (X @ Wk).T) @ X @ Wv)),
    Pair("A y (x)ᵀ", "A: n x n; x: n x 1; y: n x 1, data", "sum(A y (x)ᵀ)", "sum(A*y*x')",
         lambda A, x, y: s(A @ y @ x.T)),
    Pair("X (A)' in ASCII", SQ, "tr(X (A)' B)", "tr(X*A'*B)",
         lambda A, B, X, x, y: anp.trace(X @ A.T @ B)),
    Pair("A'(B) quote before brackets", SQ, "tr(A'(B + X))", "tr(A' * (B + X))",
         lambda A, B, X, x, y: anp.trace(A.T @ (B + X))),
    Pair("(A x)ᵀ(A x)", SQ, "(A x)ᵀ(A x)", "x'*A'*A*x", lambda A, B, X, x, y: s(x.T @ A.T @ A @ x)),
    Pair("x (x)ᵀ", SQ, "tr(X x (x)ᵀ)", "tr(X*(x*x'))",
         lambda A, B, X, x, y: anp.trace(X @ x @ x.T)),
    Pair("A (B)⁻¹", SPD, "tr(A (X)⁻¹)", "tr(A*inv(X))",
         lambda A, B, X, x: anp.trace(A @ anp.linalg.inv(X))),
    Pair("A (B)²", SQ, "tr(A (B)² X)", "tr(A*B*B*X)",
         lambda A, B, X, x, y: anp.trace(A @ B @ B @ X)),
    Pair("X A (B + X)ᵀ(A)", SQ, "tr(X A (B + X)ᵀ(A))", "tr(X*A*(B + X)'*A)",
         lambda A, B, X, x, y: anp.trace(X @ A @ (B + X).T @ A)),
    Pair("scalar (…)ᵀ", "s: scalar; A: n x n; B: n x n, data", "tr(s (A B)ᵀ)", "tr(s*(A*B)')",
         lambda s, A, B: s[0, 0] * anp.trace((A @ B).T)),
    Pair("W₁ (W₂)ᵀ", "W1: n x m; W2: n x m; X: n x n, data", "tr(X W₁ (W₂)ᵀ)", "tr(X*W1*W2')",
         lambda W1, W2, X: anp.trace(X @ W1 @ W2.T)),
    Pair("(A)(B)(X)ᵀ", SQ, "tr((A)(B)(X)ᵀ)", "tr(A*B*X')",
         lambda A, B, X, x, y: anp.trace(A @ B @ X.T)),
    Pair("Aᵀ(B)ᵀ", SQ, "tr(Aᵀ(B)ᵀ X)", "tr(A'*B'*X)",
         lambda A, B, X, x, y: anp.trace(A.T @ B.T @ X)),
    Pair("y (Ax)ᵀ", SQ, "tr(y (A x)ᵀ)", "tr(y*x'*A')",
         lambda A, B, X, x, y: anp.trace(y @ (A @ x).T)),
    # ---- Matrix Cookbook forms, juxtaposed and with * ----
    Pair("tr(AXB)", SQ, "tr(A X B)", "tr(A*X*B)", lambda A, B, X, x, y: anp.trace(A @ X @ B)),
    Pair("tr(XᵀAX)", SQ, "tr(XᵀA X)", "tr(X'*A*X)", lambda A, B, X, x, y: anp.trace(X.T @ A @ X)),
    Pair("tr(X^T A X)", SQ, "tr(X^T A X)", "trace(transpose(X)*A*X)",
         lambda A, B, X, x, y: anp.trace(X.T @ A @ X)),
    Pair("tr(AXBXᵀ)", SQ, "tr(A X B Xᵀ)", "tr(A*X*B*X')",
         lambda A, B, X, x, y: anp.trace(A @ X @ B @ X.T)),
    Pair("tr(X²)", SQ, "tr(X²)", "tr(X^2)", lambda A, B, X, x, y: anp.trace(X @ X)),
    Pair("tr(X³)", SQ, "tr(X³)", "tr(X*X*X)", lambda A, B, X, x, y: anp.trace(X @ X @ X)),
    Pair("tr(XᵀX)", SQ, "tr(XᵀX)", "||X||_F^2", lambda A, B, X, x, y: anp.trace(X.T @ X)),
    Pair("tr(X⁻¹A)", SPD, "tr(X⁻¹A)", "tr(inv(X)*A)",
         lambda A, B, X, x: anp.trace(anp.linalg.inv(X) @ A)),
    Pair("tr(AX⁻¹B)", SPD, "tr(A X⁻¹ B)", "tr(A*X^-1*B)",
         lambda A, B, X, x: anp.trace(A @ anp.linalg.inv(X) @ B)),
    Pair("logdet X", SPD, "logdet(X)", "log(det(X))", lambda A, B, X, x: logdet(X)),
    Pair("det X", SQ, "det(X)", "det(Xᵀ)", lambda A, B, X, x, y: anp.linalg.det(X)),
    Pair("det(AXB)", SQ, "det(A X B)", "det(A*X*B)",
         lambda A, B, X, x, y: anp.linalg.det(A @ X @ B)),
    Pair("logdet(XᵀX)", SPD, "logdet(XᵀX)", "logdet(X'*X)", lambda A, B, X, x: logdet(X.T @ X)),
    Pair("xᵀAx", SQ, "xᵀA x", "x'*A*x", lambda A, B, X, x, y: s(x.T @ A @ x)),
    Pair("xᵀAy", SQ, "xᵀA y", "<x, A*y>", lambda A, B, X, x, y: s(x.T @ A @ y)),
    Pair("yᵀXᵀXy", SQ, "yᵀXᵀX y", "||X*y||^2", lambda A, B, X, x, y: s(y.T @ X.T @ X @ y)),
    Pair("(Xy + x)ᵀA(Xy + x)", SQ, "(X y + x)ᵀA(X y + x)", "(X*y + x)'*A*(X*y + x)",
         lambda A, B, X, x, y: s((X @ y + x).T @ A @ (X @ y + x))),
    Pair("xᵀX⁻¹x", SPD, "xᵀX⁻¹x", "x'*inv(X)*x", lambda A, B, X, x: s(x.T @ anp.linalg.inv(X) @ x)),
    Pair("‖X‖_F²", SQ, "‖X‖²", "sum(X .* X)", lambda A, B, X, x, y: fro2(X)),
    Pair("‖X − A‖_F", SQ, "‖X − A‖", "||X - A||_F", lambda A, B, X, x, y: anp.sqrt(fro2(X - A))),
    Pair("⟨A, X⟩", SQ, "A · X", "<A, X>", lambda A, B, X, x, y: s(A * X)),
    Pair("A : XB", SQ, "A : X B", "sum(A .* (X*B))", lambda A, B, X, x, y: s(A * (X @ B))),
    Pair("⟨AX, XB⟩", SQ, "A X · X B", "<A*X, X*B>", lambda A, B, X, x, y: s((A @ X) * (X @ B))),
    Pair("tr(A ⊙ X)", SQ, "tr(A ⊙ X)", "tr(A .* X)", lambda A, B, X, x, y: anp.trace(A * X)),
    Pair("sum(X ⊙ X ⊙ A)", SQ, "sum(X ⊙ X ⊙ A)", "sum(X.^2 .* A)",
         lambda A, B, X, x, y: s(X * X * A)),
    Pair("1ᵀX1", SQ, "1ᵀX 𝟏", "sum(X)", lambda A, B, X, x, y: s(X)),
    Pair("sum(X ./ (2 + A.^2))", SQ, "sum(X ./ (2 + A.^2))", "sum(X ./ (2 + A .* A))",
         lambda A, B, X, x, y: s(X / (2 + A * A))),
    Pair("tr((X + A)⁻¹)", SPD, "tr((X + A Aᵀ)⁻¹)", "tr(inv(X + A*A'))",
         lambda A, B, X, x: anp.trace(anp.linalg.inv(X + A @ A.T))),
    Pair("‖x‖₁", SQ, "‖A x‖₁", "norm1(A*x)", lambda A, B, X, x, y: s(anp.abs(A @ x))),
    Pair("‖x‖₂", SQ, "‖A x − y‖₂", "norm2(A*x - y)",
         lambda A, B, X, x, y: anp.sqrt(fro2(A @ x - y))),
    Pair("tr(X)²", SQ, "tr(X)²", "tr(X)^2", lambda A, B, X, x, y: anp.trace(X) ** 2),
    Pair("(xᵀy)²", SQ, "(xᵀy)²", "(x'*y)^2", lambda A, B, X, x, y: s(x.T @ y) ** 2),
    Pair("sum(X)/n", SQ, "sum(X) / n", "(1/n) sum(X)", lambda A, B, X, x, y: s(X) / 4),
    Pair("a scale of a trace", SQ, "3 tr(A X)", "3*tr(A*X)",
         lambda A, B, X, x, y: 3 * anp.trace(A @ X)),
    Pair("−tr(X)", SQ, "−tr(X A)", "-tr(X*A)", lambda A, B, X, x, y: -anp.trace(X @ A)),
    Pair("two traces", SQ, "tr(A X) − 2 tr(B X)", "tr(A*X) - 2*tr(B*X)",
         lambda A, B, X, x, y: anp.trace(A @ X) - 2 * anp.trace(B @ X)),
    # ---- machine-learning losses ----
    Pair("least squares", REG, "(1/2)‖X W + b − Y‖²", "1/2 * ||X*W + b - Y||^2",
         lambda X, Y, W, b: 0.5 * fro2(X @ W + b - Y)),
    Pair("mean squared error", REG, "‖X W + b − Y‖² / t", "1/t*||X*W + b - Y||^2",
         lambda X, Y, W, b: fro2(X @ W + b - Y) / 5),
    Pair("tanh regression", REG, "(1/2)‖tanh(X W + b) − Y‖²", "1/2*||tanh(X*W + b) - Y||^2",
         lambda X, Y, W, b: 0.5 * fro2(anp.tanh(X @ W + b) - Y)),
    Pair("sigmoid regression", REG, "(1/2)‖sigmoid(X W + b) − Y‖²",
         "0.5*||sigmoid(X*W + b) - Y||^2",
         lambda X, Y, W, b: 0.5 * fro2(sigmoid(X @ W + b) - Y)),
    Pair("ridge", LIN, "‖A x − b‖² + lambda‖x‖²", "||A*x - b||^2 + lambda*x'*x",
         lambda A, b, x, lambda_: fro2(A @ x - b) + lambda_[0, 0] * fro2(x)),
    Pair("ridge, λ spelled", LIN, "‖A x − b‖² + lambda xᵀx", "||A*x - b||^2 + lambda*(x'*x)",
         lambda A, b, x, lambda_: fro2(A @ x - b) + lambda_[0, 0] * fro2(x)),
    Pair("least squares, transposed", LIN, "(A x − b)ᵀ(A x − b)", "(A*x - b)'*(A*x - b)",
         lambda A, b, x, lambda_: fro2(A @ x - b)),
    Pair("lasso", LIN, "(1/2)‖A x − b‖² + lambda‖x‖₁", "1/2*||A*x - b||^2 + lambda*norm1(x)",
         lambda A, b, x, lambda_: 0.5 * fro2(A @ x - b) + lambda_[0, 0] * s(anp.abs(x))),
    Pair("logistic regression", CLS, "sum(softplus(X w)) − yᵀX w",
         "sum(softplus(X*w)) - y'*X*w",
         lambda X, y, w: s(softplus(X @ w)) - s(y.T @ X @ w)),
    Pair("logistic, log σ", CLS, "−sum(y ⊙ log(sigmoid(X w)) + (1 − y) ⊙ log(1 − sigmoid(X w)))",
         "-sum(y .* log(sigmoid(X*w)) + (1 - y) .* log(1 - sigmoid(X*w)))",
         lambda X, y, w: -s(y * anp.log(sigmoid(X @ w)) + (1 - y) * anp.log(1 - sigmoid(X @ w)))),
    Pair("softmax cross-entropy", "X: t x n, data; Y: t x m, data, onehot; W: n x m",
         "−sum(Y ⊙ log(softmax(X W))) / t", "-1/t * sum(Y .* log(softmax(X*W)))",
         lambda X, Y, W: -s(Y * anp.log(softmax_rows(X @ W))) / 5),
    Pair("logsumexp", "X: t x n, data; W: n x m", "sum(logsumexp(X W))", "1'*logsumexp(X*W)",
         lambda X, W: s(logsumexp_rows(X @ W))),
    Pair("PCA reconstruction", "X: t x n, data; V: n x k", "‖X − X V Vᵀ‖²",
         "||X - X*V*V'||^2", lambda X, V: fro2(X - X @ V @ V.T)),
    Pair("PCA, parenthesised", "X: t x n, data; V: n x k", "‖X − (X V)(V)ᵀ‖²",
         "||X - (X*V)*V'||^2", lambda X, V: fro2(X - X @ V @ V.T)),
    Pair("matrix factorisation", FAC, "‖X − U Vᵀ‖² + ‖U‖² + ‖V‖²",
         "||X - U*V'||^2 + ||U||^2 + ||V||^2",
         lambda X, U, V: fro2(X - U @ V.T) + fro2(U) + fro2(V)),
    Pair("factorisation, (V)ᵀ", FAC, "‖X − U (V)ᵀ‖²", "||X - U*V'||^2",
         lambda X, U, V: fro2(X - U @ V.T)),
    Pair("attention, named", ATT, "sum(softmax((X Wq)(X Wk)ᵀ / 2) (X Wv))",
         "sum(softmax(X*Wq*Wk'*X'/2)*X*Wv)",
         lambda X, Wq, Wk, Wv: s(softmax_rows(X @ Wq @ (X @ Wk).T / 2) @ X @ Wv)),
    Pair("attention squared", ATT, "‖softmax(X Wq (X Wk)ᵀ)(X Wv)‖²",
         "||softmax(X*Wq*(X*Wk)')*X*Wv||^2",
         lambda X, Wq, Wk, Wv: fro2(softmax_rows(X @ Wq @ (X @ Wk).T) @ X @ Wv)),
    Pair("two-layer tanh", "X: t x n, data; Y: t x m, data; W1: n x k; W2: k x m",
         "(1/2)‖tanh(X W₁) W₂ − Y‖²", "1/2*||tanh(X*W1)*W2 - Y||^2",
         lambda X, Y, W1, W2: 0.5 * fro2(anp.tanh(X @ W1) @ W2 - Y)),
    Pair("two-layer, parenthesised", "X: t x n, data; Y: t x m, data; W1: n x k; W2: k x m",
         "(1/2)‖(tanh(X (W₁)))(W₂) − Y‖²", "1/2*||tanh(X*W1)*W2 - Y||^2",
         lambda X, Y, W1, W2: 0.5 * fro2(anp.tanh(X @ W1) @ W2 - Y)),
    Pair("auto-encoder, tied", "X: t x n, data; W: n x k", "‖tanh(X W) Wᵀ − X‖²",
         "||tanh(X*W)*W' - X||^2", lambda X, W: fro2(anp.tanh(X @ W) @ W.T - X)),
    Pair("auto-encoder, (W)ᵀ", "X: t x n, data; W: n x k", "‖tanh(X W)(W)ᵀ − X‖²",
         "||tanh(X*W)*W' - X||^2", lambda X, W: fro2(anp.tanh(X @ W) @ W.T - X)),
    Pair("Gaussian log-likelihood", "S: n x n, spd; x: n x 1, data",
         "(1/2)logdet(S) + (1/2)xᵀS⁻¹x", "0.5*logdet(S) + 0.5*x'*inv(S)*x",
         lambda S, x: 0.5 * logdet(S) + 0.5 * s(x.T @ anp.linalg.inv(S) @ x)),
    Pair("Mahalanobis", "S: n x n, spd; x: n x 1; m: n x 1, data", "(x − m)ᵀS⁻¹(x − m)",
         "(x - m)'*inv(S)*(x - m)", lambda S, x, m: s((x - m).T @ anp.linalg.inv(S) @ (x - m))),
    Pair("Mahalanobis, (S)⁻¹", "S: n x n, spd; x: n x 1; m: n x 1, data",
         "(x − m)ᵀ(S)⁻¹(x − m)", "(x - m)'*S^-1*(x - m)",
         lambda S, x, m: s((x - m).T @ anp.linalg.inv(S) @ (x - m))),
    Pair("RMS", REG, "sqrt(sum((X W − Y).^2) / t)", "sqrt(1/t*sum(square(X*W - Y)))",
         lambda X, Y, W, b: anp.sqrt(fro2(X @ W - Y) / 5)),
    Pair("Huber-like softplus", REG, "sum(softplus(X W + b − Y) + softplus(Y − X W − b))",
         "sum(softplus(X*W + b - Y)) + sum(softplus(Y - X*W - b))",
         lambda X, Y, W, b: s(softplus(X @ W + b - Y)) + s(softplus(Y - X @ W - b))),
    Pair("weight decay", REG, "(1/2)‖X W − Y‖² + (1/2)‖W‖²",
         "1/2*||X*W - Y||^2 + 1/2*sum(W.^2)",
         lambda X, Y, W, b: 0.5 * fro2(X @ W - Y) + 0.5 * fro2(W)),
    Pair("sum of exp", REG, "sum(exp(X W / 4))", "1'*exp(X*W/4)*ones(m, 1)",
         lambda X, Y, W, b: s(anp.exp(X @ W / 4))),
    Pair("cosine-like", "x: n x 1; y: n x 1, data", "xᵀy / sqrt(1 + xᵀx)",
         "x'*y/sqrt(1 + x'*x)", lambda x, y: s(x.T @ y) / anp.sqrt(1 + fro2(x))),
    Pair("bilinear", "x: n x 1, data; y: m x 1, data; W: n x m", "xᵀW y", "x'*W*y",
         lambda x, y, W: s(x.T @ W @ y)),
    Pair("bilinear, (W)(y)", "x: n x 1, data; y: m x 1, data; W: n x m", "xᵀ(W)(y)", "x'*W*y",
         lambda x, y, W: s(x.T @ W @ y)),
    Pair("sin of a product", REG, "sum(sin(X W) ⊙ cos(X W))", "sum(sin(X*W) .* cos(X*W))",
         lambda X, Y, W, b: s(anp.sin(X @ W) * anp.cos(X @ W))),
    Pair("rowdot", "X: t x n, data; W: n x n", "sum(rowdot(X W, X))", "tr(X*W*X')",
         lambda X, W: anp.trace(X @ W @ X.T)),
    Pair("orthogonality penalty", "W: n x k", "‖WᵀW − I‖²", "||W'*W - eye(k)||^2",
         lambda W: fro2(W.T @ W - I(2))),
    Pair("orthogonality, (W)ᵀ(W)", "W: n x k", "‖(W)ᵀ(W) − I‖²", "||W'*W - eye(k)||^2",
         lambda W: fro2(W.T @ W - I(2))),
    Pair("Gram trace", "W: n x k; A: n x n, data", "tr(Wᵀ A W)", "tr(W'*A*W)",
         lambda W, A: anp.trace(W.T @ A @ W)),
    Pair("Gram, (A W)ᵀ", "W: n x k; A: n x n, data", "tr((A W)ᵀ W)", "tr(W'*A'*W)",
         lambda W, A: anp.trace((A @ W).T @ W)),
    Pair("scaled residual", "X: t x n, data; w: n x 1; y: t x 1, data; s: scalar",
         "‖s (X w) − y‖²", "||s*X*w - y||^2", lambda X, w, y, s: fro2(s[0, 0] * (X @ w) - y)),
    Pair("scaled, s (…)ᵀ", "X: t x n, data; w: n x 1; y: t x 1, data; s: scalar",
         "‖s (X w)ᵀ − yᵀ‖²", "||s*w'*X' - y'||^2",
         lambda X, w, y, s: fro2(s[0, 0] * (X @ w).T - y.T)),
    Pair("Greek names", "Σ: n x n, spd; μ: n x 1; x: n x 1, data", "(x − μ)ᵀΣ⁻¹(x − μ)",
         "(x - μ)'*inv(Σ)*(x - μ)",
         lambda Sigma, mu, x: s((x - mu).T @ anp.linalg.inv(Sigma) @ (x - mu))),
    Pair("named scale θ", "θ: scalar; X: n x n, data", "sum(exp(θ X))", "sum(exp(θ*X))",
         lambda theta, X: s(anp.exp(theta[0, 0] * X))),
    Pair("inverse of a sum", "A: n x n, data; X: n x n, spd", "sum((X + A Aᵀ + I)⁻¹)",
         "sum(inv(X + A*A' + eye(n)))",
         lambda A, X: s(anp.linalg.inv(X + A @ A.T + I(4)))),
    Pair("(X)⁻¹ᵀ", SPD, "tr(A (X)⁻ᵀ)", "tr(A*inv(X)')",
         lambda A, B, X, x: anp.trace(A @ anp.linalg.inv(X).T)),
    Pair("X⁻¹X⁻¹", SPD, "tr(X⁻¹ (X)⁻¹ A)", "tr(inv(X)*inv(X)*A)",
         lambda A, B, X, x: anp.trace(anp.linalg.inv(X) @ anp.linalg.inv(X) @ A)),
    Pair("tr(X A)ᵀ-ish", SQ, "tr((X A)ᵀ B)", "tr(A'*X'*B)",
         lambda A, B, X, x, y: anp.trace((X @ A).T @ B)),
    Pair("power of a bracket", SQ, "tr((A + X)³)", "tr((A + X)*(A + X)*(A + X))",
         lambda A, B, X, x, y: anp.trace((A + X) @ (A + X) @ (A + X))),
    Pair("squared bracket then ᵀ", SQ, "tr(B (A + X)²ᵀ)", "tr(B*((A + X)^2)')",
         lambda A, B, X, x, y: anp.trace(B @ ((A + X) @ (A + X)).T)),
    Pair("elementwise power of a bracket", SQ, "sum(B (A + X).^2)", "sum(B*((A + X).*(A + X)))",
         lambda A, B, X, x, y: s(B @ ((A + X) * (A + X)))),
    Pair("function of a product, transposed", SQ, "tr(A tanh(X B)ᵀ)", "tr(A*(tanh(X*B))')",
         lambda A, B, X, x, y: anp.trace(A @ anp.tanh(X @ B).T)),
    Pair("function, then bracket", SQ, "tr(tanh(X)(A + B))", "tr(tanh(X)*(A + B))",
         lambda A, B, X, x, y: anp.trace(anp.tanh(X) @ (A + B))),
    Pair("norm of a bracket product", SQ, "‖(A + B)(X)‖²", "||(A + B)*X||^2",
         lambda A, B, X, x, y: fro2((A + B) @ X)),
    Pair("Unicode minus and ⊙", SQ, "sum((X − A) ⊙ (X − B))", "sum((X - A) .* (X - B))",
         lambda A, B, X, x, y: s((X - A) * (X - B))),
    Pair("one-line and named", REG, "(1/2)‖sigmoid(X W + b) − Y‖²",
         "A = X*W + b; Z = sigmoid(A); J = 1/2*||Z - Y||^2",
         lambda X, Y, W, b: 0.5 * fro2(sigmoid(X @ W + b) - Y)),
]
