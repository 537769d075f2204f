"""Benchmark: generated value_and_grad vs a hand-written NumPy eq. (3)–(4) (the guide's §1).

X: 1024×256, W: 256×128, float64 and float32, f = tanh.  The two run side by side in one
process, interleaved, and the median of each is compared (ratio = generated / hand-written;
below 1.00 the generated code is faster).  Run by hand:

    python benchmarks/bench_single_layer.py [--repeats 30]

Each regime runs in its own child process, because glibc decides there how large temporaries
are allocated: `fresh` fixes the mmap threshold at its 128 KiB default, so every large
temporary is a fresh mapping page-faulted on each call (what a short-lived process sees);
`warm` lets glibc raise the threshold after the first free (the usual long-running process),
so temporaries are recycled from the heap.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from statistics import median

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REGIMES = {"fresh": {"MALLOC_MMAP_THRESHOLD_": "131072"}, "warm": {}}


def hand_written(X, Y, W, b):  # type: ignore[no-untyped-def]
    """The guide's eq. (2)–(4) as an expert writes them in NumPy."""
    A = X @ W + b
    Z = np.tanh(A)
    E = Z - Y
    J = 0.5 * np.vdot(E, E)
    Delta = E * (1 - Z**2)
    return float(J), {"W": X.T @ Delta, "b": Delta.sum(axis=0, keepdims=True)}


def measure(repeats: int, dtype: str) -> tuple[float, float]:
    sys.path.insert(0, str(ROOT / "src"))
    import matgrad

    generated = matgrad.derive((ROOT / "examples" / "single_layer.mg").read_text()).compile(
        bind={"f": "tanh"})
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1024, 256)).astype(dtype)
    Y = rng.normal(size=(1024, 128)).astype(dtype)
    W = (rng.normal(size=(256, 128)) / 16).astype(dtype)
    b = rng.normal(size=(1, 128)).astype(dtype)
    ours, theirs = generated(X, Y, W, b), hand_written(X, Y, W, b)
    np.testing.assert_allclose(ours[1]["W"], theirs[1]["W"], rtol=1e-3 if dtype == "float32"
                               else 1e-10, atol=1e-3)
    times: dict[str, list[float]] = {"generated": [], "hand": []}
    for _ in range(3):  # warm-up
        generated(X, Y, W, b)
        hand_written(X, Y, W, b)
    for index in range(repeats):
        order = [("generated", generated), ("hand", hand_written)]
        if index % 2:
            order.reverse()  # interleaved, alternating which goes first
        for label, function in order:
            start = time.perf_counter()
            function(X, Y, W, b)
            times[label].append(time.perf_counter() - start)
    return median(times["generated"]), median(times["hand"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--child", nargs=2, metavar=("REGIME", "DTYPE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        generated, hand = measure(args.repeats, args.child[1])
        print(f"{generated} {hand}")
        return
    print(f"{'regime':<7} {'dtype':<8} {'generated':>11} {'hand-written':>13} {'ratio':>7}")
    for regime, extra_env in REGIMES.items():
        for dtype in ("float64", "float32"):
            env = {**os.environ, **extra_env}
            out = subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats),
                                  "--child", regime, dtype], env=env, capture_output=True,
                                 text=True, check=True).stdout
            generated, hand = map(float, out.split())
            print(f"{regime:<7} {dtype:<8} {generated * 1e3:9.3f}ms {hand * 1e3:11.3f}ms "
                  f"{generated / hand:7.3f}")


if __name__ == "__main__":
    main()
