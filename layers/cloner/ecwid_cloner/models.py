"""Plain data the pipeline passes around."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum, auto
from typing import Any


class Word(StrEnum):
    """A word of the pipeline's vocabulary, spelled as its own name. A StrEnum: it equals, hashes,
    formats and serialises (JSON, DynamoDB, the state machine's input) as that very string."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list[str]) -> str:
        return name


class JobStatus(Word):
    """A clone's status on its job (the jobs table, the API, the events), in the order a job moves."""

    STARTING = auto()
    WAITING = auto()  # for a slot among the clones in flight (admission control)
    CREATING_STORE = auto()
    QUEUED = auto()
    IN_PROGRESS = auto()
    COMPLETED = auto()
    FAILED = auto()
    TIMED_OUT = auto()
    CANCELLED = auto()  # by an operator (POST /clones/{cloneId}/cancel)


class TicketStatus(Word):
    """A clone ticket's status in Ecwid's answer to GET /stores/clone (the spec)."""

    QUEUED = auto()
    IN_PROGRESS = auto()
    COMPLETED = auto()
    FAILED = auto()


class StepStatus(Word):
    """The outcome of a step after the clone (the job's ``profile`` and ``instantSite``)."""

    PENDING = auto()
    COMPLETED = auto()
    FAILED = auto()


class StoreActionStatus(Word):
    """What became of an action on a store this stack created (the job's ``storeAction.status``)."""

    DONE = auto()  # Ecwid did it (or had done it: a second delete)
    KEPT = auto()  # FailedStoreAction=keep: nothing asked of Ecwid
    PENDING = auto()  # a cancel met a spent budget: the slot reaper does it
    NO_RESELLER_KEY = auto()  # no reseller key in the credentials secret: Ecwid cannot be asked
    FAILED = auto()  # Ecwid refused it (its code in ``reason``)


class BulkStatus(Word):
    """An operator's bulk action (retry or cancel by filter)."""

    RUNNING = auto()
    COMPLETED = auto()


class Scope(Word):
    """What a clone copies (the spec's ``scope``); no scope: both."""

    CATALOG = auto()
    STORE_SETTINGS = auto()


class Entity(StrEnum):
    """What a COMPLETED clone maps from source to target IDs (the keys of Ecwid's clonedEntitiesMapping)."""

    PRODUCTS = auto()  # "products": StrEnum's auto() spells the name in lower case
    CATEGORIES = auto()


@dataclass(frozen=True)
class Merchant:
    """The owner of a store to create: what Ecwid's POST /stores takes (never a password), and
    the name the store takes (``store_name``, else the owner's name; see StoreProfile.for_merchant)."""

    email: str
    name: str
    ip: str | None = None
    store_name: str | None = None

    @classmethod
    def from_item(cls, data: Mapping[str, Any]) -> Merchant:
        return cls(
            email=str(data["email"]), name=str(data["name"]), ip=data.get("ip"), store_name=data.get("storeName")
        )

    def to_item(self) -> dict[str, str]:
        """As the job keeps it."""
        item = {"email": self.email, "name": self.name}
        if self.ip:
            item["ip"] = self.ip
        if self.store_name:
            item["storeName"] = self.store_name
        return item

    def to_ecwid(self) -> dict[str, str]:
        """The ``merchant`` object of Ecwid's POST /stores: only the fields Ecwid documents."""
        merchant = {"email": self.email, "name": self.name}
        if self.ip:
            merchant["ip"] = self.ip
        return merchant


# The store profile fields the PersonalizeStore step may set (Ecwid's PUT /{storeId}/profile),
# as "section.field": nothing else is ever sent.
PROFILE_FIELDS: tuple[str, ...] = (
    "settings.storeName",
    "company.companyName",
    "company.email",
    "company.phone",
    "company.street",
    "company.city",
    "company.postalCode",
    "company.countryCode",
    "company.stateOrProvinceCode",
    "mailNotifications.adminNotificationEmails",
    "formatsAndUnits.timezone",
    "languages.defaultLanguage",
)
# The template's contact lines a merchant's store must not show as its own: cleared unless given.
MERCHANT_CLEARED_FIELDS = ("company.phone", "company.street", "company.city", "company.postalCode")


@dataclass(frozen=True)
class StoreProfile:
    """Some of a store's profile fields, by their dotted names (see PROFILE_FIELDS)."""

    values: Mapping[str, Any]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.values) - set(PROFILE_FIELDS))
        if unknown:
            raise ValueError(f"not store profile fields: {', '.join(unknown)}")

    @classmethod
    def from_ecwid(cls, profile: Mapping[str, Any]) -> StoreProfile:
        """From Ecwid's nested shape ({"company": {"email": ...}, ...}), as a request carries it."""
        values = {
            f"{section}.{name}": value
            for section, fields in profile.items()
            if isinstance(fields, Mapping)
            for name, value in fields.items()
        }
        return cls(values)

    @classmethod
    def for_merchant(cls, merchant: Merchant) -> StoreProfile:
        """What a store made for ``merchant`` shows: its name and e-mail, none of the template's contact lines."""
        name = merchant.store_name or merchant.name
        values: dict[str, Any] = dict.fromkeys(MERCHANT_CLEARED_FIELDS, "")
        values.update(
            {
                "settings.storeName": name,
                "company.companyName": name,
                "company.email": merchant.email,
                "mailNotifications.adminNotificationEmails": [merchant.email],
            }
        )
        return cls(values)

    def updated_by(self, other: StoreProfile | None) -> StoreProfile:
        """These values, with ``other``'s winning field by field."""
        return StoreProfile({**self.values, **(other.values if other else {})})

    def to_ecwid(self) -> dict[str, dict[str, Any]]:
        """The body of Ecwid's PUT /{storeId}/profile: only the fields set here."""
        body: dict[str, dict[str, Any]] = {}
        for name in PROFILE_FIELDS:  # a stable order
            if name in self.values:
                section, field_name = name.split(".")
                body.setdefault(section, {})[field_name] = self.values[name]
        return body

    @property
    def fields(self) -> list[str]:
        """The names set, in PROFILE_FIELDS order."""
        return [name for name in PROFILE_FIELDS if name in self.values]

    @property
    def store_name(self) -> str | None:
        return self.values.get("settings.storeName")

    @property
    def email(self) -> str | None:
        return self.values.get("company.email")


def personalizes(scope: str | None, merchant: Merchant | None, profile: StoreProfile | None) -> bool:
    """Whether PersonalizeStore runs: for a store made for a merchant whose clone copied the
    template's settings (profile included), and whenever a profile is asked for."""
    return profile is not None or (merchant is not None and scope in (None, Scope.STORE_SETTINGS))


@dataclass(frozen=True)
class CloneRequest:
    """A clone as asked for. The job keeps it whole (``to_item``); the state machine carries it
    without personal data (``to_state``): no merchant, no profile, only whether a store is
    made for the merchant (``new_store``) and whether the profile step runs (``personalize``).
    The steps that need them read the merchant and the profile from the job."""

    source_store_id: int
    target_store_id: int | None  # None until CreateStore made the store for the merchant
    scope: Scope | None = None  # None: settings and catalog both
    clone_demo_catalog: bool = False
    # Clone the Instant Site too, after the store: None = no; True = as a draft; False = published.
    instant_site_draft: bool | None = None
    merchant: Merchant | None = None  # create the target for this merchant first (job only)
    profile: StoreProfile | None = None  # profile fields asked for (job only)
    new_store: bool = False  # a store is made for the merchant first
    personalize: bool = False  # PersonalizeStore runs after the clone

    def __post_init__(self) -> None:
        # Known from the merchant and the profile where they are (an entry point, the job); the
        # state keeps only the flags. Frozen: set once, here.
        if self.merchant is not None and not self.new_store:
            object.__setattr__(self, "new_store", True)
        if not self.personalize and personalizes(self.scope, self.merchant, self.profile):
            object.__setattr__(self, "personalize", True)

    @classmethod
    def from_state(cls, data: Mapping[str, Any]) -> CloneRequest:
        """From the state machine's ``$.request``, or from a job item (which also holds the
        merchant and the profile)."""
        instant_site = data.get("instantSite")
        target = data.get("targetStoreId")
        merchant_item = data.get("merchant")
        merchant = Merchant.from_item(merchant_item) if isinstance(merchant_item, Mapping) else None
        new_store = bool(data.get("newStore")) or merchant is not None
        if target is None and not new_store:
            raise ValueError("a clone request needs a targetStoreId or a merchant")
        profile = data.get("requestedProfile")
        return cls(
            source_store_id=int(data["sourceStoreId"]),
            target_store_id=int(target) if target is not None else None,
            scope=data.get("scope"),
            clone_demo_catalog=bool(data.get("cloneDemoCatalog", False)),
            instant_site_draft=bool(instant_site["draft"]) if isinstance(instant_site, Mapping) else None,
            merchant=merchant,
            profile=StoreProfile.from_ecwid(profile) if isinstance(profile, Mapping) else None,
            new_store=new_store,
            personalize=bool(data.get("personalize")),
        )

    from_item = from_state  # the job's item keeps the request's fields under the same names

    def to_state(self) -> dict[str, Any]:
        """The state machine's ``$.request``: no personal data."""
        state: dict[str, Any] = {"sourceStoreId": self.source_store_id}
        # Absent, not null, when unknown: the state machine routes on IsPresent.
        if self.target_store_id is not None:
            state["targetStoreId"] = self.target_store_id
        state["scope"] = self.scope
        state["cloneDemoCatalog"] = self.clone_demo_catalog
        if self.instant_site_draft is not None:
            state["instantSite"] = {"draft": self.instant_site_draft}
        if self.new_store:
            state["newStore"] = True
        if self.personalize:
            state["personalize"] = True
        return state

    def to_item(self) -> dict[str, Any]:
        """The request's fields as the job keeps them: the state's, the merchant and the profile."""
        item = self.to_state()
        if item["scope"] is None:
            del item["scope"]
        if self.merchant is not None:
            item["merchant"] = self.merchant.to_item()
        if self.profile is not None:
            item["requestedProfile"] = self.profile.to_ecwid()
        return item

    def with_target(self, target_store_id: int | None) -> CloneRequest:
        """Into this store (None: into a store made for the merchant)."""
        return replace(self, target_store_id=target_store_id)

    def profile_to_set(self) -> StoreProfile | None:
        """What PersonalizeStore sets: the merchant's defaults, then the profile asked for (None: nothing)."""
        if not self.personalize:
            return None
        base = StoreProfile.for_merchant(self.merchant) if self.merchant is not None else StoreProfile({})
        profile = base.updated_by(self.profile)
        return profile if profile.values else None

    @property
    def target(self) -> int:
        """The target store; only steps that run after CreateStore ask for it."""
        if self.target_store_id is None:
            raise ValueError("the request has no targetStoreId yet (CreateStore has not run)")
        return self.target_store_id


@dataclass(frozen=True)
class CloneStatus:
    """One answer of GET /stores/clone."""

    status: TicketStatus
    error_message: str | None = None
    # source ID -> target ID, both as Ecwid sends them (strings); only when COMPLETED
    products: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in (TicketStatus.COMPLETED, TicketStatus.FAILED)


def clone_id_for_merchant(email: str, request_id: str) -> str:
    """The ID of a clone into a store made for a merchant: from the e-mail and the
    request (or signup) ID, so one signup makes one store however often it arrives."""
    digest = hashlib.sha256(f"{email.strip().lower()}:{request_id}".encode()).hexdigest()[:24]
    return f"new-{digest}"


def clone_id_for(target_store_id: int, request_id: str) -> str:
    """The clone's ID, also its execution name: the same request always gets
    the same ID, so a redelivered or retried request cannot start a second clone.
    Execution names allow 80 characters of [A-Za-z0-9-_]; a digest keeps any
    request ID within that."""
    digest = hashlib.sha256(f"{target_store_id}:{request_id}".encode()).hexdigest()[:24]
    return f"{target_store_id}-{digest}"


def clone_key(request_id: str | None = None, signup_id: str | None = None) -> str | None:
    """What names a clone besides its target: a signup's ID (its own namespace, so a request ID
    cannot take a signup's clone) or the request's ID; None when the caller gave neither."""
    return f"signup-{signup_id}" if signup_id is not None else request_id


def clone_id_of(request: CloneRequest, key: str | None) -> str:
    """The clone ID of every entry point (the API, the signup queue, the local CLI: all through
    CloneLauncher): from the merchant's e-mail or the target store, and ``key`` (clone_key). The
    same key gives the same clone; without one, the clone gets a key of its own."""
    key = key if key is not None else f"auto-{uuid.uuid4()}"
    if request.merchant is not None:
        return clone_id_for_merchant(request.merchant.email, key)
    return clone_id_for(request.target, key)
