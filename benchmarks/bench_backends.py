"""Benchmark: matgrad's generated JAX code (under jax.jit) against JAX's own autodiff,
jax.jit(jax.value_and_grad(objective)), on the same objective, inputs and device (CPU).

Workloads: §1 single layer f = tanh (1024×256→128 and 64×32→16), the tanh MLP written out
(k = 2, 4, 8; width 256, t = 512), the softmax classifier and the tied auto-encoder k = 4; in
float64 and float32.  The layer loop module (k = 2, 4, 8, 32) also against the same recursion
written with jax.lax.scan, the other way to run a loop under jit (compile time included).
One XLA thread (PJRT_NPROC=1, single-threaded Eigen), set before JAX
loads; each function is compiled by a first call (reported, excluded), then the two run
interleaved, the order rotating each round; medians and the ratio matgrad / jax.grad.  After
each: the compiled XLA programs' matrix products, fusions and operations, matgrad / jax.grad
(equal counts: XLA compiled both to the same program).

    python benchmarks/bench_backends.py [--repeats 25] [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median
from typing import Any

os.environ.setdefault("PJRT_NPROC", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "benchmarks")]

import numpy as np  # noqa: E402
from bench_networks import SOFTMAX, TIED, softmax_objective, tied_objective  # noqa: E402
from helpers import bind_for  # noqa: E402
from notations import mlp  # noqa: E402
from timing import side_by_side  # noqa: E402

import matgrad  # noqa: E402

SINGLE_LAYER = (ROOT / "examples" / "single_layer.mg").read_text()
Case = tuple[str, dict[str, np.ndarray], Callable[..., Any], list[str]]


def single(t: int, n: int, m: int, rng: np.random.Generator) -> Case:
    arrays = {"X": rng.normal(size=(t, n)), "Y": rng.normal(size=(t, m)),
              "W": rng.normal(size=(n, m)) / np.sqrt(n), "b": rng.normal(size=(1, m))}

    def objective(xp: Any, X: Any, Y: Any, W: Any, b: Any) -> Any:
        E = xp.tanh(X @ W + b) - Y
        return 0.5 * (E * E).sum()

    return SINGLE_LAYER, arrays, objective, ["W", "b"]


def deep(k: int, rng: np.random.Generator, t: int = 512, width: int = 256) -> Case:
    arrays = {"X": rng.normal(size=(t, width)), "Y": rng.normal(size=(t, width))}
    for j in range(1, k + 1):
        arrays[f"W{j}"] = rng.normal(size=(width, width)) / np.sqrt(width)
        arrays[f"b{j}"] = rng.normal(size=(1, width)) / 4

    def objective(xp: Any, X: Any, Y: Any, *params: Any) -> Any:
        Z = X
        for j in range(k):
            Z = xp.tanh(Z @ params[2 * j] + params[2 * j + 1])
        E = Z - Y
        return 0.5 / X.shape[0] * (E * E).sum()

    return mlp(k), arrays, objective, [f"{p}{j}" for j in range(1, k + 1) for p in "Wb"]


def classifier(rng: np.random.Generator,
               logsumexp: Callable[[Any], Any] | None = None) -> Case:
    """The 2-layer softmax classifier; `logsumexp` row-wise in the objective's library (JAX's
    by default)."""
    t, width, classes = 512, 256, 10
    arrays = {"X": rng.normal(size=(t, width)),
              "Y": np.eye(classes)[rng.integers(0, classes, size=t)],
              "W1": rng.normal(size=(width, width)) / 16, "b1": rng.normal(size=(1, width)),
              "W2": rng.normal(size=(width, classes)) / 16, "b2": rng.normal(size=(1, classes))}
    if logsumexp is None:
        from jax.scipy.special import logsumexp as jax_logsumexp

        def logsumexp(a: Any) -> Any:
            return jax_logsumexp(a, axis=1)

    def objective(xp: Any, *args: Any) -> Any:
        return softmax_objective(xp, logsumexp, *args)

    return SOFTMAX, arrays, objective, ["W1", "b1", "W2", "b2"]


def tied(rng: np.random.Generator) -> Case:
    t, width = 512, 256
    arrays = {"X": rng.normal(size=(t, width)), "W1": rng.normal(size=(width, width)) / 16,
              "W2": rng.normal(size=(width, width)) / 16}
    arrays |= {f"b{j}": rng.normal(size=(1, width)) / 4 for j in range(1, 5)}
    return TIED, arrays, tied_objective, ["W1", "W2", "b1", "b2", "b3", "b4"]


def timed(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def compiled_structure(compiled_text: str) -> tuple[int, int, int]:
    """(matrix products, fusions, operations) of a compiled XLA program's entry computation:
    equal counts for matgrad's module and jax.grad's mean XLA compiled the same program."""
    entry = compiled_text[compiled_text.index("ENTRY"):]
    operations = re.findall(r"=\s*\S+\s+([a-z][a-z\-]*)\(", entry)
    products = len(re.findall(r"=\s*\S+\s+(?:dot|custom-call)\(", compiled_text))
    return products, operations.count("fusion"), len(operations)


def run_case(label: str, case: Case, dtype: str, repeats: int) -> None:
    import jax
    import jax.numpy as jnp

    source, arrays, objective, wrt = case
    derivation = matgrad.derive(source)
    bind = bind_for(derivation, {"f": "tanh"} | {f"f{j}": "tanh" for j in range(1, 9)})
    names = derivation.python_names
    values = {name: jnp.asarray(value.astype(dtype)) for name, value in arrays.items()}
    ours = jax.jit(derivation.compile(bind=bind, backend="jax"))
    keywords = {names[name]: value for name, value in values.items() if name in names}
    order = list(arrays)
    positions = tuple(order.index(name) for name in wrt)
    theirs = jax.jit(jax.value_and_grad(lambda *a: objective(jnp, *a), argnums=positions))
    positional = [values[name] for name in order]

    def run_ours() -> Any:
        return jax.block_until_ready(ours(**keywords))

    def run_theirs() -> Any:
        return jax.block_until_ready(theirs(*positional))

    compile_ours, compile_theirs = timed(run_ours), timed(run_theirs)
    ours_value, theirs_value = float(run_ours()[0]), float(run_theirs()[0])
    assert np.isclose(ours_value, theirs_value, rtol=1e-3 if dtype == "float32" else 1e-9)
    times: dict[str, list[float]] = {"matgrad": [], "jax.grad": []}
    runs = {"matgrad": run_ours, "jax.grad": run_theirs}
    for index in range(repeats):
        for name in (list(runs) if index % 2 == 0 else list(runs)[::-1]):
            times[name].append(timed(runs[name]))
    mine, reference = median(times["matgrad"]), median(times["jax.grad"])
    structure = " / ".join(
        "-".join(map(str, compiled_structure(function.lower(*args, **kwargs).compile().as_text())))
        for function, args, kwargs in ((ours, (), keywords), (theirs, positional, {})))
    print(f"{label:<18} {dtype:<8} {mine * 1e3:9.3f} {reference * 1e3:10.3f} "
          f"{mine / reference:7.2f}   compile {compile_ours * 1e3:.0f} / "
          f"{compile_theirs * 1e3:.0f} ms   XLA products-fusions-ops {structure}")


def run_loop_case(k: int, case: Case, dtype: str, repeats: int) -> None:
    """The layer loop module (weights as lists; a Python loop that jax.jit unrolls for the
    depth traced) against jax.value_and_grad, and the same recursion written with lax.scan."""
    import jax
    import jax.numpy as jnp

    _, arrays, objective, wrt = case
    values = {name: jnp.asarray(value.astype(dtype)) for name, value in arrays.items()}
    loop = matgrad.derive((ROOT / "examples" / "regression_loop.mg").read_text())
    ours = jax.jit(loop.compile(bind={"f[j]": "tanh"}, backend="jax"))
    lists = {"X": values["X"], "Y": values["Y"],
             "W": [values[f"W{j}"] for j in range(1, k + 1)],
             "b": [values[f"b{j}"] for j in range(1, k + 1)]}
    order = list(arrays)
    theirs = jax.jit(jax.value_and_grad(lambda *a: objective(jnp, *a),
                                        argnums=tuple(order.index(name) for name in wrt)))
    positional = [values[name] for name in order]

    def run_ours() -> Any:
        return jax.block_until_ready(ours(**lists))

    def run_theirs() -> Any:
        return jax.block_until_ready(theirs(*positional))

    scanned = jax.jit(scan_gradient)
    stacked = (values["X"], values["Y"], jnp.stack(lists["W"]), jnp.stack(lists["b"]))

    def run_scan() -> Any:
        return jax.block_until_ready(scanned(*stacked))

    compile_ours, compile_theirs = timed(run_ours), timed(run_theirs)
    compile_scan = timed(run_scan)
    tolerance = 1e-3 if dtype == "float32" else 1e-9
    assert np.isclose(float(run_ours()[0]), float(run_theirs()[0]), rtol=tolerance)
    assert np.isclose(float(run_scan()[0]), float(run_theirs()[0]), rtol=tolerance)
    medians = side_by_side({"ours": run_ours, "theirs": run_theirs, "scan": run_scan},
                           repeats)
    mine, reference = medians["ours"], medians["theirs"]
    print(f"{f'MLP k={k} loop':<18} {dtype:<8} {mine * 1e3:9.3f} {reference * 1e3:10.3f} "
          f"{mine / reference:7.2f}   compile {compile_ours * 1e3:.0f} / "
          f"{compile_theirs * 1e3:.0f} ms;  lax.scan {medians['scan'] * 1e3:.3f} ms "
          f"({medians['scan'] / reference:.2f}), compile {compile_scan * 1e3:.0f} ms")


def scan_gradient(X: Any, Y: Any, W: Any, b: Any) -> Any:
    """The loop module's recursion (23) by hand with jax.lax.scan over stacked weights (the
    other way to write a layer loop for JAX): a forward scan keeping each layer's input and
    output, then a reverse scan of ΔZ[j] → ΔZ[j-1] giving each layer's gradients."""
    import jax

    def forward(Z: Any, layer: Any) -> Any:
        W_j, b_j = layer
        Z_next = jax.numpy.tanh(Z @ W_j + b_j)
        return Z_next, (Z, Z_next)

    Z_k, (inputs, outputs) = jax.lax.scan(forward, X, (W, b))
    t = X.shape[0]
    E = Z_k - Y
    J = (E * E).sum() / (2 * t)

    def backward(delta_Z: Any, layer: Any) -> Any:
        W_j, Z_before, Z_j = layer
        delta_A = delta_Z * (1 - Z_j * Z_j)
        return delta_A @ W_j.T, (Z_before.T @ delta_A, delta_A.sum(axis=0, keepdims=True))

    _, (grad_W, grad_b) = jax.lax.scan(backward, E / t, (W, inputs, outputs), reverse=True)
    return J, {"W": grad_W, "b": grad_b}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--quick", action="store_true", help="float64 only")
    args = parser.parse_args()
    import jax

    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(0)
    cases: list[tuple[str, Case]] = [
        ("§1 1024×256→128", single(1024, 256, 128, rng)),
        ("§1 64×32→16", single(64, 32, 16, rng)),
        *((f"MLP k={k}", deep(k, rng)) for k in (2, 4, 8)),
        ("softmax classifier", classifier(rng)),
        ("tied AE k=4", tied(rng)),
    ]
    print(f"jax {jax.__version__}, CPU, one XLA thread; median of {args.repeats} interleaved "
          "rounds; both under jax.jit, compile time excluded")
    print(f"{'workload':<18} {'dtype':<8} {'matgrad':>9} {'jax.grad':>10} {'ratio':>7}")
    for dtype in ("float64",) if args.quick else ("float64", "float32"):
        for label, case in cases:
            run_case(label, case, dtype, args.repeats)
        for k in (2, 4, 8, 32):
            run_loop_case(k, deep(k, np.random.default_rng(k)), dtype, args.repeats)


if __name__ == "__main__":
    main()
