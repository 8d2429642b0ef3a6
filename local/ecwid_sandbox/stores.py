"""The stores of the sandbox: the record every API reads and changes, behind one lock.

`StoreBook` holds the stores (and those the Reseller API deleted), their secret tokens
(the app's `secret_token` for each store: the store profile's bearer token and the
Instant Site token call's `code`), the Instant Site access tokens issued for them and
the owner e-mails of the stores POST /api/v3/stores made. Each API adds what it does to
that record in its own module (clone_tickets.py, store_creation.py, store_profile.py,
instant_site.py, reseller.py); registry.py puts them together as `StoreRegistry`.
One lock guards it all, because a check and what it allows must be atomic: two
concurrent clone POSTs for the same target must not both get a ticket.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from .profiles import default_profile, default_site_profile

FIRST_ENTITY_ID = 100_000_000

# The app scopes Clone Instant Site needs; a store's token may lack either (403).
MANAGE_INSTANT_SITE = "manage_instant_site"
CLONE_STORES = "clone_stores"
INSTANT_SITE_SCOPES = (MANAGE_INSTANT_SITE, CLONE_STORES)
# The app scopes of the store profile endpoints (REST v3, with the store's token).
READ_STORE_PROFILE = "read_store_profile"
UPDATE_STORE_PROFILE = "update_store_profile"
REST_SCOPES = (READ_STORE_PROFILE, UPDATE_STORE_PROFILE)


@dataclass(frozen=True)
class StoreShape:
    """A store to add (an existing id is replaced, and its Instant Site tokens end).

    Counts make fresh unique ids; limits of None mean unlimited; clone_seconds
    overrides the clone duration when this store is the source. secret_token is
    the Instant Site token `code` (None: made from the seed and the id, see
    EcwidSandbox.store_secret_token); instant_site_scopes are the app scopes its
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


class StoreBook:
    """The stores and their credentials; each API's part of `StoreRegistry` builds on it."""

    def __init__(self, seed: int = 1):
        self._lock = threading.RLock()
        self._stores: dict[int, Store] = {}
        self._deleted: dict[int, Store] = {}  # deleted through the Reseller API: in no API, in the record
        self._next_id = FIRST_ENTITY_ID
        self._seed = seed
        self._secret_tokens: dict[str, int] = {}  # secret token -> store id
        self._owner_emails: dict[str, int] = {}  # lower-cased owner e-mail -> store id
        self._access_tokens: dict[str, tuple[int, float]] = {}  # token -> (store id, monotonic expiry)

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
                self._forget_credentials(old)
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

    def is_credential(self, value: str) -> bool:
        """Whether `value` is a store's secret token or an issued access token (for redaction)."""
        with self._lock:
            return value in self._secret_tokens or value in self._access_tokens

    def remove_store(self, store_id: int) -> None:
        """The store is gone from every API (its tokens stop working, its e-mail is free again),
        kept in the record (``snapshot`` says ``deleted``)."""
        with self._lock:
            store = self._stores.pop(store_id)
            store.deleted = True
            self._deleted[store_id] = store
            self._forget_credentials(store)
            if store.owner is not None and self._owner_emails.get(store.owner["email"].lower()) == store_id:
                del self._owner_emails[store.owner["email"].lower()]

    def _forget_credentials(self, store: Store) -> None:
        """The store's secret token and the access tokens issued for it stop working (caller holds the lock)."""
        self._secret_tokens.pop(store.secret_token, None)
        for token in [t for t, (sid, _) in self._access_tokens.items() if sid == store.store_id]:
            del self._access_tokens[token]

    def _settle(self) -> None:
        """Bring what the clock drives up to date before a read (caller holds the lock):
        clone_tickets.py finishes the tickets that are due; the stores alone have nothing to do."""
