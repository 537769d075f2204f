"""Benchmark: derivation + code generation time for k-layer networks written out (k = 8, 32,
128), which should grow linearly with depth.  Run by hand: python benchmarks/bench_depth.py"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_guide_section3 import mlp

import matgrad


def main() -> None:
    print(f"{'k':>5} {'derive':>9} {'codegen':>9} {'per layer':>10}")
    for k in (8, 32, 128):
        derive_times, codegen_times = [], []
        for _ in range(3):
            start = time.perf_counter()
            derivation = matgrad.derive(mlp(k))
            middle = time.perf_counter()
            derivation.numpy_source(bind={f"f{j}": "tanh" for j in range(1, k + 1)})
            derive_times.append(middle - start)
            codegen_times.append(time.perf_counter() - middle)
        d, c = median(derive_times), median(codegen_times)
        print(f"{k:>5} {d:8.3f}s {c:8.3f}s {1e3 * (d + c) / k:8.1f}ms")


if __name__ == "__main__":
    main()
