"""Ecwid's store profile (REST v3 ``PUT /{storeId}/profile``), called with the store's own token.

A clone that copies settings copies the template's profile too: its name, company and
mail settings. PersonalizeStore sets the merchant's own afterwards, through this client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from ecwid_cloner.config import DEFAULT_BASE_URL
from ecwid_cloner.ecwid.budget import Priority
from ecwid_cloner.ecwid.transport import EcwidHttp, json_object
from ecwid_cloner.errors import EcwidRetryableError, ErrorCode, HttpErrorFamily, error_for_status
from ecwid_cloner.models import StoreProfile

if TYPE_CHECKING:
    import requests

# What each refusal means for an operator (docs/operations.md); other statuses: PROFILE_HTTP_<status>.
PROFILE_ERROR_CODES = {
    400: ErrorCode.PROFILE_INVALID,  # Ecwid refused a value
    401: ErrorCode.PROFILE_TOKEN_INVALID,  # the store's token does not work (wrong, revoked)
    402: ErrorCode.PROFILE_NOT_ALLOWED,  # the store's plan, or a suspended store
    403: ErrorCode.PROFILE_UPDATE_FORBIDDEN,  # the app lacks update_store_profile
    404: ErrorCode.PROFILE_STORE_NOT_FOUND,
}


class EcwidStoreProfileClient(EcwidHttp):
    """One attempt per call: the state machine retries what is worth retrying."""

    def __init__(self, base_url: str = DEFAULT_BASE_URL, **http: Any):
        super().__init__(base_url, **http)

    def get(self, store_id: int, store_token: str) -> dict[str, Any]:
        """GET /{storeId}/profile: the whole profile, in Ecwid's shape."""
        response = self._send(
            "GET", f"/{store_id}/profile", Priority.RUNNING, headers={"Authorization": f"Bearer {store_token}"}
        )
        body = json_object(response)
        if 200 <= response.status_code < 300 and body is not None:
            return body
        self._refused(response, body, "read")

    def update(self, store_id: int, store_token: str, profile: StoreProfile) -> dict[str, Any]:
        """PUT the profile's fields (only those: an omitted field is left as it is); Ecwid's answer."""
        response = self._send(
            "PUT",
            f"/{store_id}/profile",
            # Part of a clone Ecwid already ran: the budget's RUNNING priority.
            Priority.RUNNING,
            json=profile.to_ecwid(),
            headers={"Authorization": f"Bearer {store_token}"},
        )
        status = response.status_code
        body = json_object(response)
        if 200 <= status < 300:
            # Documented: {"updateCount": 1}. A 2xx with another body (or none) still applied the update.
            return body or {"status": status}
        self._refused(response, body, "update")

    @staticmethod
    def _refused(response: requests.Response, body: dict[str, Any] | None, what: str) -> NoReturn:
        status = response.status_code
        if 200 <= status < 300:  # a read whose answer is not the profile
            raise EcwidRetryableError(ErrorCode.MALFORMED_RESPONSE, "Store profile answer is not a JSON object", status)
        message = str((body or {}).get("errorMessage") or f"HTTP {status}")[:300]
        code = PROFILE_ERROR_CODES.get(status) or HttpErrorFamily.PROFILE_HTTP.code(status)
        raise error_for_status(code, f"Store profile {what}: {message}", status)
