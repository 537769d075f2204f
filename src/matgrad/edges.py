"""What a generated module does at the edges of its domain, in every backend: one table.

Each `EdgeCase` is a program, inputs at an edge (no rows, ±inf, NaN, a singular matrix, a norm
at 0, a masked logit) and what NumPy's module returns there.  tests/test_backend_edges.py runs
every case in every backend and asserts that each returns the same, or behaves as
`differences` says; `python -m matgrad.docgen` prints the table into docs/errors.md.  So the
documented behaviour is the tested one.

Invariants: inputs are literal nested tuples of floats or `NoRows` (no code); every expected
number is what NumPy's module returns (nan and ±inf included); a backend named in
`differences` is exempt from agreement and tested against its own stated behaviour instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

INF = float("inf")
NAN = float("nan")

Matrix = tuple[tuple[float, ...], ...]

# The backends of the table, in the order of its columns.
EDGE_BACKENDS = ("numpy", "torch", "jax", "array-api", "cupy", "dask")

# How a backend that raises instead of returning numbers is described and tested.
SINGULAR_ERROR = "raises LinAlgError naming the singular matrix"


@dataclass(frozen=True)
class EdgeCase:
    """One edge: `source` at `inputs` returns `value` and `gradients` in NumPy."""

    what: str
    source: str
    inputs: Mapping[str, Matrix | NoRows]
    value: float | None                    # None: NumPy raises (see `raises`)
    gradients: Mapping[str, Matrix] = field(default_factory=dict)
    raises: str = ""                       # words for the error NumPy raises, if it does
    outcome: str = ""                      # the behaviour in words, for the table
    differences: Mapping[str, str] = field(default_factory=dict)   # backend → its behaviour


@dataclass(frozen=True)
class NoRows:
    """A matrix of no rows and `columns` columns."""

    columns: int


def _row(*entries: float) -> Matrix:
    return (tuple(entries),)


def as_array(entries: Matrix | NoRows) -> np.ndarray:
    """The float64 array of a case's input or expected gradient."""
    if isinstance(entries, NoRows):
        return np.zeros((0, entries.columns))
    return np.array(entries, dtype=np.float64)


_NO_ROWS = NoRows(2)
_NO_DATA = "not applicable (no data rows to split into blocks)"

EDGE_CASES: tuple[EdgeCase, ...] = (
    EdgeCase(
        "no rows (t = 0), a sum over rows",
        "X: t x n, data\nw: n x 1\nJ = sum(softplus(X*w))",
        {"X": _NO_ROWS, "w": ((1.0,), (2.0,))}, 0.0, {"w": ((0.0,), (0.0,))},
        outcome="J = 0, gradient 0 (an empty sum)"),
    EdgeCase(
        "no rows (t = 0), a mean over rows",
        "X: t x n, data\nw: n x 1\nJ = 1/t * sum(softplus(X*w))",
        {"X": _NO_ROWS, "w": ((1.0,), (2.0,))}, NAN, {"w": ((NAN,), (NAN,))},
        outcome="J = nan, gradient nan (0/0; no ZeroDivisionError)"),
    EdgeCase(
        "logsumexp of a row holding +inf",
        "A: t x m, data\nb: 1 x m\nJ = sum(logsumexp(A + b))",
        {"A": ((INF, 0.0), (0.0, 0.0)), "b": _row(0.0, 0.0)}, INF, {"b": _row(NAN, 0.5)},
        outcome="J = +inf; the softmax of that row is nan where the limit does not exist "
                "(the +inf entry), 0 elsewhere"),
    EdgeCase(
        "logsumexp of a row of −inf",
        "A: t x m, data\nb: 1 x m\nJ = sum(logsumexp(A + b))",
        {"A": ((-INF, -INF), (0.0, 0.0)), "b": _row(0.0, 0.0)}, -INF, {"b": _row(NAN, NAN)},
        outcome="J = −inf; that row's softmax is nan"),
    EdgeCase(
        "NaN in the data",
        "X: t x n, data\nb: 1 x n\nJ = sum(tanh(X + b))",
        {"X": ((NAN, 0.0),), "b": _row(0.0, 0.0)}, NAN, {"b": _row(NAN, 1.0)},
        outcome="J = nan; the gradient is nan where the entry is"),
    EdgeCase(
        "±inf through saturating functions",
        "X: t x n, data\nb: 1 x n\nJ = sum(tanh(X + b)) + sum(softplus(X + b))",
        {"X": ((INF, -INF),), "b": _row(0.0, 0.0)}, INF, {"b": _row(1.0, 0.0)},
        outcome="the limits: tanh′(±inf) = 0, softplus′(+inf) = 1, softplus′(−inf) = 0"),
    EdgeCase(
        "one-hot Y with a logit −inf where Y = 0",
        "A: t x m, data\nb: 1 x m\nY: t x m, onehot, data\nJ = -sum(Y .* log(softmax(A + b)))",
        {"A": _row(0.0, -INF), "b": _row(0.0, 0.0), "Y": _row(1.0, 0.0)}, 0.0,
        {"b": _row(0.0, 0.0)},
        outcome="the finite cross-entropy and gradient (the class-index path)"),
    EdgeCase(
        "‖x‖ at x = 0",
        "W: n x m\nJ = norm2(W)",
        {"W": ((0.0, 0.0), (0.0, 0.0))}, 0.0, {"W": ((0.0, 0.0), (0.0, 0.0))},
        outcome="J = 0, gradient 0 (the subgradient, as for relu, abs and ‖·‖₁)",
        differences={"dask": _NO_DATA}),
    EdgeCase(
        "a singular matrix that det's gradient inverts",
        "X: n x n\nJ = det(X)",
        {"X": ((0.0, 0.0), (0.0, 0.0))}, None, raises=SINGULAR_ERROR,
        outcome=SINGULAR_ERROR,
        differences={"jax": "non-finite numbers (compiled code cannot raise)",
                     "array-api": "the library's own behaviour",
                     "cupy": "the library's own behaviour (no error check on the device)",
                     "dask": _NO_DATA}),
)
