"""The Clone Store API's state: clone tickets, the pre-flight checks, and what a clone copies.

A ticket's progress is computed from the clock when someone looks (`_settle`), so there
is no background thread to start or stop: QUEUED for `queued_seconds`, IN_PROGRESS, then
at its duration COMPLETED (the catalog and settings copied into the target, the
mapping of source to target ids in the answer) or the outcome a fault drew (FAILED,
or STUCK: IN_PROGRESS forever). clone_api.py serves it over HTTP.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from .profiles import copy_settings
from .stores import Store, StoreBook

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

    def running_status(self, now: float) -> str:
        """QUEUED, then IN_PROGRESS, until it is settled."""
        return QUEUED if now - self.created < self.queued_seconds else IN_PROGRESS


class CloneTickets(StoreBook):
    """Clone tickets on top of the stores: what POST and GET /api/v3/stores/clone do."""

    def __init__(self, seed: int = 1):
        super().__init__(seed)
        self._tickets: dict[str, Ticket] = {}
        self._pending: dict[str, Ticket] = {}  # not yet COMPLETED/FAILED
        self._busy_targets: dict[int, str] = {}  # target id -> running ticket
        self._accepted: dict[int, int] = {}  # target id -> POSTs that got a ticket
        # A separate generator for tickets, so fault draws do not shift ticket ids.
        self._rng = random.Random(seed)

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
            return {"status": ticket.running_status(time.monotonic())}

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

    def ticket_stats(self) -> dict:
        """Clones accepted per target and tickets by status, for the admin API's stats."""
        with self._lock:
            self._settle()
            now = time.monotonic()
            by_status: dict[str, int] = {}
            for t in self._tickets.values():
                status = t.final["status"] if t.final is not None else t.running_status(now)
                by_status[status] = by_status.get(status, 0) + 1
            return {
                "acceptedClones": {str(k): v for k, v in sorted(self._accepted.items())},
                "acceptedClonesTotal": sum(self._accepted.values()),
                "tickets": by_status,
            }

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
