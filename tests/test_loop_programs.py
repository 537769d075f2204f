"""Loop programs that derived but whose modules could not run (issue 28): a scalar family per
layer (g[j]: scalar, a scalar bias c[j]), a last layer declared after the loop with another
shape (W[k]: n x m after a loop of n x n layers to k − 1), and two activations per layer
(U[j] = tanh(…); Z[j] = sigmoid(…), refused with "'A1' is defined twice", a name the user never
wrote).  Each loop module, in every installed backend (NumPy, PyTorch, JAX, the array API on
NumPy arrays), agrees with the network written out at depths 1–5 (the ordinary engine)."""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import numpy as np
import pytest

import matgrad
from matgrad.engine.results import LoopDerivation

SCALAR_GAIN = """X: t x n, data; Y: t x n, data
Z[0] = X
for j in 1..k:
  W[j]: n x n; g[j]: scalar
  Z[j] = g[j]*tanh(Z[j-1]*W[j])
end
J = 1/2*||Z[k] - Y||^2"""
SCALAR_BIAS = """X: t x n, data; Y: t x n, data
Z[0] = X
for j in 1..k:
  W[j]: n x n; c[j]: scalar
  Z[j] = tanh(Z[j-1]*W[j] + c[j])
end
J = 1/2*||Z[k] - Y||^2"""
LAST_LAYER_AFTER = """X: t x n, data; Y: t x m, data
Z[0] = X
for j in 1..k-1:
  W[j]: n x n
  Z[j] = tanh(Z[j-1]*W[j])
end
W[k]: n x m
J = 1/2*||Z[k-1]*W[k] - Y||^2"""
TWO_ACTIVATIONS = """X: t x n, data; Y: t x n, data
Z[0] = X
for j in 1..k:
  P[j]: n x n; V[j]: n x n
  U[j] = tanh(Z[j-1]*P[j])
  Z[j] = sigmoid(U[j]*V[j])
end
J = 1/2*||Z[k] - Y||^2"""
THREE_BINDINGS = """X: t x n, data; Y: t x n, data
Z[0] = X
for j in 1..k:
  W[j]: n x n; V[j]: n x n; g[j]: scalar
  H[j] = tanh(Z[j-1]*W[j])
  G[j] = sigmoid(H[j]*V[j])
  Z[j] = g[j]*G[j] + Z[j-1]
end
J = sum(Z[k] .* Y)"""
PROGRAMS = {"a scalar gain per layer": (SCALAR_GAIN, 1),
            "a scalar bias per layer": (SCALAR_BIAS, 1),
            "the last layer declared after the loop": (LAST_LAYER_AFTER, 2),
            "two activations per layer": (TWO_ACTIVATIONS, 1),
            "three bindings per layer": (THREE_BINDINGS, 1)}
SIZES = {"t": 4, "n": 3, "m": 2}
BACKENDS = [name for name, library in (("numpy", "numpy"), ("torch", "torch"), ("jax", "jax"),
                                        ("array-api", "array_api_compat"))
            if importlib.util.find_spec(library)]


def _convert(backend: str, value: Any) -> Any:
    if backend == "torch":
        import torch  # noqa: PLC0415 - an optional backend, imported where it is tested
        return torch.as_tensor(value, dtype=torch.float64) if isinstance(value, np.ndarray) \
            else value
    if backend == "jax":
        import jax.numpy as jnp  # noqa: PLC0415 - an optional backend
        return jnp.asarray(value) if isinstance(value, np.ndarray) else value
    return value


def _member(name: str, families: set[str]) -> tuple[str, int] | None:
    match = re.fullmatch(r"(.+?)_?(\d+)", name)
    if match is None or match.group(1) not in families:
        return None
    return match.group(1), int(match.group(2))


@pytest.fixture(autouse=True)
def _jax_in_double_precision() -> None:
    if importlib.util.find_spec("jax"):
        import jax  # noqa: PLC0415 - an optional backend
        jax.config.update("jax_enable_x64", True)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("label", list(PROGRAMS))
def test_the_loop_module_equals_the_written_out_network(label: str, backend: str) -> None:
    source, lowest_depth = PROGRAMS[label]
    loop = matgrad.derive(source)
    assert isinstance(loop.result, LoopDerivation)
    function = loop.compile(backend=backend)
    families = {name for name in loop.python_names if name not in ("X", "Y")}
    for depth in range(lowest_depth, 6):
        written = matgrad.derive(source, depth={"k": depth})
        rng = np.random.default_rng(depth)
        values: dict[str, Any] = {}
        for name in written.program.parameters:
            rows, cols = (SIZES[d] if isinstance(d, str) else d
                          for d in written.program.shapes[name])
            values[name] = float(rng.uniform(0.5, 1.5)) if (rows, cols) == (1, 1) \
                else rng.normal(size=(rows, cols)) * 0.6
        flat_value, flat_gradients = written.compile()(
            **{written.python_names[k]: v for k, v in values.items()})
        lists: dict[str, list[Any]] = {base: [] for base in families}
        plain: dict[str, Any] = {}
        for name, value in sorted(values.items(), key=lambda item: (len(item[0]), item[0])):
            member = _member(name, families)
            if member is None:
                plain[name] = _convert(backend, value)
            else:
                lists[member[0]].append((member[1], _convert(backend, value)))
        arguments = {**plain, **{base: [v for _, v in sorted(members, key=lambda m: m[0])]
                                 for base, members in lists.items()}}
        value, gradients = function(**arguments)
        assert float(value) == pytest.approx(flat_value, rel=1e-9, abs=1e-12), (label, depth)
        for name in written.wrt:
            member = _member(name, families)
            assert member is not None, name
            base, index = member
            lowest = min(i for i, _ in lists[base])
            got = np.asarray(gradients[base][index - lowest], dtype=float)
            np.testing.assert_allclose(got, np.asarray(flat_gradients[name]), rtol=1e-8,
                                       atol=1e-10, err_msg=f"{label}, depth {depth}: {name}")


def test_two_bindings_per_layer_get_names_of_their_own() -> None:
    derivation = matgrad.derive(TWO_ACTIVATIONS)
    text = str(derivation)
    assert "A1" not in text and "Aⱼ = Zⱼ₋₁Pⱼ" in text and "Uⱼ = tanh(Aⱼ)" in text
