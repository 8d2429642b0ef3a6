"""The partner's stores as the Reseller API sees them (reseller.py serves the API).

`PartnerStores` is the registry's part: the stores POST /api/v3/stores made (or
add_store(..., partner=True)), one of them, suspend and resume, delete. `store_list`
answers the `stores` call: the partner's stores filtered (``date.from``, ``date.to``,
``email.substring``, ``url.substring``, ``store.id(s)``, ``suspended``), sorted
(``order``) and paged (``offset``, ``limit``) as XML; a bad parameter is `Refused` 412.
"""

from __future__ import annotations

import dataclasses
import hmac
import re
import time
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .stores import Store, StoreBook

if TYPE_CHECKING:
    from .server import EcwidSandbox

PLAN = "SANDBOX_PARTNER_PLAN"
ORDERS = ("id", "email", "url", "traffic", "storage", "date")
_YES, _NO = ("y", "yes", "1", "true", "t"), ("n", "no", "0", "false", "f")
INT = re.compile(r"[0-9]{1,18}")  # ownerid, store.id, offset, limit, UNIX times


class Refused(Exception):
    """A Reseller API refusal: its status (Jetty's error page), and the store it named, if any."""

    def __init__(self, status: int, store_id: int | None = None):
        super().__init__(status)
        self.status = status
        self.store_id = store_id


# ---- the stores call ---------------------------------------------------------------------


def store_list(sandbox: EcwidSandbox, params: dict[str, str]) -> ET.Element:
    """The `stores` call's <storeList>, or Refused 412 for a bad parameter."""
    zone = _zone(params.get("timezone") or "GMT")
    if not params.get("date.from"):
        raise Refused(412)
    since = _moment(params["date.from"], zone)
    until = _moment(params["date.to"], zone) if params.get("date.to") else None
    ids = _ids(params)
    suspended = _flag(params["suspended"]) if params.get("suspended") else None
    email_part = (params.get("email.substring") or "").lower()
    url_part = (params.get("url.substring") or "").lower()
    order, offset, limit = _order(params.get("order") or "id"), _count(params, "offset", 0), _count(params, "limit", 20)
    if limit > 100:
        raise Refused(412)

    stores = [
        store
        for store in sandbox._registry.partner_stores()
        if store.created_at >= since
        and (until is None or store.created_at < until)
        and (ids is None or store.store_id in ids)
        and (suspended is None or store.suspended == suspended)
        and email_part in owner_email(store).lower()
        and url_part in store_url(store).lower()
    ]
    field, descending = order
    stores.sort(key=lambda s: (_sort_key(s, field), s.store_id), reverse=descending)
    root = ET.Element("storeList")
    for store in stores[offset : offset + limit]:
        item = ET.SubElement(root, "stores")
        xml_fields(
            item,
            id=store.store_id,
            channelId=sandbox.config.partner_id,
            name=f"Store {store.store_id}",
            nick=(store.owner or {}).get("name") or "",
            email=owner_email(store),
            url=store_url(store),
            planName=PLAN,
            planChangeableByReseller="true",
            planExpiration="",
            suspended=xml_bool(store.suspended),
            test="false",
            trial="false",
            traffic=0,
            storage=0,
            registered=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(store.created_at)),
        )
    xml_fields(root, total=len(stores))
    return root


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo("UTC" if name.upper() == "GMT" else name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Refused(412) from None


def _moment(value: str, zone: ZoneInfo) -> float:
    """UNIX seconds, or the start of a YYYY-MM-DD day in ``zone``."""
    if INT.fullmatch(value):
        return float(value)
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=zone).timestamp()
    except ValueError:
        raise Refused(412) from None


def _ids(params: dict[str, str]) -> set[int] | None:
    raw = ",".join(filter(None, (params.get("store.id"), params.get("store.ids"))))
    if not raw:
        return None
    parts = [part.strip() for part in raw.split(",")]
    if not all(INT.fullmatch(part) for part in parts):
        raise Refused(412)
    return {int(part) for part in parts}


def _flag(value: str) -> bool:
    if value.lower() in _YES:
        return True
    if value.lower() in _NO:
        return False
    raise Refused(412)


def _order(value: str) -> tuple[str, bool]:
    field, descending = (value[:-5], True) if value.endswith("_desc") else (value, False)
    if field not in ORDERS:
        raise Refused(412)
    return field, descending


def _count(params: dict[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    if not INT.fullmatch(value):
        raise Refused(412)
    return int(value)


def _sort_key(store: Store, field: str) -> object:
    return {"id": store.store_id, "email": owner_email(store), "url": store_url(store), "date": store.created_at}.get(
        field, 0
    )


def owner_email(store: Store) -> str:
    return (store.owner or {}).get("email") or ""


def store_url(store: Store) -> str:
    return f"https://store{store.store_id}.company.site"


# ---- XML -------------------------------------------------------------------------------


def xml_fields(parent: ET.Element, **values: object) -> None:
    for name, value in values.items():
        ET.SubElement(parent, name).text = str(value)


def xml_bool(value: bool) -> str:
    return "true" if value else "false"


# ---- the partner's stores, in the registry ------------------------------------------------


class PartnerStores(StoreBook):
    """What the Reseller API sees and does, on top of the stores."""

    def partner_stores(self) -> list[Store]:
        """The partner's stores that are not deleted, by ID (copies: the caller reads them unlocked)."""
        with self._lock:
            self._settle()
            return [
                dataclasses.replace(s) for s in sorted(self._stores.values(), key=lambda s: s.store_id) if s.partner
            ]

    def partner_store(self, store_id: int) -> Store:
        """A copy of the store, or LookupError (none, or deleted) / PermissionError (not the partner's)."""
        with self._lock:
            self._settle()
            store = self._stores.get(store_id)
            if store is None:
                raise LookupError(store_id)
            if not store.partner:
                raise PermissionError(store_id)
            return dataclasses.replace(store)

    def set_suspended(self, store_id: int, suspended: bool) -> None:
        """Suspend or resume the partner's store; the same again changes nothing."""
        with self._lock:
            self.partner_store(store_id)
            self._stores[store_id].suspended = suspended

    def delete_store(self, store_id: int) -> None:
        """Delete the partner's store: gone from every API (its tokens stop working, its e-mail is
        free again), kept in the record (``snapshot`` says ``deleted``)."""
        with self._lock:
            self.partner_store(store_id)
            self.remove_store(store_id)

    def suspended_store_token(self, store_id: int, token: str | None) -> bool:
        """Whether ``token`` is the secret token of ``store_id`` and that store is suspended."""
        with self._lock:
            store = self._stores.get(store_id)
            return (
                store is not None
                and store.suspended
                and token is not None
                and hmac.compare_digest(token.encode(), store.secret_token.encode())
            )
