"""The sandbox itself: `EcwidSandbox` (start, stop, its URLs, what tests read and set) and its config.

Each API it serves is a module of its own, all answering through the one request and
fault layer of exchange.py; `ROUTES` lists them in the order a request tries them:
- reseller.py: the Reseller API under /resellerapi/v1, and the 402 a suspended store's
  own calls get (first, so that no other API serves a suspended store);
- clone_api.py: the Clone Store API, POST/GET /api/v3/stores/clone;
- store_creation.py: POST /api/v3/stores and GET /api/v3/stores?email= (Partner API);
- instant_site.py: the Instant Site API under /instantsite/api/v1 (token, clone, profile);
- store_profile.py: GET/PUT /api/v3/{storeId}/profile;
- admin.py: the sandbox's control API under /_sandbox (stores, faults, stats).
Anything else is 404 {"errorMessage"}. The state behind them is registry.py's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from . import admin, clone_api, instant_site, reseller, store_creation, store_profile
from .exchange import API_PREFIX, Exchange, Route, SandboxServer
from .faults import Faults
from .rate_limit import RateLimiter
from .registry import StoreRegistry, seed_default_stores
from .request_log import RequestLog
from .store_creation import CREATE_STORES, READ_STORES
from .stores import StoreShape

ROUTES: tuple[Route, ...] = (
    *reseller.ROUTES,
    *clone_api.ROUTES,
    *store_creation.ROUTES,
    *instant_site.ROUTES,
    *store_profile.ROUTES,
    *admin.ROUTES,
)


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


class EcwidSandbox:
    """An in-process Ecwid Clone Store API on 127.0.0.1, for the local stack and tests."""

    def __init__(self, config: SandboxConfig | None = None, seed_default_stores: bool = True):
        self.config = config or SandboxConfig()
        self.faults = Faults()
        self.faults.reseed(self.config.seed)
        self.log_to_stderr = False  # the CLI's --verbose turns it on
        self._registry = StoreRegistry(seed=self.config.seed)
        self._limiter = RateLimiter()
        self._log = RequestLog()
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        if seed_default_stores:
            _seed(self._registry)

    # ---- lifecycle ----------------------------------------------------------------

    def start(self) -> EcwidSandbox:
        if self._server is not None:
            return self
        server = SandboxServer((self.config.host, self.config.port), Exchange)
        server.sandbox = self
        server.routes = ROUTES
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
        return self.root_url + instant_site.INSTANT_SITE_PREFIX

    @property
    def reseller_base_url(self) -> str:
        """The Reseller API base, like https://my.ecwid.com/resellerapi/v1 (no trailing slash)."""
        return self.root_url + reseller.RESELLER_PREFIX

    @property
    def admin_url(self) -> str:
        return self.root_url + admin.ADMIN_PREFIX

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
        return self._log.entries()

    def peak_requests_per_minute(self, client_id: str | None = None) -> int:
        """The most requests the app made within any of Ecwid's minutes (the
        configured window), counted as Ecwid counts them, rate limit on or off."""
        return self._limiter.peak(client_id or self.config.client_id, self.config.rate_limit_window_seconds)

    def forget_request_times(self) -> None:
        """Start counting peaks afresh (a test that measures a burst of its own)."""
        self._limiter.reset_history()

    def stats(self) -> dict:
        requests, rate_limited = self._log.counts()
        return {
            **self._registry.stats(),
            "faultCounts": dict(self.faults.counts),
            "requests": requests,
            "rateLimited": rate_limited,
        }


_seed = seed_default_stores  # the constructor's parameter shadows the function's name
