"""Create a store for a merchant: Ecwid's POST /api/v3/stores (Partner API).

The answer carries the new store's secret token: CreateStore writes it to the
token store (store_tokens.py) the steps that use it read, and nowhere else
(never the state, a log line, an event or the jobs table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ecwid_cloner.config import DEFAULT_BASE_URL
from ecwid_cloner.ecwid.budget import Priority
from ecwid_cloner.ecwid.transport import EcwidCredentials, EcwidHttp, json_object
from ecwid_cloner.errors import EcwidTerminalError, ErrorCode, HttpErrorFamily, error_for_status
from ecwid_cloner.models import Merchant

STORES_PATH = "/stores"
_STORE_ID = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class CreatedStore:
    store_id: int
    token: str | None = field(default=None, repr=False)  # the store's secret token; repr=False: never printed


class StoreEmailTakenError(EcwidTerminalError):
    """409: a store with this e-mail exists (Ecwid does not say which)."""

    def __init__(self, message: str, http_status: int = 409):
        super().__init__(ErrorCode.EMAIL_ALREADY_EXISTS, message, http_status)


class EcwidStoreCreator(EcwidHttp):
    """The partner app's POST /stores. One attempt per call, like the clone client:
    the state machine retries what is worth retrying."""

    DEFAULT_READ_TIMEOUT = 30.0

    def __init__(self, credentials: EcwidCredentials, base_url: str = DEFAULT_BASE_URL, **http: Any):
        super().__init__(base_url, **http)
        self._credentials = credentials

    def create_store(self, merchant: Merchant) -> CreatedStore:
        response = self._send(
            "POST",
            STORES_PATH,
            Priority.NEW,
            params={"returnApiToken": "true"},
            json={"merchant": merchant.to_ecwid()},
            headers=self._credentials.headers(),
        )
        status = response.status_code
        body = json_object(response)
        if 200 <= status < 300:
            return _created_store(body, status)
        # Ecwid's message may quote the e-mail: personal data stays on the job, out of the state and events.
        message = _error_message(body, status, merchant.email)
        if status == 409:
            raise StoreEmailTakenError(message)
        if status == 400:
            raise EcwidTerminalError(ErrorCode.INVALID_MERCHANT, message, status)
        if status in (402, 403):
            raise EcwidTerminalError(ErrorCode.STORE_CREATE_NOT_ALLOWED, message, status)
        raise error_for_status(HttpErrorFamily.HTTP.code(status), message, status)


def _created_store(body: dict[str, Any] | None, status: int) -> CreatedStore:
    # Numbers where the docs show numbers, strings where a gateway turned them into strings.
    raw_id = (body or {}).get("id")
    if isinstance(raw_id, bool) or not (
        isinstance(raw_id, int) or (isinstance(raw_id, str) and _STORE_ID.fullmatch(raw_id))
    ):
        # The store may well exist: POSTing again would only meet a 409. Never re-POST.
        raise EcwidTerminalError(
            ErrorCode.STORE_CREATE_ANSWER_MALFORMED,
            f"Ecwid answered the store creation with HTTP {status} and no store id",
            status,
        )
    store_id = int(raw_id)
    if store_id <= 0:
        raise EcwidTerminalError(ErrorCode.STORE_CREATE_ANSWER_MALFORMED, f"Ecwid answered store id {store_id}", status)
    token = (body or {}).get("token")
    return CreatedStore(store_id, token if isinstance(token, str) and token.strip() else None)


def _error_message(body: dict[str, Any] | None, status: int, email: str) -> str:
    message = str((body or {}).get("errorMessage") or (body or {}).get("errorCode") or f"HTTP {status}")
    if email.strip():
        message = re.sub(re.escape(email.strip()), "<merchant e-mail>", message, flags=re.IGNORECASE)
    return f"Store creation: {message[:300]}"
