"""The library of matrix functions — f(X) of a square X defined by its power series or principal
branch (the matrix exponential, logarithm and square root), not entry by entry — one row each.

A row says how the function is written and where it is defined, how `--check` samples its
argument, and how NumPy (through SciPy, imported when first needed) computes f(X) and its
Fréchet derivative L_f(X, E) for the numerical checks.  The differential rules live in
rules/differentials.rules and rules/isolate.rules; each backend spells the functions in its own
helpers.

Invariants: names are unique and are the names a program writes; every row's `frechet` is the
linear part of f(X + E) − f(X) (tests/test_matrix_functions.py checks each against central
differences); the SciPy import happens only when a matrix function is evaluated, so importing
matgrad never needs SciPy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np

from matgrad.errors import UnsupportedError

SCIPY_INSTALL = "pip install scipy (or pip install 'matgrad[optimize]')"


@cache
def scipy_linalg() -> ModuleType:
    """scipy.linalg, imported on first use: only programs with a matrix function need it."""
    try:
        return importlib.import_module("scipy.linalg")
    except ImportError:
        raise UnsupportedError(
            "matrix functions (expm, logm, sqrtm) are evaluated with SciPy, which is not "
            f"installed: {SCIPY_INSTALL}.") from None


def _real(value: np.ndarray) -> np.ndarray:
    """SciPy's logm and sqrtm may answer in complex numbers with zero imaginary parts for a
    real argument with real principal value; one that is not real is an error, never its real
    part."""
    if not np.iscomplexobj(value):
        return value
    if np.abs(value.imag).max(initial=0.0) > 1e-8 * max(float(np.abs(value).max()), 1.0):
        raise np.linalg.LinAlgError(
            "the principal value of this matrix function is not real: the matrix has an "
            "eigenvalue on the closed negative real axis")
    return value.real


def _block_frechet(function: Callable[[np.ndarray], np.ndarray]
                   ) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """L_f(X, E) as the upper right block of f([[X, E], [0, X]]) (Higham 2008, Theorem 3.6)."""
    def frechet(x: np.ndarray, e: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        block = np.block([[x, e], [np.zeros_like(x), x]])
        return function(block)[:n, n:]
    return frechet


def second_frechet(function: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                   e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    """L⁽²⁾_f(X; E₁, E₂) as the upper right block of f of the 4n×4n block matrix
    [[X, E₁, E₂, 0], [0, X, 0, E₂], [0, 0, X, E₁], [0, 0, 0, X]] (Higham & Relton 2014,
    Theorem 3.5)."""
    n = x.shape[0]
    zero = np.zeros_like(x)
    block = np.block([[x, e1, e2, zero], [zero, x, zero, e2], [zero, zero, x, e1],
                      [zero, zero, zero, x]])
    return function(block)[:n, 3 * n:]


def _expm(x: np.ndarray) -> np.ndarray:
    return np.asarray(scipy_linalg().expm(x))


def _expm_frechet(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    return np.asarray(scipy_linalg().expm_frechet(x, e, compute_expm=False))


def _logm(x: np.ndarray) -> np.ndarray:
    return _real(np.asarray(scipy_linalg().logm(x)))


def _sqrtm(x: np.ndarray) -> np.ndarray:
    return _real(np.asarray(scipy_linalg().sqrtm(x)))


def _sqrtm_frechet(x: np.ndarray, e: np.ndarray) -> np.ndarray:
    # S L + L S = E with S = X^(1/2) (Higham 2008, (6.5)): one Sylvester solve.
    root = _sqrtm(x)
    return np.asarray(scipy_linalg().solve_sylvester(root, root, e))


@dataclass(frozen=True)
class MatrixFunction:
    """One matrix function: how it is written, where it is defined, how it is computed."""

    name: str
    scalar: str                # the elementwise function it is on a 1×1 matrix (exp)
    what: str                  # "the matrix exponential", for messages and docs
    # LaTeX's name, not \exp: \exp(X) reads as the elementwise exponential in the guide.
    latex: str
    domain: str                # where the principal value exists, in words
    # Whether --check samples a bare argument symmetric positive definite (the domain of the
    # principal logarithm and square root contains it).
    sample_spd: bool
    evaluate: Callable[[np.ndarray], np.ndarray]
    frechet: Callable[[np.ndarray, np.ndarray], np.ndarray]
    source: str                # where its differential comes from

    def second_frechet(self, x: np.ndarray, e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
        return second_frechet(self.evaluate, x, e1, e2)


MATRIX_FUNCTIONS: dict[str, MatrixFunction] = {
    fn.name: fn
    for fn in [
        MatrixFunction("expm", "exp", "the matrix exponential", r"\operatorname{expm}",
                       "every square matrix", False, _expm, _expm_frechet,
                       "Higham 2008, (10.15): L_exp(X, E) = ∫₀¹ e^{sX} E e^{(1−s)X} ds"),
        MatrixFunction("logm", "log", "the principal matrix logarithm", r"\operatorname{logm}",
                       "square matrices with no eigenvalue on the closed negative real axis",
                       True, _logm, _block_frechet(_logm),
                       "Higham 2008, (11.9); Theorem 3.6 (block-triangular form)"),
        MatrixFunction("sqrtm", "sqrt", "the principal matrix square root", r"\operatorname{sqrtm}",
                       "square matrices with no eigenvalue on the closed negative real axis",
                       True, _sqrtm, _sqrtm_frechet,
                       "Higham 2008, (6.5): X^½ L + L X^½ = E"),
    ]
}
