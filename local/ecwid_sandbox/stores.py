"""Stores and clone tickets of the Ecwid sandbox: the state behind the HTTP layer.

Everything here is guarded by one lock in `StoreRegistry`, because the pre-flight
checks and the ticket they create must be atomic: two concurrent POSTs for the same
target must not both get a ticket. Ticket progress is computed from the clock when
someone looks (`_settle`), so there is no background thread to start or stop.

Instant Site state lives here too: each store's secret token (the app's `secret_token`
for that store), its Instant Site scopes, the access tokens issued for it and what the
last Instant Site clone into it was. So does what the Reseller API sees (reseller.py):
whether a store is the partner's, when it was created, suspended, deleted.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
import random
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .profiles import (
    apply_site_update,
    apply_update,
    copy_settings,
    default_profile,
    default_site_profile,
    template_profile,
)
from .refusals import InstantSiteError, ProfileError

CATALOG = "CATALOG"
STORE_SETTINGS = "STORE_SETTINGS"
SCOPES = (CATALOG, STORE_SETTINGS)

QUEUED = "QUEUED"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
STUCK = "STUCK"  # a test-only outcome: the ticket stays IN_PROGRESS forever

FAILED_TICKET_MESSAGE = "Failed to clone store data"

# errorCode -> (HTTP status, message), messages exactly as in the spec's table.
# {source}, {target} and {ticket} stand for $sourceStoreId, $targetStoreId and the
# running ticket.
ERRORS: dict[str, tuple[int, str]] = {
    "AUTH_APP_DOESNT_EXIST": (403, "Application does not exist"),
    "TARGET_CATEGORIES_LIMIT": (400, "Target store categories limit will be exceeded"),
    "TARGET_PRODUCTS_LIMIT": (400, "Target store products limit will be exceeded"),
    "TARGET_DESTINATION_ZONES_LIMIT": (400, "Target store destination zones count will be exceeded"),
    "UNKNOWN_IMPORT_FAILED_TO_START": (500, "Failed to start import"),
    "SOURCE_NOT_FOUND": (400, "Store #{source} not found"),
    "UNKNOWN_INTERNAL_ERROR": (500, "Internal error"),
    "SOURCE_NOT_RESPONDING": (400, "Source store failed to respond"),
    "TARGET_NOT_ALLOWED_TO_CLONE": (400, "Target store is not allowed to clone"),
    "TARGET_NOT_FOUND": (400, "Store #{target} not found"),
    "TARGET_CATEGORIES_NOT_EMPTY": (400, "Target store categories should be empty"),
    "TARGET_PRODUCT_TYPES_NOT_EMPTY": (400, "Target store product types should be empty"),
    "TARGET_PRODUCTS_NOT_EMPTY": (400, "Target store products should be empty"),
    "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET": (
        400,
        "Not allowed to clone to #{target} while previous clone is still in progress with ticket {ticket}",
    ),
}
# The spec's table lists SOURCE_NOT_RESPONDING twice; the second row is the target's.
TARGET_NOT_RESPONDING_MESSAGE = "Target store failed to respond"

FIRST_ENTITY_ID = 100_000_000
FIRST_CREATED_STORE_ID = 60_000_001  # stores made by POST /api/v3/stores
# Close to what Ecwid accepts: something@domain.tld, no spaces.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")

# The app scopes Clone Instant Site needs; a store's token may lack either (403).
MANAGE_INSTANT_SITE = "manage_instant_site"
CLONE_STORES = "clone_stores"
INSTANT_SITE_SCOPES = (MANAGE_INSTANT_SITE, CLONE_STORES)
# The app scopes of the store profile endpoints (REST v3, with the store's token).
READ_STORE_PROFILE = "read_store_profile"
UPDATE_STORE_PROFILE = "update_store_profile"
REST_SCOPES = (READ_STORE_PROFILE, UPDATE_STORE_PROFILE)


class CloneError(Exception):
    """A pre-flight failure, answered as {"success": false, "errorCode", "errorMessage"}."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status

    @classmethod
    def of(cls, code: str, *, source: object = "", target: object = "", ticket: str = "") -> CloneError:
        status, template = ERRORS.get(code, (400, "Injected error"))
        return cls(code, template.format(source=source, target=target, ticket=ticket), status)

    def body(self) -> dict:
        return {"success": False, "errorCode": self.code, "errorMessage": self.message}


class StoreCreationError(Exception):
    """A refusal of POST /api/v3/stores, answered as {"errorCode", "errorMessage"} with its status."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict:
        return {"errorCode": self.code, "errorMessage": self.message}


@dataclass(frozen=True)
class StoreShape:
    """A store to add (an existing id is replaced, and its Instant Site tokens end).

    Counts make fresh unique ids; limits of None mean unlimited; clone_seconds
    overrides the clone duration when this store is the source. secret_token is
    the Instant Site token `code` (None: made from the seed and the id, see
    Sandbox.store_secret_token); instant_site_scopes are the app scopes its
    Instant Site token carries (without manage_instant_site or clone_stores a
    clone is 403).
    """

    products: int = 0
    categories: int = 0
    product_types: int = 0
    demo_products: int = 0
    demo_categories: int = 0
    products_limit: int | None = None
    categories_limit: int | None = None
    destination_zones: int = 0
    destination_zones_limit: int | None = None
    clone_allowed: bool = True
    responding: bool = True
    clone_seconds: float | None = None
    secret_token: str | None = None
    instant_site_scopes: Iterable[str] = INSTANT_SITE_SCOPES
    profile: dict | None = None  # Ecwid's nested profile; None: a plain new store's (profiles.default_profile)
    rest_scopes: Iterable[str] = REST_SCOPES  # the store token's REST v3 scopes (without one: 403)
    partner: bool = False  # the partner's (its Reseller API may act on it): stores POST /stores made are
    created_at: float | None = None  # epoch seconds (the Reseller API's "registered"); None: now


@dataclass
class Store:
    store_id: int
    products: list[int] = field(default_factory=list)
    categories: list[int] = field(default_factory=list)
    product_types: int = 0
    # Demo (sample) items never make a store non-empty and never count toward limits.
    demo_products: list[int] = field(default_factory=list)
    demo_categories: list[int] = field(default_factory=list)
    destination_zones: int = 0
    products_limit: int | None = None
    categories_limit: int | None = None
    destination_zones_limit: int | None = None
    clone_allowed: bool = True
    responding: bool = True
    clone_seconds: float | None = None  # overrides the clone duration when this store is the SOURCE
    secret_token: str = ""  # the app's secret_token for this store: the Instant Site token `code`
    instant_site_scopes: frozenset[str] = frozenset(INSTANT_SITE_SCOPES)
    # {"source", "draft", "published", "clones"} once an Instant Site clone came in, else None.
    instant_site: dict | None = None
    owner: dict | None = None  # {"email", "name", "ip"} of a store made by POST /stores
    profile: dict = field(default_factory=dict)  # GET/PUT /api/v3/{storeId}/profile
    site_profile: dict = field(default_factory=dict)  # the Instant Site's PUT /{storeId}/profile
    rest_scopes: frozenset[str] = frozenset(REST_SCOPES)
    partner: bool = False  # created by the partner (POST /stores): its Reseller API may act on it
    created_at: float = 0.0  # epoch seconds
    suspended: bool = False  # by the Reseller API: REST calls with its token answer 402, no clone into it
    deleted: bool = False  # by the Reseller API: gone from every API, kept here for the record

    def snapshot(self) -> dict:
        # No secret token here: the admin API serves snapshots (see EcwidSandbox.store_secret_token).
        return {
            "storeId": self.store_id,
            "products": list(self.products),
            "categories": list(self.categories),
            "productTypes": self.product_types,
            "demoProducts": list(self.demo_products),
            "demoCategories": list(self.demo_categories),
            "destinationZones": self.destination_zones,
            "productsLimit": self.products_limit,
            "categoriesLimit": self.categories_limit,
            "destinationZonesLimit": self.destination_zones_limit,
            "cloneAllowed": self.clone_allowed,
            "responding": self.responding,
            "cloneSeconds": self.clone_seconds,
            "instantSiteScopes": sorted(self.instant_site_scopes),
            "instantSite": None if self.instant_site is None else dict(self.instant_site),
            "owner": None if self.owner is None else dict(self.owner),
            "profile": copy.deepcopy(self.profile),
            "siteProfile": dict(self.site_profile),
            "restScopes": sorted(self.rest_scopes),
            "partner": self.partner,
            "createdAt": self.created_at,
            "suspended": self.suspended,
            "deleted": self.deleted,
        }


@dataclass
class Ticket:
    ticket: str
    source_id: int
    target_id: int
    scope: frozenset[str]
    clone_demo: bool
    created: float  # time.monotonic() at the POST
    queued_seconds: float
    duration: float  # from the POST to the terminal state
    outcome: str | None = None  # None = COMPLETED when due; FAILED; STUCK
    final: dict | None = None  # the terminal answer, once settled


class StoreRegistry:
    def __init__(self, seed: int = 1):
        self._lock = threading.RLock()
        self._stores: dict[int, Store] = {}
        self._deleted: dict[int, Store] = {}  # deleted through the Reseller API: in no API, in the record
        self._tickets: dict[str, Ticket] = {}
        self._pending: dict[str, Ticket] = {}  # not yet COMPLETED/FAILED
        self._busy_targets: dict[int, str] = {}  # target id -> running ticket
        self._accepted: dict[int, int] = {}  # target id -> POSTs that got a ticket
        self._next_id = FIRST_ENTITY_ID
        # A separate generator for tickets, so fault draws do not shift ticket ids.
        self._rng = random.Random(seed)
        self._seed = seed
        self._secret_tokens: dict[str, int] = {}  # secret token -> store id
        self._owner_emails: dict[str, int] = {}  # lower-cased owner e-mail -> store id
        self._next_store_id = FIRST_CREATED_STORE_ID
        self._access_tokens: dict[str, tuple[int, float]] = {}  # token -> (store id, monotonic expiry)

    # ---- stores -------------------------------------------------------------

    def new_ids(self, n: int) -> list[int]:
        """Product/category ids come from one counter: unique across the sandbox."""
        with self._lock:
            first = self._next_id
            self._next_id += n
            return list(range(first, first + n))

    def add_store(self, store_id: int, shape: StoreShape) -> None:
        products, categories, product_types = shape.products, shape.categories, shape.product_types
        demo_products, demo_categories = shape.demo_products, shape.demo_categories
        destination_zones, secret_token, instant_site_scopes = (
            shape.destination_zones,
            shape.secret_token,
            shape.instant_site_scopes,
        )
        counts = {
            "products": products,
            "categories": categories,
            "product_types": product_types,
            "demo_products": demo_products,
            "demo_categories": demo_categories,
            "destination_zones": destination_zones,
        }
        for name, value in counts.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if not isinstance(store_id, int) or isinstance(store_id, bool) or store_id <= 0:
            raise ValueError(f"store_id must be a positive integer, got {store_id!r}")
        if secret_token is None:
            secret_token = self.default_secret_token(store_id)
        if not isinstance(secret_token, str) or not secret_token:
            raise ValueError(f"secret_token must be a non-empty string, got {type(secret_token).__name__}")
        if isinstance(instant_site_scopes, str) or not all(isinstance(x, str) for x in instant_site_scopes):
            raise ValueError("instant_site_scopes must be a list of strings")
        with self._lock:
            owner = self._secret_tokens.get(secret_token)
            if owner is not None and owner != store_id:
                raise ValueError(f"secret_token is already store {owner}'s")
            old = self._stores.get(store_id)
            if old is not None:
                # A replaced store starts over: its old secret and tokens stop working.
                self._secret_tokens.pop(old.secret_token, None)
                for token in [t for t, (sid, _) in self._access_tokens.items() if sid == store_id]:
                    del self._access_tokens[token]
            self._secret_tokens[secret_token] = store_id
            # Adding an existing id replaces that store: handy for tests that reshape one.
            self._stores[store_id] = Store(
                store_id=store_id,
                products=self.new_ids(products),
                categories=self.new_ids(categories),
                product_types=product_types,
                demo_products=self.new_ids(demo_products),
                demo_categories=self.new_ids(demo_categories),
                destination_zones=destination_zones,
                products_limit=shape.products_limit,
                categories_limit=shape.categories_limit,
                destination_zones_limit=shape.destination_zones_limit,
                clone_allowed=shape.clone_allowed,
                responding=shape.responding,
                clone_seconds=shape.clone_seconds,
                secret_token=secret_token,
                instant_site_scopes=frozenset(instant_site_scopes),
                rest_scopes=frozenset(shape.rest_scopes),
                partner=bool(shape.partner),
                created_at=time.time() if shape.created_at is None else float(shape.created_at),
            )
            store = self._stores[store_id]
            store.profile = copy.deepcopy(shape.profile) if shape.profile else default_profile(store_id)
            store.site_profile = default_site_profile(store.profile)
            self._deleted.pop(store_id, None)

    def create_store(self, email: str, name: str, ip: str | None = None) -> tuple[int, str]:
        """A new empty store for a merchant (POST /api/v3/stores): (its id, its secret token).

        StoreCreationError 409 for an e-mail that has a store, 400 for a bad one.
        """
        if not isinstance(email, str) or len(email) > 254 or not _EMAIL.fullmatch(email):
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

    def default_secret_token(self, store_id: int) -> str:
        """Deterministic from the seed and the id, without drawing from the ticket generator."""
        digest = hashlib.sha256(f"ecwid-sandbox:{self._seed}:{store_id}".encode()).hexdigest()
        return f"secret_{store_id}_{digest[:16]}"

    def secret_token(self, store_id: int) -> str:
        with self._lock:
            store = self._stores.get(store_id)
            if store is None:
                raise KeyError(f"store {store_id} not found")
            return store.secret_token

    def snapshot(self, store_id: int) -> dict:
        with self._lock:
            self._settle()
            store = self._stores.get(store_id) or self._deleted.get(store_id)
            if store is None:
                raise KeyError(f"store {store_id} not found")
            return store.snapshot()

    # ---- cloning ------------------------------------------------------------

    def start_clone(
        self,
        source_id: int,
        target_id: int,
        scope: frozenset[str],
        clone_demo: bool,
        *,
        queued_seconds: float,
        clone_seconds: float,
        injected_error: Callable[[], str | None] = lambda: None,
        draw_outcome: Callable[[], str | None] = lambda: None,
    ) -> Ticket:
        """Run the pre-flight checks and create a ticket, or raise CloneError.

        `injected_error` is asked last, only when every real check passed, so a queued
        fault code never hides a real terminal error.
        """
        with self._lock:
            self._settle()
            source = self._preflight(source_id, target_id, scope, clone_demo)
            code = injected_error()
            if code is not None:
                # A made-up ticket id: a faulted POST never creates a ticket.
                raise CloneError.of(code, source=source_id, target=target_id, ticket=self._new_uuid())
            duration = source.clone_seconds if source.clone_seconds is not None else clone_seconds
            ticket = Ticket(
                ticket=self._new_uuid(),
                source_id=source_id,
                target_id=target_id,
                scope=scope,
                clone_demo=clone_demo,
                created=time.monotonic(),
                queued_seconds=queued_seconds,
                duration=duration,
                outcome=draw_outcome(),
            )
            self._tickets[ticket.ticket] = ticket
            self._pending[ticket.ticket] = ticket
            self._busy_targets[target_id] = ticket.ticket
            self._accepted[target_id] = self._accepted.get(target_id, 0) + 1
            return ticket

    def _preflight(self, source_id: int, target_id: int, scope: frozenset[str], clone_demo: bool) -> Store:
        def fail(code: str) -> CloneError:
            return CloneError.of(code, source=source_id, target=target_id)

        source = self._stores.get(source_id)
        if source is None:
            raise fail("SOURCE_NOT_FOUND")
        target = self._stores.get(target_id)
        if target is None:
            raise fail("TARGET_NOT_FOUND")
        if not target.clone_allowed or target.suspended:
            # A suspended store takes no orders and shows no products: Ecwid will not fill it either.
            raise fail("TARGET_NOT_ALLOWED_TO_CLONE")
        if not source.responding:
            raise fail("SOURCE_NOT_RESPONDING")
        if not target.responding:
            raise CloneError("SOURCE_NOT_RESPONDING", TARGET_NOT_RESPONDING_MESSAGE)
        running = self._busy_targets.get(target_id)
        if running is not None:
            raise CloneError.of(
                "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET", source=source_id, target=target_id, ticket=running
            )
        if CATALOG in scope:
            # Only real items count; demo products and categories are fine in a target.
            if target.products:
                raise fail("TARGET_PRODUCTS_NOT_EMPTY")
            if target.categories:
                raise fail("TARGET_CATEGORIES_NOT_EMPTY")
            if target.product_types:
                raise fail("TARGET_PRODUCT_TYPES_NOT_EMPTY")
            if _exceeds(target.products_limit, len(target.products) + len(source.products)):
                raise fail("TARGET_PRODUCTS_LIMIT")
            if _exceeds(target.categories_limit, len(target.categories) + len(source.categories)):
                raise fail("TARGET_CATEGORIES_LIMIT")
        if STORE_SETTINGS in scope:
            # Settings replace the target's, so the source's zone count is what must fit.
            if _exceeds(target.destination_zones_limit, source.destination_zones):
                raise fail("TARGET_DESTINATION_ZONES_LIMIT")
        return source

    def answer(self, ticket_id: str) -> dict | None:
        """The GET /stores/clone body for a ticket, or None when the ticket is unknown."""
        with self._lock:
            self._settle()
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                return None
            if ticket.final is not None:
                return ticket.final
            elapsed = time.monotonic() - ticket.created
            return {"status": QUEUED if elapsed < ticket.queued_seconds else IN_PROGRESS}

    def set_ticket_outcome(self, ticket_id: str, outcome: str) -> None:
        if outcome not in (FAILED, STUCK, COMPLETED):
            raise ValueError(f"outcome must be FAILED, STUCK or COMPLETED, got {outcome!r}")
        with self._lock:
            self._settle()
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                raise KeyError(f"ticket {ticket_id} not found")
            if ticket.final is not None:
                raise ValueError(f"ticket {ticket_id} already ended {ticket.final['status']}")
            ticket.outcome = None if outcome == COMPLETED else outcome

    def accepted_clones(self, target_id: int | None = None) -> int:
        with self._lock:
            if target_id is None:
                return sum(self._accepted.values())
            return self._accepted.get(target_id, 0)

    def stats(self) -> dict:
        with self._lock:
            self._settle()
            now = time.monotonic()
            by_status: dict[str, int] = {}
            for t in self._tickets.values():
                if t.final is not None:
                    status = t.final["status"]
                else:
                    status = QUEUED if now - t.created < t.queued_seconds else IN_PROGRESS
                by_status[status] = by_status.get(status, 0) + 1
            return {
                "acceptedClones": {str(k): v for k, v in sorted(self._accepted.items())},
                "acceptedClonesTotal": sum(self._accepted.values()),
                "instantSiteClones": {
                    str(s.store_id): s.instant_site["clones"]
                    for s in sorted(self._stores.values(), key=lambda s: s.store_id)
                    if s.instant_site is not None
                },
                "tickets": by_status,
            }

    # ---- Instant Site -----------------------------------------------------------

    def issue_instant_site_token(self, store_id: int, code: str | None, lifetime: float) -> str:
        """An access token for the store whose secret token `code` is; 404 / 401 otherwise."""
        with self._lock:
            store = self._stores.get(store_id)
            if store is None:
                raise InstantSiteError(404, f"Store #{store_id} not found")
            if not code:
                raise InstantSiteError(401, "Parameter code is required")
            # Constant-time compare, as for the app secret.
            if not hmac.compare_digest(code.encode(), store.secret_token.encode()):
                raise InstantSiteError(401, f"Invalid code for site #{store_id}")
            now = time.monotonic()
            for token in [t for t, (_, expiry) in self._access_tokens.items() if expiry <= now]:
                del self._access_tokens[token]
            token = secrets.token_urlsafe(32)  # a credential: unpredictable, not seeded
            self._access_tokens[token] = (store_id, now + lifetime)
            return token

    def check_instant_site_access(self, target_id: int, token: str | None) -> None:
        """401 unless `token` is a live token of the target; 403 when the target lacks a scope."""
        with self._lock:
            issued = self._access_tokens.get(token) if token else None
            if token is None or issued is None:
                raise InstantSiteError(401, "Missing or unknown access token")
            owner, expiry = issued
            if expiry <= time.monotonic():
                del self._access_tokens[token]
                raise InstantSiteError(401, "Access token expired")
            if owner != target_id:
                raise InstantSiteError(401, f"Access token is not valid for site #{target_id}")
            target = self._stores[target_id]
            missing = [scope for scope in INSTANT_SITE_SCOPES if scope not in target.instant_site_scopes]
            if missing:
                raise InstantSiteError(403, f"Access token lacks the scope {', '.join(missing)}")

    def clone_instant_site(self, target_id: int, source_id: int, draft: bool) -> dict:
        """Record the clone on the target (404 when the source is unknown); the new record."""
        with self._lock:
            if source_id not in self._stores:
                raise InstantSiteError(404, f"Store #{source_id} not found")
            target = self._stores[target_id]
            clones = (target.instant_site or {}).get("clones", 0) + 1
            target.instant_site = {"source": source_id, "draft": draft, "published": not draft, "clones": clones}
            target.site_profile = dict(self._stores[source_id].site_profile)  # the site's SEO title, e-mail...
            return dict(target.instant_site)

    def update_site_profile(self, target_id: int, token: str | None, body: Any) -> None:
        """The Instant Site's PUT /{storeId}/profile with a live access token of that store."""
        with self._lock:
            self.check_instant_site_access(target_id, token)
            try:
                apply_site_update(self._stores[target_id].site_profile, body)
            except ProfileError as exc:
                raise InstantSiteError(exc.status, exc.message) from None

    # ---- store profiles (REST v3, with the store's own token) -----------------------

    def store_profile(self, store_id: int, token: str | None) -> dict:
        """GET /{storeId}/profile: 404 unknown store, 401 a token that is not the store's, 403 no scope."""
        with self._lock:
            store = self._store_for_token(store_id, token, READ_STORE_PROFILE)
            return copy.deepcopy(store.profile)

    def update_store_profile(self, store_id: int, token: str | None, body: Any) -> None:
        """PUT /{storeId}/profile: a partial update (400 when a field is wrong; nothing changes then)."""
        with self._lock:
            store = self._store_for_token(store_id, token, UPDATE_STORE_PROFILE)
            apply_update(store.profile, body)

    def _store_for_token(self, store_id: int, token: str | None, scope: str) -> Store:
        store = self._stores.get(store_id)
        if store is None:
            raise ProfileError(404, f"Store #{store_id} not found")
        if not token or not hmac.compare_digest(token.encode(), store.secret_token.encode()):
            raise ProfileError(401, "Access token is missing or invalid for this store")
        if scope not in store.rest_scopes:
            raise ProfileError(403, f"Access token doesn't have {scope} scope")
        return store

    # ---- the Reseller API's view (reseller.py) ------------------------------------

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
            store = self._stores.pop(store_id)
            store.deleted = True
            self._deleted[store_id] = store
            self._secret_tokens.pop(store.secret_token, None)
            for token in [t for t, (sid, _) in self._access_tokens.items() if sid == store_id]:
                del self._access_tokens[token]
            if store.owner is not None and self._owner_emails.get(store.owner["email"].lower()) == store_id:
                del self._owner_emails[store.owner["email"].lower()]

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

    def is_credential(self, value: str) -> bool:
        """Whether `value` is a store's secret token or an issued access token (for redaction)."""
        with self._lock:
            return value in self._secret_tokens or value in self._access_tokens

    # ---- internals ----------------------------------------------------------

    def _new_uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _settle(self) -> None:
        """Finish every ticket whose time has come (caller holds the lock)."""
        now = time.monotonic()
        for ticket in list(self._pending.values()):
            if ticket.outcome != STUCK and now - ticket.created >= ticket.duration:
                self._finish(ticket)

    def _finish(self, ticket: Ticket) -> None:
        del self._pending[ticket.ticket]
        if self._busy_targets.get(ticket.target_id) == ticket.ticket:
            del self._busy_targets[ticket.target_id]
        if ticket.outcome == FAILED:
            ticket.final = {"status": FAILED, "errorMessage": FAILED_TICKET_MESSAGE}
            return
        source = self._stores.get(ticket.source_id)
        target = self._stores.get(ticket.target_id)
        mapping: dict[str, dict[str, str]] = {"products": {}, "categories": {}}
        if source is not None and target is not None:
            if CATALOG in ticket.scope:
                products = self._copy(source.products, mapping["products"])
                categories = self._copy(source.categories, mapping["categories"])
                target.products.extend(products)
                target.categories.extend(categories)
                target.product_types += source.product_types
                if ticket.clone_demo:
                    # Cloned sample items stay sample items in the target.
                    target.demo_products.extend(self._copy(source.demo_products, mapping["products"]))
                    target.demo_categories.extend(self._copy(source.demo_categories, mapping["categories"]))
            if STORE_SETTINGS in ticket.scope:
                target.destination_zones = source.destination_zones
                copy_settings(source.profile, target.profile)
        ticket.final = {"status": COMPLETED, "clonedEntitiesMapping": mapping}

    def _copy(self, source_ids: list[int], mapping: dict[str, str]) -> list[int]:
        new = self.new_ids(len(source_ids))
        mapping.update(zip(map(str, source_ids), map(str, new), strict=True))
        return new


def _exceeds(limit: int | None, count: int) -> bool:
    return limit is not None and count > limit


def seed_default_stores(registry: StoreRegistry) -> None:
    """The stores the local stack and tests rely on (see the package docstring)."""

    def add(store_id: int, **shape: Any) -> None:
        registry.add_store(store_id, StoreShape(**shape))

    add(
        1003,
        products=500,
        categories=40,
        product_types=3,
        demo_products=2,
        destination_zones=3,
        profile=template_profile(1003),
    )
    # The template's Instant Site has its own name (its SEO title, its browser tab) and e-mail.
    registry._stores[1003].site_profile.update(storeName="Template Bakery Co. | Fresh bread daily")
    add(1004, products=5000, categories=200)
    add(1005, products=10, categories=2, responding=False)
    # New stores come with sample items; they must not make a target non-empty.
    fresh = {"demo_products": 2, "demo_categories": 1}
    for store_id in (*range(2001, 2301), *range(4001, 5001)):  # 4001..5000: the tests' fresh targets
        add(store_id, **fresh)
    add(3001, clone_allowed=False, **fresh)
    add(3002, products_limit=10, **fresh)
    add(3003, categories_limit=5, **fresh)
    add(3004, destination_zones_limit=0, **fresh)
    add(3005, products=1, **fresh)
    add(3006, categories=1, **fresh)
    add(3007, product_types=1, **fresh)
    add(3008, responding=False, **fresh)  # the spec's "Target store failed to respond"
