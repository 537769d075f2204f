"""Benchmark: the Dask gradient against the NumPy gradient in memory, on the same data.

Logistic regression (n = 80) and the guide's §1 network (tanh, n = 80 → m = 4) at t = 2 000 000
rows (1.3 GB of X: it fits here, so the NumPy module can run on it whole, in this process):

- rows per second of matgrad's NumPy module on X in memory, and of its Dask module on a
  LocalCluster of 1 and of 2 worker processes (one thread each), the blocks persisted in the
  workers' memory (what Dask adds, not the disk) and, for the chunk size of the example, read
  from `.npy` blocks on disk by the workers (page cache warm);
- overhead per chunk: with 1 worker, T_dask / T_numpy − 1 as the blocks grow (rows per
  block 15 625 … 1 000 000), and the smallest block size where it falls under 10 %.

One BLAS/OpenMP thread everywhere (set before NumPy loads; workers inherit it).  Each figure is
the median of `--repeats` calls after one warm-up; the NumPy and Dask calls of a round run one
after the other (interleaved), so drifts of the machine reach both; each block size is persisted
on the workers (as fresh arrays), measured against NumPy, and released before the next.

    python benchmarks/bench_dask.py [--repeats 7] [--rows 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from statistics import median
from typing import Any

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "benchmarks")]

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import numpy as np  # noqa: E402
from dask.distributed import Client, LocalCluster, wait  # noqa: E402
from timing import side_by_side  # noqa: E402

import matgrad  # noqa: E402

LOGISTIC = """X: t x n, data; y: t x 1, data; w: n x 1; lambda: scalar, const
J = 1/t * sum(softplus(-y .* (X*w))) + lambda/2 * ||w||^2"""
SINGLE_LAYER = (ROOT / "examples" / "single_layer.mg").read_text()
CHUNKS = (15_625, 62_500, 250_000, 500_000, 1_000_000)
EXAMPLE_CHUNK = 100_000



def workloads(t: int, rng: np.random.Generator) -> dict[str, tuple[Any, ...]]:
    """name → (derivation, bind, data arrays, parameters and constants)."""
    X = rng.normal(size=(t, 80))
    y = np.sign(rng.normal(size=(t, 1)))
    Y = np.tanh(X @ rng.normal(size=(80, 4)) / 9)
    return {
        "logistic regression": (matgrad.derive(LOGISTIC), {}, (X, y),
                                (rng.normal(size=(80, 1)) / 9, 1e-4)),
        "§1 network": (matgrad.derive(SINGLE_LAYER), {"f": "tanh"}, (X, Y),
                       (rng.normal(size=(80, 4)) / 9, rng.normal(size=(1, 4)))),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--quick", action="store_true", help="t = 200 000, 3 repeats")
    args = parser.parse_args()
    t, repeats = (200_000, 3) if args.quick else (args.rows, args.repeats)
    chunks = [chunk for chunk in CHUNKS if chunk <= t // 2]
    cases = workloads(t, np.random.default_rng(0))
    folder = Path(tempfile.mkdtemp(prefix="matgrad-bench-dask-"))
    stacks: dict[str, list[Path]] = {}
    with dask.config.set(scheduler="threads"):
        for name, (_, _, data, _) in cases.items():
            stacks[name] = []
            for index, value in enumerate(data):
                path = folder / f"{name[:3]}{index}"
                da.to_npy_stack(path, da.from_array(value, chunks=(EXAMPLE_CHUNK, -1)))
                stacks[name].append(path)
    print(f"t = {t} rows, n = 80; one thread per process; medians of {repeats}; data on disk "
          f"as .npy blocks of {EXAMPLE_CHUNK} rows")
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, memory_limit="6GiB") as cluster, \
                Client(cluster) as client:
            print(f"\n{workers} worker{'s' if workers > 1 else ''}")
            for name, (derivation, bind, data, rest) in cases.items():
                numpy_function = derivation.compile(bind=bind)
                dask_function = derivation.compile(bind=bind, backend="dask")

                def numpy_call(f: Any = numpy_function, d: Any = data, r: Any = rest) -> Any:
                    return f(*d, *r)

                on_disk = [da.from_npy_stack(path, mmap_mode="r") for path in stacks[name]]
                measured: dict[str, tuple[float, float]] = {}
                for chunk in [*(chunks if workers == 1 else []), None]:
                    if chunk is None:  # the workers read their blocks from disk each call
                        label, blocks = f"disk {EXAMPLE_CHUNK}", on_disk
                    else:  # persisted as fresh arrays (what arrives by pickle may be unaligned)
                        label = f"memory {chunk}"
                        blocks = [client.persist(value.rechunk((chunk, -1)).map_blocks(np.copy))
                                  for value in on_disk]
                        wait(blocks)
                    medians = side_by_side(
                        {"numpy": numpy_call,
                         "dask": lambda f=dask_function, b=blocks, r=rest: f(*b, *r)}, repeats)
                    measured[label] = (medians["numpy"], medians["dask"])
                    del blocks
                base = median(numpy for numpy, _ in measured.values())
                print(f"  {name}: NumPy in memory {t / base / 1e6:.2f} M rows/s "
                      f"({base * 1e3:.0f} ms)")
                under = None
                for label, (numpy_seconds, seconds) in measured.items():
                    overhead = seconds / numpy_seconds - 1
                    if workers == 1 and label.startswith("memory") and overhead < 0.10 and \
                            under is None:
                        under = label.split()[1]
                    print(f"    {label:>14}: {t / seconds / 1e6:6.2f} M rows/s, "
                          f"{seconds * 1e3:6.0f} ms, NumPy/Dask {numpy_seconds / seconds:.2f}, "
                          f"overhead {overhead:+.0%}")
                if workers == 1:
                    print(f"    overhead under 10 % from blocks of: {under or 'none measured'} "
                          "rows")


if __name__ == "__main__":
    main()
