"""The library of elementwise and row-wise functions.

Each elementwise function is one row of `ELEMENTWISE`: its scalar definition in SymPy syntax (the
derivative comes from SymPy, so a new function is one line), its LaTeX name and the interval to
sample inputs from in numerical checks.  How printed results and generated code write f′ and f″
out (tanh′ = 1 − tanh², through the forward value) are rules (rules/derivatives.rules).  No
backend strings: each backend spells the functions in a table of its own
(backends/numpy_spellings.py).

Invariants: names are unique; a name not in the table applied elementwise is an *abstract*
function (`f`, `g`) whose derivative stays symbolic (`f′`) until the user binds it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import sympy


@cache
def sympy_module() -> ModuleType:
    """SymPy, imported when a derivative is first computed: importing it costs more than the
    rest of a derivation, and printing a derivation does not need it (the CLI starts faster)."""
    return importlib.import_module("sympy")


@cache
def x_symbol() -> sympy.Symbol:
    """The variable of every scalar definition, x (real)."""
    return sympy_module().Symbol("x", real=True)


@dataclass(frozen=True)
class ElementwiseFunction:
    """`definition` is f(x) in SymPy syntax.  How a backend spells f and f′ lives with the
    backend (backends/numpy_spellings.py)."""

    name: str
    definition: str
    latex: str | None = None
    domain: tuple[float, float] = (-2.0, 2.0)
    # How the LaTeX writes an application when not as `name(x)`: \sqrt{x}, in `{x}`.
    latex_call: str | None = None

    def sympy_expr(self, order: int = 0) -> sympy.Expr:
        sympy = sympy_module()
        expr = sympy.sympify(self.definition, locals={"x": x_symbol()})
        return sympy.diff(expr, x_symbol(), order) if order else expr


@dataclass(frozen=True)
class RowFunction:
    """A row-wise vector-to-scalar function g of identity (16); ∇g is its row gradient."""

    name: str
    latex: str
    evaluate: Callable[[np.ndarray], np.ndarray]
    gradient: Callable[[np.ndarray], np.ndarray]
    # The name the row gradient goes by, when it has one of its own (∇logsumexp = softmax).
    gradient_name: str | None = None


ELEMENTWISE: dict[str, ElementwiseFunction] = {
    fn.name: fn
    for fn in [
        ElementwiseFunction("tanh", "tanh(x)"),
        ElementwiseFunction("sigmoid", "1/(1 + exp(-x))", latex=r"\sigma"),
        ElementwiseFunction("relu", "Piecewise((x, x > 0), (0, True))",
                            latex=r"\operatorname{relu}", domain=(0.1, 2.0)),
        ElementwiseFunction("exp", "exp(x)"),
        ElementwiseFunction("log", "log(x)", domain=(0.5, 3.0)),
        ElementwiseFunction("sqrt", "sqrt(x)", domain=(0.5, 3.0),
                            latex=r"\operatorname{sqrt}", latex_call=r"\sqrt{{{x}}}"),
        ElementwiseFunction("square", "x**2", latex=r"\operatorname{sq}"),
        ElementwiseFunction("abs", "Abs(x)", latex=r"\operatorname{abs}", domain=(0.1, 2.0)),
        ElementwiseFunction("sign", "Piecewise((1, x > 0), (-1, x < 0), (0, True))",
                            latex=r"\operatorname{sign}", domain=(0.1, 2.0)),
        ElementwiseFunction("sin", "sin(x)"),
        ElementwiseFunction("cos", "cos(x)"),
        ElementwiseFunction("softplus", "log(1 + exp(x))", latex=r"\operatorname{softplus}"),
        ElementwiseFunction("identity", "x", latex=r"\operatorname{id}"),
        ElementwiseFunction("log1p", "log(1 + x)",
                            latex=r"\operatorname{log1p}", domain=(-0.5, 2.0)),
        ElementwiseFunction("expm1", "exp(x) - 1", latex=r"\operatorname{expm1}"),
        ElementwiseFunction("sinh", "sinh(x)"),
        ElementwiseFunction("cosh", "cosh(x)"),
        ElementwiseFunction("arctan", "atan(x)", latex=r"\arctan"),
    ]
}

# Other names users write for a built-in (program text only): `trace(X)` is tr(X), `ln` is log.
# `norm` is norm2 for vectors; resolution refuses it for matrices, where MATLAB and NumPy differ.
FUNCTION_ALIASES: dict[str, str] = {
    "trace": "tr", "norm": "norm2", "ln": "log", "logistic": "sigmoid", "atan": "arctan",
}


def _logsumexp(x: np.ndarray) -> np.ndarray:
    peak = x.max(axis=1, keepdims=True)
    result: np.ndarray = peak + np.log(np.exp(x - peak).sum(axis=1, keepdims=True))
    return result


def _softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    result: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return result


ROWWISE: dict[str, RowFunction] = {
    fn.name: fn
    for fn in [
        RowFunction("logsumexp", r"\operatorname{logsumexp}", _logsumexp, _softmax,
                    gradient_name="softmax"),
        RowFunction("sumsq", r"\operatorname{sumsq}",
                    lambda x: (x * x).sum(axis=1, keepdims=True), lambda x: 2 * x),
    ]
}


# Row gradients with names of their own, e.g. softmax (t×m → t×m, the guide's (24)) = ∇logsumexp.
NAMED_GRADIENTS: dict[str, str] = {
    fn.gradient_name: fn.name for fn in ROWWISE.values() if fn.gradient_name is not None
}


def gradient_display_name(row_function: str) -> str | None:
    """The own name of ∇row_function (softmax for logsumexp), or None."""
    known = ROWWISE.get(row_function)
    return known.gradient_name if known is not None else None


def is_builtin(name: str) -> bool:
    return name in ELEMENTWISE or name in ROWWISE or name in NAMED_GRADIENTS


@cache
def numeric(name: str, order: int) -> Callable[[np.ndarray], np.ndarray]:
    """The order-th derivative of a built-in elementwise function, as a NumPy callable."""
    expr = ELEMENTWISE[name].sympy_expr(order)
    # abs″ = 2δ(x): zero almost everywhere, as the rules write the piecewise-linear f″.
    func = sympy_module().lambdify(x_symbol(), expr,
                                   modules=[{"DiracDelta": np.zeros_like}, "numpy"])

    def apply(values: np.ndarray) -> np.ndarray:
        result: np.ndarray = np.broadcast_to(np.asarray(func(values), dtype=float),
                                             np.shape(values)).copy()
        return result

    return apply
