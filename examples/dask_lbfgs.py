"""Fit logistic regression and the guide's §1 network on data larger than a Dask worker's memory,
with SciPy's L-BFGS-B calling the gradient matgrad generates for Dask.

    python examples/dask_lbfgs.py                       # a LocalCluster on this machine
    python examples/dask_lbfgs.py --scheduler tcp://scheduler:8786 --data /shared/matgrad

The data (X: t×n, labels y, targets Y) is written once as `.npy` row blocks under --data by the
workers themselves and read back by them, block by block: no process ever holds all of it.
Each objective is derived by matgrad, split into row blocks (J = Σ_b J_b + p, the guide's
(19)), and compiled with `backend="dask"`; every L-BFGS-B evaluation is one `dask.compute` of
J and its gradient.  On a multi-machine cluster, --data must be a path every worker can read
(docs/dask.md).  Needs the dask extra: pip install "matgrad[dask]".
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster
from scipy.optimize import minimize

import matgrad

LOGISTIC = """
X: t x n, data; y: t x 1, data; w: n x 1; lambda: scalar, const
J = 1/t * sum(softplus(-y .* (X*w))) + lambda/2 * ||w||^2
"""
SINGLE_LAYER = (Path(__file__).parent / "single_layer.mg").read_text()


def write_data(folder: Path, rows: int, columns: int, outputs: int, chunk_rows: int,
               seed: int = 0) -> None:
    """X, y = sign(X w* + noise) and Y = tanh(X W* + b*) + noise as `.npy` row blocks, each
    block computed and written by a worker."""
    generator = da.random.RandomState(seed)
    X = generator.normal(size=(rows, columns), chunks=(chunk_rows, columns))
    truth = np.random.default_rng(seed).normal(size=(columns, outputs)) / np.sqrt(columns)
    y = da.sign(X @ truth[:, :1] + 0.5 * generator.normal(size=(rows, 1),
                                                          chunks=(chunk_rows, 1)))
    Y = da.tanh(X @ truth + 0.1) + 0.1 * generator.normal(size=(rows, outputs),
                                                          chunks=(chunk_rows, outputs))
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in (("X", X), ("y", y), ("Y", Y)):
        da.to_npy_stack(folder / name, value, axis=0)


def fit(name: str, value_and_grad: Callable[..., Any], shapes: dict[str, tuple[int, int]],
        data: tuple[Any, ...], constants: tuple[Any, ...] = (), iterations: int = 100
        ) -> np.ndarray:
    """L-BFGS-B on the parameters `shapes` (flattened into one vector), one line an iteration."""
    sizes = [int(np.prod(shape)) for shape in shapes.values()]
    started = time.perf_counter()
    state = {"evaluations": 0, "iteration": 0, "value": float("nan"), "norm": float("nan")}

    def unpack(theta: np.ndarray) -> list[np.ndarray]:
        pieces = np.split(theta, np.cumsum(sizes)[:-1])
        return [piece.reshape(shape) for piece, shape in zip(pieces, shapes.values(), strict=True)]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradients = value_and_grad(*data, *unpack(theta), *constants)
        gradient = np.concatenate([np.ravel(gradients[p]) for p in shapes])
        state.update(evaluations=state["evaluations"] + 1, value=value,
                     norm=float(np.linalg.norm(gradient)))
        return value, gradient

    def progress(intermediate: Any) -> None:
        state["iteration"] += 1
        print(f"  {name} iteration {state['iteration']:3d}: J = {state['value']:.6f}  "
              f"|grad J| = {state['norm']:.2e}  ({state['evaluations']} evaluations, "
              f"{time.perf_counter() - started:.1f} s)", flush=True)
    result = minimize(objective, np.zeros(sum(sizes)), jac=True, method="L-BFGS-B",
                      callback=progress, options={"maxiter": iterations})
    print(f"  {name}: {result.message} after {result.nit} iterations, J = {result.fun:.6f}, "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    return np.asarray(result.x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", help="address of a running Dask scheduler "
                        "(default: start a LocalCluster here)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers")
    parser.add_argument("--memory-limit", default="512MiB", help="memory per worker")
    parser.add_argument("--rows", type=int, default=2_000_000, help="t, the rows of X")
    parser.add_argument("--columns", type=int, default=80, help="n, the columns of X")
    parser.add_argument("--outputs", type=int, default=4, help="m, the columns of Y")
    parser.add_argument("--chunk-rows", type=int, default=100_000, help="rows per block")
    parser.add_argument("--data", type=Path, default=Path("dask-example-data"),
                        help="folder for the .npy blocks (shared by all workers)")
    parser.add_argument("--iterations", type=int, default=100, help="L-BFGS-B iterations")
    args = parser.parse_args()

    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                               memory_limit=args.memory_limit, dashboard_address=None)
        client = Client(cluster)
    with client:
        size = args.rows * args.columns * 8
        print(f"X is {args.rows} x {args.columns} ({size / 2**30:.2f} GiB) in blocks of "
              f"{args.chunk_rows} rows; {len(client.scheduler_info()['workers'])} workers",
              flush=True)
        if not (args.data / "X" / "info").exists():
            started = time.perf_counter()
            write_data(args.data, args.rows, args.columns, args.outputs, args.chunk_rows)
            print(f"wrote the data to {args.data} in {time.perf_counter() - started:.1f} s",
                  flush=True)
        X, y, Y = (da.from_npy_stack(args.data / name, mmap_mode="r") for name in "XyY")

        logistic = matgrad.derive(LOGISTIC)
        print(logistic.row_blocks(), flush=True)
        fit("logistic regression", logistic.compile(backend="dask"),
            {"w": (args.columns, 1)}, (X, y), (1e-4,), args.iterations)

        network = matgrad.derive(SINGLE_LAYER)
        fit("the guide's §1 network (f = tanh)",
            network.compile(backend="dask", bind={"f": "tanh"}),
            {"W": (args.columns, args.outputs), "b": (1, args.outputs)}, (X, Y),
            iterations=args.iterations)


if __name__ == "__main__":
    main()
