"""The playground (issue 32): its JSON API against the schema, limits that keep a hostile
input from taking the server down, 16 concurrent clients, and the page in a real browser
(Debian's headless Chromium, which .ci/run installs): the gradient rendered as MathML, the
cited steps, the module, and an error's span marked."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import matgrad
from matgrad.printing.json_output import RESULT_SCHEMA
from matgrad.serve.examples import EXAMPLES
from matgrad.serve.server import MAX_REQUEST_BYTES, Playground
from matgrad.serve.work import Workers

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (the test extra)")
VALIDATOR = jsonschema.Draft202012Validator(RESULT_SCHEMA)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SINGLE_LAYER = "X: t x n, data; Y: t x m, data; W: n x m\nJ = 1/2 * ||tanh(X*W) - Y||^2"


@pytest.fixture(scope="module")
def server() -> Iterator[Playground]:
    """A playground on a free loopback port, served by a thread, closed after the tests."""
    playground = Playground(("127.0.0.1", 0), Workers())
    thread = threading.Thread(target=playground.serve_forever, daemon=True)
    thread.start()
    yield playground
    playground.shutdown()
    playground.server_close()


def _url(server: Playground, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def post(server: Playground, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(_url(server, "/api/derive"), data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def derive(server: Playground, **request: Any) -> tuple[int, Any]:
    return post(server, json.dumps(request).encode())


def test_a_result_and_an_error_follow_the_schema(server: Playground) -> None:
    status, found = derive(server, source=SINGLE_LAYER, backends=["numpy", "jax"], check=True)
    assert status == 200
    VALIDATOR.validate(found)
    assert found["results"][0]["label"] == "∂J/∂W" and found["check"]["passed"]
    assert "import jax" in found["modules"]["jax"]
    status, found = derive(server, source="A: t x n; B: m x n\nJ = sum(A + B)")
    assert status == 422
    VALIDATOR.validate(found)
    assert found["error"]["type"] == "ShapeError" and found["error"]["line"] == 2


def test_every_example_derives(server: Playground) -> None:
    for name, source in EXAMPLES.items():
        status, found = derive(server, source=source)
        assert status == 200, (name, found)


def test_requests_are_bounded(server: Playground) -> None:
    status, _ = post(server, b"x" * (MAX_REQUEST_BYTES + 1))
    assert status == 413
    status, _ = post(server, b"[1, 2]")
    assert status == 400
    status, found = derive(server, source=None)
    assert status == 422 and "source" in found["error"]["message"]


def test_a_hostile_program_answers_an_error_and_the_server_goes_on(server: Playground
                                                                   ) -> None:
    workers = server.workers
    deep = "W: n x n\nJ = sum(" + "tanh(" * 150 + "W" + ")" * 150 + ")"
    try:
        server.workers = Workers(time_limit=0.01)  # past its time: killed, answered
        status, found = derive(server, source=deep)
        assert status == 503 and found["error"]["type"] == "LimitError"
        server.workers = Workers(memory_limit=32 * 1024**2)  # past its memory
        status, found = derive(server, source=SINGLE_LAYER)
        assert status == 503 and found["error"]["type"] == "LimitError"
    finally:
        server.workers = workers
    status, found = derive(server, source=SINGLE_LAYER)
    assert status == 200 and found["kind"] == "gradient"


def test_sixteen_concurrent_clients(server: Playground) -> None:
    sources = [f"X: t x n, data; w: n x 1\nJ = sum(X*w) * {k}" for k in range(1, 17)]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda source: derive(server, source=source), sources))
    for source, (status, found) in zip(sources, answers, strict=True):
        assert status == 200  # each answer is its own request's
        assert found["results"] == matgrad.derive(source).json()["results"]


def _page(server: Playground, **state: Any) -> str:
    """The page's DOM after its script ran, in headless Chromium."""
    assert CHROMIUM is not None
    fragment = urllib.parse.quote(json.dumps({"hvp": False, "backend": "numpy", **state}))
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--virtual-time-budget=20000", "--dump-dom", _url(server, f"/#{fragment}")],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (apt-get install chromium)")
def test_the_page_renders_the_derivation_in_a_browser(server: Playground) -> None:
    dom = _page(server, source=SINGLE_LAYER)
    results = dom.split('<div id="results">', 1)[1].split("</div>", 1)[0]
    assert "<math" in results and '<mi mathvariant="bold">W</mi>' in results
    assert 'class="rule" title="d(' in dom  # a step's rule, its statement on hover
    assert "def value_and_grad(X, Y, W):" in dom  # the module
    assert "\\frac{\\partial J}" in dom  # the LaTeX
    jax = _page(server, source=SINGLE_LAYER, backend="jax")  # the JAX tab, from the link
    assert 'data-backend="jax" aria-selected="true"' in jax and "import jax" in jax


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (apt-get install chromium)")
def test_the_page_shows_a_jacobian_and_the_symmetric_convention(server: Playground) -> None:
    dom = _page(server, source="X: n x n\nF = inv(X)", jacobian=True)
    shown = dom.split('<pre id="jacobian-text"', 1)[1].split("</pre>", 1)[0]
    assert "hidden" not in shown.split(">", 1)[0]
    assert "∂vec(F)/∂vec(X)ᵀ = −(Fᵀ ⊗ F)" in shown and "dF = −F dX F" in shown
    elementwise = _page(server, source="S: n x n, spd\nJ = logdet(S)", elementwise=True)
    assert ">sym-gradient-elementwise<" in elementwise  # its step, cited
    assert "(Matrix Cookbook 2.8.2)" in elementwise


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium (apt-get install chromium)")
def test_the_page_marks_an_error_in_a_browser(server: Playground) -> None:
    dom = _page(server, source="A: t x n; B: m x n\nJ = sum(A + B)")
    error = dom.split('<div id="error"', 1)[1].split("</div>", 1)[0]
    assert "hidden" not in error.split(">", 1)[0]
    assert "the numbers of rows" in error and "<mark>" in error


def test_the_hessian_and_the_pdf_on_request(server: Playground) -> None:
    status, found = derive(server, source="x: n x 1; A: n x n\nJ = x'*A*x", hessian=True)
    assert status == 200 and "∂²J/∂x∂x = Aᵀ + A" in found["hessian"]["text"]
    VALIDATOR.validate(found)
    status, found = derive(server, source=SINGLE_LAYER, pdf=True)
    VALIDATOR.validate(found)
    if shutil.which("pdflatex") is None:
        assert status == 422 and "pdflatex" in found["error"]["message"]
    else:
        assert status == 200 and base64.b64decode(found["pdf"]).startswith(b"%PDF")


def test_the_api_takes_a_jacobian_and_the_symmetric_convention(server: Playground) -> None:
    status, found = derive(server, source="X: n x n\nF = inv(X)", jacobian=True)
    assert status == 200 and found["kind"] == "jacobian"
    jsonschema.validate(found, RESULT_SCHEMA)
    assert "∂vec(F)/∂vec(X)ᵀ = −(Fᵀ ⊗ F)" in found["text"]
    status, found = derive(server, source="S: n x n, spd\nJ = logdet(S)",
                           symmetric="elementwise")
    assert status == 200 and found["results"][0]["text"] == "∂J/∂S = 2S⁻¹ − S⁻¹ ⊙ I"
    status, found = derive(server, source="S: n x n, spd\nJ = logdet(S)", symmetric="upper")
    assert found["error"]["type"] == "UsageError"
