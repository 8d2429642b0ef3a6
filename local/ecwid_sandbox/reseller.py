"""Ecwid's Reseller API v1 in the sandbox (stands for https://my.ecwid.com/resellerapi/v1).

Form-encoded POSTs (parameters in the body or the query, as a servlet reads them), the
partner's ``key`` with each; answers are XML or empty, refusals Jetty's HTML error pages:

- ``stores`` (reseller_stores.py): ``date.from`` (required: UNIX time or YYYY-MM-DD in ``timezone``, default GMT;
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
402 (``refuse_suspended``, routed before every other API), and the Clone API refuses it as a
target with TARGET_NOT_ALLOWED_TO_CLONE (clone_tickets.py): Ecwid does not fill a store that
takes no orders.
"""

from __future__ import annotations

import hmac
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from .exchange import API_PREFIX, Exchange, Route, under
from .reseller_stores import INT, PLAN, Refused, owner_email, store_list, xml_bool, xml_fields
from .stores import Store

if TYPE_CHECKING:
    from .server import EcwidSandbox

RESELLER_PREFIX = "/resellerapi/v1"  # stands for https://my.ecwid.com/resellerapi/v1
RESELLER_FAULTS = "reseller"  # the Faults endpoint of every Reseller API call
XML_TYPE = "application/xml;charset=utf-8"
HTML_TYPE = "text/html;charset=iso-8859-1"  # Jetty's error pages
# REST v3 calls of one store, with its token
STORE_REST_PATH = re.compile(re.escape(API_PREFIX) + r"/([0-9]{1,18})(/.*)?")
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


def answer(sandbox: EcwidSandbox, method: str, path: str, query: dict[str, str], body: bytes) -> Answer:
    """The answer to one Reseller API request (past the rate limit and the faults)."""
    call = path[len(RESELLER_PREFIX) + 1 :]
    params = {
        **query,
        **{k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()},
    }
    try:
        if call not in ("stores", "suspend", "resume", "delete", "status"):
            raise Refused(404)
        if method != "POST":
            raise Refused(405)
        if not _is_partner_key(sandbox, params.get("key")):
            raise Refused(403)
        if call == "stores":
            return Answer(200, _xml(store_list(sandbox, params)))
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
            raise Refused(404, store_id) from None
        except PermissionError:
            raise Refused(403, store_id) from None
        return Answer(200, b"", store_id=store_id)
    except Refused as refused:
        return Answer(refused.status, _error_page(refused.status, path), HTML_TYPE, refused.store_id)


def serve(ex: Exchange, match: re.Match[str]) -> None:
    sbx = ex.sandbox
    # The partner's one account: its calls count in the same window as its app's.
    if not ex.passes_gateway(sbx.config.client_id, RESELLER_FAULTS):
        return
    result = answer(sbx, ex.command, match.string, ex.query, ex.body)
    if result.store_id is not None:
        ex.entry["storeId"] = result.store_id
    ex.send_body(result.status, result.body, result.content_type)


def refuse_suspended(ex: Exchange, match: re.Match[str]) -> None:
    """A REST v3 call with a suspended store's own token: 402, past the rate limit."""
    store_id = int(match.group(1))
    if ex.passes_gateway(ex.sandbox.config.client_id, None):
        ex.entry["storeId"] = store_id
        ex.send_json(402, {"errorMessage": f"Store #{store_id} is suspended"})


def _by_suspended_store(ex: Exchange, match: re.Match[str]) -> bool:
    """Whether the call names a suspended store and carries that store's own token."""
    token = ex.bearer_token() or ex.query.get("token")
    return ex.sandbox._registry.suspended_store_token(int(match.group(1)), token)


# Before every other API's routes: a suspended store's calls never reach them.
ROUTES = (
    Route(None, under(RESELLER_PREFIX), serve),
    Route(None, STORE_REST_PATH, refuse_suspended, when=_by_suspended_store),
)


def _is_partner_key(sandbox: EcwidSandbox, key: str | None) -> bool:
    expected = sandbox.config.reseller_key
    return bool(key) and bool(expected) and hmac.compare_digest(str(key).encode(), expected.encode())


def _owner_id(params: dict[str, str]) -> int:
    value = params.get("ownerid") or ""
    if not INT.fullmatch(value) or int(value) == 0:
        raise Refused(400)
    return int(value)


# ---- status ---------------------------------------------------------------------------


def _status(sandbox: EcwidSandbox, store: Store) -> ET.Element:
    root = ET.Element("account-status")
    xml_fields(
        root,
        ownerid=store.store_id,
        profile_id=f"p{store.store_id}",
        suspended=xml_bool(store.suspended),
        closed="false",
        email=owner_email(store),
        name=(store.owner or {}).get("name") or "",
        traffic=0,
        storage=0,
    )
    subscription = ET.SubElement(ET.SubElement(root, "account-type"), "subscription")
    xml_fields(subscription, originalProduct=PLAN)
    xml_fields(root, total="0.0", currency="USD", productCount=len(store.products), categoryCount=len(store.categories))
    return root


# ---- XML and error pages -------------------------------------------------------------------


def _xml(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _error_page(status: int, path: str) -> bytes:
    reason = _REASONS.get(status, "Error")
    return (
        f'<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n'
        f"<title>Error {status} {reason}</title>\n</head>\n<body><h2>HTTP ERROR {status}</h2>\n"
        f"<p>Problem accessing {path}. Reason:\n<pre>    {reason}</pre></p>\n</body>\n</html>\n"
    ).encode("iso-8859-1")
