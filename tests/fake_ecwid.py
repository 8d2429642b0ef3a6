"""Fake Ecwid clients for fast tests of the steps: objects with the clients' interface that
answer from a script, as the real clients answer after parsing Ecwid (a value, or the typed
error tests/unit/test_ecwid_client.py and test_store_creation.py show the real client raises).

No HTTP: the team's rule keeps HTTP mocks of Ecwid to the clients' own unit tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ecwid_cloner.ecwid.reseller import PartnerStore
from ecwid_cloner.ecwid.store_creation import CreatedStore
from ecwid_cloner.models import CloneRequest, CloneStatus, Merchant


@dataclass
class Clock:
    """Epoch seconds that move only when a test says so."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _next[T](script: list[Any], kind: type[T]) -> T:
    """The next scripted answer: raised when it is an error, else returned as a ``kind``."""
    assert script, f"the test scripted no more answers ({kind.__name__})"
    answer = script.pop(0)
    if isinstance(answer, BaseException):
        raise answer
    assert isinstance(answer, kind), answer
    return answer


@dataclass
class FakeCloneClient:
    """EcwidCloneClient's interface: each call takes the next scripted answer (a value or an error to raise)."""

    starts: list[Any] = field(default_factory=list)  # tickets or errors, one per POST
    statuses: list[Any] = field(default_factory=list)  # CloneStatus or errors, one per GET
    posted: list[CloneRequest] = field(default_factory=list)
    polled: list[str] = field(default_factory=list)

    def start_clone(self, request: CloneRequest) -> str:
        self.posted.append(request)
        return _next(self.starts, str)

    def get_status(self, ticket: str) -> CloneStatus:
        self.polled.append(ticket)
        return _next(self.statuses, CloneStatus)


@dataclass
class FakeStoreCreator:
    """EcwidStoreCreator's interface: one scripted answer (CreatedStore or an error) per POST."""

    answers: list[Any] = field(default_factory=list)
    posted: list[Merchant] = field(default_factory=list)

    def create_store(self, merchant: Merchant) -> CreatedStore:
        self.posted.append(merchant)
        return _next(self.answers, CreatedStore)


@dataclass
class FakeResellerClient:
    """EcwidResellerClient.stores_of_email: the partner's stores of an e-mail made since a moment."""

    stores: Iterable[PartnerStore] = ()
    asked: list[tuple[str, float]] = field(default_factory=list)

    def stores_of_email(self, email: str, created_since: float, **_: Any) -> list[PartnerStore]:
        self.asked.append((email, created_since))
        return list(self.stores)
