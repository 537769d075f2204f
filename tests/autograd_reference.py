"""An independent reference: the program evaluated with HIPS autograd's NumPy, differentiated
by autograd's reverse mode.  Shares nothing with matgrad's engine or code generator."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import autograd
import autograd.numpy as anp
import numpy as np
from autograd.extend import defvjp, primitive

from matgrad.front.program import Program
from matgrad.ir.dims import Dim
from matgrad.ir.expr import (
    Add,
    Apply,
    Const,
    Det,
    DimSize,
    Div,
    Expr,
    Frob,
    Hadamard,
    HadDiv,
    HadPower,
    Identity,
    Inv,
    LogDet,
    MatMul,
    Neg,
    Norm,
    Ones,
    Power,
    RowApply,
    RowDot,
    RowGrad,
    Scale,
    Sum,
    Sym,
    Trace,
    Transpose,
    Zero,
)


@primitive
def _tanh(x: Any) -> Any:
    return np.tanh(x)


# tanh′ = 1 − tanh² rather than autograd's 1/cosh², which overflows where |x| > 355.
defvjp(_tanh, lambda ans, x: lambda g: g * (1 - ans * ans))

FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "tanh": _tanh, "sigmoid": lambda x: 0.5 * (1 + anp.tanh(0.5 * x)),
    "relu": lambda x: anp.maximum(x, 0.0), "exp": anp.exp, "log": anp.log, "sqrt": anp.sqrt,
    "square": lambda x: x * x, "abs": anp.abs, "sign": anp.sign, "sin": anp.sin,
    "cos": anp.cos, "softplus": lambda x: anp.logaddexp(0.0, x), "identity": lambda x: x,
    "log1p": anp.log1p, "expm1": anp.expm1, "sinh": anp.sinh, "cosh": anp.cosh,
    "arctan": anp.arctan,
}


def _logsumexp(x: Any) -> Any:
    peak = anp.max(x, axis=1, keepdims=True)
    return peak + anp.log(anp.sum(anp.exp(x - peak), axis=1, keepdims=True))


def _evaluate(expr: Expr, env: dict[str, Any], sizes: Mapping[str, int],
              bind: Mapping[str, str]) -> Any:
    def dim(d: Dim) -> int:
        return d if isinstance(d, int) else sizes[str(d)]

    def go(node: Expr) -> Any:
        if isinstance(node, Sym):
            return env[node.name]
        if isinstance(node, Const):
            return anp.array([[float(node.value)]])
        if isinstance(node, DimSize):
            return anp.array([[float(sizes[node.dim])]])
        if isinstance(node, Ones):
            return anp.ones((dim(node.rows), dim(node.cols)))
        if isinstance(node, Zero):
            return anp.zeros((dim(node.rows), dim(node.cols)))
        if isinstance(node, Identity):
            return anp.eye(dim(node.size))
        if isinstance(node, Add):
            total = go(node.terms[0])
            for term in node.terms[1:]:
                total = total + go(term)
            return total
        if isinstance(node, Neg):
            return -go(node.x)
        if isinstance(node, Scale):
            return go(node.s) * go(node.x)
        if isinstance(node, Div):
            return go(node.x) / go(node.s)
        if isinstance(node, Power) and isinstance(node.base, Norm) and \
                node.exponent == Const(Fraction(2)):
            inner = go(node.base.x)  # ‖E‖² as Σ E², smooth where ‖E‖ is not (at E = 0)
            return anp.reshape(anp.sum(inner * inner), (1, 1))
        if isinstance(node, Power):
            return go(node.base) ** float(go(node.exponent)[0, 0])
        if isinstance(node, MatMul):
            return anp.dot(go(node.a), go(node.b))
        if isinstance(node, Hadamard):
            return go(node.a) * go(node.b)
        if isinstance(node, HadPower):
            return go(node.base) ** float(go(node.exponent)[0, 0])
        if isinstance(node, HadDiv):
            return go(node.a) / go(node.b)
        if isinstance(node, Frob):
            return anp.reshape(anp.sum(go(node.a) * go(node.b)), (1, 1))
        if isinstance(node, RowDot):
            return anp.sum(go(node.a) * go(node.b), axis=1, keepdims=True)
        if isinstance(node, Transpose):
            return anp.transpose(go(node.x))
        if isinstance(node, Apply):
            assert node.order == 0, "programs have no derivatives"
            return FUNCTIONS[bind.get(node.fn, node.fn)](go(node.arg))
        if isinstance(node, RowApply):
            inner = go(node.arg)
            if node.fn == "sumsq":  # the squared length of each row
                return anp.sum(inner * inner, axis=1, keepdims=True)
            assert node.fn == "logsumexp"
            return _logsumexp(inner)
        if isinstance(node, RowGrad):
            inner = go(node.arg)
            if node.fn == "sumsq":
                return 2 * inner
            assert node.fn == "logsumexp"  # softmax, the guide's (24)
            return anp.exp(inner - _logsumexp(inner))
        if isinstance(node, Sum):
            return anp.reshape(anp.sum(go(node.x)), (1, 1))
        if isinstance(node, Norm):
            inner = go(node.x)
            return anp.reshape(anp.sqrt(anp.sum(inner * inner)), (1, 1))
        if isinstance(node, Inv):
            return anp.linalg.inv(go(node.x))
        if isinstance(node, Det):
            return anp.reshape(anp.linalg.det(go(node.x)), (1, 1))
        if isinstance(node, LogDet):
            _, magnitude = anp.linalg.slogdet(go(node.x))  # log |det X|, as matgrad's
            return anp.reshape(magnitude, (1, 1))
        if isinstance(node, Trace):
            return anp.reshape(anp.trace(go(node.x)), (1, 1))
        raise TypeError(type(node).__name__)

    return go(expr)


def autograd_gradients(program: Program, values: Mapping[str, Any], sizes: Mapping[str, int],
                       wrt: tuple[str, ...], bind: Mapping[str, str]) -> dict[str, Any]:
    def objective(*parameters: Any) -> Any:
        env: dict[str, Any] = dict(values)
        env.update(zip(wrt, parameters, strict=True))
        for name, definition in program.definitions.items():
            env[name] = _evaluate(definition, env, sizes, bind)
        return anp.sum(env[program.objective])

    grads = autograd.grad(objective, tuple(range(len(wrt))))(*(values[name] for name in wrt))
    return on_symmetric_matrices(program, dict(zip(wrt, grads, strict=True)))


def on_symmetric_matrices(program: Program, values: dict[str, Any]) -> dict[str, Any]:
    """A symmetric parameter's gradient (or Hessian-vector product) as matgrad defines it by
    default: the unconstrained one projected onto the symmetric matrices, (G + Gᵀ)/2."""
    return {name: (value + value.T) / 2 if name in program.symmetric else value
            for name, value in values.items()}


def autograd_hvp(program: Program, values: Mapping[str, Any], sizes: Mapping[str, int],
                 wrt: tuple[str, ...], bind: Mapping[str, str],
                 directions: Mapping[str, Any]) -> dict[str, Any]:
    """∇²J·V by autograd's reverse mode run twice: the gradient of ∇J · V (V constant); on the
    symmetric matrices for a symmetric parameter (V and the product projected onto them)."""
    directions = on_symmetric_matrices(program, dict(directions))
    def objective(*parameters: Any) -> Any:
        env: dict[str, Any] = dict(values)
        env.update(zip(wrt, parameters, strict=True))
        for name, definition in program.definitions.items():
            env[name] = _evaluate(definition, env, sizes, bind)
        return anp.sum(env[program.objective])

    gradient = autograd.grad(objective, tuple(range(len(wrt))))

    def along(*parameters: Any) -> Any:
        return sum(anp.sum(g * directions[name])
                   for g, name in zip(gradient(*parameters), wrt, strict=True))

    product = autograd.grad(along, tuple(range(len(wrt))))(*(values[name] for name in wrt))
    return on_symmetric_matrices(program, dict(zip(wrt, product, strict=True)))
