"""Hessian blocks as arrays at given arguments: `hessian_function(hessian)`.

A block with a closed matrix form is evaluated from that form (by the IR's NumPy interpreter,
over the program's named values); a block in Kronecker form is built from its evaluated
factors (linear_maps.py), or with `dense=False` returned as an operator that applies them;
a block without a closed form is assembled column by column from the compiled Hessian-vector
product, one product per entry of the column parameter (all blocks of that column at once).
Each block is an array of shape (size of a) × (size of b), with the convention of
engine/hessian.py: rows and columns in vec order, which stacks columns.

Invariant: a block is never a guess — the closed form is exact, and a column from the product
is the product itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from matgrad.backends.registry import compiled
from matgrad.codegen.names import check_bind_keys
from matgrad.codegen.signature import signature_of
from matgrad.engine.hessian import Hessian
from matgrad.engine.results import Jacobian
from matgrad.errors import UsageError
from matgrad.front.program import Program
from matgrad.functions import ROWWISE, numeric
from matgrad.ir.evaluate import Environment, evaluate
from matgrad.ir.expr import Expr, Sym
from matgrad.ir.kronecker import KroneckerForm
from matgrad.linear_maps import KroneckerOperator, unvec, vec

Blocks = dict[tuple[str, str], Any]  # arrays, and operators for Kronecker forms (dense=False)


def _functions(bind: Mapping[str, str]) -> dict[str, Callable[[np.ndarray, int], np.ndarray]]:
    """Abstract functions as the interpreter calls them: (x, order) → f⁽ᵒʳᵈᵉʳ⁾(x)."""
    def bound(concrete: str) -> Callable[[np.ndarray, int], np.ndarray]:
        if concrete in ROWWISE:
            row = ROWWISE[concrete]
            return lambda x, order: row.gradient(x) if order else row.evaluate(x)
        return lambda x, order: numeric(concrete, order)(x)

    return {name: bound(concrete) for name, concrete in bind.items()}


def _definitions_read(program: Program, roots: list[Expr]) -> list[str]:
    """The let-bound names the blocks read, directly or through other definitions, in program
    order (a definition nothing reads — H = Y of an unused Y — is never evaluated)."""
    wanted: set[str] = set()
    stack = list(roots)
    while stack:
        for node in stack.pop().walk():
            if isinstance(node, Sym) and node.name in program.definitions \
                    and node.name not in wanted:
                wanted.add(node.name)
                stack.append(program.definitions[node.name])
    return [name for name in program.definitions if name in wanted]


def _arguments(identifiers: Mapping[str, str], size_keywords: Mapping[str, str],
               program: Program, args: tuple[Any, ...], kwargs: Mapping[str, Any]
               ) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """The arguments of a call by program name (as float arrays) and every size they fix."""
    call = dict(zip(identifiers.values(), args, strict=False))
    call.update(kwargs)
    missing = [identifier for identifier in identifiers.values() if identifier not in call]
    if missing:
        raise UsageError(f"missing argument(s) {', '.join(missing)}.")
    values = {name: np.asarray(call[identifier], dtype=float)
              for name, identifier in identifiers.items()}
    dims = {dim: int(call[keyword]) for dim, keyword in size_keywords.items()}
    for name, value in values.items():
        for dim, extent in zip(program.shapes[name], np.shape(value), strict=False):
            if isinstance(dim, str):
                dims.setdefault(dim, int(extent))
    return values, dims


def jacobian_function(result: Jacobian, bind: Mapping[str, str] | None = None,
                      dense: bool = True) -> Callable[..., dict[str, Any]]:
    """A function of F's arguments (not U) returning {X: J_X}, each an array of shape
    (size of F) × (size of X); with dense=False a KroneckerOperator (J @ vec(V) is the JVP,
    `op.apply(V)` on matrices).  A block without a closed form comes from the compiled
    vector-Jacobian product, a row of J per entry of U."""
    bind = dict(bind or {})
    program = result.program
    signature = signature_of(result)
    identifiers = {name: identifier for name, identifier in signature.arguments.items()
                   if name != result.cotangent}
    needed = _definitions_read(program, [expr for block in result.blocks.values()
                                         if block is not None for expr in block.expressions()])
    missing = [name for name, block in result.blocks.items() if block is None]
    vjp = compiled(result, bind=bind, signature=signature) if missing else None
    functions = _functions(bind)

    def blocks_at(*args: Any, **kwargs: Any) -> dict[str, Any]:
        values, dims = _arguments(identifiers, signature.size_keywords, program, args, kwargs)
        env = Environment(dict(values), dims, functions)
        memo: dict[Any, np.ndarray] = {}
        for name in needed:  # in program order: each reads only those before it
            env.values[name] = evaluate(program.definitions[name], env, memo)  # type: ignore[index]
        blocks: dict[str, Any] = {}
        for name, block in result.blocks.items():
            if block is not None:
                operator = KroneckerOperator(block, lambda expr: evaluate(expr, env, memo),
                                             env.dim)
                blocks[name] = operator.toarray() if dense else operator
        if vjp is not None:
            output = tuple(env.dim(dim) for dim in program.shapes[result.output])
            rows = {name: np.zeros((output[0] * output[1], int(np.size(values[name]))))
                    for name in missing}
            for row in range(output[0] * output[1]):
                unit = np.zeros(output[0] * output[1])
                unit[row] = 1.0
                arguments = {**values, result.cotangent: unvec(unit, output)}
                out = vjp(**signature.keywords(arguments, dims))[1]
                for name in missing:
                    gradient = np.broadcast_to(np.asarray(out[name], dtype=float),
                                               np.shape(values[name]))
                    rows[name][row] = vec(gradient)
            blocks.update(rows)
        return {name: blocks[name] for name in result.blocks}

    return blocks_at


def hessian_function(hessian: Hessian, bind: Mapping[str, str] | None = None,
                     dense: bool = True) -> Callable[..., Blocks]:
    """A function of the first derivation's arguments (as its compiled gradient takes them)
    returning {(a, b): H_ab}: arrays; with dense=False a block in Kronecker form is a
    KroneckerOperator instead (applied, never built, unless its toarray() is called)."""
    product = hessian.product
    first = product.first
    program = product.program
    # a family's key (f, or f[j] of a loop written out) binds each member
    bind = check_bind_keys(dict(bind or {}), program.abstract_functions)
    unbound = sorted(program.abstract_functions - set(bind))
    if unbound and any(block is not None for block in hessian.blocks.values()):
        raise UsageError(f"the Hessian needs a value for {', '.join(unbound)}: bind it to a "
                         f"built-in function, e.g. bind={{'{unbound[0]}': 'tanh'}}.")
    first_signature, signature = signature_of(first), signature_of(product)
    needs_product = any(block is None for block in hessian.blocks.values())
    apply_product = compiled(product, bind=bind, signature=signature) if needs_product else None
    identifiers = dict(first_signature.arguments)
    needed = _definitions_read(program, [expr for block in hessian.blocks.values()
                                         if block is not None for expr in (
                                             block.expressions() if isinstance(
                                                 block, KroneckerForm) else [block])])
    parameters = first.wrt
    functions = _functions(bind)

    def blocks_at(*args: Any, **kwargs: Any) -> Blocks:
        values, dims = _arguments(identifiers, first_signature.size_keywords, program, args,
                                  kwargs)
        sizes = {name: int(np.size(values[name])) for name in parameters}
        result: Blocks = {}
        if any(block is not None for block in hessian.blocks.values()):
            env = Environment(dict(values), dims, functions)
            memo: dict[Any, np.ndarray] = {}
            for name in needed:  # in program order: each reads only those before it
                env.values[name] = evaluate(program.definitions[name], env,  # type: ignore[index]
                                            memo)
            for key, block in hessian.blocks.items():
                if isinstance(block, KroneckerForm):
                    operator = KroneckerOperator(block, lambda expr: evaluate(expr, env, memo),
                                                 env.dim)
                    result[key] = operator if not dense else operator.toarray()
                elif block is not None:
                    shape = (sizes[key[0]], sizes[key[1]])
                    value = evaluate(block, env, memo)
                    # A fresh array of the block's shape is returned as it is; a broadcast, an
                    # input or a value another block shares is copied.
                    fresh = (value.shape == shape and value.flags.owndata and not any(
                        value is known for known in (*env.values.values(), *result.values())))
                    result[key] = value if fresh else np.broadcast_to(value, shape).copy()
        if apply_product is not None:
            columns = {b for (_, b), block in hessian.blocks.items() if block is None}
            for b in parameters:
                if b not in columns:
                    continue
                wanted = [a for a in parameters if hessian.blocks[(a, b)] is None]
                for a in wanted:
                    result[(a, b)] = np.zeros((sizes[a], sizes[b]))
                for j in range(sizes[b]):
                    directions = {name: np.zeros(np.shape(values[name])) for name in parameters}
                    unit = np.zeros(sizes[b])
                    unit[j] = 1.0
                    directions[b] = unvec(unit, np.shape(values[b]))
                    if b in program.symmetric:
                        # only symmetric directions reach S: the column at sym(Eᵢⱼ), as
                        # the closed forms compose with sym (engine/hessian.py)
                        directions[b] = (directions[b] + directions[b].T) / 2
                    arguments = {**values, **{product.directions[name]: direction
                                              for name, direction in directions.items()}}
                    out = apply_product(**signature.keywords(arguments, dims))
                    for a in wanted:
                        column = np.asarray(out[a], dtype=float)
                        column = np.broadcast_to(column, np.shape(values[a]))
                        result[(a, b)][:, j] = vec(column)
        return {key: result[key] for key in hessian.blocks}

    return blocks_at


__all__ = ["Blocks", "hessian_function", "jacobian_function", "unvec", "vec"]
