"""Benchmark: the price of portability — matgrad's array API module (standard functions only,
namespace from the inputs by array_api_compat) on NumPy arrays, against its NumPy module, on
the same objective and inputs.

Workloads: §1 single layer f = tanh (1024×256→128 and 64×32→16), the tanh MLP written out
(k = 2, 4, 8; width 256, t = 512) and as a loop; float64 and float32.  One thread (OpenBLAS/OMP
1, set before NumPy loads); a warm-up call, then the two interleaved, the order rotating each
round; medians and the ratio array API / NumPy (above 1: the array API module is slower).

    python benchmarks/bench_array_api.py [--repeats 25] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests"), str(ROOT / "benchmarks")]

import numpy as np  # noqa: E402
from bench_backends import deep, single  # noqa: E402
from timing import side_by_side  # noqa: E402

import matgrad  # noqa: E402

LOOP = (ROOT / "examples" / "regression_loop.mg").read_text()


def run_case(label: str, case: Any, dtype: str, repeats: int, k: int | None) -> None:
    source, arrays, _, _ = case
    derivation = matgrad.derive(source)
    bind = {name: "tanh" for name in derivation.program.abstract_functions}
    names = derivation.python_names
    keywords = {names[name]: value.astype(dtype) for name, value in arrays.items()
                if name in names}
    numpy_module = derivation.compile(bind=bind)
    portable = derivation.compile(bind=bind, backend="array-api")
    runs = {"numpy": lambda: numpy_module(**keywords),
            "array-api": lambda: portable(**keywords)}
    if k is not None:
        loop = matgrad.derive(LOOP)
        lists = {"X": keywords["X"], "Y": keywords["Y"],
                 "W": [keywords[f"W{j}"] for j in range(1, k + 1)],
                 "b": [keywords[f"b{j}"] for j in range(1, k + 1)]}
        numpy_loop = loop.compile(bind={"f[j]": "tanh"})
        portable_loop = loop.compile(bind={"f[j]": "tanh"}, backend="array-api")
        runs["numpy loop"] = lambda: numpy_loop(**lists)
        runs["array-api loop"] = lambda: portable_loop(**lists)
    values = {name: float(run()[0]) for name, run in runs.items()}
    reference = values["numpy"]
    assert all(np.isclose(value, reference, rtol=1e-4 if dtype == "float32" else 1e-10)
               for value in values.values()), values
    medians = side_by_side(runs, repeats)
    shown = f"numpy {medians['numpy'] * 1e3:8.3f} ms  array-api {medians['array-api'] * 1e3:8.3f}"
    shown += f" ms ({medians['array-api'] / medians['numpy']:.2f})"
    if k is not None:
        shown += (f"  loop: numpy {medians['numpy loop'] * 1e3:8.3f} ms  array-api "
                  f"{medians['array-api loop'] * 1e3:8.3f} ms "
                  f"({medians['array-api loop'] / medians['numpy loop']:.2f})")
    print(f"{label:<18} {dtype:<8} {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--quick", action="store_true", help="float64 only, 7 repeats")
    args = parser.parse_args()
    repeats = 7 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    cases = [("§1 1024×256→128", single(1024, 256, 128, rng), None),
             ("§1 64×32→16", single(64, 32, 16, rng), None),
             *((f"MLP k={k}", deep(k, rng), k) for k in (2, 4, 8))]
    print(f"numpy {np.__version__}, one thread; median of {repeats} interleaved rounds; "
          "time (ratio array API / NumPy)")
    for dtype in ("float64",) if args.quick else ("float64", "float32"):
        for label, case, k in cases:
            run_case(label, case, dtype, repeats, k)


if __name__ == "__main__":
    main()
