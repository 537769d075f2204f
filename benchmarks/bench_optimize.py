"""Benchmark: fits through matgrad's optimizer bridge (Derivation.scipy()) — iterations,
gradient evaluations and wall time to the same optimum — against L-BFGS-B with the same
generated gradient and against Newton-CG driven by JAX (jax.jit of value_and_grad and of
jvp(grad) for the Hessian-vector product), and the floor: the same Newton-CG with a
hand-written NumPy gradient and Hessian-vector product.

Objectives: logistic regression (t = 20 000, n = 50 and 200) and the guide's §1 network
(tanh, t = 5 000, n = 50, m = 8).  float64; one thread for every library (OpenBLAS/OMP,
PJRT_NPROC=1), set before NumPy and JAX load.  Each fit runs `--repeats` times interleaved
(the order rotating); medians; JAX functions are compiled by a first call (excluded).

    python benchmarks/bench_optimize.py [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
os.environ["PJRT_NPROC"] = "1"
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "benchmarks")]

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402
from scipy.special import expit  # noqa: E402
from timing import side_by_side  # noqa: E402

import matgrad  # noqa: E402

jax.config.update("jax_enable_x64", True)

LOGISTIC = ("X: t x n, data; y: t x 1, data; w: n x 1; lambda: scalar, const\n"
            "J = 1/t * sum(softplus(-y .* (X*w))) + lambda/2 * ||w||^2")
SINGLE_LAYER = (ROOT / "examples" / "single_layer.mg").read_text()
LAMBDA = 1e-3

Fit = Callable[[], Any]


def logistic_fits(t: int, n: int) -> dict[str, Fit]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(t, n))
    y = np.sign(X @ rng.normal(size=(n, 1)) + 0.5 * rng.normal(size=(t, 1)))
    problem = matgrad.derive(LOGISTIC).scipy(X=X, y=y, **{"lambda": LAMBDA})
    start = problem.pack(w=np.zeros((n, 1)))
    yv, Xj, yj = y.ravel(), jnp.asarray(X), jnp.asarray(y.ravel())

    def hand_value_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        margin = yv * (X @ w)
        value = np.logaddexp(0, -margin).mean() + LAMBDA / 2 * w @ w
        return value, X.T @ (-yv * expit(-margin)) / t + LAMBDA * w

    def hand_hessp(w: np.ndarray, v: np.ndarray) -> np.ndarray:
        s = expit(X @ w)
        return X.T @ (s * (1 - s) * (X @ v)) / t + LAMBDA * v

    def jax_objective(w: Any) -> Any:
        return jnp.mean(jnp.logaddexp(0, -yj * (Xj @ w))) + LAMBDA / 2 * w @ w

    return _fits(problem, start, hand_value_and_grad, hand_hessp, jax_objective)


def network_fits(t: int, n: int, m: int) -> dict[str, Fit]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(t, n))
    Y = np.tanh(X @ rng.normal(size=(n, m)) / np.sqrt(n) + 0.1) + 0.1 * rng.normal(size=(t, m))
    problem = matgrad.derive(SINGLE_LAYER).scipy(bind={"f": "tanh"}, X=X, Y=Y)
    start = problem.pack(W=0.01 * rng.normal(size=(n, m)), b=np.zeros((1, m)))
    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)
    order = problem.parameters  # the vector: vec of each parameter in this order

    def split(theta: Any) -> dict[str, Any]:
        shapes = {"W": (n, m), "b": (1, m)}
        found, at = {}, 0
        for name in order:
            size = shapes[name][0] * shapes[name][1]
            found[name] = theta[at:at + size].reshape(shapes[name], order="F")
            at += size
        return found

    def hand_value_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p = split(theta)
        Z = np.tanh(X @ p["W"] + p["b"])
        E = Z - Y
        D = E * (1 - Z * Z)
        grads = {"W": X.T @ D, "b": D.sum(axis=0, keepdims=True)}
        return 0.5 * np.vdot(E, E), np.concatenate([grads[k].ravel(order="F") for k in order])

    def hand_hessp(theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        p, d = split(theta), split(v)
        Z = np.tanh(X @ p["W"] + p["b"])
        fprime = 1 - Z * Z
        dA = X @ d["W"] + d["b"]
        dD = (fprime * fprime - 2 * Z * fprime * (Z - Y)) * dA
        grads = {"W": X.T @ dD, "b": dD.sum(axis=0, keepdims=True)}
        return np.concatenate([grads[k].ravel(order="F") for k in order])

    def jax_objective(theta: Any) -> Any:
        p = split(theta)
        E = jnp.tanh(Xj @ p["W"] + p["b"]) - Yj
        return 0.5 * jnp.vdot(E, E)

    return _fits(problem, start, hand_value_and_grad, hand_hessp, jax_objective)


def _fits(problem: Any, start: np.ndarray, hand_value_and_grad: Callable[..., Any],
          hand_hessp: Callable[..., Any], jax_objective: Callable[..., Any]) -> dict[str, Fit]:
    value_and_grad = jax.jit(jax.value_and_grad(jax_objective))
    hvp = jax.jit(lambda w, v: jax.jvp(jax.grad(jax_objective), (w,), (v,))[1])

    def jax_value_and_grad(w: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = value_and_grad(w)
        return float(value), np.asarray(gradient)

    def jax_hessp(w: np.ndarray, v: np.ndarray) -> np.ndarray:
        return np.asarray(hvp(w, v))

    jax_value_and_grad(start)
    jax_hessp(start, start)  # compiled here, not in the timed fits
    options = {"xtol": 1e-9}
    return {
        "matgrad trust-ncg": lambda: minimize(problem.fun, start, jac=problem.jac,
                                              hessp=problem.hessp, method="trust-ncg",
                                              options={"gtol": 1e-8}),
        "matgrad Newton-CG": lambda: minimize(problem.value_and_jac, start, jac=True,
                                              hessp=problem.hessp, method="Newton-CG",
                                              options=options),
        "matgrad L-BFGS-B": lambda: minimize(problem.value_and_jac, start, jac=True,
                                             method="L-BFGS-B",
                                             options={"gtol": 1e-8, "ftol": 1e-14}),
        "JAX Newton-CG": lambda: minimize(jax_value_and_grad, start, jac=True,
                                          hessp=jax_hessp, method="Newton-CG",
                                          options=options),
        "hand-written Newton-CG": lambda: minimize(hand_value_and_grad, start, jac=True,
                                                   hessp=hand_hessp, method="Newton-CG",
                                                   options=options),
    }


def report(title: str, fits: dict[str, Fit], repeats: int) -> None:
    results = {name: fit() for name, fit in fits.items()}
    seconds = side_by_side(fits, repeats)
    floor = seconds["hand-written Newton-CG"]
    print(f"\n{title}")
    print(f"  {'fit':<24}{'iterations':>11}{'gradients':>10}{'J':>20}{'ms':>10}"
          f"{'/ hand':>9}")
    for name, result in results.items():
        print(f"  {name:<24}{result.nit:>11}{result.njev:>10}{result.fun:>20.12f}"
              f"{seconds[name] * 1e3:>10.1f}{seconds[name] / floor:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 repeats")
    arguments = parser.parse_args()
    repeats = 2 if arguments.quick else arguments.repeats
    scale = 10 if arguments.quick else 1
    print("one thread per library; float64; medians of", repeats, "interleaved fits")
    for n in (50, 200):
        report(f"logistic regression, t = {20_000 // scale}, n = {n}",
               logistic_fits(20_000 // scale, n), repeats)
    report(f"the guide's §1 network (tanh), t = {5_000 // scale}, n = 50, m = 8",
           network_fits(5_000 // scale, 50, 8), repeats)


if __name__ == "__main__":
    main()
