"""Which values of a module are computed once into a temporary of their own.

A value with two or more parents in the DAG of all the module's roots (forward definitions,
adjoints, gradients) is shared: computed once, however the objective was written.  Trivial
values (names, constants, ones, a transposed name) are not worth a name.  softmax(A) next to
logsumexp(A) (the NLL objective and its gradient) is computed from it, exp(A − logsumexp(A)):
one max and one sum of the rows instead of two.  f(A) next to an f′(A) that is written through
it (tanh′ = 1 − tanh², rules/derivatives.rules) is shared too, before lowering writes f′ out:
otherwise the objective would spell f(A) inline and the gradient compute it again.

Invariant: the plan only names values; it never changes what is computed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from matgrad.ir.expr import (
    Apply,
    Const,
    DimSize,
    Expr,
    MatMul,
    Neg,
    Ones,
    RowApply,
    RowGrad,
    Sym,
    Transpose,
    Zero,
)


def trivial(node: Expr) -> bool:
    """A value that costs nothing to write again (a name, a constant, a broadcast of ones)."""
    if isinstance(node, (Sym, Const, DimSize, Ones, Zero)):
        return True
    if isinstance(node, (Transpose, Neg)) and isinstance(node.x, (Sym, Ones)):
        return True
    return isinstance(node, MatMul) and (
        isinstance(node.a, Ones) or isinstance(node.b, Ones) or (
            isinstance(node.b, Transpose) and isinstance(node.b.x, Ones)))


def plan_shared_values(roots: list[Expr],
                       through_output: Callable[[str], bool] = lambda fn: False,
                       ) -> tuple[list[Expr], set[Expr]]:
    """(the shared values, in first-seen order; the softmaxes computed from their logsumexp).
    `through_output(f)`: whether f′ is written through f's output."""
    references: Counter[Expr] = Counter(roots)
    seen: set[Expr] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for kid in node.children():
            references[kid] += 1
            stack.append(kid)
    shared = [node for node, count in references.items() if count >= 2 and not trivial(node)]
    from_logsumexp: set[Expr] = set()
    for node in references:
        if isinstance(node, RowGrad) and node.fn == "logsumexp":
            partner = RowApply("logsumexp", node.arg)
            if partner in references:
                if partner not in shared:
                    shared.append(partner)
                from_logsumexp.add(node)
        if isinstance(node, Apply) and node.order == 1 and through_output(node.fn):
            forward = Apply(node.fn, node.arg)
            if forward in references and forward not in shared and not trivial(forward):
                shared.append(forward)
    return shared, from_logsumexp
