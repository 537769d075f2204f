"""The page's examples: the guide's, the Cookbook's and machine learning's objectives, as a user
would type them (each is derived by tests/test_serve.py)."""

from __future__ import annotations

EXAMPLES: dict[str, str] = {
    "The guide §1: one layer, squared error":
        "X: t x n, data; Y: t x m, data; W: n x m; b: 1 x m\n"
        "J = 1/2 * ||tanh(X*W + b) - Y||^2",
    "The guide §3.2: softmax cross-entropy":
        "X: t x n, data; Y: t x m, data, onehot; W: n x m\n"
        "J = -1/t * sum(Y .* log(softmax(X*W)))",
    "Logistic regression":
        "X: t x n, data; y: t x 1, data; w: n x 1; lambda: scalar, const\n"
        "J = 1/t * sum(softplus(-y .* (X*w))) + lambda/2 * ||w||^2",
    "Ridge regression": "X: t x n, data; y: t x 1, data; w: n x 1\n"
                        "J = ||X*w - y||^2 + 0.1 * ||w||^2",
    "Cookbook: tr(A X B)": "A: m x n; X: n x p; B: p x m\nJ = tr(A*X*B)",
    "Cookbook: log det X": "X: n x n\nJ = logdet(X)",
    "Cookbook: quadratic form": "x: n x 1; A: n x n\nJ = x'*A*x",
    "Matrix factorisation": "X: m x n, data; U: m x k; V: n x k\nJ = ||X - U*V'||^2",
    "A layer loop, any depth":
        "X: t x n, data\nY: t x n, data\nZ[0] = X\nfor j in 1..k:\n    W[j]: n x n\n"
        "    Z[j] = tanh(Z[j-1]*W[j])\nend\nJ = 1/2 * ||Z[k] - Y||^2",
}
