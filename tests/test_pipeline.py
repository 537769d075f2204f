"""The code-generation pipeline's middle: the typed array program (global value numbering,
use counts), lowering's choices, and the in-place planner's invariant that a buffer is never a
value some other operation still reads."""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import pytest

import matgrad
from matgrad.backends.numpy import NUMPY
from matgrad.backends.numpy_helpers import HELPERS
from matgrad.codegen import loop_module as numpy_loop
from matgrad.codegen.array_program import ArrayProgram, Value
from matgrad.codegen.computation import computation_of
from matgrad.codegen.emit import PythonEmitter, emit_statements
from matgrad.codegen.inplace import InPlacePlanner
from matgrad.codegen.liveness import release_dead, release_layers, release_locals
from matgrad.codegen.statements import Assign, Loop
from matgrad.engine.results import Derivation
from matgrad.ir.expr import MatMul, Sum, Sym


def _leaf(program: ArrayProgram, name: str, shape: tuple[int, int] = (3, 4)) -> Value:
    return program.value("name", (), (name,), shape, shape)


def test_the_same_operation_on_the_same_values_is_one_value() -> None:
    program = ArrayProgram()
    x, w = _leaf(program, "X", (3, 2)), _leaf(program, "W", (2, 4))
    first = program.value("matmul", (x, w), (), (3, 4), (3, 4))
    again = program.value("matmul", (x, w), (), (3, 4), (3, 4))
    other = program.value("matmul", (x, w), ("other",), (3, 4), (3, 4))
    assert first is again and first is not other
    assert program.uses[x] == 2  # read by two distinct operations, not three
    assert not program.shared(first)
    program.value("apply", (first,), ("tanh", 0), (3, 4), (3, 4))
    program.value("total_sum", (first,), (), (1, 1), (1, 1))
    assert program.shared(first)  # two readers: computed once into a name
    assert not program.shared(x) and x.cheap()  # a name is never worth another name


def _planner(program: ArrayProgram, bound: frozenset[Value] = frozenset()) -> InPlacePlanner:
    return InPlacePlanner(bound.__contains__, program.shared, lambda value: True,
                          lambda value: "np.tanh" if value.op == "apply" else None)


def test_a_fresh_product_is_updated_in_place() -> None:
    program = ArrayProgram()
    x, w, b = _leaf(program, "X", (3, 2)), _leaf(program, "W", (2, 4)), _leaf(program, "b",
                                                                                (1, 4))
    product = program.value("matmul", (x, w), (), (3, 4), (3, 4))
    spread = program.value("spread", (b,), (), (1, 4), (3, 4))
    total = program.value("add", (product, spread), (("+", "+"),), (3, 4), (3, 4))
    layer = program.value("apply", (total,), ("tanh", 0), (3, 4), (3, 4))
    plan = _planner(program).plan(layer)
    assert plan is not None and plan.start is product
    assert [update.op for update in plan.updates] == ["add", "apply"]
    assert plan.updates[0].operand is spread


def test_a_value_read_twice_is_never_a_buffer() -> None:
    program = ArrayProgram()
    x, w = _leaf(program, "X", (3, 2)), _leaf(program, "W", (2, 4))
    product = program.value("matmul", (x, w), (), (3, 4), (3, 4))
    doubled = program.value("add", (product, _leaf(program, "Y")), (("+", "+"),), (3, 4),
                            (3, 4))
    program.value("total_sum", (product,), (), (1, 1), (1, 1))  # a second reader of XW
    planner = _planner(program)
    assert planner.plan(doubled) is None  # XW stays intact for its other reader
    # A value held by a name is never a buffer either, however few read it.
    fresh = ArrayProgram()
    held = fresh.value("matmul", (_leaf(fresh, "X", (3, 2)), _leaf(fresh, "W", (2, 4))), (),
                       (3, 4), (3, 4))
    plus = fresh.value("add", (held, _leaf(fresh, "Y")), (("+", "+"),), (3, 4), (3, 4))
    assert _planner(fresh, frozenset({held})).plan(plus) is None
    assert _planner(fresh).plan(plus) is not None


def test_a_broadcast_or_a_number_never_starts_a_buffer() -> None:
    program = ArrayProgram()
    b = _leaf(program, "b", (1, 4))
    spread = program.value("spread", (b,), (), (1, 4), (3, 4))
    column = program.value("column_sum", (_leaf(program, "D"),), (), (1, 4), (3, 4))
    total = program.value("add", (spread, column), (("+", "+"),), (3, 4), (3, 4))
    assert _planner(program).plan(total) is None  # both terms are smaller than the result


def _generator(source: str, **bind: str) -> PythonEmitter:
    derivation = matgrad.derive(source).result
    assert type(derivation) is Derivation  # a flat gradient, the engine's data
    return PythonEmitter(computation_of(derivation), NUMPY, bind=bind)


@pytest.mark.parametrize("source", [
    "x: n x 1; A: n x n\nJ = x'*A*x",
    "X: t x n; y: t x 1; w: n x 1\nJ = ||X*w - y||^2 + <X*w - y, X*w>",
])
def test_every_value_of_a_module_is_computed_once(source: str) -> None:
    generator = _generator(source)
    module = generator.module().source
    lowering = generator.lowering
    # Global value numbering: no two values are the same operation on the same operands.
    keys = [(v.op, tuple(id(a) for a in v.args), v.attrs, v.shape, v.full)
            for v in lowering.memo.values()]
    assert len(set(keys)) == len(set(map(id, lowering.memo.values())))
    namespace: dict[str, object] = {}
    exec(compile(module, "<test>", "exec"), namespace)
    assert callable(namespace["value_and_grad"])


def test_the_written_and_the_named_forms_share_values() -> None:
    # X*w - y read twice: once a value of its own, computed once however it is written.
    module = _generator("X: t x n; y: t x 1; w: n x 1\n"
                        "J = ||X*w - y||^2 + <X*w - y, X*w>").module().source
    assert module.count("X @ w") == 1
    rng = np.random.default_rng(0)
    X, y, w = rng.normal(size=(5, 3)), rng.normal(size=(5, 1)), rng.normal(size=(3, 1))
    namespace: dict[str, object] = {}
    exec(compile(module, "<test>", "exec"), namespace)
    value, grads = namespace["value_and_grad"](X, y, w)  # type: ignore[operator]
    r = X @ w - y
    assert np.isclose(value, r.T @ r + r.T @ (X @ w))
    assert np.allclose(grads["w"], 2 * X.T @ r + X.T @ (X @ w) + X.T @ r)


@pytest.mark.parametrize("source", [
    "X: t x n, data; y: t x 1, data; w: n x 1\nJ = 1/(2*t) * ||X*w - y||^2",
    "X: t x n, data; y: t x 1, data; w: n x 1\nJ = 3 * (1/t * ||X*w - y||^2)",
    "w: n x 1; lam: scalar\nJ = 1/2 * (lam * ||w||^2)",
])
def test_numbers_multiply_before_they_scale_an_array(source: str) -> None:
    # s₁(s₂⟨E, E⟩) as (s₁s₂)⟨E, E⟩: one operation on the 0-d result, the scalars first.
    module = _generator(source).module().source
    (line,) = [line.strip() for line in module.splitlines() if line.strip().startswith("J = ")]
    product = ast.parse(line).body[0].value  # type: ignore[attr-defined]
    assert isinstance(product, ast.BinOp) and isinstance(product.op, ast.Mult), line
    # ⟨E, E⟩ inline, or its name where the gradient reads it too (∂J/∂λ = ‖w‖²/2)
    assert isinstance(product.right, ast.Name) or ast.unparse(product.right).startswith(
        "np.vdot"), line
    assert not any(isinstance(node, ast.Call) for node in ast.walk(product.left)), line
    assert matgrad.check(matgrad.derive(source)).passed


@pytest.mark.parametrize(("source", "call"), [
    ("x: n x 1, positive; a: n x 1, data\nZ = sqrt(x)\nJ = a'*Z", "np.sqrt("),
    ("X: t x n, data; Y: t x m, data; W: n x m\nJ = 1/2*||tanh(X*W) - Y||^2", "np.tanh("),
    ("x: n x 1; a: n x 1, data\nJ = a'*exp(x)", "np.exp("),
    # σ(x) is spelled (1 + tanh(x/2))/2.
    ("X: t x n, data; y: t x 1, data; w: n x 1\nJ = 1/2*||sigmoid(X*w) - y||^2", "np.tanh("),
])
def test_a_derivative_written_in_its_output_reads_the_forward_value(source: str, call: str
                                                                    ) -> None:
    # rules/derivatives.rules: tanh′ = 1 − tanh², √′ = 1/(2√), exp′ = exp, σ′ = σ(1 − σ), all
    # lowered through the forward value, so the function is called once in the whole module.
    derivation = matgrad.derive(source)
    module = derivation.numpy_source()
    body = module.split("def value_and_grad")[1]
    assert body.count(call) == 1, body
    assert matgrad.check(derivation).passed


def test_a_backward_loop_releases_each_layer_after_its_last_reader() -> None:
    body = ["Delta = Z[j] * Z[j]", "grad_W[j - 1] = Z[j - 1].T @ Delta",
            "if j > 1:", "    below = Delta @ W[j - 1].T", "    H[j + 1] += H[k]"]
    # Z is read at j and j − 1: iteration j reads Z[j] last (the loop counts down); H is read
    # at k as well, so no iteration may drop one of its entries; W is not a list of layers
    # stored by the forward loop, and A is not read at all.
    assert release_layers(body, ["Z", "H", "A"], "j") == ["Z[j] = None"]
    assert release_layers(["x = myZ[j] + Z.T[j - 2]"], ["Z"], "j") == []
    assert release_layers(["x = Z[j - 2] @ Z[j - 1]"], ["Z"], "j") == ["Z[j - 1] = None"]
    # The list read as a whole (passed on) keeps every entry.
    assert release_layers(["x = Z[j] + len(Z)"], ["Z"], "j") == []


def test_liveness_reads_names_not_words() -> None:
    # An attribute (.T), a keyword (out=) and a word in a message are not uses of a local of
    # that name: T is released after its last real use, on the first line.
    lines = ["T = X @ X", "y = T.sum()", "z = np.negative(y, out=y)",
             "w = f(X.T, T=y, msg='T is late')", "return w"]
    assert release_dead(lines, {"X", "w"}) == [
        "T = X @ X", "y = T.sum()", "del T", "z = np.negative(y, out=y)", "del z",
        "w = f(X.T, T=y, msg='T is late')", "del y", "return w"]


def test_a_name_bound_in_a_block_is_not_released_after_the_iteration() -> None:
    # `below` is bound only when the block runs: deleting it at the end of every iteration
    # would fail on the last layer (j = 1).  Delta is bound before any read: released.
    body = ["Delta = Z[j] * g", "if j > 1:", "    below = Delta @ W[j - 1].T",
            "    g = below", "total += Delta.sum()"]
    assert release_locals(body, set()) == ["del Delta"]
    # An augmented assignment reads its target first: a carried sum is kept.
    assert release_locals(["acc += x", "t = acc * 2"], set()) == ["del t"]


def test_a_value_computed_in_a_loop_is_not_read_after_it() -> None:
    # Inside the loop the product holds one iteration's value: code after the loop computes
    # its own instead of reading the loop's name.
    derivation = matgrad.derive("X: n x n; W: n x n\nJ = ||X*W||^2")
    generator = PythonEmitter(computation_of(derivation.result), NUMPY)
    product = MatMul(Sym("X"), Sym("W"))
    lines = emit_statements([Loop("j", "0", "2", 1, (Assign("inside", product),)),
                             Assign("total", Sum(product)), Assign("after", product),
                             Assign("again", Sum(product))], {"": generator})
    assert lines == ["for j in range(0, 2):", "    inside = X @ W", "total = (X @ W).sum()",
                     "after = X @ W", "again = after.sum()"]  # outside blocks, names are read


LOOP = """X: t x n, data; Y: t x n, data
Z[0] = X
for j in 1..k:
    W[j]: n x n
    A[j] = Z[j-1]*W[j]
    Z[j] = {f}(A[j])
end
J = 1/2 * ||Z[k] - Y||^2"""


def test_a_loop_module_is_generated_once_and_keeps_only_what_it_reads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    made = []
    real = numpy_loop.LoopCodegen.__init__

    def counting(self: numpy_loop.LoopCodegen, *args: object, **kwargs: object) -> None:
        made.append(self)
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(numpy_loop.LoopCodegen, "__init__", counting)
    # tanh′ goes through Z, so A lives in a per-layer local; sin′ = cos(A) reads A[j] in the
    # backward loop, so every layer's A is kept.
    through_z = matgrad.derive(LOOP.format(f="tanh")).numpy_source()
    reads_a = matgrad.derive(LOOP.format(f="sin")).numpy_source()
    assert len(made) == 2
    assert "A = [None]" not in through_z and "A = Z[j - 1] @ W[j - 1]" in through_z
    assert "A = [None]" in reads_a and "np.cos(A[j])" in reads_a


def test_a_missed_read_of_a_per_layer_local_falls_back_to_its_list(
        monkeypatch: pytest.MonkeyPatch) -> None:
    derivation = matgrad.derive(LOOP.format(f="sin"))
    expected = derivation.compile()
    monkeypatch.setattr(numpy_loop.LoopCodegen, "per_layer_locals",
                        lambda self: frozenset({"A"}))  # wrong: the backward reads A[j]
    module = derivation.numpy_source()
    assert "A = [None]" in module
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    W = [rng.normal(size=(3, 3)) for _ in range(3)]
    namespace: dict[str, object] = {}
    exec(compile(module, "<test>", "exec"), namespace)
    value, grads = namespace["value_and_grad"](X, Y, W)  # type: ignore[operator]
    value_expected, grads_expected = expected(X, Y, W)
    assert np.isclose(value, value_expected)
    for mine, theirs in zip(grads["W"], grads_expected["W"], strict=True):
        np.testing.assert_allclose(mine, theirs)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_sums_as_products_with_ones_equal_numpys_sums(dtype: str) -> None:
    # 1ᵀX and X𝟏 (numpy_helpers.py) through BLAS, in x's dtype, on any strides; the cached
    # ones are read-only, and the cache stays bounded however many sizes pass.
    namespace: dict[str, Any] = {"np": np}
    exec(HELPERS["_column_sum"] + "\n" + HELPERS["_row_sum"], namespace)
    rng = np.random.default_rng(0)
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    for shape in [(1, 1), (5, 3), (64, 16), (1024, 7)]:
        x = rng.normal(size=shape).astype(dtype)
        for operand in (x, x.T, x[::2]):
            column, row = namespace["_column_sum"](operand), namespace["_row_sum"](operand)
            assert column.dtype == row.dtype == np.dtype(dtype)
            np.testing.assert_allclose(column, operand.sum(axis=0, keepdims=True),
                                       rtol=tolerance, atol=tolerance * operand.shape[0])
            np.testing.assert_allclose(row, operand.sum(axis=1, keepdims=True),
                                       rtol=tolerance, atol=tolerance * operand.shape[1])
    assert not any(ones.flags.writeable for ones in namespace["_COLUMN_ONES"].values())
    for size in range(1, 100):
        namespace["_column_sum"](np.ones((size, 2)))
    assert len(namespace["_COLUMN_ONES"]) <= 32
