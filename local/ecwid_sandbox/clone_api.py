"""The Clone Store API: POST /api/v3/stores/clone (a ticket) and GET ?ticket= (its status).

Request order on both: rate limit -> injected faults ("post" or "get": slow, drop, 5xx,
429, malformed) -> auth (the app's two headers) -> params -> pre-flight checks
(clone_tickets.py) -> queued errorCode fault -> ticket. Faults come before auth because
they stand for the network and the gateway in front of Ecwid, which answer whatever the
request carries.
"""

from __future__ import annotations

import re

from .clone_tickets import CATALOG, SCOPES, STORE_SETTINGS, CloneError
from .exchange import API_PREFIX, CLIENT_ID_HEADER, BadParam, Exchange, Route, exact, positive_id

CLONE_PATH = API_PREFIX + "/stores/clone"


def serve(ex: Exchange, _: re.Match[str]) -> None:
    if not ex.passes_gateway(ex.headers.get(CLIENT_ID_HEADER) or "", ex.command.lower()):
        return
    if not ex.app_authorized():
        refusal = CloneError.of("AUTH_APP_DOESNT_EXIST")
        ex.send_json(refusal.status, refusal.body())
        return
    if ex.command == "POST":
        _post_clone(ex)
    else:
        _get_clone(ex)


ROUTES = (Route(frozenset({"GET", "POST"}), exact(CLONE_PATH), serve),)


def _post_clone(ex: Exchange) -> None:
    sbx = ex.sandbox
    try:
        source_id, target_id, scope, clone_demo = _clone_params(ex.query)
    except BadParam as exc:
        ex.send_json(400, {"success": False, "errorMessage": str(exc)})
        return
    try:
        ticket = sbx._registry.start_clone(
            source_id,
            target_id,
            scope,
            clone_demo,
            queued_seconds=sbx.config.queued_seconds,
            clone_seconds=sbx.config.clone_seconds,
            injected_error=sbx.faults.pop_error_code,
            draw_outcome=sbx.faults.draw_ticket_outcome,
        )
    except CloneError as exc:
        ex.send_json(exc.status, exc.body())
        return
    ex.entry["ticket"] = ticket.ticket
    ex.send_json(200, {"ticket": ticket.ticket, "success": True})


def _clone_params(q: dict[str, str]) -> tuple[int, int, frozenset[str], bool]:
    source_id = positive_id("sourceStoreId", q.get("sourceStoreId"))
    target_id = positive_id("targetStoreId", q.get("targetStoreId"))
    raw_scope = q.get("scope")
    if raw_scope is None or raw_scope == "":
        scope = frozenset(SCOPES)  # the spec: not specified = settings and catalog
    elif raw_scope in (CATALOG, STORE_SETTINGS):
        scope = frozenset([raw_scope])
    else:
        raise BadParam(f"Parameter scope must be CATALOG or STORE_SETTINGS, got {raw_scope[:40]!r}")
    raw_demo = q.get("cloneDemoCatalog")
    if raw_demo is None or raw_demo == "":
        clone_demo = False
    elif raw_demo.lower() in ("true", "false"):
        clone_demo = raw_demo.lower() == "true"
    else:
        raise BadParam(f"Parameter cloneDemoCatalog must be true or false, got {raw_demo[:40]!r}")
    return source_id, target_id, scope, clone_demo


def _get_clone(ex: Exchange) -> None:
    ticket = ex.query.get("ticket")
    if not ticket:
        ex.send_json(400, {"success": False, "errorMessage": "Parameter ticket is required"})
        return
    answer = ex.sandbox._registry.answer(ticket)
    if answer is None:
        ex.send_json(404, {"errorMessage": f"Ticket {ticket[:100]} not found"})
        return
    ex.send_json(200, answer)
