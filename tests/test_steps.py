"""Each step carries the phase of the rule that made it, and the read-off step is the read-off
rule's (issue 30 #6): printers group steps by phase, never by a rule's name, so a rule file
that names its rules otherwise prints the same derivation."""

from __future__ import annotations

import matgrad
from matgrad.resources import rule_files
from matgrad.rewrite.rules import load_rule_texts, load_rules

SOURCE = "X: t x n, data\nW: n x m\nY: t x m, data\nJ = 1/2 * ||tanh(X*W) - Y||^2"


def test_every_step_has_its_rules_phase() -> None:
    rules = load_rules()
    derivation = matgrad.derive(SOURCE)
    for step in derivation.steps:
        assert step.phase == rules.by_name(step.rule).phase, step.rule
    assert [step.phase for step in derivation.steps][-1] == "readoff"
    assert {step.phase for step in derivation.steps} == {"differentiate", "isolate", "readoff"}


def test_renamed_rules_print_the_same_derivation() -> None:
    # The read-off rule and every d-… rule renamed: the printers guessed the phase from the
    # names "read-gradient" and "d-" before.
    texts = []
    for path in rule_files():
        text = path.read_text(encoding="utf-8")
        text = text.replace("read-gradient ", "take-the-gradient ").replace("\nd-", "\ndiff-")
        texts.append((f"rules/{path.name}", text))
    renamed = load_rule_texts(texts)
    assert "take-the-gradient" in {rule.name for rule in renamed.rules}
    original, other = matgrad.derive(SOURCE), matgrad.derive(SOURCE, rules=renamed)
    assert other.text() == original.text()
    assert other.steps_text().replace("diff-", "d-") == original.steps_text()
    assert other.latex().replace("diff-", "d-") == original.latex()
    assert other.steps[-1].rule == "take-the-gradient" and other.steps[-1].phase == "readoff"
