"""The sandbox's own control API under /_sandbox: stores, faults, stats (no Ecwid API stands behind it).

No auth: it only listens where the sandbox does. No rate limit and no faults either.
- GET /stores/{id}: the store's snapshot (404 unknown); GET /stores/{id}/secret-token:
  {"storeId", "secretToken"}, for a standalone sandbox's clients;
- POST /stores {"storeId", ...StoreShape's fields}: add (or replace) a store -> 201 its snapshot;
- PUT /faults {...}: switch faults (faults.py; "reset": true first turns all off) -> 200 the faults;
  GET /faults: the faults and their counts;
- GET /stats: tickets by status, clones accepted per target, Instant Site clones, requests,
  rate-limited requests, fault counts.
A bad body or field is 400 {"errorMessage"} naming it.
"""

from __future__ import annotations

import json
import re

from .exchange import STORE_ID, Exchange, Route, under

ADMIN_PREFIX = "/_sandbox"


def serve(ex: Exchange, match: re.Match[str]) -> None:
    sbx = ex.sandbox
    method, path = ex.command, match.group(1)
    parts = [p for p in path.split("/") if p]
    try:
        if method == "GET" and parts[:1] == ["stores"] and len(parts) > 1 and parts[2:] in ([], ["secret-token"]):
            if not STORE_ID.fullmatch(parts[1]):
                raise ValueError(f"store id must be an integer, got {parts[1][:40]!r}")
            store_id = int(parts[1])
            try:
                if len(parts) == 2:
                    ex.send_json(200, sbx.store(store_id))
                else:  # for a standalone sandbox's clients, which cannot call store_secret_token
                    ex.send_json(200, {"storeId": store_id, "secretToken": sbx.store_secret_token(store_id)})
            except KeyError:
                ex.send_json(404, {"errorMessage": f"Store #{parts[1]} not found"})
        elif method == "POST" and parts == ["stores"]:
            kwargs = _json_body(ex.body)
            if "storeId" not in kwargs:
                raise ValueError("storeId is required")
            store_id = kwargs.pop("storeId")
            try:
                sbx.add_store(store_id, **kwargs)
            except TypeError as exc:
                raise ValueError(str(exc)) from None
            ex.send_json(201, sbx.store(store_id))
        elif method == "PUT" and parts == ["faults"]:
            sbx.faults.update(_json_body(ex.body))
            ex.send_json(200, sbx.faults.to_dict())
        elif method == "GET" and parts == ["faults"]:
            ex.send_json(200, sbx.faults.to_dict())
        elif method == "GET" and parts == ["stats"]:
            ex.send_json(200, sbx.stats())
        else:
            ex.send_json(404, {"errorMessage": f"Resource not found: {method} {ADMIN_PREFIX}{path}"})
    except ValueError as exc:
        ex.send_json(400, {"errorMessage": str(exc)})


ROUTES = (Route(None, under(ADMIN_PREFIX), serve),)


def _json_body(body: bytes) -> dict:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise ValueError("body must be JSON") from None
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data
