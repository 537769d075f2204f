"""Benchmark: the guide's §3 networks — matgrad's generated code vs a hand-written NumPy backprop
of the guide's formulas, PyTorch eager autograd (CPU) and jax.jit(jax.value_and_grad) (CPU).

Workloads (t = 512 examples, width 256):
  mlp-k       k-layer tanh regression network (k = 2, 4, 8), J = 1/(2t)‖Zₖ − Y‖²;
              matgrad both written out (`--depth`) and as one loop over lists of weights;
  mlp-4-small the same with t = 32, width 16, where per-call overhead dominates;
  softmax     2-layer classifier, tanh hidden layer, 10 classes, NLL loss with one-hot Y;
  tied-ae     k = 4 auto-encoder with tied weights (W₃ = W₂ᵀ, W₄ = W₁ᵀ), the guide's §3.3.
Each in float64 and float32. All implementations of a workload run side by side in one process,
interleaved (a shuffled order every repeat, the second of two calls timed); the medians and the
ratios to the hand-written NumPy are printed. JAX's compile time (the first call) is reported
separately and excluded. Finally, derivation + code generation time for k = 8, 32, 128 written-
out layers and for the symbolic loop (any k).

    pip install -e ".[bench]"      # torch, jax: optional benchmark dependencies
    python benchmarks/bench_networks.py [--repeats 30] [--quick]

A missing torch or jax is reported and skipped; the NumPy comparison always runs.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
# OpenMP threads (PyTorch's) otherwise spin after each call and take the cores from whatever runs
# next in the interleaved order; a pause between calls lets every thread pool go idle, so each
# call starts from a quiet machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
PAUSE = 0.005

import matgrad  # noqa: E402

T, WIDTH, CLASSES = 512, 256, 10
Timed = Callable[[], Any]


# ---- programs -----------------------------------------------------------------------------

REGRESSION_LOOP = (ROOT / "examples" / "regression_loop.mg").read_text()
SOFTMAX = """X: t x n0, data; Y: t x n2, data, onehot
W1: n0 x n1; b1: 1 x n1; W2: n1 x n2; b2: 1 x n2
A1 = X*W1 + b1; Z1 = tanh(A1)
A2 = Z1*W2 + b2; Z2 = softmax(A2)
J = -1/t * sum(Y .* log(Z2))"""
TIED = (ROOT / "examples" / "tied_autoencoder.mg").read_text()


# ---- hand-written NumPy, the guide's formulas -----------------------------------------------

def hand_mlp(X: np.ndarray, Y: np.ndarray, W: list[np.ndarray], b: list[np.ndarray]
             ) -> tuple[float, dict[str, list[np.ndarray]]]:
    """(18) forward, (23) backward, as an expert writes it."""
    Z = [X]
    for Wj, bj in zip(W, b, strict=True):
        Z.append(np.tanh(Z[-1] @ Wj + bj))
    t = X.shape[0]
    E = Z[-1] - Y
    J = 0.5 / t * np.vdot(E, E)
    gW: list[np.ndarray] = [None] * len(W)  # type: ignore[list-item]
    gb: list[np.ndarray] = [None] * len(W)  # type: ignore[list-item]
    D = (E / t) * (1 - Z[-1] ** 2)
    for j in range(len(W) - 1, -1, -1):
        gW[j] = Z[j].T @ D
        gb[j] = D.sum(axis=0, keepdims=True)
        if j:
            D = (D @ W[j].T) * (1 - Z[j] ** 2)
    return float(J), {"W": gW, "b": gb}


def hand_softmax(X: np.ndarray, Y: np.ndarray, W1: np.ndarray, b1: np.ndarray,
                 W2: np.ndarray, b2: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """(24)–(26): Δ₂ = (1/t)(Z₂ − Y)."""
    t = X.shape[0]
    Z1 = np.tanh(X @ W1 + b1)
    A2 = Z1 @ W2 + b2
    peak = A2.max(axis=1, keepdims=True)
    shifted = np.exp(A2 - peak)
    total = shifted.sum(axis=1, keepdims=True)
    Z2 = shifted / total
    J = (np.sum(peak + np.log(total)) - np.vdot(Y, A2)) / t
    D2 = (Z2 - Y) / t
    D1 = (D2 @ W2.T) * (1 - Z1 ** 2)
    return float(J), {"W1": X.T @ D1, "b1": D1.sum(axis=0, keepdims=True),
                      "W2": Z1.T @ D2, "b2": D2.sum(axis=0, keepdims=True)}


def hand_tied(X: np.ndarray, W1: np.ndarray, W2: np.ndarray, b1: np.ndarray, b2: np.ndarray,
              b3: np.ndarray, b4: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """(27): each tied matrix gets both contributions."""
    t = X.shape[0]
    Z1 = np.tanh(X @ W1 + b1)
    Z2 = np.tanh(Z1 @ W2 + b2)
    Z3 = np.tanh(Z2 @ W2.T + b3)
    Z4 = np.tanh(Z3 @ W1.T + b4)
    E = Z4 - X
    J = 0.5 / t * np.vdot(E, E)
    D4 = (E / t) * (1 - Z4 ** 2)
    D3 = (D4 @ W1) * (1 - Z3 ** 2)
    D2 = (D3 @ W2) * (1 - Z2 ** 2)
    D1 = (D2 @ W2.T) * (1 - Z1 ** 2)
    return float(J), {"W1": X.T @ D1 + D4.T @ Z3, "W2": Z1.T @ D2 + D3.T @ Z2,
                      "b1": D1.sum(axis=0, keepdims=True), "b2": D2.sum(axis=0, keepdims=True),
                      "b3": D3.sum(axis=0, keepdims=True), "b4": D4.sum(axis=0, keepdims=True)}


# ---- the same objectives for PyTorch and JAX ------------------------------------------------

def mlp_objective(xp: Any, X: Any, Y: Any, W: list[Any], b: list[Any]) -> Any:
    Z = X
    for Wj, bj in zip(W, b, strict=True):
        Z = xp.tanh(Z @ Wj + bj)
    E = Z - Y
    return 0.5 / X.shape[0] * (E * E).sum()


def softmax_objective(xp: Any, logsumexp: Callable[[Any], Any], X: Any, Y: Any, W1: Any, b1: Any,
                      W2: Any, b2: Any) -> Any:
    A2 = xp.tanh(X @ W1 + b1) @ W2 + b2
    return (logsumexp(A2).sum() - (Y * A2).sum()) / X.shape[0]


def tied_objective(xp: Any, X: Any, W1: Any, W2: Any, b1: Any, b2: Any, b3: Any, b4: Any) -> Any:
    Z1 = xp.tanh(X @ W1 + b1)
    Z2 = xp.tanh(Z1 @ W2 + b2)
    Z3 = xp.tanh(Z2 @ W2.T + b3)
    Z4 = xp.tanh(Z3 @ W1.T + b4)
    E = Z4 - X
    return 0.5 / X.shape[0] * (E * E).sum()


def torch_version(objective: Callable[..., Any], arrays: list[np.ndarray],
                  differentiate: list[int]) -> Timed | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(max(1, torch.get_num_threads()))
    tensors = [torch.from_numpy(a.copy()) for a in arrays]
    for index in differentiate:
        tensors[index].requires_grad_(True)
    wrt = [tensors[i] for i in differentiate]

    def run() -> Any:
        value = objective(torch, *tensors)
        return value.item(), torch.autograd.grad(value, wrt)

    return run


def jax_version(objective: Callable[..., Any], arrays: list[np.ndarray],
                differentiate: list[int]) -> tuple[Timed, float] | None:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    values = [jnp.asarray(a) for a in arrays]
    function = jax.jit(jax.value_and_grad(objective, argnums=tuple(differentiate)))

    def run() -> Any:
        value, grads = function(*values)
        jax.block_until_ready(grads)
        return value, grads

    start = time.perf_counter()
    run()
    return run, time.perf_counter() - start


# ---- workloads --------------------------------------------------------------------------------

def mlp_workload(k: int, dtype: str, rng: np.random.Generator, t: int = T, width: int = WIDTH
                 ) -> tuple[dict[str, Timed], dict[str, float]]:
    X = rng.normal(size=(t, width)).astype(dtype)
    Y = rng.normal(size=(t, width)).astype(dtype)
    W = [(rng.normal(size=(width, width)) / np.sqrt(width)).astype(dtype) for _ in range(k)]
    b = [(rng.normal(size=(1, width)) / 4).astype(dtype) for _ in range(k)]
    written = matgrad.derive(REGRESSION_LOOP, depth={"k": k})
    flat = written.compile(bind={f"f{j}": "tanh" for j in range(1, k + 1)})
    names = written.python_names
    kwargs = {names["X"]: X, names["Y"]: Y} | {names[f"W{j}"]: W[j - 1] for j in
                                               range(1, k + 1)} | {
        names[f"b{j}"]: b[j - 1] for j in range(1, k + 1)}
    loop = matgrad.derive(REGRESSION_LOOP).compile(bind={"f": "tanh"})
    reference = hand_mlp(X, Y, W, b)
    tolerance = 1e-3 if dtype == "float32" else 1e-9
    np.testing.assert_allclose(flat(**kwargs)[1]["W1"], reference[1]["W"][0], rtol=tolerance,
                               atol=tolerance)
    np.testing.assert_allclose(loop(X, Y, W, b)[1]["W"][0], reference[1]["W"][0],
                               rtol=tolerance, atol=tolerance)
    runs: dict[str, Timed] = {
        "hand-written": lambda: hand_mlp(X, Y, W, b),
        "matgrad": lambda: flat(**kwargs),
        "matgrad loop": lambda: loop(X, Y, W, b),
    }
    arrays = [X, Y, *W, *b]

    def packed(xp: Any, X: Any, Y: Any, *params: Any) -> Any:
        return mlp_objective(xp, X, Y, list(params[:k]), list(params[k:]))

    return _add_frameworks(runs, packed, arrays, list(range(2, 2 + 2 * k)))


def softmax_workload(dtype: str, rng: np.random.Generator
                     ) -> tuple[dict[str, Timed], dict[str, float]]:
    X = rng.normal(size=(T, WIDTH)).astype(dtype)
    Y = np.eye(CLASSES, dtype=dtype)[rng.integers(0, CLASSES, size=T)]
    W1 = (rng.normal(size=(WIDTH, WIDTH)) / 16).astype(dtype)
    b1 = rng.normal(size=(1, WIDTH)).astype(dtype)
    W2 = (rng.normal(size=(WIDTH, CLASSES)) / 16).astype(dtype)
    b2 = rng.normal(size=(1, CLASSES)).astype(dtype)
    generated = matgrad.derive(SOFTMAX).compile()
    reference = hand_softmax(X, Y, W1, b1, W2, b2)
    tolerance = 1e-3 if dtype == "float32" else 1e-9
    np.testing.assert_allclose(generated(X, Y, W1, b1, W2, b2)[1]["W1"], reference[1]["W1"],
                               rtol=tolerance, atol=tolerance)
    runs: dict[str, Timed] = {
        "hand-written": lambda: hand_softmax(X, Y, W1, b1, W2, b2),
        "matgrad": lambda: generated(X, Y, W1, b1, W2, b2),
    }

    def objective(xp: Any, *args: Any) -> Any:
        if xp.__name__ == "torch":
            return softmax_objective(xp, lambda a: xp.logsumexp(a, dim=1), *args)
        from jax.scipy.special import logsumexp
        return softmax_objective(xp, lambda a: logsumexp(a, axis=1), *args)

    return _add_frameworks(runs, objective, [X, Y, W1, b1, W2, b2], [2, 3, 4, 5])


def tied_workload(dtype: str, rng: np.random.Generator
                  ) -> tuple[dict[str, Timed], dict[str, float]]:
    X = rng.normal(size=(T, WIDTH)).astype(dtype)
    W1 = (rng.normal(size=(WIDTH, WIDTH)) / 16).astype(dtype)
    W2 = (rng.normal(size=(WIDTH, WIDTH)) / 16).astype(dtype)
    bs = [(rng.normal(size=(1, WIDTH)) / 4).astype(dtype) for _ in range(4)]
    derivation = matgrad.derive(TIED)
    generated = derivation.compile(bind={f"f{j}": "tanh" for j in range(1, 5)})
    reference = hand_tied(X, W1, W2, *bs)
    tolerance = 1e-3 if dtype == "float32" else 1e-9
    ours = generated(X, W1, W2, *bs)
    np.testing.assert_allclose(ours[1]["W1"], reference[1]["W1"], rtol=tolerance, atol=tolerance)
    runs: dict[str, Timed] = {
        "hand-written": lambda: hand_tied(X, W1, W2, *bs),
        "matgrad": lambda: generated(X, W1, W2, *bs),
    }
    return _add_frameworks(runs, tied_objective, [X, W1, W2, *bs], list(range(1, 7)))


def _add_frameworks(runs: dict[str, Timed], objective: Callable[..., Any],
                    arrays: list[np.ndarray], differentiate: list[int]
                    ) -> tuple[dict[str, Timed], dict[str, float]]:
    compile_times: dict[str, float] = {}
    torch_run = torch_version(objective, arrays, differentiate)
    if torch_run is not None:
        runs["torch eager"] = torch_run
    try:
        import jax.numpy as jnp
    except ImportError:
        jnp = None
    if jnp is not None:

        def jax_objective(*args: Any) -> Any:
            return objective(jnp, *args)

        jax_run = jax_version(jax_objective, arrays, differentiate)
        if jax_run is not None:
            runs["jax.jit"], compile_times["jax.jit"] = jax_run
    return runs, compile_times


def interleaved(runs: dict[str, Timed], repeats: int, pause: float) -> dict[str, float]:
    """Median seconds of each run over `repeats` rounds.  Each round visits the runs in a
    shuffled order (seeded), and times the second of two calls in a row: as in a training
    loop, a call follows a call of itself.  (With a rotating order and single calls, the run
    placed after the hand-written one paid for the memory it had just freed: two runs of one
    generated module measured 1.01 and 0.82.)"""
    times: dict[str, list[float]] = {label: [] for label in runs}
    for function in runs.values():  # warm-up
        function()
        function()
    labels = list(runs)
    order = random.Random(0)
    for _ in range(repeats):
        order.shuffle(labels)
        for label in labels:
            if pause:
                time.sleep(pause)
            runs[label]()
            start = time.perf_counter()
            runs[label]()
            times[label].append(time.perf_counter() - start)
    return {label: median(values) for label, values in times.items()}


def derivation_times(depths: tuple[int, ...]) -> None:
    print("\nderivation + code generation (median of 3):")
    print(f"{'program':<22} {'derive':>9} {'codegen':>9} {'per layer':>10}")
    for k in depths:
        derive_times, codegen_times = [], []
        for _ in range(3):
            start = time.perf_counter()
            derivation = matgrad.derive(REGRESSION_LOOP, depth={"k": k})
            middle = time.perf_counter()
            derivation.numpy_source(bind={f"f{j}": "tanh" for j in range(1, k + 1)})
            derive_times.append(middle - start)
            codegen_times.append(time.perf_counter() - middle)
        d, c = median(derive_times), median(codegen_times)
        print(f"{f'written out, k = {k}':<22} {d:8.3f}s {c:8.3f}s {1e3 * (d + c) / k:8.1f}ms")
    start = time.perf_counter()
    loop = matgrad.derive(REGRESSION_LOOP)
    middle = time.perf_counter()
    loop.numpy_source(bind={"f": "tanh"})
    print(f"{'loop, any k':<22} {middle - start:8.3f}s {time.perf_counter() - middle:8.3f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="float64 only, k = 2 and 8")
    parser.add_argument("--only", metavar="NAME", help="one workload: mlp-4, softmax, tied-ae…")
    parser.add_argument("--pause", type=float, default=PAUSE * 1e3, metavar="MS",
                        help="idle time before each timed call (default 5 ms; 0 runs calls "
                        "back to back, where one framework's spinning threads slow the next)")
    parser.add_argument("--no-derivation", action="store_true",
                        help="skip the derivation-time table")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    dtypes = ("float64",) if args.quick else ("float64", "float32")
    depths = (2, 8) if args.quick else (2, 4, 8)
    workloads: list[tuple[str, Callable[[str], tuple[dict[str, Timed], dict[str, float]]]]] = [
        *((f"mlp-{k}", lambda dtype, k=k: mlp_workload(k, dtype, rng)) for k in depths),
        # Small: t = 32, width 16, where per-call overhead (Python, dispatch) dominates.
        ("mlp-4-small", lambda dtype: mlp_workload(4, dtype, rng, t=32, width=16)),
        ("softmax", lambda dtype: softmax_workload(dtype, rng)),
        ("tied-ae", lambda dtype: tied_workload(dtype, rng)),
    ]
    print(f"t = {T}, width = {WIDTH}; median of {args.repeats} interleaved runs, "
          f"{args.pause:g} ms pause before each; ratio = time / hand-written NumPy")
    print(f"{'workload':<11} {'dtype':<8} {'implementation':<14} {'median':>10} {'ratio':>7}")
    for name, build in workloads:
        if args.only and name != args.only:
            continue
        for dtype in dtypes:
            runs, compile_times = build(dtype)
            medians = interleaved(runs, args.repeats, args.pause / 1e3)
            base = medians["hand-written"]
            for label, value in medians.items():
                extra = (f"   (compile {compile_times[label] * 1e3:.0f} ms, excluded)"
                         if label in compile_times else "")
                print(f"{name:<11} {dtype:<8} {label:<14} {value * 1e3:8.3f}ms "
                      f"{value / base:7.3f}{extra}")
    if not args.no_derivation:
        derivation_times((8, 32, 128))


if __name__ == "__main__":
    main()
