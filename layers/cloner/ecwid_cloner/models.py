"""Plain data the pipeline passes around."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Literal

Scope = Literal["CATALOG", "STORE_SETTINGS"]
SCOPES: tuple[str, ...] = ("CATALOG", "STORE_SETTINGS")
ENTITIES: tuple[str, ...] = ("products", "categories")


@dataclass(frozen=True)
class Merchant:
    """The owner of a store to create: what Ecwid's POST /stores takes (never a password)."""

    email: str
    name: str
    ip: str | None = None

    @classmethod
    def from_state(cls, data: dict) -> Merchant:
        return cls(email=str(data["email"]), name=str(data["name"]), ip=data.get("ip"))

    def to_state(self) -> dict:
        state = {"email": self.email, "name": self.name}
        if self.ip:
            state["ip"] = self.ip
        return state


@dataclass(frozen=True)
class CloneRequest:
    source_store_id: int
    target_store_id: int | None  # None until CreateStore made the store for ``merchant``
    scope: Scope | None = None  # None: settings and catalog both
    clone_demo_catalog: bool = False
    # Clone the Instant Site too, after the store: None = no; True = as a draft; False = published.
    instant_site_draft: bool | None = None
    merchant: Merchant | None = None  # create the target for this merchant first

    @classmethod
    def from_state(cls, data: dict) -> CloneRequest:
        instant_site = data.get("instantSite")
        target = data.get("targetStoreId")
        merchant = data.get("merchant")
        if target is None and not isinstance(merchant, dict):
            raise ValueError("a clone request needs a targetStoreId or a merchant")
        return cls(
            source_store_id=int(data["sourceStoreId"]),
            target_store_id=int(target) if target is not None else None,
            scope=data.get("scope"),
            clone_demo_catalog=bool(data.get("cloneDemoCatalog", False)),
            instant_site_draft=bool(instant_site["draft"]) if isinstance(instant_site, dict) else None,
            merchant=Merchant.from_state(merchant) if isinstance(merchant, dict) else None,
        )

    def to_state(self) -> dict:
        state: dict = {"sourceStoreId": self.source_store_id}
        # Absent, not null, when unknown: the state machine routes on IsPresent.
        if self.target_store_id is not None:
            state["targetStoreId"] = self.target_store_id
        state["scope"] = self.scope
        state["cloneDemoCatalog"] = self.clone_demo_catalog
        if self.instant_site_draft is not None:
            state["instantSite"] = {"draft": self.instant_site_draft}
        if self.merchant is not None:
            state["merchant"] = self.merchant.to_state()
        return state

    def with_target(self, target_store_id: int) -> CloneRequest:
        return replace(self, target_store_id=target_store_id)

    @property
    def target(self) -> int:
        """The target store; only steps that run after CreateStore ask for it."""
        if self.target_store_id is None:
            raise ValueError("the request has no targetStoreId yet (CreateStore has not run)")
        return self.target_store_id


@dataclass(frozen=True)
class CloneStatus:
    """One answer of GET /stores/clone."""

    status: str
    error_message: str | None = None
    # source ID -> target ID, both as Ecwid sends them (strings); only when COMPLETED
    products: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in ("COMPLETED", "FAILED")


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
