"""HTTP client of the Ecwid Clone Store API (POST and GET /stores/clone)."""

from __future__ import annotations

from typing import Any

from ecwid_cloner.config import DEFAULT_BASE_URL
from ecwid_cloner.ecwid.budget import Priority
from ecwid_cloner.ecwid.transport import EcwidCredentials, EcwidHttp, _parse
from ecwid_cloner.errors import EcwidRetryableError, ErrorCode
from ecwid_cloner.models import CloneRequest, CloneStatus, Entity, TicketStatus

CLONE_PATH = "/stores/clone"


class EcwidCloneClient(EcwidHttp):
    """One Ecwid app's view of the Clone API.

    The client makes one attempt per call, apart from two cheap, safe retries:
    a failed connect (the request never reached Ecwid) and a 429 whose
    Retry-After is short enough to sleep through here. Everything else is
    raised as a typed error and retried by the state machine, which waits
    without paying for a running Lambda.
    """

    def __init__(self, credentials: EcwidCredentials, base_url: str = DEFAULT_BASE_URL, **http: Any):
        super().__init__(base_url, **http)
        self._credentials = credentials

    def start_clone(self, request: CloneRequest) -> str:
        """POST /stores/clone; returns the ticket."""
        params: dict[str, Any] = {
            "sourceStoreId": request.source_store_id,
            "targetStoreId": request.target_store_id,
        }
        if request.scope:
            params["scope"] = request.scope
        if request.clone_demo_catalog:
            params["cloneDemoCatalog"] = "true"
        http_status, body = self._call("POST", params, Priority.NEW)
        ticket = body.get("ticket")
        if body.get("success") is not True or not isinstance(ticket, str) or not ticket:
            raise EcwidRetryableError(ErrorCode.MALFORMED_RESPONSE, "Clone start answer has no ticket", http_status)
        return ticket

    def get_status(self, ticket: str) -> CloneStatus:
        """GET /stores/clone?ticket=…; the mapping is kept only when COMPLETED."""
        http_status, body = self._call("GET", {"ticket": ticket}, Priority.RUNNING)
        answered = body.get("status")
        if answered not in TicketStatus:  # by value; an unhashable one (a list) is not either
            raise EcwidRetryableError(
                ErrorCode.MALFORMED_RESPONSE,
                f"Clone status answer has an unknown status {str(answered)[:40]!r}",
                http_status,
            )
        status = TicketStatus(str(answered))
        if status != TicketStatus.COMPLETED:
            return CloneStatus(status=status, error_message=body.get("errorMessage"))
        mapping = body.get("clonedEntitiesMapping") or {}
        products = mapping.get(Entity.PRODUCTS) or {} if isinstance(mapping, dict) else None
        categories = mapping.get(Entity.CATEGORIES) or {} if isinstance(mapping, dict) else None
        if not isinstance(products, dict) or not isinstance(categories, dict):
            raise EcwidRetryableError(
                ErrorCode.MALFORMED_RESPONSE, "clonedEntitiesMapping is not an object of objects", http_status
            )
        return CloneStatus(status=status, products=products, categories=categories)

    def _call(self, method: str, params: dict[str, Any], priority: Priority) -> tuple[int, dict[str, Any]]:
        response = self._send(method, CLONE_PATH, priority, params=params, headers=self._credentials.headers())
        return response.status_code, _parse(method, response)
