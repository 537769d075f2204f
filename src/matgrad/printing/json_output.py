"""The machine-readable result: a derivation (any kind) or an error as one JSON object under a
versioned schema (`RESULT_SCHEMA`, documented in docs/json.md by `python -m matgrad.docgen`).

A result holds the program read (shapes, parameters, notes), each gradient and each `where`
definition in text, ASCII, LaTeX and MathML, the steps (rule, citations, phase, node) and their
text, the whole LaTeX fragment, and — on request — the generated module per backend.  An error holds
its class, its message and the line and column it names.

Invariants: every object this module makes validates against `RESULT_SCHEMA` (a test checks
every corpus objective and every documented error); the output is plain JSON data (str,
numbers, lists, objects), never an object of matgrad's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from matgrad.engine.results import Derivation, Jacobian, LoopDerivation, LoopProduct, Product
from matgrad.errors import MatgradError
from matgrad.ir.expr import Expr
from matgrad.ir.text import pretty_name, to_text
from matgrad.printing.latex import LatexPrinter
from matgrad.printing.latex_names import latex_name
from matgrad.printing.mathml import MathMLPrinter, mathml_name
from matgrad.printing.report import result_name, results, used_names

SCHEMA_ID = "urn:matgrad:schema:result:1"
SCHEMA_VERSION = 1
KIND_NAMES = {Derivation: "gradient", Product: "hessian-vector product",
              LoopDerivation: "loop gradient", LoopProduct: "loop hessian-vector product",
              Jacobian: "jacobian"}

_FORMULA = {
    "type": "object", "additionalProperties": False,
    "required": ["name", "label", "text", "ascii", "latex", "mathml"],
    "properties": {name: {"type": "string"}
                   for name in ("name", "label", "text", "ascii", "latex", "mathml")},
}
_SHAPE = {"type": "array", "minItems": 2, "maxItems": 2,
          "items": {"type": ["string", "integer"]}}
RESULT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "a matgrad result or error",
    "type": "object",
    "oneOf": [
        {"required": ["schema", "version", "kind", "objective", "program", "results",
                      "definitions", "steps", "text", "steps_text", "latex"]},
        {"required": ["schema", "version", "error"]},
    ],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "version": {"const": SCHEMA_VERSION},
        "kind": {"enum": sorted(KIND_NAMES.values())},
        "objective": {"type": "string"},
        "program": {
            "type": "object", "additionalProperties": False,
            "required": ["shapes", "parameters", "wrt", "dims", "notes"],
            "properties": {
                "shapes": {"type": "object", "additionalProperties": _SHAPE},
                "parameters": {"type": "array", "items": {"type": "string"}},
                "wrt": {"type": "array", "items": {"type": "string"}},
                "dims": {"type": "array", "items": {"type": "string"}},
                "notes": {"type": "array", "items": {"type": "string"}},
            },
        },
        "results": {"type": "array", "items": _FORMULA},
        "definitions": {"type": "array", "items": _FORMULA},
        "steps": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["rule", "cites", "phase", "node"],
            "properties": {"rule": {"type": "string"},
                           "cites": {"type": "array", "items": {"type": "string"}},
                           "phase": {"enum": ["differentiate", "isolate", "readoff", "symmetric"]},
                           "node": {"type": "string"}}}},
        "text": {"type": "string"},
        "steps_text": {"type": "string"},
        "latex": {"type": "string"},
        "modules": {"type": "object", "additionalProperties": {"type": "string"}},
        "hessian": {"type": "object", "additionalProperties": False,
                    "required": ["text", "latex"],
                    "properties": {"text": {"type": "string"}, "latex": {"type": "string"}}},
        "pdf": {"type": "string", "contentEncoding": "base64",
                "contentMediaType": "application/pdf"},
        "check": {"type": "object", "additionalProperties": False,
                  "required": ["passed", "text"],
                  "properties": {"passed": {"type": "boolean"}, "text": {"type": "string"}}},
        "error": {
            "type": "object", "additionalProperties": False,
            "required": ["type", "message", "line", "column"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"},
                           "line": {"type": ["integer", "null"]},
                           "column": {"type": ["integer", "null"]}}},
    },
}

# Every error message that names a place says "line L, column C" (front/scope.py `where`,
# the parser's messages): the first place named is the error's.
_PLACE = re.compile(r"line (\d+), column (\d+)")


@dataclass(frozen=True)
class _Printers:
    latex: LatexPrinter
    mathml: MathMLPrinter


def _formula(name: str, labels: tuple[str, str, str, str], expr: Expr,
             printers: _Printers) -> dict[str, str]:
    """One `label = expr` in every form; `labels`: Unicode, ASCII, LaTeX, MathML."""
    label, ascii_label, latex_label, mathml_label = labels
    return {"name": name, "label": label, "text": f"{label} = {to_text(expr)}",
            "ascii": f"{ascii_label} = {to_text(expr, 'ascii')}",
            "latex": f"{latex_label} = {printers.latex(expr)}",
            "mathml": printers.mathml.math(expr, mathml_label)}


def result_json(result: Derivation, text: str, steps_text: str, latex: str,
                modules: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON object of a result of any kind; `text`, `steps_text` and `latex` are its
    printed forms (printing/outputs.py's tables)."""
    program = result.program
    printers = _Printers(LatexPrinter(dict(result.shapes)), MathMLPrinter(dict(result.shapes)))
    gradients, adjoints = results(result)
    # The `where` of the printed result: the named adjoints, then the definitions they read.
    where = dict(adjoints)
    where.update((name, program.definitions[name])
                 for name in used_names(result, [*gradients.values(), *adjoints.values()]))
    objective = result.first_order.objective
    found: dict[str, Any] = {
        "schema": SCHEMA_ID, "version": SCHEMA_VERSION, "kind": KIND_NAMES[type(result)],
        "objective": objective,
        "program": {"shapes": {name: list(shape) for name, shape in result.shapes.items()},
                    "parameters": list(program.parameters), "wrt": list(result.wrt),
                    "dims": list(program.dims), "notes": list(result.notes)},
        "results": [_formula(name, (result_name(result, name), result_name(result, name,
                                                                            "ascii"),
                                    _latex_label(result, name), _mathml_label(result, name)),
                             gradient, printers)
                    for name, gradient in gradients.items()],
        "definitions": [_formula(name, (pretty_name(name, "unicode"),
                                        pretty_name(name, "ascii"),
                                        latex_name(name, result.shapes.get(name) != (1, 1)),
                                        mathml_name(name, result.shapes.get(name) != (1, 1))),
                                 value, printers)
                        for name, value in where.items()],
        "steps": [{"rule": step.rule, "cites": list(step.cites), "phase": step.phase,
                   "node": step.node} for step in result.steps],
        "text": text, "steps_text": steps_text, "latex": latex,
    }
    if modules:
        found["modules"] = dict(modules)
    return found


def _latex_label(result: Derivation, parameter: str) -> str:
    name = latex_name(parameter, result.shapes.get(parameter) != (1, 1))
    objective = latex_name(result.first_order.objective, False)
    if isinstance(result, (Product, LoopProduct)):
        return f"(\\nabla^2 {objective}\\,\\mathbf{{V}})_{{{name}}}"
    return f"\\frac{{\\partial {objective}}}{{\\partial {name}}}"


def _mathml_label(result: Derivation, parameter: str) -> str:
    name = mathml_name(parameter, result.shapes.get(parameter) != (1, 1))
    objective = mathml_name(result.first_order.objective, False)
    if isinstance(result, (Product, LoopProduct)):
        return (f"<msub><mrow><mo>(</mo><msup><mo>∇</mo><mn>2</mn></msup>{objective}"
                f"<mi mathvariant=\"bold\">V</mi><mo>)</mo></mrow>{name}</msub>")
    return f"<mfrac><mrow><mo>∂</mo>{objective}</mrow><mrow><mo>∂</mo>{name}</mrow></mfrac>"


def error_json(error: MatgradError) -> dict[str, Any]:
    """The JSON object of an error: its class, message and the place it names, if any."""
    message = str(error)
    place = _PLACE.search(message)
    return {"schema": SCHEMA_ID, "version": SCHEMA_VERSION,
            "error": {"type": type(error).__name__, "message": message,
                      "line": int(place.group(1)) if place else None,
                      "column": int(place.group(2)) if place else None}}
