"""However the objective is written, the generated code is the same program: the let-bound form
(the guide's names, as the examples are written) and the inline form (one expression) give the
same number of matrix products, transcendental calls and temporaries, for every flat example
and every workload of the benchmarks (benchmarks/bench_notations.py times them)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest
from helpers import bind_for
from notations import inline, mlp

import matgrad

ROOT = Path(__file__).resolve().parent.parent
LOOP = re.compile(r"^\s*for\s+\w+\s+in\b", re.MULTILINE)  # a layer loop, not a comment
BIND = {"f": "tanh", "f1": "tanh", "f2": "sigmoid", "f3": "tanh", "f4": "sigmoid"}
TRANSCENDENTAL = {"tanh", "exp", "log", "logaddexp", "sqrt", "log1p", "expm1", "sin", "cos",
                  "sinh", "cosh", "arctan", "_softmax", "_logsumexp", "_logdet", "_inv", "_solve"}
SOFTMAX_CLASSIFIER = """X: t x n0, data; Y: t x n2, data, onehot
W1: n0 x n1; b1: 1 x n1; W2: n1 x n2; b2: 1 x n2
A1 = X*W1 + b1; Z1 = tanh(A1)
A2 = Z1*W2 + b2; Z2 = softmax(A2)
J = -1/t * sum(Y .* log(Z2))"""

PROGRAMS = {path.stem: path.read_text() for path in sorted((ROOT / "examples").glob("*.mg"))
            if not LOOP.search(path.read_text())}
PROGRAMS |= {f"mlp-{k}": mlp(k) for k in (2, 4, 8)}
PROGRAMS["softmax-classifier"] = SOFTMAX_CLASSIFIER


def operations(source: str) -> Counter[str]:
    """What the generated function does: matrix products, transcendental calls (by name),
    temporaries (names assigned) and statements."""
    derivation = matgrad.derive(source)
    module = ast.parse(derivation.numpy_source(bind=bind_for(derivation, BIND)))
    function = next(node for node in module.body if isinstance(node, ast.FunctionDef)
                    and node.name == "value_and_grad")
    counts: Counter[str] = Counter()
    assigned: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            counts["matrix products"] += 1
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                node.func, "id", "")
            if name in TRANSCENDENTAL:
                counts[f"calls of {name}"] += 1
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            assigned.add(node.id)
        if isinstance(node, ast.stmt):
            counts["statements"] += 1
    counts["temporaries"] = len(assigned)
    return counts


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_inline_and_let_bound_forms_generate_the_same_program(name: str) -> None:
    written = PROGRAMS[name]
    assert operations(inline(written)) == operations(written)


def test_the_inline_form_is_one_expression() -> None:
    """The notation really differs: the inline program has no let-binding but the objective."""
    program = matgrad.parse(inline(mlp(2)))
    assert list(program.written) == ["J"]
    assert operations(mlp(2))["matrix products"] == 5  # XW₁, Z₁W₂, Z₁ᵀΔ₂, Δ₂W₂ᵀ, XᵀΔ₁


def test_each_activation_is_computed_once_when_scaled() -> None:
    """Z = α f(A): f(A) is computed once and read by Z, by ∂J/∂α and by f′ (through the output,
    σ′ = σ(1 − σ)); it was recomputed three times."""
    counts = operations(PROGRAMS["scaled_autoencoder"])
    assert sum(value for key, value in counts.items() if key.startswith("calls of")) == 4


def test_a_value_and_its_transpose_are_computed_once() -> None:
    """Attention's ∂J/∂Wk reads Gᵀ where ∂J/∂Wq reads G (the softmax backward): one G."""
    source = "X: t x d, data; Wq: d x e; Wk: d x e\nJ = sum(softmax(X*Wq*(X*Wk)'))"
    derivation = matgrad.derive(source)
    body = derivation.numpy_source().split("def value_and_grad")[1]
    assert body.count("_row_sum(") == 1
    assert operations(source)["matrix products"] == 7
    assert matgrad.check(derivation).passed
