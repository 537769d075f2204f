"""The JSON interface (issue 32 #3): every result of the corpus, of every kind, and every
documented error validates against the versioned schema; `matgrad --json` prints the same
object (exit 0, or 2 with the error's JSON); `--version`; the LICENSE the metadata names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from corpus import CASES

import matgrad
from matgrad.docgen import ERROR_EXAMPLES, JSON_EXAMPLE
from matgrad.printing.json_output import RESULT_SCHEMA, error_json

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (the test extra)")
VALIDATOR = jsonschema.Draft202012Validator(RESULT_SCHEMA)
ROOT = Path(__file__).resolve().parent.parent
ACCEPTED = [case for case in CASES if case.refused is None]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "matgrad", *args], capture_output=True,
                          text=True, check=False, encoding="utf-8")


def test_the_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(RESULT_SCHEMA)


@pytest.mark.parametrize("case", ACCEPTED, ids=[case.label for case in ACCEPTED])
def test_every_corpus_result_validates(case: object) -> None:
    derivation = matgrad.derive(case.source)  # type: ignore[attr-defined]
    found = json.loads(json.dumps(derivation.json()))  # plain JSON data, round-tripped
    VALIDATOR.validate(found)
    assert [item["name"] for item in found["results"]] == list(derivation.wrt)
    assert found["text"] == derivation.text()


@pytest.mark.parametrize("kind", ["flat", "product", "loop", "loop product"])
def test_every_kind_validates(kind: str) -> None:
    loop = (ROOT / "examples" / "regression_loop.mg").read_text()
    source = loop if "loop" in kind else (ROOT / "examples" / "single_layer.mg").read_text()
    derivation = matgrad.derive(source)
    if "product" in kind:
        derivation = derivation.hvp()
    found = derivation.json()
    VALIDATOR.validate(found)
    assert found["kind"] == {"flat": "gradient", "product": "hessian-vector product",
                             "loop": "loop gradient",
                             "loop product": "loop hessian-vector product"}[kind]
    if kind == "product":
        assert found["results"][0]["label"].startswith("(∇²J V)")


@pytest.mark.parametrize("example", ERROR_EXAMPLES, ids=[e[1] for e in ERROR_EXAMPLES])
def test_every_documented_error_validates(example: tuple[str, str, str, list[str] | None]
                                          ) -> None:
    kind, _, source, wrt = example
    with pytest.raises(matgrad.MatgradError) as raised:
        matgrad.derive(source, wrt)
    found = error_json(raised.value)
    VALIDATOR.validate(found)
    assert found["error"]["type"] == kind


def test_an_error_names_its_line_and_column() -> None:
    with pytest.raises(matgrad.MatgradError) as raised:
        matgrad.derive("A: t x n; B: m x n\nJ = sum(A + B)")
    error = error_json(raised.value)["error"]
    assert (error["line"], error["column"]) == (2, 9)


def test_the_cli_prints_the_same_object() -> None:
    result = cli("--json", "-e", JSON_EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == matgrad.derive(JSON_EXAMPLE).json()
    with_code = json.loads(cli("--json", "--numpy", "--check", "-e", JSON_EXAMPLE).stdout)
    VALIDATOR.validate(with_code)
    assert with_code["check"]["passed"] and "def value_and_grad" in with_code["modules"]["numpy"]
    failed = cli("--json", "-e", "X: t x n\nJ = sum(X *")
    assert failed.returncode == 2 and failed.stderr == ""
    VALIDATOR.validate(json.loads(failed.stdout))
    refused = cli("--json", "--latex", "-e", JSON_EXAMPLE)
    assert refused.returncode == 2 and json.loads(refused.stdout)["error"]["type"] == \
        "UsageError"


def test_version_and_license() -> None:
    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"matgrad {matgrad.__version__}"
    assert matgrad.__version__ == "0.1.0"
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
