"""Benchmark: time and peak memory of matgrad against the size of its input, per family.

Families (each grown to its documented limit — 200 brackets — or a size that shows the trend):
  nested-norm / -sum / -softmax / -tanh / -inv   f(f(…f(X)…)) of depth d;
  nested-product X(X(…(X)…)) of depth d;
  sum-terms      J = sum(W₀ ⊙ X) + … + sum(W_{d−1} ⊙ X), d distinct parameters;
  let-chain      A₁ = tanh(A₀ W₁), …, A_d = tanh(A_{d−1} W_d): d let-bound layers;
  layers         the guide's loop, written out (`depth={"k": d}`);
  check-depth    `matgrad.check` of a d-layer tanh network at t = n = 2;
  nested-power / nested-.^   ((W^2)^2)… and ((W.^2).^2)… of depth d (one power each);
  check-size     `matgrad.check` at n = m = d (a constant number of evaluations).
Each size runs in this process: time (median of 3, derivation + printing, or the check) and
peak memory (tracemalloc, a separate run, since tracing slows allocation).  The slope is the
least-squares exponent b of time ≈ a·sizeᵇ over the sizes: 1 is linear, 2 quadratic.

    python benchmarks/bench_scaling.py [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import time
import tracemalloc
from collections.abc import Callable
from statistics import median

import matgrad

LOOP = ("X: t x n, data\nY: t x n, data\nZ[0] = X\nfor j in 1..k:\n    W[j]: n x n\n"
        "    Z[j] = tanh(Z[j-1]*W[j])\nend\nJ = 1/2 * ||Z[k] - Y||^2\n")


def nested(function: str) -> Callable[[int], str]:
    def source(depth: int) -> str:
        inner = f"{function}(" * depth + "X" + ")" * depth
        if function == "norm2":
            return f"X: n x m\nJ = {inner}"
        if function == "inv":
            return f"X: n x n\nJ = tr({inner})"
        return f"X: n x m\nJ = sum({inner})"
    return source


def nested_products(depth: int) -> str:
    return "X: n x n\nJ = sum(" + "(X * " * depth + "X" + ")" * depth + ")"


def sum_terms(count: int) -> str:
    declarations = "; ".join(f"W{k}: n x m" for k in range(count))
    return f"X: n x m, data; {declarations}\nJ = " + " + ".join(
        f"sum(W{k} .* X)" for k in range(count))


def let_chain(depth: int) -> str:
    lines = ["A0: t x n, data", "Y: t x n, data"]
    for k in range(1, depth + 1):
        lines += [f"W{k}: n x n", f"A{k} = tanh(A{k - 1}*W{k})"]
    return "\n".join([*lines, f"J = 1/2 * ||A{depth} - Y||^2"])


def derive_and_print(source: str) -> None:
    str(matgrad.derive(source))


def layers(depth: int) -> None:
    str(matgrad.derive(LOOP, depth={"k": depth}))


def check_depth(depth: int) -> None:
    derivation = matgrad.derive(let_chain(depth))
    matgrad.check(derivation, {"t": 2, "n": 2})


def nested_powers(operator: str) -> Callable[[int], None]:
    """((W op 2) op 2)… of depth d: `^` is refused past W^16 at once (it wrote out 2ᵈ factors),
    `.^` is one power E.^(2ᵈ) (it wrote out 2ᵈ Hadamard factors: > 60 s at d = 30)."""
    def run(depth: int) -> None:
        source = "W: n x n\nJ = sum(" + "(" * depth + "W" + f"){operator}2" * depth + ")"
        with contextlib.suppress(matgrad.MatgradError):  # the refusal is what is timed
            str(matgrad.derive(source))
    return run


def check_size(size: int) -> None:
    """`matgrad.check` at n = m = size: at most 129 evaluations of J per parameter whatever
    the size (entry by entry it was 2·n·m: 8 million at 2000)."""
    matgrad.check(matgrad.derive("W: n x m; A: n x m, data\nJ = sum(tanh(W) .* A)"),
                  {"n": size, "m": size})


FAMILIES: dict[str, tuple[Callable[[int], None], list[int]]] = {
    "nested-power": (nested_powers("^"), [2, 4, 8, 30]),
    "nested-.^": (nested_powers(".^"), [2, 8, 15, 30]),
    "check-size": (check_size, [10, 100, 1000, 2000]),
    "nested-norm": (lambda d: derive_and_print(nested("norm2")(d)), [25, 50, 100, 199]),
    "nested-sum": (lambda d: derive_and_print(nested("sum")(d)), [25, 50, 100, 199]),
    "nested-softmax": (lambda d: derive_and_print(nested("softmax")(d)), [25, 50, 100, 198]),
    "nested-tanh": (lambda d: derive_and_print(nested("tanh")(d)), [25, 50, 100, 198]),
    "nested-inv": (lambda d: derive_and_print(nested("inv")(d)), [25, 50, 100, 198]),
    "nested-product": (lambda d: derive_and_print(nested_products(d)), [25, 50, 100, 198]),
    "sum-terms": (lambda d: derive_and_print(sum_terms(d)), [400, 800, 1600, 3333]),
    "let-chain": (lambda d: derive_and_print(let_chain(d)), [50, 100, 200, 400]),
    "layers": (layers, [25, 50, 100, 200]),
    # Central differences evaluate J twice per entry, and each entry grows with the depth: the
    # check itself is quadratic in the depth (tracemalloc makes 200 layers take minutes).
    "check-depth": (check_depth, [25, 50, 100]),
}


def measure(run: Callable[[int], None], size: int, repeats: int) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(size)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    run(size)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return median(times), peak / 2**20


def slope(sizes: list[int], times: list[float]) -> float:
    xs = [math.log(s) for s in sizes]
    ys = [math.log(max(t, 1e-6)) for t in times]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mean_x) ** 2 for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first three sizes, 1 repeat")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    derive_and_print("X: n x m\nJ = sum(X .* X)")  # imports, rule loading, Lark tables
    print(f"{'family':<15} {'size':>6} {'time s':>8} {'peak MB':>8}")
    for name, (run, sizes) in FAMILIES.items():
        chosen = sizes[:3] if args.quick else sizes
        times = []
        for size in chosen:
            seconds, megabytes = measure(run, size, repeats)
            times.append(seconds)
            print(f"{name:<15} {size:>6} {seconds:>8.3f} {megabytes:>8.1f}", flush=True)
        print(f"{name:<15} slope {slope(chosen, times):.2f}\n", flush=True)


if __name__ == "__main__":
    main()
