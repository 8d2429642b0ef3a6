"""Plain data the pipeline passes around."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

Scope = Literal["CATALOG", "STORE_SETTINGS"]
SCOPES: tuple[str, ...] = ("CATALOG", "STORE_SETTINGS")
ENTITIES: tuple[str, ...] = ("products", "categories")


@dataclass(frozen=True)
class CloneRequest:
    source_store_id: int
    target_store_id: int
    scope: Scope | None = None  # None: settings and catalog both
    clone_demo_catalog: bool = False
    # Clone the Instant Site too, after the store: None = no; True = as a draft; False = published.
    instant_site_draft: bool | None = None

    @classmethod
    def from_state(cls, data: dict) -> "CloneRequest":
        instant_site = data.get("instantSite")
        return cls(
            source_store_id=int(data["sourceStoreId"]),
            target_store_id=int(data["targetStoreId"]),
            scope=data.get("scope"),
            clone_demo_catalog=bool(data.get("cloneDemoCatalog", False)),
            instant_site_draft=bool(instant_site["draft"]) if isinstance(instant_site, dict) else None,
        )

    def to_state(self) -> dict:
        state = {
            "sourceStoreId": self.source_store_id,
            "targetStoreId": self.target_store_id,
            "scope": self.scope,
            "cloneDemoCatalog": self.clone_demo_catalog,
        }
        if self.instant_site_draft is not None:  # absent, not null: the state machine tests IsPresent
            state["instantSite"] = {"draft": self.instant_site_draft}
        return state


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


def clone_id_for(target_store_id: int, request_id: str) -> str:
    """The clone's ID, also its execution name: the same request always gets
    the same ID, so a redelivered or retried request cannot start a second clone.
    Execution names allow 80 characters of [A-Za-z0-9-_]; a digest keeps any
    request ID within that."""
    digest = hashlib.sha256(f"{target_store_id}:{request_id}".encode()).hexdigest()[:24]
    return f"{target_store_id}-{digest}"
