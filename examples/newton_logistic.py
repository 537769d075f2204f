"""Newton-type fits through matgrad's optimizer bridge: logistic regression with SciPy's
trust-region Newton-CG (`trust-ncg`), which calls the generated Hessian-vector product, against
L-BFGS-B with the same generated gradient; then the guide's §1 network (examples/single_layer.mg
with f = tanh) by Newton-CG.  One line per fit: iterations, evaluations, J and ‖∇J‖.

    python examples/newton_logistic.py [--rows 20000] [--columns 50]

Needs SciPy: pip install "matgrad[optimize]".
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

import matgrad
from matgrad.optimize import ScipyProblem

LOGISTIC = """
X: t x n, data; y: t x 1, data; w: n x 1; lambda: scalar, const
J = 1/t * sum(softplus(-y .* (X*w))) + lambda/2 * ||w||^2
"""
SINGLE_LAYER = (Path(__file__).parent / "single_layer.mg").read_text()


def report(name: str, problem: ScipyProblem, result: Any, seconds: float) -> None:
    x = result.x
    print(f"{name:<34} iterations {result.nit:>4}  evaluations {problem.evaluations:>4}  "
          f"J {problem.fun(x):.10f}  |grad J| {np.linalg.norm(problem.jac(x)):.1e}  "
          f"{seconds * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--columns", type=int, default=50)
    parser.add_argument("--outputs", type=int, default=4)
    arguments = parser.parse_args()
    rng = np.random.default_rng(0)
    t, n, m = arguments.rows, arguments.columns, arguments.outputs
    X = rng.normal(size=(t, n))
    truth = rng.normal(size=(n, m)) / np.sqrt(n)
    y = np.sign(X @ truth[:, :1] + 0.5 * rng.normal(size=(t, 1)))

    logistic = matgrad.derive(LOGISTIC)
    for method in ("trust-ncg", "L-BFGS-B"):
        problem = logistic.scipy(X=X, y=y, **{"lambda": 1e-3})
        start = problem.pack(w=np.zeros((n, 1)))
        began = time.perf_counter()
        hessp = problem.hessp if method == "trust-ncg" else None
        result = minimize(problem.fun, start, jac=problem.jac, hessp=hessp, method=method,
                          options={"gtol": 1e-8})
        report(f"logistic regression, {method}", problem, result, time.perf_counter() - began)

    Y = np.tanh(X @ truth + 0.1) + 0.1 * rng.normal(size=(t, m))
    network = matgrad.derive(SINGLE_LAYER)
    problem = network.scipy(bind={"f": "tanh"}, X=X, Y=Y)
    start = problem.pack(W=0.01 * rng.normal(size=(n, m)), b=np.zeros((1, m)))
    began = time.perf_counter()
    result = minimize(problem.fun, start, jac=problem.jac, hessp=problem.hessp,
                      method="Newton-CG", options={"xtol": 1e-10})
    report("the guide's §1 network, Newton-CG", problem, result, time.perf_counter() - began)


if __name__ == "__main__":
    main()
