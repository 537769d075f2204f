"""The per-block choice of a Hessian (engine/hessian_plan.py): closed forms where the chain of
named values between V_b and (∇²J V)_a is short, the product's columns beyond; the work of
reading is counted (blocks read), never timed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import matgrad
from matgrad.cli import main
from matgrad.engine import kronecker
from matgrad.engine.hessian_plan import CHAIN_LIMIT, EVALUATE_LIMIT, batch_safe, block_choices

jax = pytest.importorskip("jax", reason="jax.hessian is the reference")
jnp = pytest.importorskip("jax.numpy")
jax.config.update("jax_enable_x64", True)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bench_second_order import mlp  # noqa: E402  (the benchmark's written-out MLP)


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    real = kronecker.KroneckerReader.block

    def counted(self: kronecker.KroneckerReader, component: Any) -> Any:
        reads.append(1)
        return real(self, component)

    monkeypatch.setattr(kronecker.KroneckerReader, "block", counted)
    return reads


def test_the_chain_counts_the_named_values_between_direction_and_component() -> None:
    # In a written-out MLP the chain of layers i, j runs forward to the loss and back:
    # the last layer's own block is short, the first layer's long, and the count is
    # symmetric in (a, b) (H_ab and H_ba are one map and its transpose).
    product = matgrad.derive(mlp(7)).hvp().result
    choices = block_choices(product, batch_safe(product))  # type: ignore[arg-type]
    assert choices[("W7", "W7")].chain < choices[("W1", "W1")].chain
    assert choices[("W7", "W7")].closed and not choices[("W1", "W1")].closed
    for choice in choices.values():
        assert choice.closed == (choice.chain <= CHAIN_LIMIT)


def test_reading_a_deep_network_reads_only_the_blocks_near_the_loss(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The blocks read do not grow with depth: 20 and 30 layers read the same number (the last
    # layers'), so deriving the Hessian costs the product's derivation, linear in depth.
    reads = _count_reads(monkeypatch)
    counts = {}
    for depth in (20, 30):
        reads.clear()
        hessian = matgrad.derive(mlp(depth)).hessian()
        closed = sum(block is not None for block in hessian.blocks.values())
        assert len(reads) == closed <= 16 * 16  # within the last four layers' W and b
        assert len(hessian.blocks) == (2 * depth) ** 2
        counts[depth] = len(reads)
    assert counts[20] == counts[30]


def test_the_choice_is_shown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    program = tmp_path / "deep.mg"
    program.write_text(mlp(7), encoding="utf-8")
    assert main([str(program), "--hessian"]) == 0
    shown = capsys.readouterr().out
    assert "∂²J/∂W₁∂W₁: assembled from the Hessian-vector product" in shown
    assert "∂²J/∂W₇∂W₇ = " in shown


def test_a_mixed_hessian_module_matches_jax() -> None:
    # Closed forms and assembled blocks in one generated module, every block against
    # jax.hessian (float64).
    depth, rows, width = 7, 5, 2
    derivation = matgrad.derive(mlp(depth))
    hessian = derivation.hessian()
    kinds = {block is None for block in hessian.blocks.values()}
    assert kinds == {True, False}
    rng = np.random.default_rng(4)
    values = {"X": rng.normal(size=(rows, width)), "Y": rng.normal(size=(rows, width))}
    for layer in range(1, depth + 1):
        values[f"W{layer}"] = rng.normal(size=(width, width)) / 2
        values[f"b{layer}"] = rng.normal(size=(1, width))
    blocks = hessian.compile()(**values)

    def objective(parameters: dict[str, Any]) -> Any:
        z = jnp.asarray(values["X"])
        for layer in range(1, depth + 1):
            z = jnp.tanh(z @ parameters[f"W{layer}"] + parameters[f"b{layer}"])
        return 0.5 * jnp.sum((z - values["Y"]) ** 2)

    wrt = hessian.first.wrt
    reference = jax.hessian(objective)({name: jnp.asarray(values[name]) for name in wrt})
    assert set(blocks) == {(a, b) for a in wrt for b in wrt}
    for (a, b), block in blocks.items():
        # jax's H[a][b] has shape a.shape + b.shape; vec stacks columns
        expected = np.asarray(reference[a][b]).transpose(1, 0, 3, 2).reshape(
            values[a].size, values[b].size)
        np.testing.assert_allclose(block, expected, rtol=1e-10, atol=1e-12)


def test_long_formulas_are_printed_but_evaluated_from_the_batched_product() -> None:
    # A block whose formula runs through more than EVALUATE_LIMIT named values keeps it in
    # print; the generated module computes it from the product on a batch of directions.
    # Short chains (a 2-layer network's) are evaluated from their formulas.
    deep = matgrad.derive(mlp(5)).hessian()
    printed = {key for key, block in deep.blocks.items() if block is not None}
    evaluated = {key for key in deep.blocks if deep.evaluated(key)}
    assert evaluated < printed == set(deep.blocks)
    assert all(deep.choices[key].chain <= EVALUATE_LIMIT for key in evaluated)
    assert "def _hessian_batched(" in deep.source()
    assert f"(generated code: {len(evaluated)} blocks from their formulas, " \
           f"{len(printed) - len(evaluated)} from the Hessian-vector product" in str(deep)
    shallow = matgrad.derive(mlp(2)).hessian()
    assert all(shallow.evaluated(key) for key in shallow.blocks)
    assert "generated code:" not in str(shallow) and "_hessian_batched" not in \
        shallow.source()
