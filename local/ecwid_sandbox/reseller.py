"""Ecwid's Reseller API v1 in the sandbox (stands for https://my.ecwid.com/resellerapi/v1).

Form-encoded POSTs (parameters in the body or the query, as a servlet reads them), the
partner's ``key`` with each; answers are XML or empty, refusals Jetty's HTML error pages:

- ``stores``: ``date.from`` (required: UNIX time or YYYY-MM-DD in ``timezone``, default GMT;
  created at or after it), ``date.to`` (before it), ``email.substring``, ``url.substring``,
  ``store.id`` / ``store.ids`` (comma-separated), ``suspended`` (y/yes/1/true/t or
  n/no/0/false/f), ``order``, ``offset``, ``limit`` (0..100, default 20) ->
  ``<storeList><stores>…</stores>…<total>N</total></storeList>``; a bad parameter is 412.
- ``suspend`` / ``resume`` (``ownerid``): 200, empty; the same again changes nothing.
- ``delete`` (``ownerid``): 200, empty; the store is gone from every API (its e-mail free again).
- ``status`` (``ownerid``): XML with ``ownerid``, ``suspended``, ``closed``, ``email``, ``name``,
  the plan, ``productCount``, ``categoryCount``.

Order: rate limit and faults ("reseller"; the partner's one account, counted with its app's
calls) -> method (405) -> key (403) -> parameters (412 for ``stores``, 400 otherwise) -> store
(404 unknown or deleted) -> the partner's (403; the seeded stores are not, unless added with
``partner=True``). The key is never logged: the request log redacts ``key`` wherever it is.

A suspended store answers REST v3 calls made with its own token (``/api/v3/{storeId}/…``) with
402 (``refused_as_suspended``), and the Clone API refuses it as a target with
TARGET_NOT_ALLOWED_TO_CLONE (stores.py): Ecwid does not fill a store that takes no orders.
"""

from __future__ import annotations

import hmac
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from .server import EcwidSandbox
    from .stores import Store

RESELLER_PREFIX = "/resellerapi/v1"  # stands for https://my.ecwid.com/resellerapi/v1
RESELLER_FAULTS = "reseller"  # the Faults endpoint of every Reseller API call
XML_TYPE = "application/xml;charset=utf-8"
HTML_TYPE = "text/html;charset=iso-8859-1"  # Jetty's error pages
STORE_REST_PATH = re.compile(r"/api/v3/([0-9]{1,18})(/.*)?")  # REST v3 calls of one store, with its token
PLAN = "SANDBOX_PARTNER_PLAN"
ORDERS = ("id", "email", "url", "traffic", "storage", "date")
_YES, _NO = ("y", "yes", "1", "true", "t"), ("n", "no", "0", "false", "f")
_INT = re.compile(r"[0-9]{1,18}")
_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
}


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    content_type: str = XML_TYPE
    store_id: int | None = None  # the store the call named, for the request log


class _Refused(Exception):
    def __init__(self, status: int, store_id: int | None = None):
        super().__init__(status)
        self.status = status
        self.store_id = store_id


def answer(sandbox: EcwidSandbox, method: str, path: str, query: dict[str, str], body: bytes) -> Answer:
    """The answer to one Reseller API request (past the rate limit and the faults)."""
    call = path[len(RESELLER_PREFIX) + 1 :]
    params = {
        **query,
        **{k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()},
    }
    try:
        if call not in ("stores", "suspend", "resume", "delete", "status"):
            raise _Refused(404)
        if method != "POST":
            raise _Refused(405)
        if not _is_partner_key(sandbox, params.get("key")):
            raise _Refused(403)
        if call == "stores":
            return Answer(200, _xml(_store_list(sandbox, params)))
        store_id = _owner_id(params)
        try:
            store = sandbox._registry.partner_store(store_id)
            if call == "status":
                return Answer(200, _xml(_status(sandbox, store)), store_id=store_id)
            if call == "delete":
                sandbox._registry.delete_store(store_id)
            else:
                sandbox._registry.set_suspended(store_id, call == "suspend")
        except LookupError:
            raise _Refused(404, store_id) from None
        except PermissionError:
            raise _Refused(403, store_id) from None
        return Answer(200, b"", store_id=store_id)
    except _Refused as refused:
        return Answer(refused.status, _error_page(refused.status, path), HTML_TYPE, refused.store_id)


def refused_as_suspended(sandbox: EcwidSandbox, path: str, token: str | None) -> int | None:
    """The store a REST v3 call names when it is suspended and the call carries its own token, else None."""
    match = STORE_REST_PATH.fullmatch(path)
    if match is None:
        return None
    store_id = int(match.group(1))
    return store_id if sandbox._registry.suspended_store_token(store_id, token) else None


def _is_partner_key(sandbox: EcwidSandbox, key: str | None) -> bool:
    expected = sandbox.config.reseller_key
    return bool(key) and bool(expected) and hmac.compare_digest(str(key).encode(), expected.encode())


def _owner_id(params: dict[str, str]) -> int:
    value = params.get("ownerid") or ""
    if not _INT.fullmatch(value) or int(value) == 0:
        raise _Refused(400)
    return int(value)


# ---- stores ---------------------------------------------------------------------------


def _store_list(sandbox: EcwidSandbox, params: dict[str, str]) -> ET.Element:
    zone = _zone(params.get("timezone") or "GMT")
    if not params.get("date.from"):
        raise _Refused(412)
    since = _moment(params["date.from"], zone)
    until = _moment(params["date.to"], zone) if params.get("date.to") else None
    ids = _ids(params)
    suspended = _flag(params["suspended"]) if params.get("suspended") else None
    email_part = (params.get("email.substring") or "").lower()
    url_part = (params.get("url.substring") or "").lower()
    order, offset, limit = _order(params.get("order") or "id"), _count(params, "offset", 0), _count(params, "limit", 20)
    if limit > 100:
        raise _Refused(412)

    stores = [
        store
        for store in sandbox._registry.partner_stores()
        if store.created_at >= since
        and (until is None or store.created_at < until)
        and (ids is None or store.store_id in ids)
        and (suspended is None or store.suspended == suspended)
        and email_part in _email(store).lower()
        and url_part in _url(store).lower()
    ]
    field, descending = order
    stores.sort(key=lambda s: (_sort_key(s, field), s.store_id), reverse=descending)
    root = ET.Element("storeList")
    for store in stores[offset : offset + limit]:
        item = ET.SubElement(root, "stores")
        _fields(
            item,
            id=store.store_id,
            channelId=sandbox.config.partner_id,
            name=f"Store {store.store_id}",
            nick=(store.owner or {}).get("name") or "",
            email=_email(store),
            url=_url(store),
            planName=PLAN,
            planChangeableByReseller="true",
            planExpiration="",
            suspended=_bool(store.suspended),
            test="false",
            trial="false",
            traffic=0,
            storage=0,
            registered=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(store.created_at)),
        )
    _fields(root, total=len(stores))
    return root


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo("UTC" if name.upper() == "GMT" else name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Refused(412) from None


def _moment(value: str, zone: ZoneInfo) -> float:
    """UNIX seconds, or the start of a YYYY-MM-DD day in ``zone``."""
    if _INT.fullmatch(value):
        return float(value)
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=zone).timestamp()
    except ValueError:
        raise _Refused(412) from None


def _ids(params: dict[str, str]) -> set[int] | None:
    raw = ",".join(filter(None, (params.get("store.id"), params.get("store.ids"))))
    if not raw:
        return None
    parts = [part.strip() for part in raw.split(",")]
    if not all(_INT.fullmatch(part) for part in parts):
        raise _Refused(412)
    return {int(part) for part in parts}


def _flag(value: str) -> bool:
    if value.lower() in _YES:
        return True
    if value.lower() in _NO:
        return False
    raise _Refused(412)


def _order(value: str) -> tuple[str, bool]:
    field, descending = (value[:-5], True) if value.endswith("_desc") else (value, False)
    if field not in ORDERS:
        raise _Refused(412)
    return field, descending


def _count(params: dict[str, str], name: str, default: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    if not _INT.fullmatch(value):
        raise _Refused(412)
    return int(value)


def _sort_key(store: Store, field: str) -> object:
    return {"id": store.store_id, "email": _email(store), "url": _url(store), "date": store.created_at}.get(field, 0)


def _email(store: Store) -> str:
    return (store.owner or {}).get("email") or ""


def _url(store: Store) -> str:
    return f"https://store{store.store_id}.company.site"


# ---- status ---------------------------------------------------------------------------


def _status(sandbox: EcwidSandbox, store: Store) -> ET.Element:
    root = ET.Element("account-status")
    _fields(
        root,
        ownerid=store.store_id,
        profile_id=f"p{store.store_id}",
        suspended=_bool(store.suspended),
        closed="false",
        email=_email(store),
        name=(store.owner or {}).get("name") or "",
        traffic=0,
        storage=0,
    )
    subscription = ET.SubElement(ET.SubElement(root, "account-type"), "subscription")
    _fields(subscription, originalProduct=PLAN)
    _fields(root, total="0.0", currency="USD", productCount=len(store.products), categoryCount=len(store.categories))
    return root


# ---- XML and error pages -------------------------------------------------------------------


def _fields(parent: ET.Element, **values: object) -> None:
    for name, value in values.items():
        ET.SubElement(parent, name).text = str(value)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _error_page(status: int, path: str) -> bytes:
    reason = _REASONS.get(status, "Error")
    return (
        f'<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n'
        f"<title>Error {status} {reason}</title>\n</head>\n<body><h2>HTTP ERROR {status}</h2>\n"
        f"<p>Problem accessing {path}. Reason:\n<pre>    {reason}</pre></p>\n</body>\n</html>\n"
    ).encode("iso-8859-1")
