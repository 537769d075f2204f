"""Kinds are types (engine/results.py): every table a consumer looks a kind up in has an entry
for every kind, each kind comes out of `derive`/`hvp` as its own class, and every output works
for each (issue 30 #1)."""

from __future__ import annotations

from inspect import signature
from pathlib import Path
from typing import Any

import pytest

import matgrad
from matgrad.backends.registry import MODULES
from matgrad.check import CHECKS
from matgrad.codegen.computation import COMPUTATIONS
from matgrad.codegen.emit import PythonEmitter
from matgrad.engine.loop_second_order import PRODUCTS
from matgrad.engine.results import (
    RESULT_KINDS,
    Derivation,
    Jacobian,
    LoopDerivation,
    LoopProduct,
    Product,
)
from matgrad.engine.row_loops import ROW_BLOCKS
from matgrad.printing.json_output import KIND_NAMES
from matgrad.printing.outputs import JUPYTER_LATEX, LATEX, STEPS, TEXT

TABLES: dict[str, dict[type[Derivation], Any]] = {
    "TEXT": TEXT, "STEPS": STEPS, "LATEX": LATEX, "JUPYTER_LATEX": JUPYTER_LATEX,
    "MODULES": MODULES, "CHECKS": CHECKS, "PRODUCTS": PRODUCTS, "ROW_BLOCKS": ROW_BLOCKS,
    "KIND_NAMES": KIND_NAMES}

FLAT = "X: t x n, data\ny: t x 1, data\nw: n x 1\nJ = sum(softplus(X*w)) - y'*X*w"
LOOP = ("X: t x n, data\nY: t x n, data\nZ[0] = X\nfor j in 1..k:\n    W[j]: n x n\n"
        "    Z[j] = tanh(Z[j-1]*W[j])\nend\nJ = 1/2 * ||Z[k] - Y||^2\n")


JACOBIAN = "X: t x n, data\nw: n x 1\nf = tanh(X*w)"


def _results() -> dict[type[Derivation], matgrad.Derivation]:
    flat, loop = matgrad.derive(FLAT), matgrad.derive(LOOP)
    return {Derivation: flat, Product: flat.hvp(), LoopDerivation: loop,
            LoopProduct: loop.hvp(), Jacobian: matgrad.derive(JACOBIAN, jacobian=True)}


RESULTS = _results()


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_kind_has_an_entry(table: str) -> None:
    assert set(TABLES[table]) == set(RESULT_KINDS)


@pytest.mark.parametrize("kind", RESULT_KINDS, ids=lambda kind: kind.__name__)
def test_each_kind_is_its_own_class(kind: type[Derivation]) -> None:
    assert type(RESULTS[kind].result) is kind


@pytest.mark.parametrize("kind", RESULT_KINDS, ids=lambda kind: kind.__name__)
def test_every_output_works_for_every_kind(kind: type[Derivation]) -> None:
    derivation = RESULTS[kind]
    first = derivation.result.first_order
    assert first.objective in derivation.text()
    assert "by (" in derivation.steps_text()  # cited steps
    assert "\\begin{align*}" in derivation.latex()
    assert derivation.latex(standalone=True).startswith("\\documentclass")
    assert derivation._repr_latex_().startswith("$$")
    source = derivation.source()
    compile(source, "<generated>", "exec")
    assert matgrad.check(derivation, {"t": 3, "n": 2}).passed


def test_a_product_of_a_product_is_refused() -> None:
    for kind in (Product, LoopProduct):
        with pytest.raises(matgrad.UnsupportedError, match="third derivatives"):
            RESULTS[kind].hvp()
    with pytest.raises(matgrad.UnsupportedError, match="third-order tensor"):
        RESULTS[Jacobian].hvp()
    with pytest.raises(matgrad.UnsupportedError, match="third-order tensor"):
        RESULTS[Jacobian].hessian()


def test_a_product_knows_its_first_derivation() -> None:
    product = RESULTS[Product].result
    assert isinstance(product, Product) and product.first_order is product.first
    assert product.first.objective == "J" and set(product.directions) == {"w"}
    loop_product = RESULTS[LoopProduct].result
    assert isinstance(loop_product, LoopProduct)
    assert loop_product.first_order is loop_product.first
    assert type(loop_product.first) is LoopDerivation


def test_code_generation_takes_a_computation() -> None:
    """The emitter takes a Computation (codegen/computation.py), built per flat kind; the
    Hessian module builds its own instead of dressing its parts up as a derivation."""
    assert signature(PythonEmitter.__init__).parameters["computation"].annotation == \
        "Computation"
    assert set(COMPUTATIONS) == {Derivation, Product, Jacobian}
    source = (Path(matgrad.__file__).parent / "codegen" / "hessian_module.py").read_text(
        encoding="utf-8")
    assert "Derivation" not in source and "Computation(" in source
