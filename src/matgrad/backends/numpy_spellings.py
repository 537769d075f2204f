"""How NumPy spells each elementwise function of matgrad.functions and its derivative.

Templates in `{x}`, in stable forms (sigmoid through tanh, softplus through logaddexp); the
tests check each against the function"s SymPy definition and derivative, and that every
function of the library has a spelling here.
"""

from __future__ import annotations

# name → (f(x), f′(x)), NumPy expressions in {x}.
NUMPY_SPELLINGS: dict[str, tuple[str, str]] = {
    "tanh": ("np.tanh({x})", "1 - np.tanh({x}) ** 2"),
    "sigmoid": ("0.5 * (1 + np.tanh(0.5 * {x}))", "0.25 * (1 - np.tanh(0.5 * {x}) ** 2)"),
    "relu": ("np.maximum({x}, 0)", "np.heaviside({x}, 0.0)"),
    "exp": ("np.exp({x})", "np.exp({x})"),
    "log": ("np.log({x})", "1 / {x}"),
    "sqrt": ("np.sqrt({x})", "0.5 / np.sqrt({x})"),
    "square": ("np.square({x})", "2 * {x}"),
    "abs": ("np.abs({x})", "np.sign({x})"),
    "sign": ("np.sign({x})", "np.zeros_like({x})"),
    "sin": ("np.sin({x})", "np.cos({x})"),
    "cos": ("np.cos({x})", "-np.sin({x})"),
    "softplus": ("np.logaddexp(0, {x})", "0.5 * (1 + np.tanh(0.5 * {x}))"),
    "identity": ("{x}", "np.ones_like({x})"),
    "log1p": ("np.log1p({x})", "1 / (1 + {x})"),
    "expm1": ("np.expm1({x})", "np.exp({x})"),
    "sinh": ("np.sinh({x})", "np.cosh({x})"),
    "cosh": ("np.cosh({x})", "np.sinh({x})"),
    "arctan": ("np.arctan({x})", "1 / (1 + {x} ** 2)"),
}
