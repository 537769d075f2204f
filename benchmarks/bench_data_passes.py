"""Benchmark: first-order modules that read the data as often as a hand-written gradient —
logistic regression, ridge regression and a Poisson GLM — against their hand-written NumPy
value-and-gradient (the floor), through the NumPy backend and the Dask backend (row blocks,
the synchronous scheduler, against the same hand-written formulas on the Dask arrays).

The planner rules measured: a product chain bracketed around the values at hand (yᵀX w is
yᵀA when A = X w is computed) and a common factor pulled out of a sum (Xᵀσ(A) − Xᵀy is
Xᵀ(σ(A) − y)), so X is read twice, as by hand.  float64, one thread (OpenBLAS/OMP), medians
of interleaved rounds; ratio = matgrad / hand-written (at or below 1.0 is the goal).

    python benchmarks/bench_data_passes.py [--repeats 21] [--quick]
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
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "benchmarks")]

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402
from timing import side_by_side  # noqa: E402

import matgrad  # noqa: E402

OBJECTIVES = {
    "logistic": "X: t x n, data; y: t x 1, data; w: n x 1\nJ = sum(softplus(X*w)) - y'*X*w",
    "ridge": ("X: t x n, data; y: t x 1, data; w: n x 1; lambda: scalar, const\n"
              "J = ||X*w - y||^2 + lambda*||w||^2"),
    "Poisson GLM": "X: t x n, data; y: t x 1, data; w: n x 1\nJ = sum(exp(X*w)) - y'*X*w",
}
LAMBDA = 0.1


def hand(name: str, xp: Any) -> Callable[..., tuple[Any, Any]]:
    """The hand-written value and gradient in the array namespace `xp` (numpy or dask)."""
    def logistic(X: Any, y: Any, w: Any) -> tuple[Any, Any]:
        A = X @ w
        return xp.logaddexp(0, A).sum() - (y * A).sum(), X.T @ (0.5 * (1 + xp.tanh(0.5 * A)) - y)

    def ridge(X: Any, y: Any, w: Any) -> tuple[Any, Any]:
        E = X @ w - y
        return (E * E).sum() + LAMBDA * (w * w).sum(), 2 * (X.T @ E + LAMBDA * w)

    def poisson(X: Any, y: Any, w: Any) -> tuple[Any, Any]:
        A = X @ w
        Z = xp.exp(A)
        return Z.sum() - (y * A).sum(), X.T @ (Z - y)

    return {"logistic": logistic, "ridge": ridge, "Poisson GLM": poisson}[name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--quick", action="store_true")
    arguments = parser.parse_args()
    repeats = 3 if arguments.quick else arguments.repeats
    t, n = (20_000, 50) if arguments.quick else (200_000, 100)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(t, n)) / np.sqrt(n)
    y = (rng.random((t, 1)) < 0.5).astype(float)
    w = 0.1 * rng.normal(size=(n, 1))
    Xd, yd = da.from_array(X, chunks=(t // 8, n)), da.from_array(y, chunks=(t // 8, 1))
    print(f"t = {t}, n = {n}; one thread; float64; medians of {repeats} interleaved rounds")
    print(f"{'objective':<14}{'backend':<8}{'matgrad ms':>12}{'hand ms':>10}{'ratio':>8}")
    with dask.config.set(scheduler="sync"):
        for name, source in OBJECTIVES.items():
            derivation = matgrad.derive(source)
            extra = {"lambda_": LAMBDA} if "lambda" in source else {}
            numpy_module = derivation.compile()
            dask_module = derivation.compile(backend="dask")
            written = hand(name, np)
            written_dask = hand(name, da)
            value, gradient = numpy_module(X, y, w, **extra)
            reference = written(X, y, w)
            assert np.isclose(value, reference[0]) and np.allclose(gradient["w"], reference[1])
            seconds = side_by_side({
                "numpy": lambda: numpy_module(X, y, w, **extra),
                "numpy hand": lambda: written(X, y, w),
                "dask": lambda: dask_module(Xd, yd, w, **extra),
                "dask hand": lambda: dask.compute(*written_dask(Xd, yd, w)),
            }, repeats)
            for backend in ("numpy", "dask"):
                ours, floor = seconds[backend], seconds[f"{backend} hand"]
                print(f"{name:<14}{backend:<8}{ours * 1e3:>12.2f}{floor * 1e3:>10.2f}"
                      f"{ours / floor:>8.2f}")


if __name__ == "__main__":
    main()
