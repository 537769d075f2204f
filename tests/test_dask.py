"""The Dask backend and the row-block split it rests on (engine/rows.py, backends/dask.py).

The split is checked two ways: every accepted objective's Dask gradient, summed over blocks of
a few rows, equals the NumPy gradient of the whole (examples, second order, random programs),
and the objectives that couple rows are refused with the term named.  A real
`LocalCluster` (two worker processes) reads its blocks from `.npy` files on disk itself.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from backend_cases import assert_ruff_clean
from helpers import DEFAULT_BIND, FUZZ_EXAMPLES, bind_for
from hypothesis import HealthCheck, given, settings
from programs import programs
from test_golden_modules import BIND

import matgrad
from matgrad.backends import registry
from matgrad.check import random_arguments
from matgrad.cli import main
from matgrad.codegen.signature import signature_of
from matgrad.engine.results import LoopDerivation
from matgrad.errors import UnsupportedError

dask = pytest.importorskip("dask", reason="the dask extra is not installed")
da = pytest.importorskip("dask.array")
psutil = pytest.importorskip("psutil", reason="psutil comes with dask.distributed")
cloudpickle = pytest.importorskip("cloudpickle", reason="cloudpickle comes with dask")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {path.stem: path.read_text() for path in sorted((ROOT / "examples").glob("*.mg"))}
LOGISTIC = ("X: t x n, data; y: t x 1, data; w: n x 1; lambda: scalar, const\n"
            "J = 1/t * sum(log(1 + exp(-y .* (X*w)))) + lambda/2*||w||^2")
DEPTH = {"k": 3}


def _derive(source: str, wrt: list[str] | None = None) -> matgrad.Derivation:
    # A layer loop, not the word "for" in a comment (a depth for a program without a loop is
    # refused now, where it was silently ignored).
    loop = re.search(r"^\s*for\s+\w+\s+in\b", source, re.MULTILINE)
    return matgrad.derive(source, wrt, depth=DEPTH if loop else None)


def _arguments(derivation: matgrad.Derivation, rows: int, seed: int = 0
               ) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
    program = derivation.program
    first = matgrad.Derivation(derivation.result.first_order)
    split = first.row_blocks()
    sizes = {dim: 3 + index for index, dim in enumerate(program.dims)}
    sizes[split.rows] = rows
    values = random_arguments(program, sizes, np.random.default_rng(seed))
    names = derivation.python_names
    keywords = {keyword: sizes[dim] for dim, keyword in derivation.size_arguments.items()}
    return {names[name]: value for name, value in values.items()}, keywords, sizes


def _assert_same(expected: Any, got: Any, rtol: float = 1e-10) -> None:
    if isinstance(expected, tuple):
        assert float(got[0]) == pytest.approx(float(expected[0]), rel=rtol, abs=rtol)
        expected, got = expected[1], got[1]
    assert list(got) == list(expected)
    for name, value in expected.items():
        scale = max(1.0, float(np.max(np.abs(value))))
        np.testing.assert_allclose(np.asarray(got[name], dtype=float), value, rtol=rtol,
                                   atol=rtol * scale, err_msg=name)


def _compare(derivation: matgrad.Derivation, chunk_rows: int = 3, rows: int = 11,
             seed: int = 0) -> None:
    """The Dask function on blocks of `chunk_rows` rows against the NumPy one on the whole."""
    bind = bind_for(derivation, {**DEFAULT_BIND, **BIND})
    arguments, keywords, _ = _arguments(derivation, rows, seed)
    expected = derivation.compile(bind=bind)(**arguments, **keywords)
    chunked = {name: da.from_array(value, chunks=(chunk_rows, -1))
               if np.ndim(value) == 2 and np.shape(value)[0] == rows else value
               for name, value in arguments.items()}
    function = derivation.compile(bind=bind, backend="dask")
    with dask.config.set(scheduler="sync"):
        _assert_same(expected, function(**chunked, **keywords))
        # NumPy data split by the module itself, and the lazy result.
        _assert_same(expected, function(**arguments, **keywords, block_rows=2, split_every=2))
        lazy = function(**chunked, **keywords, compute=False)
        _assert_same(expected, dask.compute(lazy)[0])


# ---- the split: accepted and refused ----------------------------------------------------------

ACCEPTED = {
    # name: (program, J_b, p) as printed
    "least squares": ("X: t x n, data; y: t x 1, data; w: n x 1\nJ = ||X*w - y||^2/t",
                      "‖X w − y‖² / t", None),
    # log(1 + exp(·)) is written softplus(·) by rules/stable.rules (exp overflowed at 1000).
    "logistic + ridge": (LOGISTIC, "(1 / t) sum(softplus(A))", "(1/2)(lambda * ‖w‖²)"),
    "penalty inside the mean": (
        "X: t x n, data; w: n x 1; lambda: scalar\nJ = 1/t*(sum(exp(X*w)) + lambda*||w||^2)",
        "(1 / t) sum(Z)", "(1 / t)(lambda * ‖w‖²)"),
    "row-wise softmax": ("X: t x n, data; Y: t x m, data, onehot; W: n x m\n"
                         "J = -sum(Y .* log(softmax(X*W)))", None, None),
    "a data matrix without rows": ("X: t x n, data; S: n x n, data; w: n x 1\n"
                                   "J = sum(square(X*w)) + w'*S*w", None, "wᵀS w"),
}

REFUSED = {
    "a Gram matrix": ("X: t x n, data; W: n x n\nJ = sum(X*W*X')", "Gram matrix"),
    # tr(X A Xᵀ) is additive, but only through the t×t matrix: refused, never formed.
    "a trace of a t×t product": ("X: t x n, data; A: n x n\nJ = tr(X*A*X')", "Gram matrix"),
    "logdet of XᵀX": ("X: t x n, data; W: n x n\nJ = logdet(X'*X + W)", "log-determinant"),
    "the norm, not squared": ("X: t x n, data; w: n x 1\nJ = norm2(X*w)", "square root"),
    "a centred column": ("X: t x n, data; w: n x 1\n"
                         "J = ||X*w - ones(t,1)*(ones(1,t)*X*w)/t||^2", "reads the rows"),
    "a power of a sum": ("X: t x n, data; w: n x 1\nJ = sum(X*w)^2", "power"),
    "softmax across rows": ("X: t x n, data; W: n x m\nJ = sum(logsumexp((X*W)'))",
                            "across the rows"),
    "a parameter per row": ("X: t x n, data; w: t x 1\nJ = sum(w .* (X*ones(n,1)))",
                            "every block shares"),
    "data with rows as columns": ("X: t x n, data; P: n x t, data; w: n x 1\n"
                                  "J = sum(X*w) + sum(P'*w)", "as its columns"),
    "a penalty added inside": ("X: t x n, data; W: n x n\nJ = tr(X'*X + W)",
                               "separate terms"),
    "normalised by the data": ("X: t x n, data; w: n x 1\nJ = sum(exp(X*w)) / sum(X*w)",
                               "divides by a sum"),
    "no data": ("w: n x 1\nJ = ||w||^2", "no data argument"),
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_objectives_split_and_match(name: str) -> None:
    source, block, penalty = ACCEPTED[name]
    derivation = matgrad.derive(source)
    split = derivation.row_blocks()
    assert split.rows == "t"
    if block is not None:
        assert str(split.data_terms) == block
    if penalty is not None:
        assert split.penalty is not None and str(split.penalty) == penalty
    _compare(derivation)


@pytest.mark.parametrize("name", REFUSED)
def test_coupled_objectives_are_refused_naming_the_term(name: str) -> None:
    source, phrase = REFUSED[name]
    derivation = matgrad.derive(source)
    with pytest.raises(UnsupportedError, match=phrase):
        derivation.row_blocks()
    with pytest.raises(UnsupportedError, match=phrase):
        derivation.source(backend="dask")


def test_the_split_is_printed_with_its_citation() -> None:
    split = matgrad.derive(LOGISTIC).row_blocks()
    lines = split.text().splitlines()
    assert lines[0].startswith("J = Σ_b J_b + p  over the row blocks b of t (the rows of y, X;")
    assert "(19)" in lines[0]
    assert lines[-1] == "  so ∇J = Σ_b ∇J_b + ∇p"
    assert "J_b &=" in split.latex() and r"\sum_b" in split.latex()
    assert split.text("ascii").splitlines()[-1] == "  so grad J = sum_b grad J_b + grad p"


def test_the_rows_can_be_named() -> None:
    source = "X: t x n, data; Y: s x n, data; w: n x 1\nJ = sum(X*w) + sum(Y*w)"
    with pytest.raises(UnsupportedError, match="different rows"):
        matgrad.derive(source).row_blocks()
    split = matgrad.derive(source).row_blocks(rows="s")
    assert split.data == ("Y",) and str(split.penalty) == "sum(X w)"
    with pytest.raises(UnsupportedError, match="not a size"):
        matgrad.derive(source).row_blocks(rows="q")


def test_the_split_leaves_the_derivation_as_it_was() -> None:
    derivation = matgrad.derive(LOGISTIC)
    before = dict(derivation.program.definitions), dict(derivation.program.shapes)
    derivation.source(backend="dask")
    assert (dict(derivation.program.definitions), dict(derivation.program.shapes)) == before


def test_the_module_is_built_from_its_parts_texts() -> None:
    # The block and penalty parts both invert W: their NumPy modules' definitions are taken
    # as generated (no parsing), the shared helper defined once, their docstrings left out.
    source = ("X: t x n, data; W: n x n; A: n x n\n"
              "J = sum(X*inv(W + A)) + logdet(W'*W + A) + sum(inv(W + A))")
    module = matgrad.derive(source).source(backend="dask")
    assert module.count("\ndef _inv(") == 1 and module.count("\nSINGULAR = ") == 1
    assert module.count("def _block_part(") == module.count("def _penalty_part(") == 1
    assert module.count("generated by matgrad") == 1  # the parts' docstrings left out
    assert "import ast" not in Path(registry.__file__).with_name("dask.py").read_text()
    _compare(matgrad.derive(source), chunk_rows=4, rows=9)


# ---- the backend: every example, second order, random programs ------------------------------


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_on_row_blocks(name: str) -> None:
    _compare(_derive(EXAMPLES[name]), chunk_rows=4, rows=13)


@pytest.mark.parametrize("name", ["single_layer", "classification_2layer", "logistic"])
def test_hessian_vector_products_on_row_blocks(name: str) -> None:
    source = LOGISTIC if name == "logistic" else EXAMPLES[name]
    _compare(matgrad.derive(source).hvp(), chunk_rows=5)


LOOPS = ["regression_loop", "classification_loop"]


@pytest.mark.parametrize("name", LOOPS)
def test_loops_at_symbolic_depth_on_row_blocks(name: str) -> None:
    """A loop's module (lists of weights) on blocks of 4 rows against the NumPy loop module
    at depth 4: the penalty on W[k] counted once, 1/t the whole t."""
    derivation = matgrad.derive(EXAMPLES[name])
    assert isinstance(derivation.result, LoopDerivation)
    bind = {"f[j]": "tanh"}
    program = matgrad.parse(EXAMPLES[name], {"k": 4})
    sizes = {dim: 3 + index for index, dim in enumerate(program.dims)} | {"t": 13}
    values = random_arguments(program, sizes, np.random.default_rng(2))
    keywords = signature_of(derivation.result).keywords(values, sizes, 4)
    expected = derivation.compile(bind=bind)(**keywords)
    chunked = {key: da.from_array(value, chunks=(4, -1))
               if isinstance(value, np.ndarray) and value.shape[0] == 13 else value
               for key, value in keywords.items()}
    with dask.config.set(scheduler="sync"):
        value, gradients = derivation.compile(bind=bind, backend="dask")(**chunked)
    assert value == pytest.approx(expected[0], rel=1e-12)
    assert list(gradients) == list(expected[1])
    for key, members in expected[1].items():
        for got, want in zip(gradients[key], members, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    text = derivation.row_blocks().text()
    assert text.endswith("(decided with the loop written out at depth 3; every layer is the "
                         "same)")


LOOP_HEAD = ("X: t x n[0], data\nY: t x n[k], data\nlambda: scalar, const\nZ[0] = X\n"
             "for j in 1..k-1:\n    W[j]: n[j-1] x n[j]; b[j]: 1 x n[j]\n"
             "    A[j] = Z[j-1]*W[j] + b[j]\n    Z[j] = tanh(A[j])\nend\n"
             "W[k]: n[k-1] x n[k]\nZ[k] = Z[k-1]*W[k]\n")


def test_a_loop_with_penalties_first_and_subtracted() -> None:
    """Penalty terms before the loss and with a minus sign are weighted once, signs kept."""
    source = LOOP_HEAD + ("J = sum(square(W[k])) - lambda*||W[k]||^2/4 + "
                          "1/t * ||Z[k] - Y||^2")
    derivation = matgrad.derive(source)
    program = matgrad.parse(source, {"k": 3})
    sizes = {dim: 3 + index for index, dim in enumerate(program.dims)} | {"t": 9}
    values = random_arguments(program, sizes, np.random.default_rng(0))
    keywords = signature_of(derivation.result).keywords(values, sizes, 3)
    expected = derivation.compile()(**keywords)
    chunked = {key: da.from_array(value, chunks=(4, -1))
               if isinstance(value, np.ndarray) and value.shape[0] == 9 else value
               for key, value in keywords.items()}
    with dask.config.set(scheduler="sync"):
        value, gradients = derivation.compile(backend="dask")(**chunked)
    assert value == pytest.approx(expected[0], rel=1e-12)
    for key, members in expected[1].items():
        for got, want in zip(gradients[key], members, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("objective", "phrase"), [
    ("J = 1/t * (||Z[k] - Y||^2 + lambda*||W[k]||^2)", "separate terms"),
    ("J = mean(rowdot(Z[k] - Y, Z[k] - Y))", "mean"),
    ("J = norm2(Z[k] - Y)", "square root"),
])
def test_loops_that_do_not_split_are_refused(objective: str, phrase: str) -> None:
    derivation = matgrad.derive(LOOP_HEAD + objective)
    with pytest.raises(UnsupportedError, match=phrase):
        derivation.source(backend="dask")


def _shared_parameters(source: str) -> list[str]:
    """The random programs' inputs without t rows that the objective reads: the parameters."""
    used = matgrad.parse(source).parameters
    return [name for name in ("W", "V", "b", "s", "M") if name in used]




@settings(max_examples=FUZZ_EXAMPLES // 6,
          deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_programs_split_exactly_or_are_refused(source: str) -> None:
    """Never a wrong split: a random program is refused, or its Dask gradient over blocks of
    two rows is the NumPy gradient of the whole (the parameters W, V, b, s, M; every t×·
    input is data)."""
    derivation = matgrad.derive(source, _shared_parameters(source))
    try:
        derivation.row_blocks(rows="t")
    except UnsupportedError:
        return
    _compare(derivation, chunk_rows=2, rows=7)


def test_the_random_property_accepts_many_programs() -> None:
    """The property above is not vacuous: of a fixed sample, a good share is split."""
    accepted = 0
    settings_ = settings(max_examples=40, derandomize=True, database=None, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow])

    @settings_
    @given(programs())
    def count(source: str) -> None:
        nonlocal accepted
        try:
            matgrad.derive(source, _shared_parameters(source)).row_blocks(rows="t")
            accepted += 1
        except UnsupportedError:
            pass

    count()
    assert accepted >= 8


# ---- the generated module --------------------------------------------------------------------


def test_the_module_imports_only_numpy_and_dask_and_is_ruff_clean(tmp_path: Path) -> None:
    source = matgrad.derive(EXAMPLES["single_layer"]).source(backend="dask", bind={"f": "tanh"})
    imports = {line for line in source.splitlines() if line.startswith(("import", "from"))}
    assert imports == {"import dask", "import dask.array as da", "import numpy as np"}
    assert_ruff_clean(source, tmp_path)
    assert "J = sum_b J_b," in source and "dask.compute(result)[0]" in source


def test_options_that_clash_with_arguments_are_refused() -> None:
    with pytest.raises(matgrad.MatgradError, match="rename the program's compute"):
        matgrad.derive("compute: t x n, data; w: n x 1\nJ = sum(compute*w)").source(
            backend="dask")


def test_matrices_named_like_the_libraries_keep_working() -> None:
    """`da` and `dask` as names of the user's matrices are renamed in the code, not shadowing
    the modules the driver calls."""
    derivation = matgrad.derive("da: t x n, data; dask: n x 1\nJ = sum(square(da*dask))")
    assert derivation.python_names == {"da": "da_", "dask": "dask_"}
    _compare(derivation)


def test_a_missing_dask_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = registry.importlib.util.find_spec
    monkeypatch.setattr(registry.importlib.util, "find_spec",
                        lambda name, *rest: None if name == "dask" else real(name, *rest))
    with pytest.raises(matgrad.MatgradError, match=r'pip install "matgrad\[dask\]"'):
        matgrad.derive(LOGISTIC).compile(backend="dask")


def test_the_cli_prints_the_split_the_module_and_checks_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    example = str(ROOT / "examples" / "single_layer.mg")

    def run(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    status, out, _ = run(example, "--rows", "--steps")
    assert status == 0 and out.startswith("J = Σ_b J_b  over the row blocks b of t")
    assert "dJ = " in out
    status, out, _ = run(example, "--backend", "dask", "--bind", "f=tanh", "--check")
    assert status == 0 and out.rstrip().endswith("passed")
    status, _, err = run("-e", "X: t x n, data; W: n x n\nJ = logdet(X'*X + W)",
                         "--backend", "dask")
    assert status == 2 and "log-determinant" in err and "Traceback" not in err
    status, _, err = run(example, "--numpy", "--rows", "t")
    assert status == 2 and "--backend dask" in err
    loop = str(ROOT / "examples" / "classification_loop.mg")
    status, out, _ = run(loop, "--backend", "dask", "--bind", "f[j]=tanh", "--check")
    assert status == 0 and out.rstrip().endswith("passed") and "d/dW3" in out


# ---- a real cluster, reading its blocks from disk --------------------------------------------


@pytest.fixture(scope="module")
def client() -> Any:
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       memory_limit="1GiB", dashboard_address=None)
    with distributed.Client(cluster) as connected:
        yield connected
    cluster.close()


def test_on_a_local_cluster_from_npy_blocks_on_disk(client: Any, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    t, n = 6000, 5
    X, y, w = rng.normal(size=(t, n)), np.sign(rng.normal(size=(t, 1))), rng.normal(size=(n, 1))
    for name, value in (("X", X), ("y", y)):
        da.to_npy_stack(tmp_path / name, da.from_array(value, chunks=(500, -1)), axis=0)
    on_disk = {name: da.from_npy_stack(tmp_path / name, mmap_mode="r") for name in ("X", "y")}
    # The graph names the files, never their contents: each worker reads its own blocks.
    graph = cloudpickle.dumps(dict(on_disk["X"].__dask_graph__()))
    assert len(graph) < X.nbytes / 20
    derivation = matgrad.derive(LOGISTIC)
    expected = derivation.compile()(X, y, w, 0.1)
    function = derivation.compile(backend="dask")
    got = function(on_disk["X"], on_disk["y"], w, 0.1)
    _assert_same(expected, got)
    assert len(client.scheduler_info()["workers"]) == 2
    product = derivation.hvp()
    direction = rng.normal(size=(n, 1))
    _assert_same(product.compile()(X, y, w, 0.1, direction),
                 product.compile(backend="dask")(on_disk["X"], on_disk["y"], w, 0.1, direction))


@pytest.mark.slow
def test_four_gigabytes_through_workers_of_one(tmp_path: Path) -> None:
    """X of 4 GiB in blocks of 64 MiB through two workers limited to 1 GiB each (their nannies
    stop a worker that passes 95 %): the gradient equals the NumPy one accumulated block by
    block in this process, and each worker's peak memory stays a few blocks.  Run with
    `-m slow -s` to see the figures."""
    distributed = pytest.importorskip("distributed")
    t, n, chunk = 2**23, 64, 2**17  # 8 388 608 × 64 float64 = 4 GiB; 131 072 rows = 64 MiB
    X = da.random.RandomState(3).normal(size=(t, n), chunks=(chunk, n))
    y = da.sign(da.random.RandomState(4).normal(size=(t, 1), chunks=(chunk, 1)))
    w = np.random.default_rng(5).normal(size=(n, 1)) / 8
    derivation = matgrad.derive(LOGISTIC)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1GiB",
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        started = time.perf_counter()
        for name, value in (("X", X), ("y", y)):
            da.to_npy_stack(tmp_path / name, value, axis=0)
        written = time.perf_counter() - started
        on_disk = [da.from_npy_stack(tmp_path / name, mmap_mode="r") for name in ("X", "y")]
        peaks: dict[str, int] = {}
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                for address, rss in client.run(lambda: psutil.Process().memory_info().rss
                                               ).items():
                    peaks[address] = max(peaks.get(address, 0), rss)
                time.sleep(0.1)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        got = derivation.compile(backend="dask")(*on_disk, w, 0.1)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    # The reference: the NumPy module block by block (the blocks fit here; X as a whole would
    # too on this machine, but the test need not hold 4 GiB twice).
    kernel = matgrad.derive(LOGISTIC.replace("1/t", "1")).compile()
    value, gradient = 0.0, np.zeros((n, 1))
    for first in range(0, t, chunk):
        block_value, block_gradient = kernel(np.load(tmp_path / "X" / f"{first // chunk}.npy"),
                                             np.load(tmp_path / "y" / f"{first // chunk}.npy"),
                                             w, 0.0)
        value, gradient = value + block_value, gradient + block_gradient["w"]
    expected = (value / t + 0.05 * (w.T @ w).item(), {"w": gradient / t + 0.1 * w})
    _assert_same(expected, got, rtol=1e-9)
    print(f"\n4 GiB X: written in {written:.1f} s, gradient in {elapsed:.1f} s "
          f"({t / elapsed / 1e6:.2f} M rows/s); worker peaks "
          f"{', '.join(f'{peak / 2**20:.0f} MiB' for peak in peaks.values())}")
    assert len(peaks) == 2 and max(peaks.values()) < 2**30


@pytest.mark.slow
def test_the_example_fits_both_models(tmp_path: Path) -> None:
    """examples/dask_lbfgs.py on a small LocalCluster: both fits converge, a line per
    iteration (the full-size run, 1.19 GiB through 512 MiB workers, is in the README)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "dask_lbfgs.py"), "--rows", "40000",
         "--chunk-rows", "5000", "--memory-limit", "512MiB", "--data", str(tmp_path / "data")],
        capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    finished = [line for line in result.stdout.splitlines() if "CONVERGENCE" in line]
    assert len(finished) == 2, result.stdout
    assert "logistic regression iteration   1: J = " in result.stdout
