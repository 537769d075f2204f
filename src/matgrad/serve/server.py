"""`matgrad serve`: the playground page and its JSON API on this machine (127.0.0.1 unless
--host says otherwise), from the standard library's threading HTTP server — one local user's
requests need no more, and the core install stays lark, sympy and numpy.

Routes: GET / (the page), GET /static/<file> (its script and style, from the package: nothing
from a network), GET /api/examples, GET /api/rules (each rule's statement, for the steps'
citations), POST /api/derive (the JSON of docs/json.md; 422 with the error's JSON for bad
input, 413 past MAX_REQUEST_BYTES, 503 with a LimitError past a worker's limits).

Invariants: every derivation runs in a worker with a time and a memory limit (work.py), at most
MAX_WORKERS at once; a request is read only up to MAX_REQUEST_BYTES; static files are served
from a fixed list, never from a path the request names.
"""

from __future__ import annotations

import json
import threading
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from matgrad.ir.text import to_text
from matgrad.rewrite.rules import load_rules
from matgrad.serve.examples import EXAMPLES
from matgrad.serve.work import Workers

STATIC = Path(__file__).resolve().parent / "static"
FILES = {"/": ("index.html", "text/html; charset=utf-8"),
         "/static/page.js": ("page.js", "text/javascript; charset=utf-8"),
         "/static/page.css": ("page.css", "text/css; charset=utf-8")}
MAX_REQUEST_BYTES = 256 * 1024
MAX_WORKERS = 8


def rules_json() -> dict[str, Any]:
    return {rule.name: {"statement": f"{to_text(rule.lhs)} ⟹ {to_text(rule.rhs)}",
                        "cites": list(rule.cites), "phase": rule.phase}
            for rule in load_rules().rules}


class Playground(ThreadingHTTPServer):
    daemon_threads = True
    # Connections waiting to be accepted: socketserver's 5 reset the 6th of 16 clients that
    # connected at once while the machine was busy (seen in the test of 16 clients).
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], workers: Workers) -> None:
        super().__init__(address, Handler)
        self.workers = workers
        self.slots = threading.BoundedSemaphore(MAX_WORKERS)
        self.rules = json.dumps(rules_json(), ensure_ascii=False).encode()
        self.examples = json.dumps(EXAMPLES, ensure_ascii=False).encode()


class Handler(BaseHTTPRequestHandler):
    server: Playground
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the page polls on every keystroke

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        # Nothing but the page's own files: no script or style from elsewhere.
        self.send_header("Content-Security-Policy", "default-src 'self'")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, found: Any) -> None:
        self._send(status, json.dumps(found, ensure_ascii=False).encode(),
                   "application/json; charset=utf-8")

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path in FILES:
            name, content_type = FILES[path]
            self._send(HTTPStatus.OK, (STATIC / name).read_bytes(), content_type)
        elif path == "/api/rules":
            self._send(HTTPStatus.OK, self.server.rules, "application/json; charset=utf-8")
        elif path == "/api/examples":
            self._send(HTTPStatus.OK, self.server.examples, "application/json; charset=utf-8")
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no page at {path}"})

    def do_POST(self) -> None:
        if self.path != "/api/derive":
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no API at {self.path}"})
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_REQUEST_BYTES:
            self.close_connection = True
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length > MAX_REQUEST_BYTES
                       else HTTPStatus.BAD_REQUEST,
                       {"error": f"a request holds 1 to {MAX_REQUEST_BYTES} bytes of JSON"})
            return
        try:
            request = json.loads(self.rfile.read(length))
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            self._json(HTTPStatus.BAD_REQUEST, {"error": "the request is not a JSON object"})
            return
        with self.server.slots:
            found = self.server.workers.run(request)
        error = found.get("error")
        status = HTTPStatus.OK if error is None else (
            HTTPStatus.SERVICE_UNAVAILABLE if error.get("type") == "LimitError"
            else HTTPStatus.UNPROCESSABLE_ENTITY)
        self._json(status, found)


def serve(host: str = "127.0.0.1", port: int = 8000, open_page: bool = False,
          workers: Workers | None = None) -> None:
    """Serve the playground until interrupted."""
    server = Playground((host, port), workers or Workers())
    address = f"http://{host}:{server.server_address[1]}/"
    print(f"matgrad playground at {address} (Ctrl-C stops it)", flush=True)
    if open_page:
        webbrowser.open(address)
    try:
        server.serve_forever()
    finally:
        server.server_close()
