"""The corpus of user objectives (tests/corpus.py): each is read as meant — matgrad's value
equals an independent NumPy reference and its gradients equal the reference's central
differences, in both namings (the guide's names and inline) — or refused with a clear
MatgradError.  None may be silently wrong."""

from __future__ import annotations

import zlib
from collections import Counter

import numpy as np
import pytest
from corpus import CASES, Case
from helpers import numeric_gradient

import matgrad
from matgrad.api import Derivation
from matgrad.check import one_hot_rows

SIZES = {"t": 6, "n": 4, "m": 3, "k": 2, "p": 5, "T": 3}


def sample(derivation: Derivation, case: Case, rng: np.random.Generator) -> dict[str, np.ndarray]:
    program = derivation.program
    values: dict[str, np.ndarray] = {}
    for name in program.parameters:
        rows, cols = (dim if isinstance(dim, int) else SIZES.get(dim, 4)
                      for dim in program.shapes[name])
        attributes = program.attributes.get(name, frozenset())
        if "spd" in attributes:
            base = rng.normal(size=(rows, cols))
            values[name] = base @ base.T + rows * np.eye(rows)
        elif "onehot" in attributes:
            values[name] = one_hot_rows(rows, cols, rng)
        elif "positive" in attributes or name in case.positive:
            values[name] = rng.uniform(0.5, 2.0, size=(rows, cols))
        else:
            values[name] = rng.normal(size=(rows, cols))
    return values


def evaluate(derivation: Derivation, case: Case, values: dict[str, np.ndarray],
             ) -> tuple[float, dict[str, np.ndarray]]:
    function = derivation.compile(bind=case.bind)
    names = derivation.python_names
    sizes = {name: SIZES.get(dim, 4) for dim, name in derivation.size_arguments.items()}
    value, gradients = function(**{names[k]: v for k, v in values.items()}, **sizes)
    return float(value), gradients


def reference(case: Case, derivation: Derivation, values: dict[str, np.ndarray]) -> float:
    assert case.reference is not None
    # By the generated function's argument names (lambda → lambda_, α → alpha).
    names = derivation.python_names
    return float(case.reference(**{names[k]: v for k, v in values.items()}))


def central_differences(case: Case, derivation: Derivation, values: dict[str, np.ndarray],
                        name: str) -> np.ndarray:
    # A symmetric parameter's gradient is taken on the symmetric matrices: the projection.
    return numeric_gradient(lambda moved: reference(case, derivation, moved), values, name,
                            symmetric=name in derivation.program.symmetric)


READ = [case for case in CASES if case.refused is None]
REFUSED = [case for case in CASES if case.refused is not None]


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 100
    assert len({case.label for case in CASES}) == len(CASES)
    origins = Counter(case.origin for case in CASES)
    assert min(origins.values()) >= 10, origins


@pytest.mark.parametrize("case", READ, ids=[case.label for case in READ])
def test_objective_is_read_as_meant(case: Case) -> None:
    rng = np.random.default_rng(zlib.crc32(case.label.encode()))
    derivation = matgrad.derive(case.source)
    values = sample(derivation, case, rng)
    value, gradients = evaluate(derivation, case, values)
    expected = reference(case, derivation, values)
    assert value == pytest.approx(expected, rel=1e-9, abs=1e-11), "J differs: misread input"
    assert set(gradients) == set(derivation.wrt)
    for name in derivation.wrt:
        numeric = central_differences(case, derivation, values, name)
        scale = max(1.0, float(np.abs(numeric).max()))
        np.testing.assert_allclose(np.broadcast_to(gradients[name], numeric.shape), numeric,
                                   rtol=1e-5, atol=1e-6 * scale + 1e-8 * abs(expected),
                                   err_msg=f"∂J/∂{name}")
    inline = matgrad.derive(case.source, names="inline")
    for printed in (str(derivation), str(inline), derivation.steps_text()):
        # A difference reads a − b: `+ −(…) / s` in the attention gradient was the last case.
        assert "+ −" not in printed and "+ -" not in printed, printed
    inline_value, inline_gradients = evaluate(inline, case, values)
    assert inline_value == pytest.approx(value, rel=1e-12, abs=1e-12)
    for name, gradient in gradients.items():
        np.testing.assert_allclose(inline_gradients[name], gradient, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", REFUSED, ids=[case.label for case in REFUSED])
def test_input_is_refused_clearly(case: Case) -> None:
    assert case.refused is not None
    with pytest.raises(matgrad.MatgradError, match=case.refused) as info:
        matgrad.derive(case.source)
    message = str(info.value)
    assert "Traceback" not in message and "__ANON" not in message
