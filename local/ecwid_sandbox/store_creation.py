"""Store creation (Ecwid's Partner API, REST v3): POST /api/v3/stores and GET /api/v3/stores?email=.

POST /api/v3/stores?returnApiToken=true {"merchant": {"email", "name", "password"?, "ip"?}}
-> 200 {"id", "token"?}: a new empty store (2 demo products, 1 demo category) with its
ids from 60000001, the partner's (the Reseller API may act on it). GET ?email= -> 200 {}
when that e-mail has a store, else 404.

Order: rate limit and faults ("create_store") -> the app's headers (403 FORBIDDEN) -> the
app's scope, create_stores or read_stores (403) -> the partner's plan (402
PAYMENT_REQUIRED) -> body (400 INVALID_REQUEST / INVALID_PASSWORD / INVALID_EMAIL /
INVALID_NAME) -> the e-mail has no store yet (409 EMAIL_ALREADY_EXISTS). The fault
`create_store.answer_lost_rate` makes the store, then closes the connection unanswered.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from .exchange import API_PREFIX, CLIENT_ID_HEADER, Exchange, Route, exact
from .profiles import EMAIL, default_profile, default_site_profile
from .stores import StoreBook, StoreShape

STORES_PATH = API_PREFIX + "/stores"  # create a store (POST), is an e-mail taken (GET ?email=)
CREATE_STORE_FAULTS = "create_store"
# The app scopes of the store-creation endpoints (Partner API).
CREATE_STORES = "create_stores"
READ_STORES = "read_stores"
FIRST_CREATED_STORE_ID = 60_000_001  # stores made by POST /api/v3/stores


class StoreCreationError(Exception):
    """A refusal of POST /api/v3/stores, answered as {"errorCode", "errorMessage"} with its status."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict:
        return {"errorCode": self.code, "errorMessage": self.message}


def serve(ex: Exchange, _: re.Match[str]) -> None:
    """POST /stores?returnApiToken=true {"merchant": {...}}; GET /stores?email=."""
    sbx = ex.sandbox
    if not ex.passes_gateway(ex.headers.get(CLIENT_ID_HEADER) or "", CREATE_STORE_FAULTS):
        return
    if not ex.app_authorized():
        ex.send_json(403, {"errorCode": "FORBIDDEN", "errorMessage": "Application is not authorized"})
        return
    needed = CREATE_STORES if ex.command == "POST" else READ_STORES
    if needed not in sbx.config.app_scopes:
        ex.send_json(403, {"errorCode": "FORBIDDEN", "errorMessage": f"The app has no {needed} scope"})
        return
    if ex.command == "GET":
        email = ex.query.get("email") or ""
        # Ecwid's own answer: an empty object when the e-mail has a store, 404 when not.
        if email and sbx._registry.has_owner_email(email):
            ex.send_json(200, {})
        else:
            ex.send_json(404, {"errorMessage": "Store not found"})
        return
    if not sbx.config.store_creation_allowed:
        ex.send_json(402, {"errorCode": "PAYMENT_REQUIRED", "errorMessage": "Your plan does not allow creating stores"})
        return
    try:
        email, name, ip = _merchant_body(ex.body)
        store_id, token = sbx._registry.create_store(email, name, ip)
    except StoreCreationError as exc:
        ex.send_json(exc.status, exc.body())
        return
    ex.entry["storeId"] = store_id
    if sbx.faults.draw_answer_lost(CREATE_STORE_FAULTS):
        ex.entry["fault"] = "answer_lost"
        ex.close_connection = True  # made, and no answer: the client sees the connection close
        return
    answer: dict = {"id": store_id}
    if ex.query.get("returnApiToken", "").lower() == "true":
        answer["token"] = token
    ex.send_json(200, answer)


ROUTES = (Route(frozenset({"GET", "POST"}), exact(STORES_PATH), serve),)


def _merchant_body(body: bytes) -> tuple[Any, Any, str | None]:
    # email and name as sent: create_store checks them (a 400 names which is wrong)
    try:
        data = json.loads(body)
    except ValueError:
        raise StoreCreationError(400, "INVALID_REQUEST", "Request body must be JSON") from None
    merchant = data.get("merchant") if isinstance(data, dict) else None
    if not isinstance(merchant, dict):
        raise StoreCreationError(400, "INVALID_REQUEST", "Field merchant is required and must be an object")
    password = merchant.get("password")
    if password is not None and (not isinstance(password, str) or len(password) < 6):
        raise StoreCreationError(400, "INVALID_PASSWORD", "merchant.password must have at least 6 characters")
    ip = merchant.get("ip")
    return merchant.get("email"), merchant.get("name"), ip if isinstance(ip, str) else None


class StoreCreation(StoreBook):
    """The stores POST /api/v3/stores makes, on top of the stores."""

    def __init__(self, seed: int = 1):
        super().__init__(seed)
        self._next_store_id = FIRST_CREATED_STORE_ID

    def create_store(self, email: str, name: str, ip: str | None = None) -> tuple[int, str]:
        """A new empty store for a merchant (POST /api/v3/stores): (its id, its secret token).

        StoreCreationError 409 for an e-mail that has a store, 400 for a bad one.
        """
        if not isinstance(email, str) or len(email) > 254 or not EMAIL.fullmatch(email):
            raise StoreCreationError(400, "INVALID_EMAIL", f"Invalid e-mail: {str(email)[:80]!r}")
        if not isinstance(name, str) or not name.strip():
            raise StoreCreationError(400, "INVALID_NAME", "merchant.name is required")
        with self._lock:
            if email.lower() in self._owner_emails:
                raise StoreCreationError(409, "EMAIL_ALREADY_EXISTS", f"Account with email {email} already exists")
            store_id = self._next_store_id
            self._next_store_id += 1
            token = "secret_" + secrets.token_hex(16)
            # New stores come with sample items, like every store Ecwid makes.
            self.add_store(store_id, StoreShape(demo_products=2, demo_categories=1, secret_token=token, partner=True))
            store = self._stores[store_id]
            store.owner = {"email": email, "name": name, "ip": ip}
            store.profile = default_profile(store_id, store.owner)
            store.site_profile = default_site_profile(store.profile)
            self._owner_emails[email.lower()] = store_id
            return store_id, token

    def has_owner_email(self, email: str) -> bool:
        with self._lock:
            return email.lower() in self._owner_emails

    def created_stores(self, email: str | None = None) -> list[int]:
        """Ids of the stores made by POST /stores (for one owner e-mail, or all), deleted ones too."""
        with self._lock:
            return sorted(
                s.store_id
                for s in (*self._stores.values(), *self._deleted.values())
                if s.owner is not None and (email is None or s.owner["email"].lower() == email.lower())
            )
