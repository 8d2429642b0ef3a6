"""Clone the Instant Site (the store's site content and design) after the store clone.

Two calls, from Ecwid's docs: a token for the TARGET store, made from that
store's secret_token, then the clone itself. The secret_token never travels in
a request, a message or the state: the step reads it from the token store
(data/store_tokens.py) and hands it to this client.
"""

from __future__ import annotations

from typing import Any

import requests

from ecwid_cloner.config import DEFAULT_INSTANT_SITE_BASE_URL
from ecwid_cloner.ecwid.budget import Priority
from ecwid_cloner.ecwid.transport import EcwidHttp, json_object
from ecwid_cloner.errors import EcwidRetryableError, ErrorCode, HttpErrorFamily, error_for_status


class InstantSiteClient(EcwidHttp):
    DEFAULT_READ_TIMEOUT = 30.0  # a site clone answers slower than the Clone API

    def __init__(self, base_url: str = DEFAULT_INSTANT_SITE_BASE_URL, **http: Any):
        super().__init__(base_url, **http)

    def access_token(self, store_id: int, secret_token: str) -> str:
        """POST /oauth/token for ``store_id``; the answer's accessToken."""
        response = self._call(
            "token",
            "POST",
            "/oauth/token",
            params={"grant_type": "authorization_code", "site_id": store_id, "code": secret_token},
        )
        body = json_object(response)
        token = body.get("accessToken") if body else None
        if not isinstance(token, str) or not token:
            raise EcwidRetryableError(
                ErrorCode.MALFORMED_RESPONSE, "Instant Site token answer has no accessToken", response.status_code
            )
        return token

    def clone(self, target_store_id: int, source_store_id: int, draft: bool, access_token: str) -> dict[str, Any]:
        """POST /{target}/clone. The answer is not documented: a 2xx is success, its body kept."""
        response = self._call(
            "clone",
            "POST",
            f"/{target_store_id}/clone",
            json={"source": source_store_id, "draft": draft},
            headers={"Authorization": f"Bearer {access_token}"},
        )
        return json_object(response) or {"status": response.status_code}

    def update_profile(self, store_id: int, profile: dict[str, str], access_token: str) -> dict[str, Any]:
        """PUT /{storeId}/profile: the site's own profile (its SEO title and browser tab: storeName; email).
        Only the fields given are sent; a 2xx is success, its body kept."""
        response = self._call(
            "profile",
            "PUT",
            f"/{store_id}/profile",
            json=profile,
            headers={"Authorization": f"Bearer {access_token}"},
        )
        return json_object(response) or {"status": response.status_code}

    def _call(self, where: str, method: str, path: str, **request: Any) -> requests.Response:
        # Part of a clone Ecwid already ran: the budget's RUNNING priority.
        response = self._send(method, path, Priority.RUNNING, **request)
        status = response.status_code
        if 200 <= status < 300:
            return response
        body = json_object(response) or {}
        message = str(body.get("errorMessage") or f"HTTP {status}")[:300]
        raise error_for_status(
            HttpErrorFamily.INSTANT_SITE_HTTP.code(status), f"Instant Site {where}: {message}", status
        )
