"""The request log: one entry a request, every API alike, with no credential in it.

An entry is {"time", "method", "path", "query", "clientId", "status", "errorCode",
"fault"} and what an API adds ("ticket", "storeId"). The query and the client id are
redacted: ``code`` (the Instant Site token call's secret token) and ``key`` (the Reseller
API's) always, any other value when it is a credential (the app secret, the reseller
key, a store's secret token, an access token) or one the request presented.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import EcwidSandbox

REDACTED = "***"


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict] = []

    def record(self, entry: dict) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict]:
        """Copies of the entries, in the order they were recorded."""
        with self._lock:
            return [dict(e, query=dict(e["query"])) for e in self._entries]

    def counts(self) -> tuple[int, int]:
        """(requests, requests the rate limit refused)."""
        with self._lock:
            return len(self._entries), sum(1 for e in self._entries if e["fault"] == "rate_limit")


def new_entry(
    sandbox: EcwidSandbox,
    method: str,
    path: str,
    query: dict[str, str],
    client_id: str | None,
    presented: tuple[str | None, ...],
) -> dict:
    """A request's entry before it is answered; ``presented``: the credentials the request carried."""
    return {
        "time": time.time(),
        "method": method,
        "path": path,
        # right or wrong, never logged
        "query": {k: REDACTED if k in ("code", "key") else _redacted(sandbox, v, presented) for k, v in query.items()},
        "clientId": _redacted(sandbox, client_id, presented),
        "status": None,
        "errorCode": None,
        "fault": None,
    }


def _redacted(sandbox: EcwidSandbox, value: str | None, presented: tuple[str | None, ...]) -> str | None:
    # A secret pasted into the wrong place must not land in the log either.
    if not value:
        return value
    credentials = (sandbox.config.client_secret, sandbox.config.reseller_key)
    if value in credentials or value in presented or sandbox._registry.is_credential(value):
        return REDACTED
    return value
