"""The request and fault layer every API of the sandbox shares.

One `Exchange` per request (the HTTP handler): it writes the request's entry in the
request log (request_log.py), routes the request to the first `Route` that takes it
(server.py lists them, each API module gives its own), and offers the API modules what
they all answer with: JSON (and plain bodies), gzip when the client accepts it, the
gateway in front of Ecwid (`passes_gateway`: the app's rate limit, then the injected
faults of one endpoint, answered by `_answer_fault`), the app's credentials, a bearer
token, a JSON body, and `serve_token_call` for the calls made with a token the app was
issued (the store profile, the Instant Site).
"""

from __future__ import annotations

import gzip
import hmac
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .faults import DROP, ERROR_5XX, MALFORMED, RATE_429, Faults
from .refusals import Refusal
from .request_log import new_entry

if TYPE_CHECKING:
    from .server import EcwidSandbox

API_PREFIX = "/api/v3"  # Ecwid's REST API, like https://app.ecwid.com/api/v3
CLIENT_ID_HEADER = "X-Ecwid-App-Client-Id"
SECRET_HEADER = "X-Ecwid-App-Secret-Key"
JSON_TYPE = "application/json;charset=utf-8"
STORE_ID = re.compile(r"[0-9]{1,18}")  # what the sandbox accepts as a store id


class BadParam(Exception):
    """A bad query parameter; the message names it."""


def positive_id(name: str, value: str | None) -> int:
    """A store id query parameter, or BadParam naming it."""
    if value is None or value == "":
        raise BadParam(f"Parameter {name} is required")
    if not STORE_ID.fullmatch(value) or int(value) == 0:
        raise BadParam(f"Parameter {name} must be a positive integer, got {value[:40]!r}")
    return int(value)


def exact(path: str) -> re.Pattern[str]:
    """A route path that is ``path`` itself."""
    return re.compile(re.escape(path))


def under(prefix: str) -> re.Pattern[str]:
    """A route path anywhere below ``prefix``; group 1 is the rest, from its slash."""
    return re.compile(re.escape(prefix) + "(/.*)", re.DOTALL)


def of_store(prefix: str, rest: str) -> re.Pattern[str]:
    """A route path ``prefix/{storeId}rest``; group 1 is the store id."""
    return re.compile(re.escape(prefix) + r"/([0-9]{1,18})" + rest)


@dataclass(frozen=True)
class Route:
    """Requests whose path matches ``path`` whole, with one of ``methods`` (None: any), go to
    ``serve`` when ``when`` (if any) agrees; the first route that takes a request answers it."""

    methods: frozenset[str] | None
    path: re.Pattern[str]
    serve: Callable[[Exchange, re.Match[str]], None]
    when: Callable[[Exchange, re.Match[str]], bool] | None = None

    def take(self, exchange: Exchange, method: str, path: str) -> re.Match[str] | None:
        if self.methods is not None and method not in self.methods:
            return None
        match = self.path.fullmatch(path)
        if match is None or (self.when is not None and not self.when(exchange, match)):
            return None
        return match


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True  # a slow (sleeping) request never blocks stop()
    request_queue_size = 512  # a burst of clients must queue, not be refused
    sandbox: EcwidSandbox
    routes: tuple[Route, ...]

    def handle_error(self, request, client_address) -> None:
        # Clients that time out and hang up are normal here; keep stderr quiet.
        if self.sandbox.log_to_stderr:
            super().handle_error(request, client_address)


class Exchange(BaseHTTPRequestHandler):
    """One request and its answer; what the API modules read and answer with."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a real API gateway does
    server_version = "EcwidSandbox/1.0"
    server: SandboxServer
    query: dict[str, str]  # the first value of each query parameter
    body: bytes
    entry: dict[str, Any]  # this request's line in the request log

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    @property
    def sandbox(self) -> EcwidSandbox:
        return self.server.sandbox

    # ---- the request log -------------------------------------------------------

    def log_message(self, format: str, *args) -> None:
        # Headers (the app secret, the bearer token) are never logged; see log_request for the query.
        if self.server.sandbox.log_to_stderr:
            sys.stderr.write(f"[ecwid-sandbox] {self.address_string()} {format % args}\n")

    def parse_request(self) -> bool:
        self.entry = {}  # so a request that fails to parse does not log the previous one's line
        return super().parse_request()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The raw request line would carry the Instant Site `code`: log the redacted query.
        entry = getattr(self, "entry", {})
        if not entry:  # never dispatched: keep the path only
            target = self.requestline.split("?", 1)[0]
        else:
            query = "&".join(f"{k}={v}" for k, v in entry["query"].items())
            target = f"{self.command} {entry['path']}{'?' + query if query else ''} {self.request_version}"
        self.log_message('"%s" %s %s', target, str(getattr(code, "value", code)), str(size))

    def _dispatch(self) -> None:
        sbx = self.server.sandbox
        method = self.command
        url = urlsplit(self.path)
        self.query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        presented = (
            self.headers.get(SECRET_HEADER),
            self.bearer_token(),
            self.query.get("code"),
            self.query.get("key"),
        )
        self.entry = new_entry(sbx, method, url.path, self.query, self.headers.get(CLIENT_ID_HEADER), presented)
        self._recorded = False
        try:
            self.body = self._read_body()
            for route in self.server.routes:
                match = route.take(self, method, url.path)
                if match is not None:
                    route.serve(self, match)
                    break
            else:
                self.send_json(404, {"errorMessage": f"Resource not found: {method} {url.path}"})
        finally:
            self._record()  # answers that sent nothing (a dropped connection, an exception)

    def _record(self) -> None:
        if not self._recorded:
            self._recorded = True
            self.server.sandbox._log.record(self.entry)

    def _read_body(self) -> bytes:
        # Read it even when unused, or the next request on this connection would parse it.
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # ---- answers -------------------------------------------------------------------

    def send_body(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.entry["status"] = status
        if body and self._accepts_gzip():
            body = gzip.compress(body)
            headers = {**(headers or {}), "Content-Encoding": "gzip"}
        # Record before writing: once the client has the answer, the log already shows it.
        self._record()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (e.g. its timeout hit)

    def send_json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        self.entry["errorCode"] = payload.get("errorCode")
        self.send_body(status, json.dumps(payload).encode(), JSON_TYPE, headers)

    def serve_token_call(self, faults_name: str, refused: type[Refusal], call: Callable[[], dict]) -> None:
        """A call made with a bearer token the app was issued (a store's token, an Instant Site access
        token): the app's window and ``faults_name``'s faults, then 200 with what ``call`` returns, or
        the ``refused`` it raised (a 401 says which scheme it wants)."""
        if not self.passes_gateway(self.server.sandbox.config.client_id, faults_name):
            return
        try:
            answer = call()
        except refused as refusal:
            headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
            self.send_json(refusal.status, refusal.body(), headers)
            return
        self.send_json(200, answer)

    def _accepts_gzip(self) -> bool:
        for part in (self.headers.get("Accept-Encoding") or "").split(","):
            coding, _, params = part.partition(";")
            if coding.strip().lower() == "gzip":
                return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
        return False

    # ---- the gateway in front of Ecwid: rate limit, then faults ----------------------

    def passes_gateway(self, limiter_key: str, faults_name: str | None) -> bool:
        """The rate limit, then the injected faults (none without ``faults_name``); False when one of them answered."""
        sbx = self.server.sandbox
        retry_after = sbx._limiter.check(
            limiter_key, sbx.config.rate_limit_per_minute, sbx.config.rate_limit_window_seconds
        )
        if retry_after is not None:
            self.entry["fault"] = "rate_limit"
            self.send_json(429, {"errorMessage": "Too many requests"}, {"Retry-After": str(retry_after)})
            return False
        if faults_name is None:
            return True
        faults = sbx.faults
        slow = faults.draw_slow(faults_name)
        if slow is not None:
            self.entry["fault"] = "slow"
            time.sleep(slow)
        fault = faults.draw_request_fault(faults_name)
        if fault is not None:
            self.entry["fault"] = fault
            self._answer_fault(fault, faults, faults.endpoint(faults_name).retry_after_seconds)
            return False
        return True

    def _answer_fault(self, fault: str, faults: Faults, retry_after: int | None) -> None:
        if fault == DROP:
            # No status line at all: the client sees the connection close.
            self.close_connection = True
            self.entry["status"] = None
        elif fault == ERROR_5XX:
            status = faults.choice([500, 502, 503])
            if faults.choice([True, False]):
                body, ctype = f"{status} Server Error".encode(), "text/plain;charset=utf-8"
            else:
                body = f"<html><body><h1>{status}</h1><p>Server error</p></body></html>".encode()
                ctype = "text/html;charset=utf-8"
            self.send_body(status, body, ctype)
        elif fault == RATE_429:
            headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
            self.send_json(429, {"errorMessage": "Too many requests"}, headers)
        elif fault == MALFORMED:
            # Claims JSON but is not: clients must not trust the Content-Type.
            body = faults.choice([b"<html>oops</html>", b'{"ticket": "', b"null garbage"])
            self.send_body(200, body, JSON_TYPE)

    # ---- what the request carries ------------------------------------------------------

    def app_authorized(self) -> bool:
        """Whether the request carries the app's client id and secret (the Clone and Partner APIs)."""
        cfg = self.server.sandbox.config
        client_id = self.headers.get(CLIENT_ID_HEADER)
        secret = self.headers.get(SECRET_HEADER)
        if client_id is None or secret is None:
            return False
        # Constant-time compare, so the sandbox does not model a timing leak.
        same_id = hmac.compare_digest(client_id.encode(), cfg.client_id.encode())
        same_secret = hmac.compare_digest(secret.encode(), cfg.client_secret.encode())
        return same_id and same_secret

    def bearer_token(self) -> str | None:
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    def json_body_or(self, error: type[Refusal]) -> Any:
        """The request's JSON body, or ``error`` 400."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise error(400, "Request body must be JSON") from None
