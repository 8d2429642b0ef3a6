"""The events the world hears: Store Created, Clone Completed, Clone Failed.

The state machine publishes them to EventBridge itself (the native PutEvents
integration); this module only says what they carry, read from the job. Never
a token or a credential: the job holds none. Delivery is at least once (a
retried step publishes again), so consumers dedupe on cloneId.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecwid_cloner.jobs import plain

SOURCE = "store-cloner"
STORE_CREATED = "Store Created"
CLONE_COMPLETED = "Clone Completed"
CLONE_FAILED = "Clone Failed"
DETAIL_TYPES = (STORE_CREATED, CLONE_COMPLETED, CLONE_FAILED)

_COMMON = ("cloneId", "requestId", "signupId", "sourceStoreId", "targetStoreId", "scope")
_OUTCOME = ("status", "products", "categories", "durationSeconds", "errorCode", "errorMessage", "instantSite")


def event_for(job: Mapping[str, Any], detail_type: str) -> dict[str, Any]:
    """{"detailType", "detail"} for the job: what the PutEvents entry carries."""
    if detail_type not in DETAIL_TYPES:
        raise ValueError(f"detailType must be one of {', '.join(DETAIL_TYPES)}, got {detail_type!r}")
    store = ("storeTokenSaved", "storeCreatedAt", "storeFoundAfterLostAnswer")
    names = _COMMON + (store if detail_type == STORE_CREATED else _OUTCOME)
    detail = {name: plain(job[name]) for name in names if job.get(name) is not None}
    return {"detailType": detail_type, "detail": detail}
