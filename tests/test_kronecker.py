"""Hessian blocks of matrix parameters in Kronecker form (engine/kronecker.py, ir/kronecker.py,
linear_maps.py): the textbook forms pinned, every block of the conformance set, the examples
and the corpus against an independent reference (HIPS autograd's double reverse mode, or
central differences of the compiled gradient), the operators against their dense matrices,
and the algebra's identities one by one."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from backend_cases import assert_ruff_clean
from corpus import CASES
from helpers import FUZZ_EXAMPLES, numeric_jacobian, random_inputs, random_sizes
from hypothesis import HealthCheck, given, settings
from programs import programs
from test_conformance import OBJECTIVES
from test_second_order import _bind, autograd_hessian

import matgrad
from matgrad.api import Derivation
from matgrad.check import check_hessian
from matgrad.cli import main
from matgrad.engine import hessian_plan
from matgrad.engine.hessian_plan import batch_safe
from matgrad.ir.evaluate import Environment, evaluate
from matgrad.ir.expr import Const, Identity, MatMul, Ones, Sym, Transpose
from matgrad.ir.kronecker import (
    CHAIN_IDENTITIES,
    Flip,
    Inner,
    Kron,
    KroneckerForm,
    Mask,
    Spread,
    Term,
    merged_terms,
    shortened,
)
from matgrad.linear_maps import KroneckerOperator, commutation, unvec, vec

ROOT = Path(__file__).resolve().parent.parent

# What each block prints: the Matrix Cookbook's forms, vec stacking columns.
TEXTBOOK: dict[str, tuple[str, dict[tuple[str, str], str]]] = {
    "matrix least squares": (
        "X: t x n, data; W: n x m; Y: t x m, data\nJ = 1/2*||X*W - Y||^2",
        {("W", "W"): "Iₘ ⊗ (XᵀX)"}),
    # on the symmetric matrices: −(X⁻¹ ⊗ X⁻¹)(I + K)/2, applied to symmetric directions only
    "logdet of an spd matrix": ("X: n x n, spd\nJ = logdet(X)",
                                {("X", "X"): "−1/2(X⁻¹ ⊗ X⁻¹) − 1/2(X⁻¹ ⊗ X⁻¹) K₍ₙ,ₙ₎"}),
    "logdet": ("X: n x n\nJ = logdet(X)", {("X", "X"): "−(X⁻¹ ⊗ X⁻¹ᵀ) K₍ₙ,ₙ₎"}),
    "tr(XᵀAX)": ("A: n x n, data; X: n x m\nJ = tr(X'*A*X)", {("X", "X"): "Iₘ ⊗ (Aᵀ + A)"}),
    "tr(X²)": ("X: n x n\nJ = tr(X*X)", {("X", "X"): "2K₍ₙ,ₙ₎"}),
    "matrix factorisation": (
        "X: m x n, data; U: m x k; V: n x k\nJ = ||X - U*V'||^2",
        {("U", "U"): "2((VᵀV) ⊗ Iₘ)",
         ("U", "V"): "2(Vᵀ ⊗ U) K₍ₙ,ₖ₎ − 2(Iₖ ⊗ (X − U Vᵀ))",
         ("V", "V"): "2((UᵀU) ⊗ Iₙ)"}),
    "softmax regression": (
        "X: t x n, data; Y: t x m, data, onehot; W: n x m\nJ = sum(logsumexp(X*W)) - <Y, X*W>",
        {("W", "W"): "(Iₘ ⊗ Xᵀ) diag(vec(softmax(S))) (Iₘ ⊗ X) − (Iₘ ⊗ Xᵀ) "
                     "diag(vec(softmax(S))) ((𝟏 𝟏ᵀ) ⊗ Iₜ) diag(vec(softmax(S))) (Iₘ ⊗ X)"}),
    "the §1 network": (
        (ROOT / "examples" / "single_layer.mg").read_text(),
        {("W", "W"): "(Iₘ ⊗ Xᵀ) diag(vec(f′(A) ⊙ f′(A) + f′′(A) ⊙ ΔZ)) (Iₘ ⊗ X)",
         ("W", "b"): "(Iₘ ⊗ Xᵀ) diag(vec(f′(A) ⊙ f′(A) + f′′(A) ⊙ ΔZ)) (Iₘ ⊗ 𝟏)",
         ("b", "b"): "diag(𝟏ᵀ(f′(A) ⊙ f′(A) + f′′(A) ⊙ ΔZ))"}),
    "a zero block": ("x: n x 1; A: n x n\nJ = x'*A*x", {("A", "A"): "0"}),
}


def _arguments(derivation: Derivation, seed: int = 7, largest: int = 5,
               ) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, int]]:
    rng = np.random.default_rng(seed)
    sizes = {dim: min(size, largest) for dim, size in random_sizes(derivation.program,
                                                                   rng).items()}
    values = random_inputs(derivation.program, sizes, rng)
    arguments: dict[str, Any] = {derivation.python_names[k]: v for k, v in values.items()
                                 if k in derivation.python_names}
    arguments.update({keyword: sizes[dim] for dim, keyword in derivation.size_arguments.items()})
    return arguments, values, sizes


def assert_blocks_match_autograd(derivation: Derivation, require_closed: bool = True) -> None:
    hessian = derivation.hessian()
    if require_closed:
        assert all(block is not None for block in hessian.blocks.values()), hessian.reasons
    bind = _bind(derivation)
    arguments, values, sizes = _arguments(derivation)
    blocks = hessian.compile(bind=bind)(**arguments)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # autograd: "output seems independent of input"
        reference = autograd_hessian(derivation, values, sizes, bind)
    assert set(blocks) == set(reference)
    for key, expected in reference.items():
        scale = max(1.0, float(np.max(np.abs(expected))))
        np.testing.assert_allclose(blocks[key], expected, rtol=1e-8, atol=1e-9 * scale,
                                   err_msg=f"H{key} differs from autograd")


@pytest.mark.parametrize("name", list(TEXTBOOK))
def test_textbook_kronecker_forms(name: str) -> None:
    source, printed = TEXTBOOK[name]
    derivation = matgrad.derive(source)
    text = str(derivation.hessian())
    for (a, b), form in printed.items():
        assert f"∂²J/∂{a}∂{b} = {form}\n" in text, text
    assert_blocks_match_autograd(derivation)


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_every_conformance_block_is_closed_and_right(name: str) -> None:
    source, parameter, _, _ = OBJECTIVES[name]
    assert_blocks_match_autograd(matgrad.derive(source, [parameter]))


EXAMPLES = sorted(path.name for path in (ROOT / "examples").glob("*.mg"))


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_block_is_closed_and_right(example: str) -> None:
    depth = {"k": 2} if "loop" in example else None
    assert_blocks_match_autograd(matgrad.derive((ROOT / "examples" / example).read_text(),
                                                depth=depth))


@pytest.mark.parametrize("name", [*OBJECTIVES, *EXAMPLES])
def test_every_block_assembled_from_the_product_is_right(name: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # No block read: every one assembled from the Hessian-vector product in the generated
    # module (batched where batch_safe says so, one direction a call elsewhere), against
    # autograd.
    monkeypatch.setattr(hessian_plan, "CHAIN_LIMIT", -1)
    if name in OBJECTIVES:
        source, parameter, _, _ = OBJECTIVES[name]
        derivation = matgrad.derive(source, [parameter])
    else:
        depth = {"k": 2} if "loop" in name else None
        derivation = matgrad.derive((ROOT / "examples" / name).read_text(), depth=depth)
    hessian = derivation.hessian()
    assert all(block is None for block in hessian.blocks.values())
    batched = batch_safe(hessian.product)
    assert ("def _hessian_batched(" in hessian.source(bind=_bind(derivation))) == batched
    assert_blocks_match_autograd(derivation, require_closed=False)


def test_batching_is_refused_where_an_operation_mixes_the_directions() -> None:
    # A trace, a log-determinant, an inverse or a scalar parameter keeps one direction a call.
    safe = {name: batch_safe(matgrad.derive(source, [parameter]).hvp().result)  # type: ignore[arg-type]
            for name, (source, parameter, _, _) in OBJECTIVES.items()}
    assert 10 < sum(safe.values()) < len(safe)
    # −X⁻ᵀV_XᵀX⁻ᵀ: the inverse reads no direction, so logdet's product is batched
    assert batch_safe(matgrad.derive("X: n x n; J = logdet(X)").hvp().result)  # type: ignore[arg-type]
    assert not batch_safe(matgrad.derive("x: n x 1; J = (x'*x)^2").hvp().result)  # type: ignore[arg-type]
    assert not batch_safe(matgrad.derive("x: n x 1; s: scalar; J = s^2 * sum(x)").hvp().result)  # type: ignore[arg-type]
    assert batch_safe(matgrad.derive("X: t x n; w: n x 1; J = sum(tanh(X*w))").hvp().result)  # type: ignore[arg-type]


# Every third corpus objective by default (the run stays within CI's minutes); all of them
# under -m slow.
CORPUS = [case for case in CASES if not case.refused]
CORPUS_CASES = [case if index % 3 == 0 else pytest.param(case, marks=pytest.mark.slow)
                for index, case in enumerate(CORPUS)]


@pytest.mark.parametrize("case", CORPUS_CASES, ids=[case.label for case in CORPUS])
def test_every_corpus_hessian_passes_the_check(case: Any) -> None:
    """Every block of every corpus objective against central differences of its gradient (a
    form too long to read — the layer norm's — is computed from the product instead)."""
    hessian = matgrad.derive(case.source).hessian()
    closed = [key for key, block in hessian.blocks.items() if block is not None]
    assert closed or hessian.reasons
    report = check_hessian(hessian, dict.fromkeys(hessian.first.program.dims, 3),
                           bind=case.bind or None)
    assert report.passed, str(report)


def test_operators_apply_without_building_the_matrix() -> None:
    source, _ = TEXTBOOK["matrix factorisation"]
    derivation = matgrad.derive(source)
    hessian = derivation.hessian()
    arguments, values, _ = _arguments(derivation)
    operators = hessian.compile(dense=False)(**arguments)
    dense = hessian.compile()(**arguments)
    rng = np.random.default_rng(3)
    for key, operator in operators.items():
        assert isinstance(operator, KroneckerOperator)
        assert operator.shape == dense[key].shape
        direction = rng.normal(size=values[key[1]].shape)
        np.testing.assert_allclose(operator @ vec(direction), dense[key] @ vec(direction),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(vec(operator.apply(direction)), operator @ vec(direction))
        columns = rng.normal(size=(operator.shape[1], 3))
        np.testing.assert_allclose(operator @ columns, dense[key] @ columns, rtol=1e-12,
                                   atol=1e-12)
        np.testing.assert_allclose(operator.toarray(), dense[key])
    # The HVP is the same product: (∇²J V)_U = H_UU vec(V_U) + H_UV vec(V_V).
    product = derivation.hvp().compile()
    v_u, v_v = rng.normal(size=values["U"].shape), rng.normal(size=values["V"].shape)
    hvp = product(**arguments, V_U=v_u, V_V=v_v)
    expected = operators[("U", "U")] @ vec(v_u) + operators[("U", "V")] @ vec(v_v)
    np.testing.assert_allclose(vec(hvp["U"]), expected, rtol=1e-10)


def test_an_operator_is_a_scipy_linear_operator() -> None:
    sparse_linalg = pytest.importorskip("scipy.sparse.linalg")
    derivation = matgrad.derive("A: n x n, spd, data; X: n x m\nJ = tr(X'*A*X)")
    arguments, _, _ = _arguments(derivation)
    operator = derivation.hessian().compile(dense=False)(**arguments)[("X", "X")]
    linear = sparse_linalg.aslinearoperator(operator)
    rhs = np.arange(1.0, operator.shape[0] + 1.0)
    solution, info = sparse_linalg.cg(linear, rhs, rtol=1e-12, atol=0.0)
    assert info == 0
    np.testing.assert_allclose(operator @ solution, rhs, rtol=1e-8)


def test_the_commutation_matrix_transposes() -> None:
    matrix = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(commutation(2, 3) @ vec(matrix), vec(matrix.T))
    np.testing.assert_array_equal(unvec(vec(matrix), (2, 3)), matrix)


# ---- the algebra ----------------------------------------------------------------------------

A, B, C, D = Sym("A"), Sym("B"), Sym("C"), Sym("D")


def test_the_mixed_product_and_the_transposition_identities() -> None:
    square = ("n", "n")
    # (B ⊗ A)(D ⊗ C) = BD ⊗ AC
    assert shortened((Kron(B, A, square, square), Kron(D, C, square, square))) == (
        Kron(MatMul(B, D), MatMul(A, C), square, square),)
    # K K = I: two transpositions cancel
    assert shortened((Flip(("m", "n")), Flip(("n", "m")))) == ()
    # K(B ⊗ A) = (A ⊗ B)K: the transposition moves next to the direction
    assert shortened((Flip(("m", "k")), Kron(B, A, ("n", "n"), ("m", "k")))) == (
        Kron(A, B, ("n", "n"), ("k", "m")), Flip(("n", "n")))


def test_a_broadcast_summed_back_is_one_mask() -> None:
    """𝟏ᵀ(S ⊙ 𝟏x) = (𝟏ᵀS) ⊙ x: the §1 bias block is diag(𝟏ᵀS), not a chain of three."""
    chain = (Kron(None, Transpose(Ones("t", 1)), ("t", "m"), (1, "m")), Mask(A, ("t", "m")),
             Kron(None, Ones("t", 1), (1, "m"), ("t", "m")))
    assert shortened(chain) == (Mask(MatMul(Ones(1, "t"), A), (1, "m")),)


def test_terms_differing_in_one_factor_merge() -> None:
    shape = ("n", "m")
    first = Term(None, (Kron(None, A, shape, shape),))
    second = Term(None, (Kron(None, Transpose(A), shape, shape),))
    merged = merged_terms([first, second], shape)
    assert len(merged) == 1 and merged[0].factors[0].inner is not None
    # V + A V: the identity chain merges as I + A; V + V doubles.
    assert len(merged_terms([Term(None, ()), first], shape)) == 1
    doubled = merged_terms([Term(None, ()), Term(None, ())], shape)
    assert len(doubled) == 1 and doubled[0].factors == ()
    assert doubled[0].coefficient is not None
    # A different chain length does not merge.
    assert len(merged_terms([first, Term(Const(Fraction(2)), (Flip(shape), Flip(shape)))],
                            shape)) == 2
    assert Identity("n") != A  # the sizes are kept in the identities the merge writes


# ---- CLI and LaTeX ----------------------------------------------------------------------------

def test_the_cli_prints_and_checks_kronecker_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    source, printed = TEXTBOOK["matrix factorisation"]
    assert main(["-e", source, "--hessian", "--check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"∂²J/∂U∂U = {printed[('U', 'U')]}\n")
    assert "K₍ₘ,ₙ₎ is the commutation matrix" in out and "passed" in out
    assert main(["-e", source, "--hessian", "--ascii"]) == 0
    ascii_text = capsys.readouterr().out
    assert ascii_text.startswith("d2J/dUdU = 2*kron((V'*V), eye(m))\n")
    assert "2*kron(V', U) * commutation(n, k) - 2*kron(eye(k), (X - U*V'))" in ascii_text


def test_kronecker_latex_compiles_within_the_margins(tmp_path: Path) -> None:
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("pdflatex is not installed (texlive-latex-base; .ci/run installs it)")
    sources = {"factorisation": TEXTBOOK["matrix factorisation"][0],
               "logdet": TEXTBOOK["logdet"][0],
               "mlp": "X: t x n, data; Y: t x m, data, onehot; W1: n x k; W2: k x m\n"
                      "J = -1/t * sum(Y .* log(softmax(tanh(X*W1)*W2)))"}
    for name, source in sources.items():
        document = matgrad.derive(source).hessian().latex(standalone=True)
        assert "\\otimes" in document
        path = tmp_path / f"{name}.tex"
        path.write_text(document, encoding="utf-8")
        result = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error",
                                 path.name], cwd=tmp_path, capture_output=True, text=True,
                                check=False)
        assert result.returncode == 0, result.stdout[-2000:]
        log = (tmp_path / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        assert "Overfull \\hbox" not in log, f"{name} overflows the margins"


def test_a_kronecker_form_lists_its_expressions() -> None:
    form = matgrad.derive(TEXTBOOK["tr(XᵀAX)"][0]).hessian().blocks[("X", "X")]
    assert isinstance(form, KroneckerForm)
    assert form.source == form.target == ("n", "m")
    assert form.expressions()


# ---- the generated module ---------------------------------------------------------------------

# Chains (B₁ ⊗ A₁) diag(vec K) (B₂ ⊗ A₂) the module assembles without forming the diagonal:
# both B identities (block-diagonal, the §1 network), both A identities (W on the left), and
# all four matrices present; and longer chains, each factor applied to the columns.
STRUCTURED = {
    "W on the left": "W: m x n; X: n x t, data; Y: m x t, data\nJ = 1/2*||tanh(W*X) - Y||^2",
    "W between two matrices": "A: m x n, data; W: n x p; B: p x q, data\nJ = sum(tanh(A*W*B))",
    # longer chains (and a transposition) applied to the columns of the product so far
    "a 2-layer MLP": ("X: t x n, data; Y: t x n, data; W1: n x n; b1: 1 x n; W2: n x n; "
                      "b2: 1 x n\nZ1 = tanh(X*W1 + b1)\nJ = 1/2*||tanh(Z1*W2 + b2) - Y||^2"),
}


@pytest.mark.parametrize("name", ["matrix factorisation", "the §1 network", "tr(X²)",
                                  *STRUCTURED])
def test_the_generated_module_matches_the_factors(name: str, tmp_path: Path) -> None:
    source = STRUCTURED[name] if name in STRUCTURED else TEXTBOOK[name][0]
    derivation = matgrad.derive(source)
    hessian = derivation.hessian()
    bind = _bind(derivation)
    module = hessian.source(bind=bind)
    assert_ruff_clean(module, tmp_path)
    assert "import matgrad" not in module and "def hessian(" in module
    arguments, _, _ = _arguments(derivation)
    generated = hessian.compile(bind=bind)(**arguments)
    operators = hessian.compile(bind=bind, dense=False)(**arguments)
    assert set(generated) == set(operators)
    for key, block in generated.items():
        expected = operators[key]
        expected = expected.toarray() if isinstance(expected, KroneckerOperator) else expected
        np.testing.assert_allclose(block, expected, rtol=1e-12, atol=1e-12)


def test_a_block_without_a_closed_form_is_assembled_from_the_product(
        capsys: pytest.CaptureFixture[str]) -> None:
    source = ("X: t x n; Y: t x n, data; C = X - X*ones(n, n)/n; V = (C .* C)*ones(n, 1)/n + 0.1\n"
              "J = 1/2*||C ./ sqrt(V) - Y||^2")
    hessian = matgrad.derive(source).hessian()
    assert hessian.blocks[("X", "X")] is None
    module = hessian.source()
    # every operation on the direction is batch-safe: one call for the whole block column
    assert "def _hessian_batched(" in module and "_product_columns(" in module
    assert main(["-e", source, "--hessian", "--numpy"]) == 0
    assert "def _hessian_batched(" in capsys.readouterr().out
    # The module's block against central differences of the gradient, column by column.
    derivation = Derivation(hessian.first)
    arguments, values, _ = _arguments(derivation)
    block = hessian.compile()(**arguments)[("X", "X")]
    gradient = derivation.compile()
    x = values["X"]
    # vec stacks columns: the rows of the numeric Jacobian of vec(∇J) in vec(X)'s order
    expected = numeric_jacobian(lambda flat: gradient(**{
        **arguments, "X": flat.reshape(x.shape, order="F")})[1]["X"].reshape(-1, order="F"),
        x.reshape(-1, order="F")).T
    np.testing.assert_allclose(block, expected, rtol=1e-5, atol=1e-6)


def test_the_readme_kronecker_example_is_what_the_cli_prints(
        capsys: pytest.CaptureFixture[str]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ matgrad -e \"X: m x n, data; U: m x k; V: n x k; J = ||X - U*V'||^2\" --hessian\n"
    shown = readme.split(command, 1)[1].split("```", 1)[0]
    assert main(["-e", "X: m x n, data; U: m x k; V: n x k; J = ||X - U*V'||^2",
                 "--hessian"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(shown), printed


@settings(max_examples=FUZZ_EXAMPLES // 15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_program_hessians_against_autograd(source: str) -> None:
    """Every block of a random program (matrix and vector parameters, elementwise and row-wise
    functions, products, traces, norms) closed or computed from the product, against autograd."""
    derivation = matgrad.derive(source)
    assert_blocks_match_autograd(derivation, require_closed=False)


@settings(max_examples=FUZZ_EXAMPLES // 15, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_program_hessians_assembled_from_the_product(source: str) -> None:
    """The same random programs with no block read: every block from the Hessian-vector
    product in the generated module (a batch of directions a call wherever batch_safe
    allows), against autograd — the guard on batch_safe's list of operations."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hessian_plan, "CHAIN_LIMIT", -1)
        assert_blocks_match_autograd(matgrad.derive(source), require_closed=False)


def test_identity_sizes_print_as_names_in_latex() -> None:
    """Iₙₘ of 2‖X‖² with X n_in × m: the size through latex_name (no bare n_in, which would
    be a double subscript), and as eye(n*m) in ASCII."""
    hessian = matgrad.derive("X: n_in x m\nJ = 2*||X||^2").hessian()
    assert "4\\mathbf{I}_{n_{\\mathrm{in}} m}" in hessian.latex()
    assert "d2J/dXdX = 4*eye(n_in*m)" in hessian.text("ascii")


def test_collected_symmetric_blocks_fold_their_scalars() -> None:
    """(Kᵀ + K)/2 with K spd collects to (1/2)(2K) and prints K; the block is still right."""
    derivation = matgrad.derive("K: t x t, spd, data; y: t x 1, data; a: t x 1\n"
                                "J = 1/2*a'*K*a - a'*y")
    assert str(derivation.hessian()).startswith("∂²J/∂a∂a = K\n")
    assert_blocks_match_autograd(derivation)


def _random_factor(kind: type, source: tuple[int, int], rng: np.random.Generator,
                   env: dict[str, np.ndarray]) -> Any:
    """A factor of class `kind` from `source`, its matrices fresh random symbols in `env`."""
    def symbol(shape: tuple[int, int]) -> Sym:
        name = f"K{len(env)}"
        env[name] = rng.normal(size=shape) + (3.0 if kind is Mask else 0.0)  # no zero divisor
        return Sym(name)

    rows, cols = source
    if kind is Kron:
        target = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        return Kron(symbol((target[1], cols)), symbol((target[0], rows)), source, target)
    if kind is Mask:
        return Mask(symbol(source), source, bool(rng.integers(0, 2)))
    if kind is Flip:
        return Flip(source)
    if kind is Inner:
        return Inner(symbol(source), source)
    target = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    return Spread(symbol(target), target)


def _dense_chain(factors: tuple[Any, ...], source: Any, target: Any,
                 env: dict[str, np.ndarray]) -> np.ndarray:
    """The vec matrix of a chain of factors whose matrices are the symbols of `env`."""
    operator = KroneckerOperator(KroneckerForm((Term(None, factors),), source, target),
                                 lambda expr: evaluate(expr, Environment(env, {})), int)
    return operator.toarray()


@pytest.mark.parametrize("pair", sorted(CHAIN_IDENTITIES, key=lambda pair: (
    pair[0].__name__, pair[1].__name__)), ids=lambda pair: f"{pair[0].__name__}∘{pair[1].__name__}")
def test_every_chain_identity_holds_on_random_matrices(pair: tuple[type, type]) -> None:
    # outer ∘ inner and the chain the identity rewrites it to have the same vec matrix.
    outer_kind, inner_kind = pair
    for seed in range(4):
        rng = np.random.default_rng(seed)
        env: dict[str, np.ndarray] = {}
        source = (1, 1) if inner_kind is Spread else (int(rng.integers(1, 4)),
                                                      int(rng.integers(1, 4)))
        inner = _random_factor(inner_kind, source, rng, env)
        outer = _random_factor(outer_kind, inner.target, rng, env)
        rewritten = CHAIN_IDENTITIES[pair].rewrite(outer, inner)
        np.testing.assert_allclose(
            _dense_chain(rewritten, inner.source, outer.target, env),
            _dense_chain((outer, inner), inner.source, outer.target, env), rtol=1e-12,
            atol=1e-12, err_msg=CHAIN_IDENTITIES[pair].statement)


def test_a_hessian_block_never_shares_memory_with_an_input() -> None:
    # Factors of the parts function are returned as computed (X, Xᵀ, broadcasts: only the
    # module reads them), but a block that is a part itself (H_xy = A) is an array of its own.
    derivation = matgrad.derive("x: n x 1; y: n x 1; A: n x n\nJ = x'*A*y", wrt=["x", "y"])
    A = np.arange(9.0).reshape(3, 3)
    blocks = derivation.hessian().compile()(x=np.ones((3, 1)), y=np.ones((3, 1)), A=A)
    np.testing.assert_array_equal(blocks[("x", "y")], A)
    assert not any(np.shares_memory(block, A) for block in blocks.values())
    module = matgrad.derive("X: t x n, data; Y: t x m, data; W: n x m; b: 1 x m\n"
                            "J = 1/2*||tanh(X*W + b) - Y||^2").hessian().source()
    assert "X.copy()" not in module and "X.T.copy()" not in module


def test_operators_and_module_agree_where_a_symmetric_block_is_assembled(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Only symmetric directions reach an spd S: both the module and compile(dense=False)
    # assemble its columns at sym(Eᵢⱼ), as the closed forms compose with sym.
    source = "S: n x n, spd; A: n x n\nJ = logdet(S) + tr(A*S*S)"
    closed = matgrad.derive(source, ["S"]).hessian()
    monkeypatch.setattr(hessian_plan, "CHAIN_LIMIT", -1)
    assembled = matgrad.derive(source, ["S"]).hessian()
    assert assembled.blocks[("S", "S")] is None and closed.blocks[("S", "S")] is not None
    rng = np.random.default_rng(5)
    root = rng.normal(size=(4, 4))
    values = {"S": root @ root.T + 4 * np.eye(4), "A": rng.normal(size=(4, 4))}
    expected = closed.compile()(**values)[("S", "S")]
    np.testing.assert_allclose(assembled.compile()(**values)[("S", "S")], expected,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(assembled.compile(dense=False)(**values)[("S", "S")], expected,
                               rtol=1e-10, atol=1e-12)


def test_a_size_the_objective_reads_but_no_block_needs_is_not_passed_to_the_parts() -> None:
    # J reads t (a sum of ones) but no block does: the module takes t and the parts function
    # does not (it was called with t= and failed; found by the assembled-Hessian fuzz).
    derivation = matgrad.derive("W: n x m; V: n x m\n"
                                "J = sum(ones(1, t)' * ones(1, n)) + sum(W) + <W, V>")
    blocks = derivation.hessian().compile()(W=np.ones((2, 3)), V=np.ones((2, 3)), t=4)
    np.testing.assert_array_equal(blocks[("W", "V")], np.eye(6))
    np.testing.assert_array_equal(blocks[("W", "W")], np.zeros((6, 6)))
