"""One derivation for the page, in a worker process with a time and a memory limit, so that no
input can take the server down: the worker is forked from a server process that imported
matgrad once (multiprocessing's forkserver, matgrad preloaded), answers one request and exits;
past its time it is killed and the request answered with an error.

Invariants: a request is plain JSON data and so is the answer (the schema of docs/json.md, plus
`LimitError` for a request past its limits); the worker reads only the request and writes only
the answer; no user text reaches a shell or a file.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import resource
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from matgrad.api import Derivation, check, derive
from matgrad.errors import MatgradError, UsageError
from matgrad.pdf import pdflatex_available, write_pdf
from matgrad.printing.json_output import SCHEMA_ID, SCHEMA_VERSION, error_json

TIME_LIMIT_S = 20.0
MEMORY_LIMIT_BYTES = 2 * 1024**3
BACKENDS = ("numpy", "jax", "torch", "cupy", "array-api", "dask")


def limit_error(message: str) -> dict[str, Any]:
    return {"schema": SCHEMA_ID, "version": SCHEMA_VERSION,
            "error": {"type": "LimitError", "message": message, "line": None, "column": None}}


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The JSON answer to one request (run in the worker): the derivation's result, or the
    error it raised."""
    try:
        source = request.get("source")
        if not isinstance(source, str):
            raise UsageError("the request needs the program as text (source).")
        wrt = request.get("wrt") or None
        # A matrix-valued objective's Jacobian, and the symmetric parameters' convention.
        derivation: Derivation = derive(source, wrt, jacobian=bool(request.get("jacobian")),
                                        symmetric=str(request.get("symmetric") or "frobenius"))
        if request.get("hvp"):
            derivation = derivation.hvp()
        bind = {str(key): str(value) for key, value in (request.get("bind") or {}).items()}
        backends = [name for name in request.get("backends") or [] if name in BACKENDS]
        modules = {}
        for backend in backends:
            try:
                modules[backend] = derivation.source(backend, bind=bind)
            except MatgradError as error:  # a module one library cannot have: say why
                modules[backend] = f"# {error}"
        found = derivation.json()
        if modules:
            found["modules"] = modules
        if request.get("hessian"):
            hessian = derivation.hessian()
            found["hessian"] = {"text": hessian.text(), "latex": hessian.latex()}
        if request.get("pdf"):
            found["pdf"] = _pdf(derivation)
        if request.get("check"):
            report = check(derivation, bind=bind)
            found["check"] = {"passed": report.passed, "text": str(report)}
        return found
    except MatgradError as error:
        return error_json(error)
    except RecursionError:
        return error_json(UsageError("the program is nested too deeply to derive; split it "
                                     "into let-bindings."))


def _pdf(derivation: Derivation) -> str:
    """The standalone derivation typeset by pdflatex, base64 (refused where it is missing)."""
    if not pdflatex_available():
        raise UsageError("pdflatex is not installed on the machine serving this page "
                         "(Debian: apt-get install texlive-latex-base); copy the LaTeX instead.")
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "derivation.pdf"
        write_pdf(derivation.latex(standalone=True), target)
        return base64.b64encode(target.read_bytes()).decode("ascii")


def _worker(request_text: str, connection: Connection, memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        found = answer(json.loads(request_text))
    except MemoryError:
        found = limit_error(f"the derivation needed more than {memory // 1024**2} MB.")
    connection.send(json.dumps(found, ensure_ascii=False))
    connection.close()


class Workers:
    """Runs each request in a fresh worker forked from a preloaded server process."""

    def __init__(self, time_limit: float = TIME_LIMIT_S,
                 memory_limit: int = MEMORY_LIMIT_BYTES) -> None:
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["matgrad.serve.work"])
        self.time_limit = time_limit
        self.memory_limit = memory_limit

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        receiving, sending = self.context.Pipe(duplex=False)
        process = self.context.Process(target=_worker, args=(
            json.dumps(request), sending, self.memory_limit), daemon=True)
        process.start()
        sending.close()
        try:
            if receiving.poll(self.time_limit):
                try:
                    return dict(json.loads(receiving.recv()))
                except EOFError:  # the worker died (killed for memory, or a crash)
                    return limit_error("the derivation stopped without an answer (it ran "
                                       "out of memory); simplify the program.")
            return limit_error(f"the derivation took longer than {self.time_limit:g} s; "
                               "simplify the program or split it into let-bindings.")
        finally:
            if process.is_alive():
                process.kill()
            process.join()
            receiving.close()
