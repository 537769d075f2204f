"""Loop code is right for every body the loop analysis accepts: random layer bodies built from
residual, gated, multiplicative and scaled pieces (reading Z[j-1] and the layer's parameters any
number of times), compiled as a loop over lists, agree with the same network written out at
depths 1–5 (the ordinary engine and code) to 1e-10."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import FUZZ_EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matgrad
from matgrad.engine.results import LoopDerivation

PIECES = ["Z[j-1]", "tanh(Z[j-1]*W[j])", "sigmoid(Z[j-1]*V[j] + b[j])", "Z[j-1]*W[j]",
          "0.5*tanh(Z[j-1]*V[j])", "Z[j-1] .* sigmoid(Z[j-1]*W[j])", "tanh(Z[j-1]*W[j] + b[j])"]
PARAMETERS = {"W": "W[j]: n x n", "V": "V[j]: n x n", "b": "b[j]: 1 x n"}
EPILOGUES = ["J = 1/2 * ||Z[k] - Y||^2", "J = sum(Y .* tanh(Z[k]))",
             "J = 1/(2*t) * ||Z[k] - Y||^2 + 0.1 * sum(Z[k] .* Z[k])"]


@st.composite
def loop_programs(draw: st.DrawFn) -> str:
    terms = draw(st.lists(st.sampled_from(PIECES), min_size=1, max_size=3))
    ops = draw(st.lists(st.sampled_from([" + ", " - ", " .* "]), min_size=len(terms) - 1,
                        max_size=len(terms) - 1))
    body = f"({terms[0]})" + "".join(f"{op}({term})" for op, term in zip(ops, terms[1:],
                                                                       strict=True))
    used = [decl for name, decl in PARAMETERS.items() if f"{name}[j]" in body]
    if not used:  # every layer needs a parameter of its own
        body, used = f"{body} + Z[j-1]*W[j]", [PARAMETERS["W"]]
    epilogue = draw(st.sampled_from(EPILOGUES))
    return ("X: t x n, data; Y: t x n, data\nZ[0] = X\nfor j in 1..k:\n    "
            + "; ".join(used) + f"\n    Z[j] = {body}\nend\n{epilogue}")


def compare(source: str, depth: int, seed: int) -> None:
    loop = matgrad.derive(source)
    assert isinstance(loop.result, LoopDerivation)
    written = matgrad.derive(source, depth={"k": depth})
    rng = np.random.default_rng(seed)
    t, n = 5, 3
    X, Y = rng.normal(size=(t, n)), rng.normal(size=(t, n))
    families = {name: [rng.normal(size=(1 if name == "b" else n, n)) * 0.7
                       for _ in range(depth)]
                for name in PARAMETERS if f"{name}[j]" in source}
    value, gradients = loop.compile()(X=X, Y=Y, **families)
    names = written.python_names
    arguments = {names["X"]: X, names["Y"]: Y}
    arguments |= {names[f"{name}{j}"]: values[j - 1]
                  for name, values in families.items() for j in range(1, depth + 1)}
    flat_value, flat_gradients = written.compile()(**arguments)
    assert value == pytest.approx(flat_value, rel=1e-10, abs=1e-12)
    for name in families:
        for j in range(1, depth + 1):
            np.testing.assert_allclose(gradients[name][j - 1], flat_gradients[f"{name}{j}"],
                                       rtol=1e-10, atol=1e-12, err_msg=f"{name}{j}")


@pytest.mark.parametrize("body", [
    "Z[j-1] + tanh(Z[j-1]*W[j])",                    # residual
    "tanh(Z[j-1]*W[j]) + Z[j-1]*V[j]",              # residual with a projection
    "Z[j-1] .* sigmoid(Z[j-1]*W[j])",               # gated
    "tanh(Z[j-1]*W[j]) .* sigmoid(Z[j-1]*V[j] + b[j])",  # gated with a bias
])
@pytest.mark.parametrize("depth", [1, 2, 3, 5])
def test_layers_reading_their_input_twice(body: str, depth: int) -> None:
    used = "; ".join(decl for name, decl in PARAMETERS.items() if f"{name}[j]" in body)
    source = (f"X: t x n, data; Y: t x n, data\nZ[0] = X\nfor j in 1..k:\n    {used}\n"
              f"    Z[j] = {body}\nend\nJ = 1/2 * ||Z[k] - Y||^2")
    compare(source, depth, seed=depth)


@settings(max_examples=FUZZ_EXAMPLES // 8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(loop_programs(), st.integers(1, 5))
def test_random_loop_bodies_equal_the_written_out_network(source: str, depth: int) -> None:
    compare(source, depth, seed=depth)


NO_BIAS_LAST = """X: t x n[0], data
Y: t x n[k], data
Z[0] = X
for j in 1..k-1:
    W[j]: n[j-1] x n[j]; b[j]: 1 x n[j]
    Z[j] = tanh(Z[j-1]*W[j] + b[j])
end
W[k]: n[k-1] x n[k]
Z[k] = Z[k-1]*W[k]
J = 1/2 * ||Z[k] - Y||^2"""


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_a_last_layer_without_a_bias(depth: int) -> None:
    # b holds one matrix fewer than W; the module once asked for k of each and could not run.
    derivation = matgrad.derive(NO_BIAS_LAST)
    assert matgrad.check(derivation, depth=depth, seed=depth).passed
    rng = np.random.default_rng(depth)
    widths = [3] * (depth + 1)
    W = [rng.normal(size=(widths[j], widths[j + 1])) for j in range(depth)]
    b = [rng.normal(size=(1, widths[j + 1])) for j in range(depth - 1)]
    _, gradients = derivation.compile()(X=rng.normal(size=(4, 3)),
                                        Y=rng.normal(size=(4, 3)), W=W, b=b)
    assert len(gradients["W"]) == depth and len(gradients["b"]) == depth - 1
    with pytest.raises(ValueError, match="b must hold one matrix per layer"):
        derivation.compile()(X=np.zeros((4, 3)), Y=np.zeros((4, 3)), W=W, b=[*b, b[0]])


def test_loop_derivations_name_their_arguments() -> None:

    source = (Path(__file__).parent.parent / "examples" / "classification_loop.mg").read_text()
    derivation = matgrad.derive(source)
    assert derivation.python_names == {"X": "X", "Y": "Y", "lambda": "lambda_", "W": "W",
                                       "b": "b"}
    assert "def value_and_grad(X, Y, lambda_, W, b" in derivation.numpy_source(bind={"f": "tanh"})
