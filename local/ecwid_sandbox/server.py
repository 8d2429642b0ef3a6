"""The HTTP face of the sandbox: the Clone Store API, the Instant Site API, a small admin API.

Request order on /api/v3/stores/clone: rate limit -> injected faults (slow, drop, 5xx,
429, malformed) -> auth -> params -> pre-flight checks (stores.py) -> queued errorCode
fault -> ticket. Faults come before auth because they stand for the network and the
gateway in front of Ecwid, which answer whatever the request carries.

The Instant Site API (https://vuega.ecwid.com/api/v1) is served under /instantsite/api/v1,
in the same order: rate limit -> faults ("instant_site") -> then
- POST /oauth/token?grant_type=authorization_code&site_id=S&code=SECRET: params (400) ->
  site (404) -> code (401) -> 200 {"accessToken", "tokenType": "bearer", "expiresIn"};
- POST /{storeId}/clone, Authorization: Bearer TOKEN, body {"source", "draft"}: token of
  that store, live (401) -> the store's scopes (403) -> body (400) -> source (404) ->
  200 {"success": true, "draft", "source"}.
Their requests count against the app's window, as the Clone Store API's do: the
store tokens they carry are the app's.

The Reseller API (https://my.ecwid.com/resellerapi/v1) is served under /resellerapi/v1 by
reseller.py, which also says how a suspended store answers (402).
"""

from __future__ import annotations

import gzip
import hmac
import json
import math
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import reseller
from .faults import DROP, ERROR_5XX, MALFORMED, RATE_429, Faults
from .refusals import InstantSiteError, ProfileError, Refusal
from .stores import (
    CATALOG,
    SCOPES,
    STORE_SETTINGS,
    CloneError,
    StoreCreationError,
    StoreRegistry,
    StoreShape,
    seed_default_stores,
)

API_PREFIX = "/api/v3"
CLONE_PATH = API_PREFIX + "/stores/clone"
STORES_PATH = API_PREFIX + "/stores"  # create a store (POST), is an e-mail taken (GET ?email=)
CREATE_STORE_FAULTS = "create_store"
# The app scopes of the store-creation endpoints (Partner API).
CREATE_STORES = "create_stores"
READ_STORES = "read_stores"
INSTANT_SITE_PREFIX = "/instantsite/api/v1"  # stands for https://vuega.ecwid.com/api/v1
INSTANT_SITE_TOKEN_PATH = INSTANT_SITE_PREFIX + "/oauth/token"
_INSTANT_SITE_CLONE_PATH = re.compile(re.escape(INSTANT_SITE_PREFIX) + r"/([0-9]{1,18})/clone")
_INSTANT_SITE_PROFILE_PATH = re.compile(re.escape(INSTANT_SITE_PREFIX) + r"/([0-9]{1,18})/profile")
_STORE_PROFILE_PATH = re.compile(re.escape(API_PREFIX) + r"/([0-9]{1,18})/profile")
PROFILE_FAULTS = "profile"  # the Faults endpoint of GET/PUT /api/v3/{storeId}/profile
INSTANT_SITE_FAULTS = "instant_site"  # the Faults endpoint of both Instant Site calls
ADMIN_PREFIX = "/_sandbox"
CLIENT_ID_HEADER = "X-Ecwid-App-Client-Id"
SECRET_HEADER = "X-Ecwid-App-Secret-Key"
JSON_TYPE = "application/json;charset=utf-8"
REDACTED = "***"

_STORE_ID = re.compile(r"[0-9]{1,18}")  # what the sandbox accepts as a store id


@dataclass
class SandboxConfig:
    client_id: str = "sandbox-client-id"
    client_secret: str = "sandbox-client-secret"
    queued_seconds: float = 0.5  # time a ticket stays QUEUED
    clone_seconds: float = 3.0  # time from the POST to COMPLETED (total duration)
    seed: int = 1  # random seed for ticket ids and fault draws
    # Per app, over a sliding minute, every API alike; past it: 429 + Retry-After.
    rate_limit_per_minute: int | None = None
    # Ecwid's minute; a local run that shrinks its waits shrinks this alike (0.1: a 6 s "minute").
    rate_limit_window_seconds: float = 60.0
    instant_site_token_seconds: int = 3600  # Instant Site access token lifetime (expiresIn)
    # The partner app's scopes for creating stores; False: the partner's plan does not allow it (402).
    app_scopes: tuple[str, ...] = (CREATE_STORES, READ_STORES)
    store_creation_allowed: bool = True
    # The partner's Reseller API key (a credential of its own) and its channel ID.
    reseller_key: str = "sandbox-reseller-key"
    partner_id: str = "sandbox-partner"
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port


class _BadParam(Exception):
    pass


def _positive_id(name: str, value: str | None) -> int:
    """A store id query parameter, or _BadParam naming it."""
    if value is None or value == "":
        raise _BadParam(f"Parameter {name} is required")
    if not _STORE_ID.fullmatch(value) or int(value) == 0:
        raise _BadParam(f"Parameter {name} must be a positive integer, got {value[:40]!r}")
    return int(value)


class _RateLimiter:
    """A sliding window per app (its client id), as Ecwid counts: every request that
    passes counts, whatever it is then answered; rejected requests take no slot.

    It also keeps the time of every request it let through, so that a test can
    read the busiest window (``peak``), rate limit on or off.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        self._passed: dict[str, list[float]] = {}

    def check(self, key: str, limit: int | None, window: float) -> int | None:
        """None if the request may go on, else the seconds until a slot frees."""
        with self._lock:
            now = time.monotonic()  # under the lock: the windows stay in time order
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if limit is not None and len(hits) >= limit:
                if not hits:  # limit 0: nothing ever passes
                    return max(1, math.ceil(window))
                return max(1, math.ceil(hits[0] + window - now))
            hits.append(now)
            self._passed.setdefault(key, []).append(now)
            return None

    def peak(self, key: str, window: float) -> int:
        """The most requests of ``key`` let through within any ``window`` seconds."""
        with self._lock:
            times = sorted(self._passed.get(key, ()))
        start, best = 0, 0
        for end, at in enumerate(times):  # appended in time order
            while times[start] <= at - window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def reset_history(self) -> None:
        with self._lock:
            self._passed.clear()


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a slow (sleeping) request never blocks stop()
    request_queue_size = 512  # a burst of clients must queue, not be refused
    sandbox: EcwidSandbox

    def handle_error(self, request, client_address) -> None:
        # Clients that time out and hang up are normal here; keep stderr quiet.
        if self.sandbox.log_to_stderr:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API gateway does
    server_version = "EcwidSandbox/1.0"
    server: _Server

    # ---- plumbing -------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def log_message(self, format: str, *args) -> None:
        # Headers (the app secret, the bearer token) are never logged; see log_request for the query.
        if self.server.sandbox.log_to_stderr:
            sys.stderr.write(f"[ecwid-sandbox] {self.address_string()} {format % args}\n")

    def parse_request(self) -> bool:
        self._entry: dict[str, Any] = {}  # so a request that fails to parse does not log the previous one's line
        return super().parse_request()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The raw request line would carry the Instant Site `code`: log the redacted query.
        entry = getattr(self, "_entry", {})
        if not entry:  # never dispatched: keep the path only
            target = self.requestline.split("?", 1)[0]
        else:
            query = "&".join(f"{k}={v}" for k, v in entry["query"].items())
            target = f"{self.command} {entry['path']}{'?' + query if query else ''} {self.request_version}"
        self.log_message('"%s" %s %s', target, str(getattr(code, "value", code)), str(size))

    def _dispatch(self, method: str) -> None:
        sbx = self.server.sandbox
        url = urlsplit(self.path)
        self._query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        presented = (
            self.headers.get(SECRET_HEADER),
            self._bearer_token(),
            self._query.get("code"),
            self._query.get("key"),
        )
        self._entry = {
            "time": time.time(),
            "method": method,
            "path": url.path,
            "query": sbx._redact(self._query, presented),
            "clientId": sbx._redact_value(self.headers.get(CLIENT_ID_HEADER), presented),
            "status": None,
            "errorCode": None,
            "fault": None,
        }
        self._recorded = False
        try:
            self._body = self._read_body()
            instant_site_clone = _INSTANT_SITE_CLONE_PATH.fullmatch(url.path)
            instant_site_profile = _INSTANT_SITE_PROFILE_PATH.fullmatch(url.path)
            store_profile = _STORE_PROFILE_PATH.fullmatch(url.path)
            suspended = reseller.refused_as_suspended(sbx, url.path, self._bearer_token() or self._query.get("token"))
            if url.path.startswith(reseller.RESELLER_PREFIX + "/"):
                self._reseller_call(method, url.path)
            elif suspended is not None:
                self._refuse_suspended(suspended)
            elif url.path == CLONE_PATH and method in ("GET", "POST"):
                self._clone_endpoint(method)
            elif url.path == STORES_PATH and method in ("GET", "POST"):
                self._stores_endpoint(method)
            elif url.path == INSTANT_SITE_TOKEN_PATH and method == "POST":
                self._instant_site_token()
            elif instant_site_clone and method == "POST":
                self._instant_site_clone(int(instant_site_clone.group(1)))
            elif instant_site_profile and method == "PUT":
                self._instant_site_profile(int(instant_site_profile.group(1)))
            elif store_profile and method in ("GET", "PUT"):
                self._store_profile(method, int(store_profile.group(1)))
            elif url.path.startswith(ADMIN_PREFIX + "/"):
                self._admin(method, url.path[len(ADMIN_PREFIX) :])
            else:
                self._send_json(404, {"errorMessage": f"Resource not found: {method} {url.path}"})
        finally:
            self._record()  # answers that sent nothing (a dropped connection, an exception)

    def _record(self) -> None:
        if not self._recorded:
            self._recorded = True
            self.server.sandbox._record(self._entry)

    def _read_body(self) -> bytes:
        # Read it even when unused, or the next request on this connection would parse it.
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self._entry["status"] = status
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

    def _send_json(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        self._entry["errorCode"] = payload.get("errorCode")
        self._send(status, json.dumps(payload).encode(), JSON_TYPE, headers)

    def _accepts_gzip(self) -> bool:
        for part in (self.headers.get("Accept-Encoding") or "").split(","):
            coding, _, params = part.partition(";")
            if coding.strip().lower() == "gzip":
                return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
        return False

    # ---- the Clone Store API ----------------------------------------------------

    def _clone_endpoint(self, method: str) -> None:
        if not self._passes_gateway(self.headers.get(CLIENT_ID_HEADER) or "", method.lower()):
            return
        if not self._authorized():
            body = CloneError.of("AUTH_APP_DOESNT_EXIST")
            self._send_json(body.status, body.body())
            return
        if method == "POST":
            self._post_clone()
        else:
            self._get_clone()

    def _passes_gateway(self, limiter_key: str, faults_name: str | None) -> bool:
        """The rate limit, then the injected faults (none without ``faults_name``); False when one of them answered."""
        sbx = self.server.sandbox
        retry_after = sbx._limiter.check(
            limiter_key, sbx.config.rate_limit_per_minute, sbx.config.rate_limit_window_seconds
        )
        if retry_after is not None:
            self._entry["fault"] = "rate_limit"
            self._send_json(429, {"errorMessage": "Too many requests"}, {"Retry-After": str(retry_after)})
            return False
        if faults_name is None:
            return True
        faults = sbx.faults
        slow = faults.draw_slow(faults_name)
        if slow is not None:
            self._entry["fault"] = "slow"
            time.sleep(slow)
        fault = faults.draw_request_fault(faults_name)
        if fault is not None:
            self._entry["fault"] = fault
            self._answer_fault(fault, faults, faults.endpoint(faults_name).retry_after_seconds)
            return False
        return True

    def _answer_fault(self, fault: str, faults: Faults, retry_after: int | None) -> None:
        if fault == DROP:
            # No status line at all: the client sees the connection close.
            self.close_connection = True
            self._entry["status"] = None
        elif fault == ERROR_5XX:
            status = faults.choice([500, 502, 503])
            if faults.choice([True, False]):
                body, ctype = f"{status} Server Error".encode(), "text/plain;charset=utf-8"
            else:
                body = f"<html><body><h1>{status}</h1><p>Server error</p></body></html>".encode()
                ctype = "text/html;charset=utf-8"
            self._send(status, body, ctype)
        elif fault == RATE_429:
            headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
            self._send_json(429, {"errorMessage": "Too many requests"}, headers)
        elif fault == MALFORMED:
            # Claims JSON but is not: clients must not trust the Content-Type.
            body = faults.choice([b"<html>oops</html>", b'{"ticket": "', b"null garbage"])
            self._send(200, body, JSON_TYPE)

    def _authorized(self) -> bool:
        cfg = self.server.sandbox.config
        client_id = self.headers.get(CLIENT_ID_HEADER)
        secret = self.headers.get(SECRET_HEADER)
        if client_id is None or secret is None:
            return False
        # Constant-time compare, so the sandbox does not model a timing leak.
        same_id = hmac.compare_digest(client_id.encode(), cfg.client_id.encode())
        same_secret = hmac.compare_digest(secret.encode(), cfg.client_secret.encode())
        return same_id and same_secret

    def _post_clone(self) -> None:
        sbx = self.server.sandbox
        try:
            source_id, target_id, scope, clone_demo = self._clone_params()
        except _BadParam as exc:
            self._send_json(400, {"success": False, "errorMessage": str(exc)})
            return
        try:
            ticket = sbx._registry.start_clone(
                source_id,
                target_id,
                scope,
                clone_demo,
                queued_seconds=sbx.config.queued_seconds,
                clone_seconds=sbx.config.clone_seconds,
                injected_error=sbx.faults.pop_error_code,
                draw_outcome=sbx.faults.draw_ticket_outcome,
            )
        except CloneError as exc:
            self._send_json(exc.status, exc.body())
            return
        self._entry["ticket"] = ticket.ticket
        self._send_json(200, {"ticket": ticket.ticket, "success": True})

    def _clone_params(self) -> tuple[int, int, frozenset[str], bool]:
        q = self._query

        source_id = _positive_id("sourceStoreId", q.get("sourceStoreId"))
        target_id = _positive_id("targetStoreId", q.get("targetStoreId"))
        raw_scope = q.get("scope")
        if raw_scope is None or raw_scope == "":
            scope = frozenset(SCOPES)  # the spec: not specified = settings and catalog
        elif raw_scope in (CATALOG, STORE_SETTINGS):
            scope = frozenset([raw_scope])
        else:
            raise _BadParam(f"Parameter scope must be CATALOG or STORE_SETTINGS, got {raw_scope[:40]!r}")
        raw_demo = q.get("cloneDemoCatalog")
        if raw_demo is None or raw_demo == "":
            clone_demo = False
        elif raw_demo.lower() in ("true", "false"):
            clone_demo = raw_demo.lower() == "true"
        else:
            raise _BadParam(f"Parameter cloneDemoCatalog must be true or false, got {raw_demo[:40]!r}")
        return source_id, target_id, scope, clone_demo

    def _get_clone(self) -> None:
        ticket = self._query.get("ticket")
        if not ticket:
            self._send_json(400, {"success": False, "errorMessage": "Parameter ticket is required"})
            return
        answer = self.server.sandbox._registry.answer(ticket)
        if answer is None:
            self._send_json(404, {"errorMessage": f"Ticket {ticket[:100]} not found"})
            return
        self._send_json(200, answer)

    # ---- creating stores (Partner API, REST v3) ----------------------------------

    def _stores_endpoint(self, method: str) -> None:
        """POST /stores?returnApiToken=true {"merchant": {...}}; GET /stores?email=."""
        sbx = self.server.sandbox
        if not self._passes_gateway(self.headers.get(CLIENT_ID_HEADER) or "", CREATE_STORE_FAULTS):
            return
        if not self._authorized():
            self._send_json(403, {"errorCode": "FORBIDDEN", "errorMessage": "Application is not authorized"})
            return
        needed = CREATE_STORES if method == "POST" else READ_STORES
        if needed not in sbx.config.app_scopes:
            self._send_json(403, {"errorCode": "FORBIDDEN", "errorMessage": f"The app has no {needed} scope"})
            return
        if method == "GET":
            email = self._query.get("email") or ""
            # Ecwid's own answer: an empty object when the e-mail has a store, 404 when not.
            if email and sbx._registry.has_owner_email(email):
                self._send_json(200, {})
            else:
                self._send_json(404, {"errorMessage": "Store not found"})
            return
        if not sbx.config.store_creation_allowed:
            self._send_json(
                402, {"errorCode": "PAYMENT_REQUIRED", "errorMessage": "Your plan does not allow creating stores"}
            )
            return
        try:
            email, name, ip = self._merchant_body()
            store_id, token = sbx._registry.create_store(email, name, ip)
        except StoreCreationError as exc:
            self._send_json(exc.status, exc.body())
            return
        self._entry["storeId"] = store_id
        if sbx.faults.draw_answer_lost(CREATE_STORE_FAULTS):
            self._entry["fault"] = "answer_lost"
            self.close_connection = True  # made, and no answer: the client sees the connection close
            return
        answer: dict = {"id": store_id}
        if self._query.get("returnApiToken", "").lower() == "true":
            answer["token"] = token
        self._send_json(200, answer)

    def _merchant_body(self) -> tuple[Any, Any, str | None]:
        # email and name as sent: create_store checks them (a 400 names which is wrong)
        try:
            data = json.loads(self._body)
        except ValueError:
            raise StoreCreationError(400, "INVALID_REQUEST", "Request body must be JSON") from None
        merchant = data.get("merchant") if isinstance(data, dict) else None
        if not isinstance(merchant, dict):
            raise StoreCreationError(400, "INVALID_REQUEST", "Field merchant is required and must be an object")
        password = merchant.get("password")
        if password is not None and (not isinstance(password, str) or len(password) < 6):
            raise StoreCreationError(400, "INVALID_PASSWORD", "merchant.password must have at least 6 characters")
        ip = merchant.get("ip")
        return merchant.get("email"), merchant.get("name"), ip if isinstance(ip, str) else None

    # ---- the Reseller API (reseller.py) ----------------------------------------------

    def _reseller_call(self, method: str, path: str) -> None:
        sbx = self.server.sandbox
        # The partner's one account: its calls count in the same window as its app's.
        if not self._passes_gateway(sbx.config.client_id, reseller.RESELLER_FAULTS):
            return
        answer = reseller.answer(sbx, method, path, self._query, self._body)
        if answer.store_id is not None:
            self._entry["storeId"] = answer.store_id
        self._send(answer.status, answer.body, answer.content_type)

    def _refuse_suspended(self, store_id: int) -> None:
        """A REST v3 call with a suspended store's own token: 402, past the rate limit."""
        if self._passes_gateway(self.server.sandbox.config.client_id, None):
            self._entry["storeId"] = store_id
            self._send_json(402, {"errorMessage": f"Store #{store_id} is suspended"})

    # ---- the Instant Site API -----------------------------------------------------

    def _instant_site_token(self) -> None:
        sbx = self.server.sandbox
        q = self._query
        if not self._passes_gateway(sbx.config.client_id, INSTANT_SITE_FAULTS):
            return
        try:
            grant_type = q.get("grant_type")
            if not grant_type:
                raise _BadParam("Parameter grant_type is required")
            if grant_type != "authorization_code":
                raise _BadParam(f"Parameter grant_type must be authorization_code, got {grant_type[:40]!r}")
            site_id = _positive_id("site_id", q.get("site_id"))
        except _BadParam as exc:
            self._send_json(400, {"errorMessage": str(exc)})
            return
        lifetime = sbx.config.instant_site_token_seconds
        try:
            token = sbx._registry.issue_instant_site_token(site_id, q.get("code"), lifetime)
        except InstantSiteError as exc:
            self._send_json(exc.status, exc.body())
            return
        body = {"accessToken": token, "tokenType": "bearer", "expiresIn": lifetime}
        self._send_json(200, body, {"Cache-Control": "no-store"})

    def _instant_site_clone(self, target_id: int) -> None:
        sbx = self.server.sandbox
        if not self._passes_gateway(sbx.config.client_id, INSTANT_SITE_FAULTS):
            return
        try:
            sbx._registry.check_instant_site_access(target_id, self._bearer_token())
            source_id, draft = self._instant_site_clone_body()
            sbx._registry.clone_instant_site(target_id, source_id, draft)
        except InstantSiteError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            self._send_json(exc.status, exc.body(), headers)
            return
        self._send_json(200, {"success": True, "draft": draft, "source": source_id})

    def _instant_site_profile(self, store_id: int) -> None:
        """PUT /{storeId}/profile with the site's access token: a partial update of the site's profile."""
        sbx = self.server.sandbox
        if not self._passes_gateway(sbx.config.client_id, INSTANT_SITE_FAULTS):
            return
        try:
            sbx._registry.update_site_profile(store_id, self._bearer_token(), self._json_body_or(InstantSiteError))
        except InstantSiteError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            self._send_json(exc.status, exc.body(), headers)
            return
        self._send_json(200, {"success": True})

    # ---- the store profile (REST v3, the store's own token) ---------------------------

    def _store_profile(self, method: str, store_id: int) -> None:
        """GET or PUT /{storeId}/profile, Authorization: Bearer <the store's secret token>.
        Rate limit and faults ("profile") -> token (401) -> scope (403) -> body (400) -> {"updateCount": 1}."""
        sbx = self.server.sandbox
        # The store's token is the app's (issued to it for that store): one window with every other call.
        if not self._passes_gateway(sbx.config.client_id, PROFILE_FAULTS):
            return
        try:
            if method == "GET":
                self._send_json(200, sbx._registry.store_profile(store_id, self._bearer_token()))
                return
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if content_type != "application/json":
                raise ProfileError(415, "Unsupported content-type: expected application/json")
            sbx._registry.update_store_profile(store_id, self._bearer_token(), self._json_body_or(ProfileError))
        except ProfileError as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            self._send_json(exc.status, exc.body(), headers)
            return
        self._send_json(200, {"updateCount": 1})

    def _json_body_or(self, error: type[Refusal]) -> Any:
        """The request's JSON body, or ``error`` 400."""
        try:
            return json.loads(self._body)
        except ValueError:
            raise error(400, "Request body must be JSON") from None

    def _instant_site_clone_body(self) -> tuple[int, bool]:
        """{"source": positive int, "draft": bool}; other fields are ignored."""
        try:
            data = json.loads(self._body)
        except ValueError:
            raise InstantSiteError(400, "Request body must be JSON") from None
        if not isinstance(data, dict):
            raise InstantSiteError(400, "Request body must be a JSON object")
        source = data.get("source")
        if isinstance(source, bool) or not isinstance(source, int) or not 0 < source < 10**18:
            raise InstantSiteError(400, f"Field source must be a positive integer, got {json.dumps(source)[:40]}")
        draft = data.get("draft")
        if not isinstance(draft, bool):
            raise InstantSiteError(400, f"Field draft must be true or false, got {json.dumps(draft)[:40]}")
        return source, draft

    def _bearer_token(self) -> str | None:
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    # ---- admin API (no auth: it only listens where the sandbox does) -----------

    def _admin(self, method: str, path: str) -> None:
        sbx = self.server.sandbox
        parts = [p for p in path.split("/") if p]
        try:
            if method == "GET" and parts[:1] == ["stores"] and len(parts) > 1 and parts[2:] in ([], ["secret-token"]):
                if not _STORE_ID.fullmatch(parts[1]):
                    raise ValueError(f"store id must be an integer, got {parts[1][:40]!r}")
                store_id = int(parts[1])
                try:
                    if len(parts) == 2:
                        self._send_json(200, sbx.store(store_id))
                    else:  # for a standalone sandbox's clients, which cannot call store_secret_token
                        self._send_json(200, {"storeId": store_id, "secretToken": sbx.store_secret_token(store_id)})
                except KeyError:
                    self._send_json(404, {"errorMessage": f"Store #{parts[1]} not found"})
            elif method == "POST" and parts == ["stores"]:
                kwargs = self._json_body()
                if "storeId" not in kwargs:
                    raise ValueError("storeId is required")
                store_id = kwargs.pop("storeId")
                try:
                    sbx.add_store(store_id, **kwargs)
                except TypeError as exc:
                    raise ValueError(str(exc)) from None
                self._send_json(201, sbx.store(store_id))
            elif method == "PUT" and parts == ["faults"]:
                sbx.faults.update(self._json_body())
                self._send_json(200, sbx.faults.to_dict())
            elif method == "GET" and parts == ["faults"]:
                self._send_json(200, sbx.faults.to_dict())
            elif method == "GET" and parts == ["stats"]:
                self._send_json(200, sbx.stats())
            else:
                self._send_json(404, {"errorMessage": f"Resource not found: {method} {ADMIN_PREFIX}{path}"})
        except ValueError as exc:
            self._send_json(400, {"errorMessage": str(exc)})

    def _json_body(self) -> dict:
        try:
            data = json.loads(self._body or b"{}")
        except ValueError:
            raise ValueError("body must be JSON") from None
        if not isinstance(data, dict):
            raise ValueError("body must be a JSON object")
        return data


class EcwidSandbox:
    """An in-process Ecwid Clone Store API on 127.0.0.1, for the local stack and tests."""

    def __init__(self, config: SandboxConfig | None = None, seed_default_stores: bool = True):
        self.config = config or SandboxConfig()
        self.faults = Faults()
        self.faults.reseed(self.config.seed)
        self.log_to_stderr = False  # the CLI's --verbose turns it on
        self._registry = StoreRegistry(seed=self.config.seed)
        self._limiter = _RateLimiter()
        self._log: list[dict] = []
        self._log_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        if seed_default_stores:
            _seed(self._registry)

    # ---- lifecycle ----------------------------------------------------------------

    def start(self) -> EcwidSandbox:
        if self._server is not None:
            return self
        server = _Server((self.config.host, self.config.port), _Handler)
        server.sandbox = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="ecwid-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> EcwidSandbox:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """The API base, like https://app.ecwid.com/api/v3 (no trailing slash)."""
        return self.root_url + API_PREFIX

    @property
    def instant_site_base_url(self) -> str:
        """The Instant Site API base, like https://vuega.ecwid.com/api/v1 (no trailing slash)."""
        return self.root_url + INSTANT_SITE_PREFIX

    @property
    def reseller_base_url(self) -> str:
        """The Reseller API base, like https://my.ecwid.com/resellerapi/v1 (no trailing slash)."""
        return self.root_url + reseller.RESELLER_PREFIX

    @property
    def admin_url(self) -> str:
        return self.root_url + ADMIN_PREFIX

    # ---- state, for tests -------------------------------------------------------

    def add_store(self, store_id: int, **shape: Any) -> None:
        """Add a store shaped as ``StoreShape``'s fields say (TypeError for an unknown one)."""
        self._registry.add_store(store_id, StoreShape(**shape))

    def store_secret_token(self, store_id: int) -> str:
        """The store's secret token: the `code` of the Instant Site token call. KeyError if unknown."""
        return self._registry.secret_token(store_id)

    def store(self, store_id: int) -> dict:
        return self._registry.snapshot(store_id)

    def created_stores(self, email: str | None = None) -> list[int]:
        """Ids of the stores POST /api/v3/stores made (for one owner e-mail, or all)."""
        return self._registry.created_stores(email)

    def accepted_clones(self, target_store_id: int | None = None) -> int:
        return self._registry.accepted_clones(target_store_id)

    def set_ticket_outcome(self, ticket: str, outcome: str) -> None:
        self._registry.set_ticket_outcome(ticket, outcome)

    def request_log(self) -> list[dict]:
        with self._log_lock:
            return [dict(e, query=dict(e["query"])) for e in self._log]

    def peak_requests_per_minute(self, client_id: str | None = None) -> int:
        """The most requests the app made within any of Ecwid's minutes (the
        configured window), counted as Ecwid counts them, rate limit on or off."""
        return self._limiter.peak(client_id or self.config.client_id, self.config.rate_limit_window_seconds)

    def forget_request_times(self) -> None:
        """Start counting peaks afresh (a test that measures a burst of its own)."""
        self._limiter.reset_history()

    def stats(self) -> dict:
        with self._log_lock:
            requests = len(self._log)
            rate_limited = sum(1 for e in self._log if e["fault"] == "rate_limit")
        return {
            **self._registry.stats(),
            "faultCounts": dict(self.faults.counts),
            "requests": requests,
            "rateLimited": rate_limited,
        }

    # ---- internals ------------------------------------------------------------------

    def _record(self, entry: dict) -> None:
        with self._log_lock:
            self._log.append(entry)

    def _redact_value(self, value: str | None, presented: tuple[str | None, ...]) -> str | None:
        # A secret pasted into the wrong place must not land in the log either: the app
        # secret, any store's secret token, any access token, or what the request presented.
        if not value:
            return value
        credentials = (self.config.client_secret, self.config.reseller_key)
        if value in credentials or value in presented or self._registry.is_credential(value):
            return REDACTED
        return value

    def _redact(self, query: dict[str, str], presented: tuple[str | None, ...]) -> dict[str, str | None]:
        # `code` (the Instant Site token call's secret token) and `key` (the Reseller API's),
        # right or wrong: never logged.
        return {k: REDACTED if k in ("code", "key") else self._redact_value(v, presented) for k, v in query.items()}


_seed = seed_default_stores  # the constructor's parameter shadows the function's name
