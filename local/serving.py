"""Serving the local stack over HTTP on 127.0.0.1: the API as API Gateway would
(``python -m local api``), and the operator console with the API beside it (``python -m local
console``)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from console.server import ConsoleServer, Forward, serve_until_interrupted
from ecwid_cloner.models import Scope
from local.api_gateway import STAGE, refusal, response_parts, rest_event
from local.sigv4 import SigV4Verifier

Say = Callable[[str], None]


def api_answer(
    stack: Any,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    verifier: SigV4Verifier | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request to the local API, as API Gateway answers it: a route the template does not
    declare is refused (403), then the signature when ``verifier`` checks it, then the real
    ApiFunction gets the proxy event. ``path`` starts with the stage: /v1/clones?status=..."""
    answer = refusal(method, path)
    if answer is None and verifier is not None:
        host = next((value for name, value in headers.items() if name.lower() == "host"), "127.0.0.1")
        answer = verifier.refusal(method, f"http://{host}{path}", headers, body)
    if answer is None:
        answer = stack.invoke_raw("ApiFunction", rest_event(method, path, body, headers))
    return response_parts(answer)


def serve_api(stack: Any, port: int, say: Say, verifier: SigV4Verifier | None = None) -> None:
    """The API on http://127.0.0.1:PORT/v1 until Ctrl-C."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            status, headers, payload = api_answer(
                stack, self.command, self.path, body, dict(self.headers.items()), verifier
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def __getattr__(self, name: str):
            if name.startswith("do_"):  # every method, as API Gateway takes any (and refuses the undeclared)
                return self._serve
            raise AttributeError(name)

        def log_message(self, format, *values):
            say(f"{self.command} {self.path} -> {values[1] if len(values) > 1 else ''}")

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    checked = ", SigV4 verified" if verifier else ""
    say(
        f"store-cloner API on http://127.0.0.1:{server.server_address[1]}/{STAGE} "
        f"({'Ecwid sandbox' if stack.sandbox else 'Ecwid'} at {stack.ecwid_base_url}{checked}; Ctrl-C stops)"
    )
    serve_until_interrupted(server)


def stack_forward(stack: Any) -> Forward:
    """The console's /v1, answered by the local stack's API (same origin: no signing here)."""

    def forward(method: str, under: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, dict, bytes]:
        return api_answer(stack, method, f"/{STAGE}{under}", body, {"Content-Type": "application/json", **headers})

    return forward


def console_server(stack: Any, port: int = 0, refresh_seconds: float = 2.0, say: Say | None = None) -> ConsoleServer:
    ecwid = "Ecwid sandbox" if stack.sandbox else f"Ecwid at {stack.ecwid_base_url}"
    config = {"mode": "local", "api": f"local stack, {ecwid}", "auth": "none", "refreshSeconds": refresh_seconds}
    return ConsoleServer(stack_forward(stack), config, port=port, log=say)


def start_demo_clones(stack: Any, count: int, every_seconds: float, say: Say) -> threading.Thread:
    """A small campaign for the console to show, started through the API as a signup system
    would: every other clone a new merchant's store (with its Instant Site), the others into
    empty sandbox stores."""

    def run() -> None:
        for number in range(count):
            if number % 2:
                body: dict[str, Any] = {
                    "sourceStoreId": 1003,
                    "merchant": {"email": f"demo-{number}@example.com", "name": f"Demo Merchant {number}"},
                    "instantSite": {"draft": True},
                }
            else:
                body = {"sourceStoreId": 1003, "targetStoreId": 2001 + number, "scope": Scope.CATALOG}
            status, _, payload = api_answer(
                stack, "POST", f"/{STAGE}/clones", json.dumps(body).encode(), {"Content-Type": "application/json"}
            )
            if status >= 300:
                say(f"demo clone {number} not started: {status} {payload[:200]!r}")
            time.sleep(every_seconds)

    thread = threading.Thread(target=run, name="demo-clones", daemon=True)
    thread.start()
    return thread
