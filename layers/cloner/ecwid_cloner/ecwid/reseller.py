"""Ecwid's Reseller API v1 (partners only): the partner's stores, found by e-mail and date;
suspend, resume, delete; a store's status.

Form-encoded POSTs to ``https://my.ecwid.com/resellerapi/v1/<call>`` with the reseller key (a
credential of its own, read from the Ecwid credentials secret); answers are XML or empty. Every
call passes the shared request budget (EcwidHttp._send). The key travels in the POST body only,
never in a URL, a log line or an error message.

XML is parsed with the standard library's ElementTree, which is safe here without defusedxml:
Python 3.13's expat (2.6) refuses the entity-amplification attacks (billion laughs, quadratic
blowup) and quadratic large-token parsing, and ElementTree never fetches external entities or
DTDs. On top of that a body over 1 MiB, or one that declares a DTD or an entity (an Ecwid answer
never does), is refused before parsing.

Built for what a real server may answer: numbers and booleans as text, missing fields (None),
an HTML error page instead of XML, an empty body, a lost answer (a retryable error).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

from ecwid_cloner.config import DEFAULT_RESELLER_BASE_URL
from ecwid_cloner.ecwid.budget import Priority
from ecwid_cloner.ecwid.transport import EcwidHttp
from ecwid_cloner.errors import EcwidRetryableError, EcwidTerminalError, ErrorCode, HttpErrorFamily, error_for_status

MAX_BODY_BYTES = 1 << 20
PAGE_SIZE = 100  # Ecwid's largest `limit`
_TRUE, _FALSE = frozenset({"true", "t", "yes", "y", "1"}), frozenset({"false", "f", "no", "n", "0"})
_INTEGER = re.compile(r"[0-9]{1,18}(\.0+)?")
_DECLARATIONS = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class ResellerKey:
    value: str = field(repr=False)  # repr=False: never printed by accident

    def __post_init__(self) -> None:
        if not self.value.strip():
            raise ValueError("the reseller key is empty")


@dataclass(frozen=True)
class PartnerStore:
    """One store of the partner's list; fields Ecwid left out are None."""

    store_id: int
    email: str | None = None
    suspended: bool | None = None
    registered: str | None = None  # as Ecwid wrote it
    url: str | None = None


@dataclass(frozen=True)
class StoreStatus:
    """The `status` answer; fields Ecwid left out are None."""

    store_id: int
    suspended: bool | None = None
    closed: bool | None = None
    email: str | None = None
    product_count: int | None = None
    category_count: int | None = None
    plan: str | None = None


class ResellerStoreNotFoundError(EcwidTerminalError):
    """404: Ecwid has no such store (never made, or deleted)."""

    def __init__(self, store_id: int, call: str):
        super().__init__(ErrorCode.RESELLER_STORE_NOT_FOUND, f"Reseller API {call}: Ecwid has no store {store_id}", 404)
        self.store_id = store_id


class ResellerStoreForbiddenError(EcwidTerminalError):
    """403 on a store: it is not the partner's (or the key is wrong; Ecwid does not say which)."""

    def __init__(self, store_id: int, call: str):
        super().__init__(
            ErrorCode.RESELLER_STORE_FORBIDDEN,
            f"Reseller API {call}: store {store_id} is not the partner's, or the reseller key is wrong",
            403,
        )
        self.store_id = store_id


class EcwidResellerClient(EcwidHttp):
    """The partner's Reseller API. One attempt per call, like the other clients: the state
    machine retries what is worth retrying (429, 5xx, timeouts, a malformed 2xx)."""

    def __init__(self, key: ResellerKey, base_url: str = DEFAULT_RESELLER_BASE_URL, **http: Any):
        super().__init__(base_url, **http)
        self._key = key

    # ---- stores -------------------------------------------------------------------------

    def find_stores(
        self,
        created_since: float,
        *,
        created_before: float | None = None,
        email_substring: str | None = None,
        store_ids: Iterable[int] | None = None,
        suspended: bool | None = None,
        max_pages: int = 10,
        priority: Priority = Priority.RUNNING,
    ) -> list[PartnerStore]:
        """The partner's stores created at or after ``created_since`` (UNIX seconds, whole
        seconds down), every page of them. More than ``max_pages`` pages: RESELLER_TOO_MANY_STORES."""
        form: dict[str, str] = {"date.from": str(math.floor(created_since))}
        if created_before is not None:
            form["date.to"] = str(math.ceil(created_before))
        if email_substring:
            form["email.substring"] = email_substring
        if store_ids is not None:
            form["store.ids"] = ",".join(str(int(store_id)) for store_id in store_ids)
        if suspended is not None:
            form["suspended"] = "true" if suspended else "false"
        found: list[PartnerStore] = []
        for _ in range(max_pages):
            # The next page starts after what came: a server that pages by fewer than asked loses nothing.
            form.update(offset=str(len(found)), limit=str(PAGE_SIZE))
            root = self._xml("stores", form, priority)
            listed = [_partner_store(item) for item in root.iter("stores") if item is not root]
            found.extend(listed)
            total = _integer(root.findtext("total"))
            # Without the documented total, only an empty page says it was the last.
            if not listed or (total is not None and len(found) >= total):
                return found
        raise EcwidTerminalError(
            ErrorCode.RESELLER_TOO_MANY_STORES, f"Reseller API stores: more than {max_pages * PAGE_SIZE} stores match"
        )

    def stores_of_email(self, email: str, created_since: float, **options: Any) -> list[PartnerStore]:
        """The partner's stores created since then whose owner e-mail is ``email`` (any case),
        and those whose e-mail Ecwid left out (they may be it: the caller decides)."""
        wanted = email.strip().lower()
        return [
            store
            for store in self.find_stores(created_since, email_substring=email.strip(), **options)
            if store.email is None or store.email.strip().lower() == wanted
        ]

    # ---- one store ---------------------------------------------------------------------

    def suspend(self, store_id: int, priority: Priority = Priority.RUNNING) -> None:
        """Suspend the partner's store (idempotent: a suspended store stays so)."""
        self._store_call("suspend", store_id, priority)

    def resume(self, store_id: int, priority: Priority = Priority.RUNNING) -> None:
        """Resume the partner's suspended store (idempotent)."""
        self._store_call("resume", store_id, priority)

    def delete(self, store_id: int, priority: Priority = Priority.RUNNING) -> None:
        """Delete the partner's store. A second delete, or one whose first answer was lost,
        meets ResellerStoreNotFoundError: the caller that knows it asked before takes it as done."""
        self._store_call("delete", store_id, priority)

    def status(self, store_id: int, priority: Priority = Priority.RUNNING) -> StoreStatus:
        root = self._xml("status", {"ownerid": str(int(store_id))}, priority, store_id=store_id)
        return StoreStatus(
            store_id=_integer(_text(root, "ownerid")) or int(store_id),
            suspended=_boolean(_text(root, "suspended")),
            closed=_boolean(_text(root, "closed")),
            email=_text(root, "email"),
            product_count=_integer(_text(root, "productCount")),
            category_count=_integer(_text(root, "categoryCount")),
            plan=_text(root, "originalProduct") or _text(root, "planName"),
        )

    # ---- the wire ------------------------------------------------------------------------

    def _store_call(self, call: str, store_id: int, priority: Priority) -> None:
        self._post(call, {"ownerid": str(int(store_id))}, priority, store_id=store_id)  # any 2xx, any body

    def _xml(self, call: str, form: dict[str, str], priority: Priority, store_id: int | None = None) -> ET.Element:
        response = self._post(call, form, priority, store_id=store_id)
        body = response.content
        malformed = EcwidRetryableError(
            ErrorCode.MALFORMED_RESPONSE,
            f"Reseller API {call}: the answer is not the XML Ecwid documents",
            response.status_code,
        )
        if not body.strip() or len(body) > MAX_BODY_BYTES or _DECLARATIONS.search(body[:4096]):
            raise malformed
        try:
            return ET.fromstring(body)
        except ET.ParseError:
            raise malformed from None

    def _post(self, call: str, form: dict[str, str], priority: Priority, store_id: int | None) -> requests.Response:
        response = self._send(
            "POST",
            f"/{call}",
            priority,
            data={**form, "key": self._key.value},
            headers={"Accept": "application/xml, text/xml;q=0.9, */*;q=0.1"},
        )
        status = response.status_code
        if 200 <= status < 300:
            return response
        # Never Ecwid's body in a message: an error page may echo the request, key and all.
        if status == 403:
            if store_id is None:
                raise EcwidTerminalError(
                    ErrorCode.RESELLER_KEY_REFUSED, f"Reseller API {call}: Ecwid refused the reseller key", 403
                )
            raise ResellerStoreForbiddenError(store_id, call)
        if status == 404 and store_id is not None:
            raise ResellerStoreNotFoundError(store_id, call)
        if status in (400, 412):
            raise EcwidTerminalError(
                ErrorCode.RESELLER_BAD_REQUEST, f"Reseller API {call}: Ecwid refused a parameter", status
            )
        raise error_for_status(
            HttpErrorFamily.RESELLER_HTTP.code(status), f"Reseller API {call}: HTTP {status}", status
        )


def _partner_store(item: ET.Element) -> PartnerStore:
    store_id = _integer(item.findtext("id"))
    if not store_id:
        raise EcwidRetryableError(ErrorCode.MALFORMED_RESPONSE, "Reseller API stores: a listed store has no store ID")
    return PartnerStore(
        store_id=store_id,
        email=_clean(item.findtext("email")),
        suspended=_boolean(item.findtext("suspended")),
        registered=_clean(item.findtext("registered")),
        url=_clean(item.findtext("url")),
    )


def _text(root: ET.Element, tag: str) -> str | None:
    """The first element named ``tag`` anywhere in the answer (the root's name is not documented)."""
    for element in root.iter(tag):
        return _clean(element.text)
    return None


def _clean(text: str | None) -> str | None:
    return text.strip() or None if text is not None else None


def _integer(text: str | None) -> int | None:
    text = _clean(text)
    return int(text.split(".")[0]) if text is not None and _INTEGER.fullmatch(text) else None


def _boolean(text: str | None) -> bool | None:
    text = (_clean(text) or "").lower()
    return True if text in _TRUE else False if text in _FALSE else None
