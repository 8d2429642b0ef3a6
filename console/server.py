"""The console's HTTP server: the page at /, the API beside it at /v1 (same origin).

What answers /v1 is a ``Forward``: the operator tool's signing proxy to a deployed API, or the
local stack's API Gateway. Either way the page never holds a credential: it calls /v1 on the
server that served it, and whatever signs, signs here.

The server listens on loopback only. A page on another site can still make the operator's
browser send it requests, by name (DNS rebinding: evil.example resolving to 127.0.0.1) or by
address; so a request whose Host is not this server's own loopback address and port is refused,
and so is one a browser marks as sent from another site.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

STATIC = Path(__file__).resolve().parent / "static"
API_PREFIX = "/v1"
LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 64 * 1024  # the API refuses more than 16 KiB itself; this only bounds what is read
# The page's files, and what they are: nothing else is served.
PAGES = {"/": "index.html", "/console.js": "console.js", "/console.css": "console.css", "/favicon.svg": "favicon.svg"}
SECURITY_HEADERS = {
    # Scripts and styles from this server only: nothing inline, nothing from elsewhere.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# The answer's headers passed back to the page: what it reads, never what the API's edge adds.
PASSED_HEADERS = ("content-type", "retry-after")

# (method, path and query under /v1 — "/clones?status=FAILED" —, body, headers) -> (status, headers, body)
Forward = Callable[[str, str, bytes | None, dict[str, str]], tuple[int, dict[str, str], bytes]]


@dataclass
class ConsoleServer:
    """``with ConsoleServer(forward, config).start() as console:`` serves at ``console.url``."""

    forward: Forward
    config: dict[str, Any] = field(default_factory=dict)  # what the page shows of its setting (no credential)
    port: int = 0
    log: Callable[[str], None] | None = None
    _server: ThreadingHTTPServer | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.bound_port}/"

    @property
    def bound_port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    def allowed_hosts(self) -> frozenset[str]:
        """This server's own names: its loopback address and port (and localhost, which browsers
        resolve to loopback themselves)."""
        return frozenset({f"{LOOPBACK}:{self.bound_port}", f"localhost:{self.bound_port}"})

    def bind(self) -> ConsoleServer:
        """Take the port (on loopback only: never another interface)."""
        if self._server is None:
            self._server = ThreadingHTTPServer((LOOPBACK, self.port), _handler(self))
            self._server.daemon_threads = True
        return self

    def start(self) -> ConsoleServer:
        """Serve on a thread of its own."""
        server = self.bind()._server
        assert server is not None
        threading.Thread(target=server.serve_forever, name="console", daemon=True).start()
        return self

    def serve_forever(self) -> None:
        """Serve on the calling thread until Ctrl-C."""
        server = self.bind()._server
        assert server is not None
        serve_until_interrupted(server)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> ConsoleServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def refusal(self, headers: dict[str, str]) -> str | None:
        """Why this request may not be served (None: it may)."""
        host = headers.get("host", "")
        if host not in self.allowed_hosts():
            return f"Host {host!r} is not this console's address (http://{LOOPBACK}:{self.bound_port})"
        if headers.get("sec-fetch-site") in ("cross-site", "same-site"):
            return "requests from another site are not served"
        origin = headers.get("origin")
        if origin is not None and urlsplit(origin).netloc not in self.allowed_hosts():
            return f"Origin {origin!r} is not this console"
        return None  # a page of its own, or no browser at all (curl, a script)


def serve_until_interrupted(server: ThreadingHTTPServer) -> None:
    """Serve on the calling thread until Ctrl-C, then let the port go."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _handler(console: ConsoleServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "store-cloner-console"
        sys_version = ""

        def _serve(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            refused = console.refusal(headers)
            if refused is not None:
                self._answer(403, {"Content-Type": "application/json"}, _message(refused))
                return
            path = urlsplit(self.path).path
            if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                self._forward(headers)
            elif self.command in ("GET", "HEAD") and path == "/config.json":
                self._answer(200, {"Content-Type": "application/json"}, json.dumps(console.config).encode())
            elif self.command in ("GET", "HEAD") and path in PAGES:
                self._static(PAGES[path])
            else:
                self._answer(404, {"Content-Type": "application/json"}, _message(f"{path} is not served here"))

        def _forward(self, headers: dict[str, str]) -> None:
            length = int(headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                self._answer(413, {"Content-Type": "application/json"}, _message("Request body too large"))
                return
            body = self.rfile.read(length) if length else None
            under = self.path[len(API_PREFIX) :] or "/"
            if ".." in urlsplit(under).path.split("/"):
                self._answer(400, {"Content-Type": "application/json"}, _message("a path with .. is not forwarded"))
                return
            # Only what the API reads is passed on: never the browser's cookies or other headers.
            sent = {name: headers[name] for name in ("content-type",) if name in headers}
            try:
                status, answer_headers, payload = console.forward(self.command, under, body, sent)
            except Exception as exc:  # the API did not answer: say so, as a gateway would
                status, answer_headers = 502, {"Content-Type": "application/json"}
                payload = _message(f"the API did not answer ({type(exc).__name__})")
            passed = {name: value for name, value in answer_headers.items() if name.lower() in PASSED_HEADERS}
            self._answer(status, passed, payload)
            if console.log and (self.command != "GET" or status >= 500):
                console.log(f"{self.command} {self.path} -> {status}")

        def _static(self, name: str) -> None:
            content = (STATIC / name).read_bytes()
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self._answer(200, {"Content-Type": f"{kind}; charset=utf-8" if kind.startswith("text/") else kind}, content)

        def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            for name, value in {**SECURITY_HEADERS, **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_HEAD = do_POST = do_DELETE = do_PUT = do_PATCH = _serve

        def log_message(self, format: str, *values: Any) -> None:
            pass  # _forward logs what an operator wants to see: the actions, and the failures

    return Handler


def _message(text: str) -> bytes:
    return json.dumps({"message": text, "errors": []}).encode()
