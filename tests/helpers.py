"""Test helpers: evaluate programs and derivations with the IR interpreter, and check gradients
against central differences (the guide's eval_grad_numeric, done along random directions too)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from matgrad.api import Derivation
from matgrad.check import one_hot_rows
from matgrad.engine.results import LoopDerivation
from matgrad.front.program import Program
from matgrad.functions import ROWWISE, numeric
from matgrad.ir.evaluate import Environment, evaluate

# How many examples the property tests draw (MATGRAD_FUZZ_EXAMPLES=20000 for a long run).
FUZZ_EXAMPLES = int(os.environ.get("MATGRAD_FUZZ_EXAMPLES", "150"))
DEFAULT_BIND = {"f": "tanh", "g": "sin", "h": "cos"}


def bind_for(derivation: Derivation, bind: Mapping[str, str] = DEFAULT_BIND) -> dict[str, str]:
    """The bindings of `bind` that name abstract functions of the derivation (code generation
    refuses any other key), for tests that bind one set of functions for many programs."""
    result = derivation.result
    parts = [result.program]
    if isinstance(result, LoopDerivation):
        parts += [result.layers.body.program, result.layers.epilogue.program]
    functions = {fn for part in parts for fn in part.abstract_functions}
    bases = {fn.split("[")[0] for fn in functions}
    return {key: value for key, value in bind.items() if key in functions | bases}


def bound_functions(bind: Mapping[str, str]) -> dict[str, object]:
    """Callables (x, order) for the interpreter: elementwise f⁽ᵒʳᵈᵉʳ⁾, or a row function ℓ
    (order 0) and its row gradient ∇ℓ (order 1)."""
    def row(fn: str) -> object:
        return lambda x, order: (ROWWISE[fn].gradient if order else ROWWISE[fn].evaluate)(x)

    return {name: (row(fn) if fn in ROWWISE else
                   (lambda x, order, fn=fn: numeric(fn, order)(x))) for name, fn in bind.items()}


def random_sizes(program: Program, rng: np.random.Generator) -> dict[str, int]:
    # Distinct sizes catch a transpose that happens to fit a square shape.
    sizes = rng.permutation(np.arange(2, 2 + max(len(program.dims), 1)) + 1)
    return {dim: int(size) for dim, size in zip(program.dims, sizes, strict=False)}


def random_inputs(program: Program, sizes: Mapping[str, int], rng: np.random.Generator,
                  ) -> dict[str, np.ndarray]:
    values = {}
    for name in program.shapes:
        if name in program.definitions:
            continue
        rows, cols = (d if isinstance(d, int) else sizes[d] for d in program.shapes[name])
        attributes = program.attributes.get(name, frozenset())
        if "positive" in attributes:
            values[name] = rng.uniform(0.5, 2.0, size=(rows, cols))
        elif "spd" in attributes:
            m = rng.normal(size=(rows, cols))
            values[name] = m @ m.T + rows * np.eye(rows)
        elif "symmetric" in attributes:
            m = rng.normal(size=(rows, cols))
            values[name] = m + m.T
        elif "onehot" in attributes:
            values[name] = one_hot_rows(rows, cols, rng)
        else:
            values[name] = rng.normal(size=(rows, cols))
    return values


def objective_value(program: Program, values: Mapping[str, np.ndarray], sizes: Mapping[str, int],
                    bind: Mapping[str, str] = DEFAULT_BIND) -> tuple[float, dict[str, np.ndarray]]:
    env_values = dict(values)
    env = Environment(env_values, sizes, bound_functions(bind))  # type: ignore[arg-type]
    for name, definition in program.definitions.items():
        env_values[name] = evaluate(definition, env)
    return float(np.asarray(env_values[program.objective]).item()), env_values


def derived_gradients(derivation: Derivation, values: Mapping[str, np.ndarray],
                      sizes: Mapping[str, int], bind: Mapping[str, str] = DEFAULT_BIND,
                      ) -> dict[str, np.ndarray]:
    _, env_values = objective_value(derivation.program, values, sizes, bind)
    env = Environment(env_values, sizes, bound_functions(bind))  # type: ignore[arg-type]
    for name, value in derivation.adjoints.items():
        env_values[name] = evaluate(value, env)
    return {name: np.broadcast_to(evaluate(expr, env), values[name].shape)
            for name, expr in derivation.gradients.items()}


# ---- central differences: the one numerical reference of the tests -------------------------

STEP = 1e-6


def numeric_gradient(objective: Callable[[dict[str, np.ndarray]], float],
                     values: Mapping[str, np.ndarray], name: str, step: float = STEP,
                     symmetric: bool = False) -> np.ndarray:
    """∂objective/∂values[name] by central differences, entry by entry (each evaluation gets
    copies: an objective may not change the arrays it is given); on the symmetric matrices
    (the projection (G + Gᵀ)/2 of the unconstrained one) where `symmetric`."""
    gradient = np.zeros_like(values[name], dtype=float)
    for index in np.ndindex(gradient.shape):
        moved = {key: np.array(value, copy=True) for key, value in values.items()}
        moved[name][index] += step
        plus = float(np.asarray(objective(moved)).reshape(()))
        moved = {key: np.array(value, copy=True) for key, value in values.items()}
        moved[name][index] -= step
        minus = float(np.asarray(objective(moved)).reshape(()))
        gradient[index] = (plus - minus) / (2 * step)
    return (gradient + gradient.T) / 2 if symmetric else gradient


def directional_derivative(function: Callable[[dict[str, np.ndarray]], Any],
                           values: Mapping[str, np.ndarray],
                           directions: Mapping[str, np.ndarray], step: float = STEP) -> Any:
    """d/dh function(values + h·directions) at h = 0 by central differences, for a function
    of any array value (a name with no direction stays where it is)."""
    def at(sign: float) -> Any:
        return function({key: value + sign * step * directions[key] if key in directions
                         else value for key, value in values.items()})
    return (np.asarray(at(1.0)) - np.asarray(at(-1.0))) / (2 * step)


def numeric_jacobian(function: Callable[[np.ndarray], Any], x: np.ndarray,
                     step: float = STEP) -> np.ndarray:
    """The rows d function(x)/d xᵢ of a function of one flat vector, by central differences."""
    rows = []
    for index in range(x.size):
        unit = np.zeros_like(x)
        unit.flat[index] = step
        rows.append((np.asarray(function(x + unit)) - np.asarray(function(x - unit)))
                    / (2 * step))
    return np.array(rows)


def central_difference(program: Program, values: Mapping[str, np.ndarray], name: str,
                       sizes: Mapping[str, int], bind: Mapping[str, str] = DEFAULT_BIND,
                       step: float = STEP) -> np.ndarray:
    """∂J/∂name of a program, J evaluated by the IR interpreter."""
    return numeric_gradient(lambda moved: objective_value(program, moved, sizes, bind)[0],
                            values, name, step, name in program.symmetric)


def assert_gradients_match(derivation: Derivation, seed: int = 0,
                           bind: Mapping[str, str] = DEFAULT_BIND, rtol: float = 1e-6,
                           atol: float = 1e-7) -> None:
    rng = np.random.default_rng(seed)
    program = derivation.program
    sizes = random_sizes(program, rng)
    values = random_inputs(program, sizes, rng)
    derived = derived_gradients(derivation, values, sizes, bind)
    value, _ = objective_value(program, values, sizes, bind)
    # Central differences lose about eps·|J|/step to rounding; allow for it (and 100× more).
    rounding = 1e-8 * abs(value)
    for name in derivation.wrt:
        expected = central_difference(program, values, name, sizes, bind)
        scale = max(1.0, float(np.max(np.abs(expected))))
        np.testing.assert_allclose(derived[name], expected, rtol=rtol,
                                   atol=atol * scale + rounding,
                                   err_msg=f"∂J/∂{name} differs from central differences")


def generated_arguments(derivation: Derivation, values: Mapping[str, np.ndarray],
                        sizes: Mapping[str, int]) -> dict[str, object]:
    """Keyword arguments of the generated function: the free symbols under their Python
    names, and the sizes no argument's shape determines (keyword-only arguments)."""
    arguments: dict[str, object] = {derivation.python_names[k]: v for k, v in values.items()
                                    if k in derivation.python_names}
    arguments.update({name: sizes[dim] for dim, name in derivation.size_arguments.items()})
    return arguments
