"""The events the world hears: Store Created, Clone Completed, Clone Failed.

The state machine publishes them to EventBridge itself (the native PutEvents
integration); this module says what they carry, read from the job, and publishes the
one outcome that ends outside the state machine: an operator's cancel. Never
a token or a credential: the job holds none. Delivery is at least once (a
retried step publishes again), so consumers dedupe on cloneId.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ecwid_cloner.data.job import plain
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.errors import ErrorCode
from ecwid_cloner.models import Entity

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

SOURCE = "store-cloner"
STORE_CREATED = "Store Created"
CLONE_COMPLETED = "Clone Completed"
CLONE_FAILED = "Clone Failed"
DETAIL_TYPES = (STORE_CREATED, CLONE_COMPLETED, CLONE_FAILED)

_COMMON = ("cloneId", "requestId", "signupId", "sourceStoreId", "targetStoreId", "scope")
_OUTCOME = (
    "status",
    *Entity,  # how many of each were mapped
    "durationSeconds",
    "errorCode",
    "errorMessage",
    "instantSite",
    "profile",  # the PersonalizeStore step's outcome: its status and the names of the fields set, never values
    "storeAction",  # what became of the store this stack created for a failed provisioning (FailedStoreAction)
)


def event_for(job: Mapping[str, Any], detail_type: str) -> dict[str, Any]:
    """{"detailType", "detail"} for the job: what the PutEvents entry carries."""
    if detail_type not in DETAIL_TYPES:
        raise ValueError(f"detailType must be one of {', '.join(DETAIL_TYPES)}, got {detail_type!r}")
    store = ("storeTokenSaved", "storeCreatedAt", "storeFoundAfterLostAnswer")
    names = _COMMON + (store if detail_type == STORE_CREATED else _OUTCOME)
    detail = {name: plain(job[name]) for name in names if job.get(name) is not None}
    return {"detailType": detail_type, "detail": detail}


class OutcomePublisher:
    """Publishes an outcome itself, for what ends outside the state machine (an operator's
    cancel). As the state machine does: a PutEvents that fails past botocore's retries is kept
    on the job (eventFailures) and counted; the outcome stands either way."""

    def __init__(self, events: EventBridgeClient, bus_name: str, jobs: JobsRepository):
        self._events = events  # a boto3 EventBridge client
        self._bus_name = bus_name
        self._jobs = jobs

    def publish(self, job: Mapping[str, Any], detail_type: str) -> bool:
        event = event_for(job, detail_type)
        entry: PutEventsRequestEntryTypeDef = {
            "Source": SOURCE,
            "DetailType": event["detailType"],
            "Detail": json.dumps(event["detail"]),
            "EventBusName": self._bus_name,
        }
        try:
            answer = self._events.put_events(Entries=[entry])
            failed = answer.get("FailedEntryCount", 0)
            error = str((answer.get("Entries") or [{}])[0].get("ErrorCode") or "") if failed else ""
        except (ClientError, BotoCoreError) as exc:
            failed, error = 1, type(exc).__name__
        if not failed:
            return True
        from ecwid_cloner.telemetry import record_event_not_published

        self._jobs.record_event_failure(str(job["cloneId"]), detail_type, f"{ErrorCode.PUT_EVENTS_FAILED}: {error}")
        record_event_not_published()
        return False
