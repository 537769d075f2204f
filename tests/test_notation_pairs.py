"""Each objective of tests/notation_pairs.py, in both of its notations, has the value of its
autograd reference and autograd's gradients: the two notations read as the same objective, and
that objective is the one the user meant."""

from __future__ import annotations

import inspect
import zlib

import autograd
import numpy as np
import pytest
from notation_pairs import PAIRS, Pair

import matgrad
from matgrad.api import Derivation

SIZES = {"t": 5, "n": 4, "m": 3, "k": 2}


def _inputs(derivation: Derivation, rng: np.random.Generator) -> dict[str, np.ndarray]:
    program = derivation.program
    values: dict[str, np.ndarray] = {}
    for name in program.parameters:
        rows, cols = (dim if isinstance(dim, int) else SIZES[dim] for dim in program.shapes[name])
        attributes = program.attributes.get(name, frozenset())
        if "spd" in attributes:
            base = rng.normal(size=(rows, cols))
            values[name] = base @ base.T + rows * np.eye(rows)
        elif "onehot" in attributes:
            values[name] = np.eye(cols)[rng.integers(0, cols, size=rows)]
        else:
            values[name] = rng.normal(size=(rows, cols))
    return values


def _matgrad(derivation: Derivation, values: dict[str, np.ndarray],
             ) -> tuple[float, dict[str, np.ndarray]]:
    names = derivation.python_names
    sizes = {name: SIZES[dim] for dim, name in derivation.size_arguments.items()}
    value, gradients = derivation.compile()(**{names[k]: v for k, v in values.items()}, **sizes)
    return float(value), {name: np.asarray(gradients[name]) for name in derivation.wrt}


def test_the_corpus_has_a_hundred_pairs() -> None:
    assert len(PAIRS) >= 100
    assert len({pair.label for pair in PAIRS}) == len(PAIRS)
    assert all(pair.first != pair.second for pair in PAIRS)


@pytest.mark.parametrize("pair", PAIRS, ids=[pair.label for pair in PAIRS])
def test_both_notations_are_the_reference_objective(pair: Pair) -> None:
    rng = np.random.default_rng(zlib.crc32(pair.label.encode()))
    first, second = (matgrad.derive(source) for source in pair.sources())
    values = _inputs(first, rng)
    names = first.python_names
    parameters = list(inspect.signature(pair.reference).parameters)
    by_name = {names[k]: v for k, v in values.items()}
    assert set(by_name) <= set(parameters), "the reference takes the program's inputs"
    # A declared name the objective does not use is no input of the module; the reference
    # gets a value it must not need (were it read, J would differ).
    arguments = [by_name.get(p, np.full((1, 1), np.nan)) for p in parameters]
    expected = float(np.asarray(pair.reference(*arguments)))
    for derivation in (first, second):
        value, gradients = _matgrad(derivation, values)
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-12), \
            f"J differs: {derivation.program.source!r} was misread"
        for name in derivation.wrt:
            reference = autograd.grad(pair.reference, parameters.index(names[name]))(*arguments)
            if name in derivation.program.symmetric:  # the gradient on symmetric matrices
                reference = (reference + reference.T) / 2
            np.testing.assert_allclose(np.broadcast_to(gradients[name], reference.shape),
                                       reference, rtol=1e-8, atol=1e-10,
                                       err_msg=f"∂J/∂{name} in {derivation.program.source!r}")
