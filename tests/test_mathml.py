"""The MathML printer (printing/mathml.py): a method for every node class, well-formed XML
for every corpus gradient, names escaped, and the layout of the LaTeX printer (issue 32 #2)."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from corpus import CASES

import matgrad
from matgrad.ir.expr import NODE_CLASSES, Frob, Inv, MatMul, Sym, Transpose
from matgrad.printing.mathml import MATHML_NAMESPACE, MathMLPrinter, mathml_name

ACCEPTED = [case for case in CASES if case.refused is None]


def test_every_node_class_has_a_method() -> None:
    printer = MathMLPrinter()
    missing = [cls.__name__ for cls in NODE_CLASSES
               if not hasattr(printer, f"_print_{cls.__name__}")]
    assert not missing


@pytest.mark.parametrize("case", ACCEPTED, ids=[case.label for case in ACCEPTED])
def test_every_corpus_result_is_well_formed_mathml(case: object) -> None:
    found = matgrad.derive(case.source).json()  # type: ignore[attr-defined]
    for item in (*found["results"], *found["definitions"]):
        root = ElementTree.fromstring(item["mathml"])
        assert root.tag == f"{{{MATHML_NAMESPACE}}}math"
        assert root.attrib["display"] == "block"


def test_the_layout_follows_the_guide() -> None:
    printer = MathMLPrinter({"X": ("n", "n"), "w": ("n", 1)})
    text = printer(Frob(MatMul(Transpose(Inv(Sym("X"))), Sym("w")), Sym("w")))
    assert "<mo>−</mo><mo>⊤</mo>" in text  # X⁻ᵀ as the Cookbook writes it
    assert '<mi mathvariant="bold">X</mi>' in text and "<mo>·</mo>" in text
    assert mathml_name("W1", True) == '<msub><mi mathvariant="bold">W</mi><mn>1</mn></msub>'
    assert mathml_name("Z[j-1]", True).startswith('<msub><mi mathvariant="bold">Z</mi>')


def test_names_are_escaped() -> None:
    printer = MathMLPrinter()
    assert "&lt;" in printer(Sym("a<b"))
    ElementTree.fromstring(printer.math(Sym("a<b&c")))
