"""Benchmark: matgrad's second order against JAX's, on the same objectives and inputs (CPU).

- Hessians: xᵀAx at n = 1000 and 2000 (matgrad's block Aᵀ + A) and logistic regression at
  t = 5000, n = 100/300/1000 (Xᵀ((σ′(A)1ᵀ) ⊙ X)) against jax.jit(jax.hessian(f));
- Hessian-vector products: logistic regression, the §1 network (tanh, 1024×256→128) and the
  tanh MLP k = 4 (width 256, t = 512), and small versions of each, against
  jax.jit(jax.jvp(jax.grad(f))) (forward-over-reverse) — matgrad's generated NumPy module, and
  its JAX module under jax.jit;
- the matrix factorisation ‖X − UVᵀ‖² + λ‖U‖²: its Hessian with respect to U, 2(VᵀV + λI) ⊗ I,
  as matgrad's Kronecker operator (built, then applied to a direction) and as a dense matrix,
  against jax.jit(jax.hessian)'s dense (mk)×(mk) result — time and memory;
- Hessian-vector products also against PyTorch's double backward (torch.autograd.grad of the
  gradient with create_graph=True);
- derivation time of the product and of the Hessian's blocks of a 30- and 32-layer written-out
  MLP against 8 and 16 layers (engine/hessian_plan.py reads the blocks near the loss only).

float64.  One thread for every library (OpenBLAS/OMP, PJRT_NPROC=1 and single-threaded Eigen,
torch.set_num_threads), set before NumPy, JAX and PyTorch load; `--threads 2` for two.  JAX
functions are compiled by a first call (reported, excluded); then the contenders run
interleaved, in a new (seeded) order each round; medians and ratios (JAX / matgrad: above 1 is
matgrad faster).

    python benchmarks/bench_second_order.py [--repeats 15] [--threads 1] [--quick]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from statistics import median
from typing import Any


def _threads() -> str:
    for index, arg in enumerate(sys.argv):
        if arg == "--threads" and index + 1 < len(sys.argv):
            return sys.argv[index + 1]
    return "1"


THREADS = _threads()
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = THREADS
os.environ["PJRT_NPROC"] = THREADS
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      f"intra_op_parallelism_threads={THREADS}")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import matgrad  # noqa: E402

jax.config.update("jax_enable_x64", True)
torch.set_num_threads(int(THREADS))

QUADRATIC = "x: n x 1; A: n x n, data\nJ = x'*A*x"
LOGISTIC = "X: t x n, data; y: t x 1, data; w: n x 1\nJ = sum(softplus(X*w)) - y'*X*w"
SINGLE_LAYER = (ROOT / "examples" / "single_layer.mg").read_text()


def mlp(k: int) -> str:
    lines = ["X: t x n, data", "Y: t x n, data"]
    lines += [f"W{j}: n x n; b{j}: 1 x n" for j in range(1, k + 1)]
    previous = "X"
    for j in range(1, k + 1):
        lines.append(f"A{j} = {previous}*W{j} + b{j}; Z{j} = tanh(A{j})")
        previous = f"Z{j}"
    lines.append(f"J = 1/2 * ||Z{k} - Y||^2")
    return "\n".join(lines)


def timed(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    jax.block_until_ready(function())
    return time.perf_counter() - start


def race(contenders: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Medians of the contenders run interleaved, in a new order each round (shuffled, seeded):
    a rotating order keeps the cyclic order, so a contender always ran right after the same
    one — measured, the call after PyTorch's or JAX's paid up to 1.6× for their wake-up."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    order = random.Random(0)
    for _ in range(repeats):
        order.shuffle(names)
        for name in names:
            times[name].append(timed(contenders[name]))
    return {name: median(values) for name, values in times.items()}


def compile_time(function: Callable[[], Any]) -> float:
    return timed(function)


def hessian_cases(quick: bool, rng: np.random.Generator) -> list[tuple[str, str, dict[str, Any],
                                                                       Callable[..., Any]]]:
    cases = []
    for n in ((300,) if quick else (1000, 2000)):
        A = rng.normal(size=(n, n))
        cases.append((f"Hessian xᵀAx, n = {n}", QUADRATIC,
                      {"x": rng.normal(size=(n, 1)), "A": A},
                      lambda x, A: (x.T @ A @ x)[0, 0]))
    for n in ((50,) if quick else (100, 300, 1000)):
        t = 1000 if quick else 5000
        X = rng.normal(size=(t, n)) / np.sqrt(n)
        cases.append((f"Hessian logistic regression, t = {t}, n = {n}", LOGISTIC,
                      {"X": X, "y": (rng.uniform(size=(t, 1)) < 0.5).astype(float),
                       "w": rng.normal(size=(n, 1))},
                      lambda X, y, w: (jnp.logaddexp(0.0, X @ w).sum()
                                       - (y.T @ X @ w)[0, 0])))
    return cases


def hessian_by_hand(values: dict[str, Any]) -> np.ndarray:
    """The closed form written by hand in NumPy (the floor): A + Aᵀ for xᵀAx, and
    Xᵀ((σ′(Xw)𝟏ᵀ) ⊙ X) for logistic regression (σ′ = σ(1 − σ) ≥ 0) at its fastest, as
    (√σ′ ⊙ X)ᵀ(√σ′ ⊙ X): NumPy's symmetric product (BLAS syrk), half the work of the
    general product Xᵀ(σ′ ⊙ X) — measured 1.4–1.7× faster at t = 5000, n = 100–1000."""
    if "A" in values:
        return values["A"] + values["A"].T
    X, w = values["X"], values["w"]
    sigma = 0.5 * (1 + np.tanh(0.5 * (X @ w)))
    root = np.sqrt(sigma * (1 - sigma)) * X
    return root.T @ root


def bench_hessians(quick: bool, repeats: int, rng: np.random.Generator) -> None:
    print("| Hessian | matgrad (ms) | by hand (ms) | jax.jit(jax.hessian) (ms) | matgrad / hand "
          "| jax / matgrad | JAX compile (s) |")
    print("|---|---|---|---|---|---|---|")
    for label, source, values, objective in hessian_cases(quick, rng):
        derivation = matgrad.derive(source)
        blocks = derivation.hessian().compile()
        parameter = derivation.wrt[0]
        names = list(values)
        position = names.index(parameter)
        dense = jax.jit(jax.hessian(objective, argnums=position))
        arrays = [jnp.asarray(values[name]) for name in names]
        compile_seconds = compile_time(lambda: dense(*arrays))  # the first call compiles
        ours = blocks(**values)[(parameter, parameter)]
        theirs = np.asarray(dense(*arrays)).reshape(ours.shape)
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(hessian_by_hand(values), ours, rtol=1e-8, atol=1e-8)
        medians = race({"matgrad": lambda: blocks(**values),
                        "hand": lambda: hessian_by_hand(values),
                        "jax": lambda: dense(*arrays)}, repeats)
        print(f"| {label} | {medians['matgrad'] * 1e3:.2f} | {medians['hand'] * 1e3:.2f} | "
              f"{medians['jax'] * 1e3:.2f} | {medians['matgrad'] / medians['hand']:.2f} | "
              f"{medians['jax'] / medians['matgrad']:.1f}× | {compile_seconds:.2f} |")


NETWORK = ("X: t x n, data; Y: t x m, data; W: n x m; b: 1 x m\n"
           "J = 1/2 * ||tanh(X*W + b) - Y||^2")


def network_by_hand(X: np.ndarray, Y: np.ndarray, W: np.ndarray, b: np.ndarray
                    ) -> dict[tuple[str, str], np.ndarray]:
    """The §1 network's Hessian written by hand in NumPy, its closed form (the floor):
    H_WW = (Iₘ ⊗ Xᵀ) diag(vec D) (Iₘ ⊗ X) is block diagonal, m blocks Xᵀ diag(D_j) X, H_Wb
    has the columns Xᵀ D_j on the same diagonal, H_bb = diag(1ᵀD), with
    D = (1 − Z²)² − 2Z(1 − Z²)(Z − Y)."""
    n, m = W.shape
    Z = np.tanh(X @ W + b)
    slope = 1 - Z * Z
    D = slope * slope - 2 * Z * slope * (Z - Y)
    blocks = np.matmul(X.T[None, :, :] * D.T[:, None, :], X)  # m × n × n
    ww = np.zeros((m * n, m * n))
    index = np.arange(m)
    ww.reshape(m, n, m, n)[index, :, index, :] = blocks
    wb = np.zeros((m * n, m))
    wb.reshape(m, n, m)[index, :, index] = (X.T @ D).T
    return {("W", "W"): ww, ("W", "b"): wb, ("b", "W"): wb.T.copy(),
            ("b", "b"): np.diag(D.sum(axis=0))}


def bench_network_hessian(quick: bool, repeats: int, rng: np.random.Generator) -> None:
    """The §1 network's dense Hessian (all blocks of W and b)."""
    print()
    print("| §1 network Hessian (t = 256) | parameters | matgrad (ms) | by hand (ms) | "
          "jax.jit(jax.hessian) (ms) | torch.func.hessian (ms) | matgrad / hand | "
          "jax / matgrad | torch / matgrad |")
    print("|---|---|---|---|---|---|---|---|---|")
    blocks = matgrad.derive(NETWORK).hessian().compile()
    t = 256

    def objective(lib: Any) -> Callable[..., Any]:
        return lambda W, b, X, Y: 0.5 * ((lib.tanh(X @ W + b) - Y) ** 2).sum()

    for n, m in ((16, 8),) if quick else ((16, 8), (32, 16), (62, 32)):
        X, Y = rng.normal(size=(t, n)), rng.normal(size=(t, m))
        W, b = rng.normal(size=(n, m)) / np.sqrt(n), rng.normal(size=(1, m))
        ours = blocks(X=X, Y=Y, W=W, b=b)
        for key, value in network_by_hand(X, Y, W, b).items():
            np.testing.assert_allclose(ours[key], value, rtol=1e-9, atol=1e-9)
        dense = jax.jit(jax.hessian(objective(jnp), argnums=(0, 1)))
        arrays = [jnp.asarray(value) for value in (W, b, X, Y)]
        tensors = [torch.from_numpy(value) for value in (W, b, X, Y)]
        dense(*arrays)[0][0].block_until_ready()
        hessian = torch.func.hessian(objective(torch), argnums=(0, 1))
        medians = race({
            "matgrad": lambda X=X, Y=Y, W=W, b=b: blocks(X=X, Y=Y, W=W, b=b),
            "hand": lambda X=X, Y=Y, W=W, b=b: network_by_hand(X, Y, W, b),
            "jax": lambda arrays=arrays: dense(*arrays)[0][0].block_until_ready(),
            "torch": lambda tensors=tensors, hessian=hessian: hessian(*tensors),
        }, repeats)
        ours_ms = medians["matgrad"]
        print(f"| n = {n}, m = {m} | {n * m + m} | {ours_ms * 1e3:.2f} | "
              f"{medians['hand'] * 1e3:.2f} | {medians['jax'] * 1e3:.2f} | "
              f"{medians['torch'] * 1e3:.2f} | {ours_ms / medians['hand']:.2f} | "
              f"{medians['jax'] / ours_ms:.1f}× | {medians['torch'] / ours_ms:.1f}× |")


def bench_mlp_hessian(quick: bool, repeats: int, rng: np.random.Generator) -> None:
    """A tanh MLP's dense Hessian, cross-layer blocks included: 2 layers (every block a closed
    form, chains of up to seven factors applied to the columns of the product so far) and 8
    layers (the blocks away from the loss assembled from the Hessian-vector product, one unit
    direction a column: engine/hessian_plan.py)."""
    print()
    print("| MLP Hessian (t = 128) | parameters | blocks from formulas / from the product | "
          "matgrad (ms) | "
          "jax.jit(jax.hessian) (ms) | torch.func.hessian (ms) | jax / matgrad | "
          "torch / matgrad |")
    print("|---|---|---|---|---|---|---|---|")
    cases = ((2, 8), (8, 4)) if quick else ((2, 8), (2, 16), (2, 24), (8, 8), (8, 16))
    for depth, n in cases:
        hessian = matgrad.derive(mlp(depth)).hessian()
        blocks = hessian.compile()
        closed = sum(hessian.evaluated(key) for key in hessian.blocks)
        names = tuple(name for j in range(1, depth + 1) for name in (f"W{j}", f"b{j}"))

        def objective(lib: Any, depth: int = depth) -> Callable[..., Any]:
            def f(*arguments: Any) -> Any:
                *parameters, X, Y = arguments
                Z = X
                for j in range(depth):
                    Z = lib.tanh(Z @ parameters[2 * j] + parameters[2 * j + 1])
                return 0.5 * ((Z - Y) ** 2).sum()
            return f

        values = {"X": rng.normal(size=(128, n)), "Y": rng.normal(size=(128, n))}
        for j in range(1, depth + 1):
            values[f"W{j}"] = rng.normal(size=(n, n)) / np.sqrt(n)
            values[f"b{j}"] = rng.normal(size=(1, n))
        dense = jax.jit(jax.hessian(objective(jnp), argnums=tuple(range(len(names)))))
        arrays = [jnp.asarray(values[name]) for name in (*names, "X", "Y")]
        ours = blocks(**values)
        theirs = dense(*arrays)
        for a, first in enumerate(names):
            for c, second in enumerate(names):
                expected = np.asarray(theirs[a][c])
                rows, cols = values[first].size, values[second].size
                expected = expected.transpose(1, 0, 3, 2).reshape(rows, cols)
                np.testing.assert_allclose(ours[(first, second)], expected, rtol=1e-8,
                                           atol=1e-8)
        tensors = [torch.from_numpy(values[name]) for name in (*names, "X", "Y")]
        torch_hessian = torch.func.hessian(objective(torch), argnums=tuple(range(len(names))))
        medians = race({
            "matgrad": lambda values=values, blocks=blocks: blocks(**values),
            "jax": lambda arrays=arrays, dense=dense: jax.block_until_ready(dense(*arrays)),
            "torch": lambda tensors=tensors, torch_hessian=torch_hessian:
                torch_hessian(*tensors),
        }, repeats)
        ours_ms = medians["matgrad"]
        print(f"| {depth} layers, n = {n} | {depth * (n * n + n)} | {closed} / "
              f"{len(hessian.blocks) - closed} | {ours_ms * 1e3:.2f} | "
              f"{medians['jax'] * 1e3:.2f} | {medians['torch'] * 1e3:.2f} | "
              f"{medians['jax'] / ours_ms:.2f}× | {medians['torch'] / ours_ms:.1f}× |")


@dataclass(frozen=True)
class Operations:
    """The functions an objective calls, in one library (the HVP cases run in JAX and
    PyTorch alike)."""

    softplus: Callable[[Any], Any]
    tanh: Callable[[Any], Any]


JAX = Operations(jax.nn.softplus, jnp.tanh)
TORCH = Operations(torch.nn.functional.softplus, torch.tanh)

FACTORISATION = ("X: m x n, data; U: m x k; V: n x k, data\n"
                 "J = ||X - U*V'||^2 + 1/10*||U||^2")


def bench_factorisation(quick: bool, repeats: int, rng: np.random.Generator) -> None:
    print()
    print("| ‖X − UVᵀ‖² + λ‖U‖², H_UU | matgrad operator: build + apply (ms) | "
          "matgrad dense (ms) | np.kron by hand (ms) | dense / hand | peak / result | "
          "jax.jit(jax.hessian) (ms) | jax / operator | jax / dense | operator memory | "
          "dense memory | JAX compile (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    hessian = matgrad.derive(FACTORISATION, ["U"]).hessian()
    operator_of, dense_of = hessian.compile(dense=False), hessian.compile()
    for m, n, k in ((100, 80, 8),) if quick else ((200, 150, 16), (400, 300, 16)):
        X, V = rng.normal(size=(m, n)), rng.normal(size=(n, k))
        U, direction = rng.normal(size=(m, k)), rng.normal(size=(m, k))

        def objective(U: Any, X: Any, V: Any) -> Any:
            return ((X - U @ V.T) ** 2).sum() + ((U ** 2).sum()) / 10

        dense_jax = jax.jit(jax.hessian(objective))
        arrays = [jnp.asarray(a) for a in (U, X, V)]
        compile_seconds = compile_time(lambda: dense_jax(*arrays))
        theirs = np.asarray(dense_jax(*arrays)).transpose(1, 0, 3, 2).reshape(m * k, m * k)
        operator = operator_of(X=X, U=U, V=V)[("U", "U")]
        np.testing.assert_allclose(operator.toarray(), theirs, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(operator @ direction.reshape(-1, order="F"),
                                   theirs @ direction.reshape(-1, order="F"), rtol=1e-9)
        def by_hand(V: Any = V, m: int = m, k: int = k) -> Any:
            return np.kron(2 * (V.T @ V) + 0.2 * np.eye(k), np.eye(m))  # the floor

        tracemalloc.start()
        dense_of(X=X, U=U, V=V)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        medians = race({
            "operator": lambda: operator_of(X=X, U=U, V=V)[("U", "U")].apply(direction),
            "dense": lambda: dense_of(X=X, U=U, V=V),
            "hand": by_hand,
            "jax": lambda: dense_jax(*arrays)}, repeats)
        print(f"| m = {m}, n = {n}, k = {k} | {medians['operator'] * 1e3:.3f} | "
              f"{medians['dense'] * 1e3:.1f} | {medians['hand'] * 1e3:.1f} | "
              f"{medians['dense'] / medians['hand']:.2f} | {peak / theirs.nbytes:.2f} | "
              f"{medians['jax'] * 1e3:.1f} | {medians['jax'] / medians['operator']:.0f}× | "
              f"{medians['jax'] / medians['dense']:.1f}× | {operator.nbytes / 1e3:.1f} kB | "
              f"{theirs.nbytes / 1e6:.0f} MB | {compile_seconds:.2f} |")


def _network_values(k: int, t: int, width: int, rng: np.random.Generator) -> dict[str, Any]:
    values = {"X": rng.normal(size=(t, width)), "Y": rng.normal(size=(t, width))}
    for j in range(1, k + 1):
        values[f"W{j}"] = rng.normal(size=(width, width)) / np.sqrt(width)
        values[f"b{j}"] = rng.normal(size=(1, width)) / 4
    return values


def _network(k: int) -> Callable[..., Any]:
    def objective(ops: Any, X: Any, Y: Any, *parameters: Any) -> Any:
        Z = X
        for j in range(k):
            Z = ops.tanh(Z @ parameters[2 * j] + parameters[2 * j + 1])
        return 0.5 * ((Z - Y) ** 2).sum()
    return objective


def hvp_cases(quick: bool, rng: np.random.Generator) -> list[tuple[str, str, dict[str, Any],
                                                                   Callable[..., Any]]]:
    sizes = [("small", 64, 32, 16)] if quick else [("large", 1024, 256, 128),
                                                    ("small", 64, 32, 16)]
    cases = []
    for size, t, n, m in sizes:
        X = rng.normal(size=(t, n)) / np.sqrt(n)
        cases.append((f"HVP logistic regression ({size}, t = {t}, n = {n})", LOGISTIC,
                      {"X": X, "y": (rng.uniform(size=(t, 1)) < 0.5).astype(float),
                       "w": rng.normal(size=(n, 1))},
                      lambda ops, X, y, w: (ops.softplus(X @ w).sum()
                                            - (y.T @ X @ w)[0, 0])))
        cases.append((f"HVP §1 network ({size}, {t}×{n}→{m})", SINGLE_LAYER,
                      {"X": rng.normal(size=(t, n)), "Y": rng.normal(size=(t, m)),
                       "W": rng.normal(size=(n, m)) / np.sqrt(n), "b": rng.normal(size=(1, m))},
                      lambda ops, X, Y, W, b: 0.5 * ((ops.tanh(X @ W + b) - Y) ** 2).sum()))
        width, rows = (256, 512) if size == "large" else (32, 64)
        cases.append((f"HVP MLP k = 4 ({size}, width {width}, t = {rows})", mlp(4),
                      _network_values(4, rows, width, rng), _network(4)))
    return cases


def bench_products(quick: bool, repeats: int, rng: np.random.Generator) -> None:
    print()
    print("| Hessian-vector product | matgrad NumPy (ms) | matgrad JAX jit (ms) | "
          "jax.jit(jvp(grad)) (ms) | torch double backward (ms) | jax / NumPy | "
          "torch / NumPy | jax / matgrad JAX | compile, JAX / matgrad JAX (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, source, values, objective in hvp_cases(quick, rng):
        derivation = matgrad.derive(source, names="guide")
        product = derivation.hvp()
        bind = {fn: "tanh" for fn in product.program.abstract_functions}
        ours = product.compile(bind=bind, checks=False)
        ours_jax = jax.jit(product.compile(bind=bind, backend="jax"))
        names = list(values)
        positions = tuple(names.index(name) for name in derivation.wrt)
        directions = {name: rng.normal(size=np.shape(values[name])) for name in derivation.wrt}
        arguments = {**values, **{f"V_{name}": d for name, d in directions.items()}}
        jax_arguments = {name: jnp.asarray(value) for name, value in arguments.items()}
        arrays = [jnp.asarray(values[name]) for name in names]
        tangent = tuple(jnp.asarray(directions[name]) for name in derivation.wrt)

        def grad_of(*parameters: Any) -> Any:
            full = list(arrays)
            for position, parameter in zip(positions, parameters, strict=True):
                full[position] = parameter
            return jax.grad(partial(objective, JAX), argnums=positions)(*full)

        primal = tuple(arrays[position] for position in positions)
        forward_over_reverse = jax.jit(lambda p, v: jax.jvp(grad_of, p, v)[1])
        compile_seconds = compile_time(lambda: forward_over_reverse(primal, tangent))
        ours_compile = compile_time(lambda: ours_jax(**jax_arguments))
        expected = forward_over_reverse(primal, tangent)
        got = ours(**arguments)
        for name, value in zip(derivation.wrt, expected, strict=True):
            np.testing.assert_allclose(got[name], np.asarray(value), rtol=1e-7, atol=1e-8)
        double_backward = _torch_product(objective, values, derivation.wrt, directions)
        for name, value in zip(derivation.wrt, double_backward(), strict=True):
            np.testing.assert_allclose(got[name], value.numpy(), rtol=1e-7, atol=1e-8)
        medians = race({"numpy": lambda: ours(**arguments),
                        "ours_jax": lambda: ours_jax(**jax_arguments),
                        "jax": lambda: forward_over_reverse(primal, tangent),
                        "torch": double_backward}, repeats)
        print(f"| {label} | {medians['numpy'] * 1e3:.3f} | {medians['ours_jax'] * 1e3:.3f} | "
              f"{medians['jax'] * 1e3:.3f} | {medians['torch'] * 1e3:.3f} | "
              f"{medians['jax'] / medians['numpy']:.2f} | "
              f"{medians['torch'] / medians['numpy']:.2f} | "
              f"{medians['jax'] / medians['ours_jax']:.2f} | {compile_seconds:.2f} / "
              f"{ours_compile:.2f} |")


def _torch_product(objective: Callable[..., Any], values: dict[str, Any],
                   wrt: tuple[str, ...], directions: dict[str, Any]) -> Callable[[], Any]:
    """∇²J·V by PyTorch's double backward: the gradient with create_graph=True, then the
    gradient of ⟨∇J, V⟩ along V."""
    tensors = {name: torch.tensor(value) for name, value in values.items()}
    tangent = [torch.tensor(directions[name]) for name in wrt]
    names = list(values)

    def product() -> Any:
        leaves = {name: tensors[name].detach().requires_grad_(name in wrt) for name in names}
        value = objective(TORCH, *(leaves[name] for name in names))
        parameters = [leaves[name] for name in wrt]
        gradients = torch.autograd.grad(value, parameters, create_graph=True)
        return torch.autograd.grad(gradients, parameters, grad_outputs=tangent)

    return product


def bench_derivation(quick: bool) -> None:
    print()
    print("| written-out MLP | derive J (s) | derive ∇²J·V (s) | printed product (chars) "
          "| ∇²J blocks: derive (s), closed / assembled |")
    print("|---|---|---|---|---|")
    for k in ((4, 8) if quick else (8, 16, 30, 32)):
        start = time.perf_counter()
        derivation = matgrad.derive(mlp(k))
        first = time.perf_counter() - start
        start = time.perf_counter()
        product = derivation.hvp()
        second = time.perf_counter() - start
        start = time.perf_counter()
        hessian = derivation.hessian()  # the product derived again, then the blocks chosen
        blocks = time.perf_counter() - start
        closed = sum(block is not None for block in hessian.blocks.values())
        print(f"| k = {k} | {first:.2f} | {second:.2f} | {len(str(product))} | {blocks:.2f}, "
              f"{closed} / {len(hessian.blocks) - closed} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"threads per library: {THREADS}; float64; medians of {args.repeats} interleaved "
          "rounds")
    bench_hessians(args.quick, args.repeats, rng)
    bench_network_hessian(args.quick, args.repeats, rng)
    bench_mlp_hessian(args.quick, args.repeats, rng)
    bench_factorisation(args.quick, args.repeats, rng)
    bench_products(args.quick, args.repeats, rng)
    bench_derivation(args.quick)


if __name__ == "__main__":
    main()
