"""Clone the Instant Site (the store's site content and design) after the store clone.

Two calls, from Ecwid's docs: a token for the TARGET store, made from that
store's secret_token, then the clone itself. The secret_token never travels in
a request, a message or the state: it is read here, from a Secrets Manager
secret named after the target store.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from ecwid_cloner.config import DEFAULT_INSTANT_SITE_BASE_URL, DEFAULTS
from ecwid_cloner.credentials import read_secret
from ecwid_cloner.ecwid_client import json_object, new_session, send_with_rate_limit
from ecwid_cloner.errors import EcwidRetryableError, EcwidTerminalError, error_for_status
from ecwid_cloner.request_budget import Priority, RequestGate


class InstantSiteClient:
    def __init__(
        self,
        base_url: str = DEFAULT_INSTANT_SITE_BASE_URL,
        *,
        connect_timeout: float = DEFAULTS["ecwid_connect_timeout"],
        read_timeout: float = 30.0,
        max_retry_after_sleep: float = 5.0,
        session: requests.Session | None = None,
        gate: RequestGate | None = None,
    ):
        self._base_url = base_url.rstrip("/")
        self._timeout = (connect_timeout, read_timeout)
        self._max_retry_after_sleep = max_retry_after_sleep
        self._session = session or new_session()
        self._gate = gate

    def access_token(self, store_id: int, secret_token: str) -> str:
        """POST /oauth/token for ``store_id``; the answer's accessToken."""
        response = self._send(
            "POST",
            "/oauth/token",
            params={"grant_type": "authorization_code", "site_id": store_id, "code": secret_token},
        )
        body = json_object(response)
        token = body.get("accessToken") if body else None
        if not isinstance(token, str) or not token:
            raise EcwidRetryableError(
                "MALFORMED_RESPONSE", "Instant Site token answer has no accessToken", response.status_code
            )
        return token

    def clone(self, target_store_id: int, source_store_id: int, draft: bool, access_token: str) -> dict[str, Any]:
        """POST /{target}/clone. The answer is not documented: a 2xx is success, its body kept."""
        response = self._send(
            "POST",
            f"/{target_store_id}/clone",
            json={"source": source_store_id, "draft": draft},
            headers={"Authorization": f"Bearer {access_token}"},
        )
        return json_object(response) or {"status": response.status_code}

    def _send(self, method: str, path: str, **request: Any) -> requests.Response:
        response = send_with_rate_limit(
            self._session,
            method,
            self._base_url + path,
            timeout=self._timeout,
            max_retry_after_sleep=self._max_retry_after_sleep,
            gate=self._gate,
            priority=Priority.RUNNING,  # part of a clone Ecwid already ran
            **request,
        )
        status = response.status_code
        if 200 <= status < 300:
            return response
        body = json_object(response) or {}
        message = str(body.get("errorMessage") or f"HTTP {status}")[:300]
        where = "token" if path == "/oauth/token" else "clone"
        raise error_for_status(f"INSTANT_SITE_HTTP_{status}", f"Instant Site {where}: {message}", status)


def load_store_secret_token(secret_prefix: str, store_id: int) -> str:
    """The store's secret_token from the secret ``{prefix}{storeId}``.

    The secret holds the token itself, or ``{"secretToken": "..."}``.
    """
    name = f"{secret_prefix}{store_id}"
    value = read_secret(name, "STORE_SECRET", what=f" with store {store_id}'s secret_token")
    token = value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            token = json.loads(value).get("secretToken")
        except (ValueError, AttributeError):
            token = None
    if not isinstance(token, str) or not token.strip():
        raise EcwidTerminalError(
            "STORE_SECRET_INVALID",
            f"Secret {name} holds no secret_token (the token, or a JSON object with secretToken)",
        )
    return token.strip()
