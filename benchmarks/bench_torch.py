"""Benchmark: matgrad's generated PyTorch code against PyTorch's own autodiff (forward, then
`loss.backward()`), on the same objective, tensors and CPU; and the layer loop module (one
function for every depth, weights as lists) against the same network written out.

Workloads: §1 single layer f = tanh (1024×256→128 and 64×32→16), the tanh MLP (k = 2, 4, 8;
width 256, t = 512) written out and as a loop, and k = 4 at width 32, t = 64; the 2-layer
softmax classifier and the k = 4 tied auto-encoder; float64 and float32.  One thread
(torch.set_num_threads(1), OpenBLAS/OMP 1), set before torch loads; a warm-up call, then the
contenders interleaved, the order rotating each round; medians and ratios to autograd (below 1:
matgrad faster).  For the MLPs, `floor` times the matrix products and tanh alone (what every
implementation computes): no gradient code can run faster than that ratio.

    python benchmarks/bench_torch.py [--repeats 25] [--quick]
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
import torch  # noqa: E402
from bench_backends import classifier, deep, single, tied  # noqa: E402
from timing import side_by_side  # noqa: E402

import matgrad  # noqa: E402

torch.set_num_threads(1)
LOOP = (ROOT / "examples" / "regression_loop.mg").read_text()



def floor_of(tensors: dict[str, Any], depth: int) -> Any:
    """The tanh MLP's matrix products and tanh alone (k forward, 2k − 1 backward, k tanh):
    what every implementation computes, so no gradient code can run faster than this."""
    X, weights = tensors["X"], [tensors[f"W{j}"] for j in range(1, depth + 1)]

    def products_and_tanh() -> Any:
        Z, inputs = X, []
        for W in weights:
            inputs.append(Z)
            Z = torch.tanh(Z @ W)
        delta = Z
        for j in range(depth - 1, -1, -1):
            inputs[j].T @ delta
            if j:
                delta = delta @ weights[j].T
        return Z

    return products_and_tanh


def run_case(label: str, case: Any, dtype: str, repeats: int, k: int | None,
             depth: int | None = None) -> None:
    source, arrays, objective, wrt = case
    derivation = matgrad.derive(source)
    bind = {name: "tanh" for name in derivation.program.abstract_functions}
    names = derivation.python_names
    tensors = {name: torch.from_numpy(value.astype(dtype)) for name, value in arrays.items()}
    ours = derivation.compile(bind=bind, backend="torch")
    keywords = {names[name]: value for name, value in tensors.items() if name in names}
    order = list(arrays)

    def run_ours() -> Any:
        return ours(**keywords)

    leaves = {name: value.clone().requires_grad_(name in wrt) for name, value in tensors.items()}

    def run_autograd() -> Any:
        for leaf in leaves.values():
            leaf.grad = None
        loss = objective(torch, *(leaves[name] for name in order))
        loss.backward()
        return loss.item(), {name: leaves[name].grad for name in wrt}

    runs = {"matgrad": run_ours, "autograd": run_autograd}
    if k is not None:
        loop = matgrad.derive(LOOP)
        loop_function = loop.compile(bind={"f[j]": "tanh"}, backend="torch")
        lists = {"X": tensors["X"], "Y": tensors["Y"],
                 "W": [tensors[f"W{j}"] for j in range(1, k + 1)],
                 "b": [tensors[f"b{j}"] for j in range(1, k + 1)]}
        runs["matgrad loop"] = lambda: loop_function(**lists)
    values = {name: float(run()[0]) for name, run in runs.items()}
    if depth is not None:
        runs["floor"] = floor_of(tensors, depth)
    reference = values["autograd"]
    assert all(np.isclose(value, reference, rtol=1e-3 if dtype == "float32" else 1e-9)
               for value in values.values()), values
    medians = side_by_side(runs, repeats)
    base = medians["autograd"]
    shown = "  ".join(f"{name} {seconds * 1e3:8.3f} ms ({seconds / base:.2f})"
                      for name, seconds in medians.items())
    print(f"{label:<18} {dtype:<8} {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--quick", action="store_true", help="float64 only, 7 repeats")
    args = parser.parse_args()
    repeats = 7 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    cases = [("§1 1024×256→128", single(1024, 256, 128, rng), None, None),
             ("§1 64×32→16", single(64, 32, 16, rng), None, None),
             *((f"MLP k={k}", deep(k, rng), k, k) for k in (2, 4, 8)),
             ("MLP k=4 small", deep(4, rng, t=64, width=32), None, 4),
             ("softmax classifier",
              classifier(rng, lambda a: torch.logsumexp(a, dim=1)), None, None),
             ("tied AE k=4", tied(rng), None, None)]
    print(f"torch {torch.__version__}, CPU, one thread; median of {repeats} interleaved rounds; "
          "time (ratio to autograd)")
    for dtype in ("float64",) if args.quick else ("float64", "float32"):
        for label, case, k, depth in cases:
            run_case(label, case, dtype, repeats, k, depth)


if __name__ == "__main__":
    main()
