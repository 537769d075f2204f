"""Benchmark: generated NumPy in both notations (let-bound, inline) and as a layer loop, against a
hand-written NumPy backprop of the guide's formulas.

Workloads (the NumPy workloads of issue 13): §1 single layer f = tanh, 1024×256→128 and
64×32→16; the tanh MLP, k = 2, 4, 8 at width 256, t = 512, and k = 4 at width 32, t = 64; the
2-layer softmax classifier (10 classes); the tied auto-encoder k = 4.  Each in float64 and
float32. Every implementation of a workload runs in one process, interleaved (a shuffled order
each round, the second of two calls timed; a small call in batches of ≥ 5 ms); medians and
ratios to the hand-written code are printed ('unchecked': the let-bound module generated with
checks=False). The BLAS thread count is pinned before NumPy loads (`--threads`, default 1).

    python benchmarks/bench_notations.py [--threads 1] [--repeats 25] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _pin_threads() -> int:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--threads", type=int, default=1)
    threads = parser.parse_known_args()[0].threads
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    return int(threads)


THREADS = _pin_threads()
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "benchmarks")]

import numpy as np  # noqa: E402
from bench_networks import (  # noqa: E402
    SOFTMAX,
    TIED,
    hand_mlp,
    hand_softmax,
    hand_tied,
    interleaved,
)
from helpers import bind_for  # noqa: E402
from notations import inline, mlp  # noqa: E402

import matgrad  # noqa: E402

Timed = Callable[[], Any]
SINGLE_LAYER = (ROOT / "examples" / "single_layer.mg").read_text()
REGRESSION_LOOP = (ROOT / "examples" / "regression_loop.mg").read_text()


def generated(source: str, bind: dict[str, str] | None = None, checks: bool = True
              ) -> tuple[Any, dict[str, str]]:
    derivation = matgrad.derive(source)
    function = derivation.compile(bind=bind_for(derivation, bind or {}), checks=checks)
    return function, derivation.python_names


def both_notations(source: str, arrays: dict[str, np.ndarray],
                   bind: dict[str, str] | None = None) -> dict[str, Timed]:
    runs: dict[str, Timed] = {}
    for label, text, checks in (("let-bound", source, True), ("inline", inline(source), True),
                                ("unchecked", source, False)):
        function, names = generated(text, bind, checks)
        keywords = {names[name]: value for name, value in arrays.items() if name in names}
        runs[label] = lambda function=function, keywords=keywords: function(**keywords)
    return runs


def hand_single(X: np.ndarray, Y: np.ndarray, W: np.ndarray, b: np.ndarray
                ) -> tuple[float, dict[str, np.ndarray]]:
    """(3)–(4) with f = tanh."""
    Z = np.tanh(X @ W + b)
    E = Z - Y
    D = E * (1 - Z * Z)
    return 0.5 * float(np.vdot(E, E)), {"W": X.T @ D, "b": D.sum(axis=0, keepdims=True)}


def single_workload(t: int, n: int, m: int, dtype: str, rng: np.random.Generator
                    ) -> dict[str, Timed]:
    X, Y = (rng.normal(size=(t, n)).astype(dtype), rng.normal(size=(t, m)).astype(dtype))
    W = (rng.normal(size=(n, m)) / np.sqrt(n)).astype(dtype)
    b = rng.normal(size=(1, m)).astype(dtype)
    runs = {"hand-written": lambda: hand_single(X, Y, W, b)}
    runs |= both_notations(SINGLE_LAYER, {"X": X, "Y": Y, "W": W, "b": b}, {"f": "tanh"})
    return runs


def mlp_workload(k: int, t: int, width: int, dtype: str, rng: np.random.Generator
                 ) -> dict[str, Timed]:
    X = rng.normal(size=(t, width)).astype(dtype)
    Y = rng.normal(size=(t, width)).astype(dtype)
    W = [(rng.normal(size=(width, width)) / np.sqrt(width)).astype(dtype) for _ in range(k)]
    b = [(rng.normal(size=(1, width)) / 4).astype(dtype) for _ in range(k)]
    arrays = {"X": X, "Y": Y} | {f"W{j + 1}": W[j] for j in range(k)} | {
        f"b{j + 1}": b[j] for j in range(k)}
    runs: dict[str, Timed] = {"hand-written": lambda: hand_mlp(X, Y, W, b)}
    runs |= both_notations(mlp(k), arrays)
    loop, _ = generated(REGRESSION_LOOP, {"f": "tanh"})
    runs["loop"] = lambda: loop(X, Y, W, b)
    return runs


def softmax_workload(dtype: str, rng: np.random.Generator) -> dict[str, Timed]:
    t, width, classes = 512, 256, 10
    X = rng.normal(size=(t, width)).astype(dtype)
    Y = np.eye(classes, dtype=dtype)[rng.integers(0, classes, size=t)]
    W1 = (rng.normal(size=(width, width)) / 16).astype(dtype)
    b1 = rng.normal(size=(1, width)).astype(dtype)
    W2 = (rng.normal(size=(width, classes)) / 16).astype(dtype)
    b2 = rng.normal(size=(1, classes)).astype(dtype)
    runs: dict[str, Timed] = {"hand-written": lambda: hand_softmax(X, Y, W1, b1, W2, b2)}
    runs |= both_notations(SOFTMAX, {"X": X, "Y": Y, "W1": W1, "b1": b1, "W2": W2, "b2": b2})
    return runs


def tied_workload(dtype: str, rng: np.random.Generator) -> dict[str, Timed]:
    t, width = 512, 256
    X = rng.normal(size=(t, width)).astype(dtype)
    W1 = (rng.normal(size=(width, width)) / 16).astype(dtype)
    W2 = (rng.normal(size=(width, width)) / 16).astype(dtype)
    bs = [(rng.normal(size=(1, width)) / 4).astype(dtype) for _ in range(4)]
    arrays = {"X": X, "W1": W1, "W2": W2} | {f"b{j + 1}": bs[j] for j in range(4)}
    runs: dict[str, Timed] = {"hand-written": lambda: hand_tied(X, W1, W2, *bs)}
    runs |= both_notations(TIED, arrays, {f"f{j}": "tanh" for j in range(1, 5)})
    return runs


def batched(runs: dict[str, Timed], at_least: float = 0.005) -> tuple[dict[str, Timed], int]:
    """Each run repeated so that one timed batch lasts at least `at_least` seconds: a call of
    30 µs timed alone is mostly timer and scheduler noise."""
    reference = runs["hand-written"]
    start = time.perf_counter()
    reference()
    single = max(time.perf_counter() - start, 1e-7)
    count = max(1, int(at_least / single))

    def repeat(function: Timed) -> Timed:
        return lambda: [function() for _ in range(count)]

    return {label: repeat(function) for label, function in runs.items()}, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (pinned)")
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--quick", action="store_true", help="float64 only")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    workloads: list[tuple[str, Callable[[str], dict[str, Timed]]]] = [
        ("§1 1024×256→128", lambda d: single_workload(1024, 256, 128, d, rng)),
        ("§1 64×32→16", lambda d: single_workload(64, 32, 16, d, rng)),
        *((f"MLP k={k}", lambda d, k=k: mlp_workload(k, 512, 256, d, rng)) for k in (2, 4, 8)),
        ("MLP k=4 small", lambda d: mlp_workload(4, 64, 32, d, rng)),
        ("softmax classifier", lambda d: softmax_workload(d, rng)),
        ("tied AE k=4", lambda d: tied_workload(d, rng)),
    ]
    dtypes = ("float64",) if args.quick else ("float64", "float32")
    print(f"{THREADS} BLAS thread(s); median of {args.repeats} interleaved rounds; "
          "ratio = time / hand-written NumPy")
    print(f"{'workload':<20} {'dtype':<8} {'hand (ms)':>10} {'let-bound':>10} {'inline':>8} "
          f"{'loop':>6} {'unchecked':>10}")
    for name, build in workloads:
        for dtype in dtypes:
            runs, count = batched(build(dtype))
            medians = {label: value / count
                       for label, value in interleaved(runs, args.repeats, 0.0).items()}
            base = medians["hand-written"]
            ratios = [f"{medians[label] / base:.2f}" if label in medians else "—"
                      for label in ("let-bound", "inline", "loop", "unchecked")]
            print(f"{name:<20} {dtype:<8} {base * 1e3:10.3f} {ratios[0]:>10} {ratios[1]:>8} "
                  f"{ratios[2]:>6} {ratios[3]:>10}")


if __name__ == "__main__":
    main()
