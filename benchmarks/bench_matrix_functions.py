"""Benchmark: matrix functions and Jacobians against their hand-written floor and JAX.

- the gradient of tr(A expm(X)) (value and gradient): the generated NumPy module, the same by
  hand with SciPy (expm, expm_frechet: the floor) and `jax.jit(jax.value_and_grad)` with
  `jax.scipy.linalg.expm`;
- the dense Jacobian of F = X⁻¹ (n² × n²): `d.jacobian().compile()`, the closed form by hand,
  −(X⁻ᵀ ⊗ X⁻¹) with `np.kron` (the floor), and `jax.jit(jax.jacobian(jnp.linalg.inv))`.

float64, one thread per library (OpenBLAS/OMP; JAX with PJRT_NPROC=1 and single-threaded
Eigen), medians of interleaved rounds; ratios are matgrad / other.

    python benchmarks/bench_matrix_functions.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
os.environ["PJRT_NPROC"] = "1"
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "benchmarks")]

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
from timing import side_by_side  # noqa: E402

import matgrad  # noqa: E402

jax.config.update("jax_enable_x64", True)


def expm_gradient(sizes: list[int], repeats: int) -> None:
    derivation = matgrad.derive("X: n x n; A: n x n, const\nJ = tr(A*expm(X))")
    module = derivation.compile()
    print(f"{'tr(A expm(X))':<18}{'n':>5}{'matgrad ms':>12}{'hand ms':>10}{'jax ms':>10}"
          f"{'/hand':>8}{'/jax':>8}")
    for n in sizes:
        rng = np.random.default_rng(n)
        x, a = rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=(n, n))
        jitted = jax.jit(jax.value_and_grad(
            lambda y, a=a: jnp.trace(a @ jax.scipy.linalg.expm(y))))
        seconds = side_by_side({
            "matgrad": lambda x=x, a=a: module(X=x, A=a),
            "hand": lambda x=x, a=a: (np.trace(a @ scipy.linalg.expm(x)),
                                      scipy.linalg.expm_frechet(x.T, a.T, compute_expm=False)),
            "jax": lambda x=x, jitted=jitted: jitted(x)[1].block_until_ready(),
        }, repeats)
        ours = seconds["matgrad"]
        print(f"{'':<18}{n:>5}{ours * 1e3:>12.2f}{seconds['hand'] * 1e3:>10.2f}"
              f"{seconds['jax'] * 1e3:>10.2f}{ours / seconds['hand']:>8.2f}"
              f"{ours / seconds['jax']:>8.2f}")


def inverse_jacobian(sizes: list[int], repeats: int) -> None:
    blocks = matgrad.derive("X: n x n\nF = inv(X)", jacobian=True).jacobian().compile()
    jitted = jax.jit(jax.jacobian(jnp.linalg.inv))
    print(f"{'Jacobian of X⁻¹':<18}{'n':>5}{'matgrad ms':>12}{'hand ms':>10}{'jax ms':>10}"
          f"{'/hand':>8}{'/jax':>8}")
    for n in sizes:
        x = np.eye(n) * 3 + np.random.default_rng(n).normal(size=(n, n))

        def hand(x: np.ndarray = x) -> np.ndarray:
            inverse = np.linalg.inv(x)
            return -np.kron(inverse.T, inverse)

        seconds = side_by_side({
            "matgrad": lambda x=x: blocks(X=x),
            "hand": hand,
            "jax": lambda x=x: jitted(x).block_until_ready(),
        }, repeats)
        ours = seconds["matgrad"]
        print(f"{'':<18}{n:>5}{ours * 1e3:>12.2f}{seconds['hand'] * 1e3:>10.2f}"
              f"{seconds['jax'] * 1e3:>10.2f}{ours / seconds['hand']:>8.2f}"
              f"{ours / seconds['jax']:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print("one thread per library, float64, medians of interleaved rounds")
    expm_gradient([50, 200], args.repeats)
    inverse_jacobian([20, 60], args.repeats)


if __name__ == "__main__":
    main()
