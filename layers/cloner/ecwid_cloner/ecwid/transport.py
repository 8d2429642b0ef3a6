"""How every client of ours talks to Ecwid: the app's credentials, timeouts, a session whose
failed connects are retried, the shared request budget, and the answer read as JSON."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ecwid_cloner.config import DEFAULTS
from ecwid_cloner.ecwid.budget import Priority, RequestGate
from ecwid_cloner.errors import (
    EcwidRateLimitedError,
    EcwidRetryableError,
    ErrorCode,
    HttpErrorFamily,
    error_for_code,
    error_for_status,
)


@dataclass(frozen=True)
class EcwidCredentials:
    client_id: str
    client_secret: str = field(repr=False)  # repr=False: never printed by accident

    def headers(self) -> dict[str, str]:
        return {
            "X-Ecwid-App-Client-Id": self.client_id,
            "X-Ecwid-App-Secret-Key": self.client_secret,
        }


class EcwidHttp:
    """One Ecwid base URL as every client of ours calls it: its timeouts, a session whose
    failed connects are retried, and the shared request budget (see send_with_rate_limit)."""

    DEFAULT_READ_TIMEOUT: float = DEFAULTS["ecwid_read_timeout"]

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = DEFAULTS["ecwid_connect_timeout"],
        read_timeout: float | None = None,
        max_retry_after_sleep: float = 5.0,
        session: requests.Session | None = None,
        gate: RequestGate | None = None,
    ):
        self._base_url = base_url.rstrip("/")
        self._timeout = (connect_timeout, read_timeout if read_timeout is not None else self.DEFAULT_READ_TIMEOUT)
        self._max_retry_after_sleep = max_retry_after_sleep
        self._session = session or new_session()
        self._gate = gate

    def _send(self, method: str, path: str, priority: Priority, **request: Any) -> requests.Response:
        return send_with_rate_limit(
            self._session,
            method,
            self._base_url + path,
            timeout=self._timeout,
            max_retry_after_sleep=self._max_retry_after_sleep,
            gate=self._gate,
            priority=priority,
            **request,
        )


def send_with_rate_limit(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout: tuple[float, float],
    max_retry_after_sleep: float,
    gate: RequestGate | None = None,
    priority: Priority = Priority.RUNNING,
    **request: Any,
) -> requests.Response:
    """One request, with a 429 whose Retry-After is short slept through once.

    Every Ecwid request of every client goes through here, and first through
    the shared request budget (``gate``), which raises BudgetWait when it must
    wait its turn. Network failures and 429s become EcwidRetryableError /
    EcwidRateLimitedError; any other answer is returned for the caller to read.
    """
    for attempt in range(2):
        if gate is not None:
            gate.admit(priority)
        try:
            response = session.request(method, url, timeout=timeout, **request)
        except requests.Timeout as exc:
            raise EcwidRetryableError(
                ErrorCode.TIMEOUT, f"Ecwid did not answer {method} in time: {type(exc).__name__}"
            ) from None
        except requests.RequestException as exc:
            # The exception text may carry the URL (never the headers), but keep it short.
            raise EcwidRetryableError(ErrorCode.CONNECTION_ERROR, f"{method} failed: {type(exc).__name__}") from None
        if response.status_code != 429:
            return response
        retry_after = _retry_after_seconds(response)
        if attempt == 0 and retry_after is not None and retry_after <= max_retry_after_sleep:
            time.sleep(retry_after)
            continue
        raise EcwidRateLimitedError(f"Ecwid rate limit hit on {method} (Retry-After: {retry_after})", retry_after)
    raise AssertionError("unreachable")  # pragma: no cover


def new_session() -> requests.Session:
    session = requests.Session()
    # Connect failures are safe to retry even for POST: nothing reached Ecwid.
    retry = Retry(total=None, connect=2, read=0, status=0, other=0, redirect=0, backoff_factor=0.2)
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.headers.update({"Accept": "application/json", "Accept-Encoding": "gzip"})
    return session


def _retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date, or junk: fall back to our own backoff
    return max(0.0, seconds) if seconds is not None and math.isfinite(seconds) else None


def _parse(method: str, response: requests.Response) -> dict[str, Any]:
    """The JSON body of an answer, or the typed error it stands for."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        message = f"Ecwid answered {method} with HTTP {status} and a body that is not a JSON object"
        if status < 400:  # a 2xx or 3xx without its JSON: Ecwid's (or a proxy's) trouble, worth a retry
            code = ErrorCode.MALFORMED_RESPONSE if status < 300 else HttpErrorFamily.HTTP.code(status)
            raise EcwidRetryableError(code, message, status)
        raise error_for_status(HttpErrorFamily.HTTP.code(status), message, status)

    error_code = body.get("errorCode")
    if body.get("success") is False or error_code or status >= 300:
        message = str(body.get("errorMessage") or f"HTTP {status}")[:500]
        if error_code:
            raise error_for_code(str(error_code), message, status)
        code = HttpErrorFamily.HTTP.code(status) if status >= 400 else ErrorCode.REQUEST_REJECTED
        raise error_for_status(code, message, status)
    return body


def json_object(response: requests.Response) -> dict[str, Any] | None:
    """The answer's body when it is a JSON object, else None."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
