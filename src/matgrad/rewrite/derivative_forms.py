"""The derivatives of the built-in functions written out, from rules/derivatives.rules.

The engine derives with f′ as a node of its own (identity 15), right for an abstract f and what
the rules of the other phases read.  Printers and code generation then write f′(A) and f″(A) of
a built-in f out with the rule for that function and order: tanh′(A) = 𝟏 − tanh(A) ⊙ tanh(A),
with tanh(A) replaced by the caller's name for it (Z, or the cached forward value), so that no
backend needs a spelling of f″ and code reuses the forward pass for f′.

Invariants: each rule of the phase reads `fn′(X)` or `fn′′(X)` of one built-in on its left; one
rule per function and order (a second one is a `RuleError` at load); a rule's right side reads
f′ of the same function where an f″ reads f′, never a higher order, so writing out terminates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from matgrad.errors import RuleError
from matgrad.functions import ELEMENTWISE
from matgrad.ir.expr import Apply, Expr, Var, substitute
from matgrad.rewrite.match import ShapeOf
from matgrad.rewrite.rules import GuardContext, Rule, RuleSet, apply_rule, load_rules

PHASE = "derivatives"


@dataclass(frozen=True)
class DerivativeForms:
    """The written-out forms, one rule per (function, order)."""

    rules: dict[tuple[str, int], Rule]

    def has_form(self, fn: str, order: int) -> bool:
        return (fn, order) in self.rules

    def reads_output(self, fn: str, order: int) -> bool:
        """Whether the form of fn's order-th derivative reads fn(X) itself (tanh′ = 1 − tanh²),
        so that it is cheap exactly where the forward value is at hand."""
        rule = self.rules.get((fn, order))
        return rule is not None and any(
            isinstance(node, Apply) and node.fn == fn and node.order == 0
            for node in rule.rhs.walk())

    def written_out(self, node: Apply, shape_of: ShapeOf, output: Expr | None = None
                    ) -> Expr | None:
        """`node` = f′(A) or f″(A) by its rule, with f(A) read as `output` where given (the
        name the caller holds f(A) by); None when f and the order have no rule."""
        rule = self.rules.get((node.fn, node.order))
        if rule is None:
            return None
        result = apply_rule(rule, node, shape_of, GuardContext())
        assert result is not None, f"rule {rule.name} does not match {node}"
        if output is not None:
            result = substitute(result, {Apply(node.fn, node.arg): output})
        return result


def forms_of(rules: RuleSet) -> DerivativeForms:
    """The forms of `rules`' derivatives phase, checked to be one per built-in and order."""
    found: dict[tuple[str, int], Rule] = {}
    for rule in rules.phase(PHASE):
        lhs = rule.lhs
        if not (isinstance(lhs, Apply) and lhs.order in (1, 2) and isinstance(lhs.arg, Var)
                and lhs.fn in ELEMENTWISE):
            raise RuleError(f"{rule.source}: rule {rule.name}: a derivatives rule reads f′(X) "
                            "or f′′(X) of a built-in function f on its left")
        key = (lhs.fn, lhs.order)
        if key in found:
            raise RuleError(f"{rule.source}: rule {rule.name}: {lhs.fn} has a rule for that "
                            f"derivative already ({found[key].name})")
        found[key] = rule
    return DerivativeForms(found)


@cache
def derivative_forms() -> DerivativeForms:
    """The forms of the shipped rules, read once per process."""
    return forms_of(load_rules())
