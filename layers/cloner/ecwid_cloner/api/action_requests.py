"""What operators send to act on clones: retry, cancel, bulk (the API validates with these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationInfo, field_validator

from ecwid_cloner.api.bulk_actions import ACTION_STATUSES, BulkFilter
from ecwid_cloner.api.clone_requests import REQUEST_ID_PATTERN, StoreId
from ecwid_cloner.api.contract import Status
from ecwid_cloner.api.queries import as_created_at


class RetryBody(BaseModel):
    """POST /clones/{cloneId}/retry; every field optional."""

    model_config = ConfigDict(extra="forbid")

    targetStoreId: StoreId | None = Field(
        default=None,
        description="The store to clone into when the failed clone has none (a lost store-creation answer resolved)",
    )
    requestId: str | None = Field(default=None, pattern=REQUEST_ID_PATTERN)
    confirmTarget: StrictBool = Field(
        default=False,
        description="The operator has checked the target (emptied it, waited for Ecwid's ticket, upgraded its plan)",
    )


class CancelBody(BaseModel):
    """POST /clones/{cloneId}/cancel; every field optional."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, min_length=1, max_length=500)
    requestId: str | None = Field(default=None, pattern=REQUEST_ID_PATTERN)


ERROR_CODE_PATTERN = r"^[A-Za-z0-9_.]{1,100}$"  # Ecwid's codes and ours: SOURCE_NOT_RESPONDING, CLONE_TIMED_OUT


class BulkFilterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    errorCode: str | None = Field(default=None, pattern=ERROR_CODE_PATTERN)
    sourceStoreId: StoreId | None = None
    targetStoreId: StoreId | None = None
    since: str | None = Field(default=None, json_schema_extra={"format": "date-time"})

    @field_validator("since")
    @classmethod
    def _moment(cls, since: str | None) -> str | None:
        return as_created_at(since) if since is not None else None

    def bulk_filter(self) -> BulkFilter:
        return BulkFilter(self.status, self.errorCode, self.sourceStoreId, self.targetStoreId, self.since)


# Which statuses each action takes, as JSON Schema says it (the validator enforces it; this documents it).
ACTION_FITS_STATUS_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {
            "properties": {
                "action": {"const": action},
                "filter": {"properties": {"status": {"enum": sorted(statuses)}}},
            }
        }
        for action, statuses in sorted(ACTION_STATUSES.items())
    ]
}


class BulkBody(BaseModel):
    """POST /clones/bulk: retry (FAILED, TIMED_OUT or CANCELLED clones) or cancel (clones that have not
    ended) every clone the filter matches; a dry run only counts them."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=ACTION_FITS_STATUS_SCHEMA)

    action: Literal["retry", "cancel"]
    filter: BulkFilterBody  # after action: its check reads it
    dryRun: StrictBool = False
    requestId: str | None = Field(default=None, pattern=REQUEST_ID_PATTERN)

    @field_validator("filter")
    @classmethod
    def _status_fits_the_action(cls, bulk_filter: BulkFilterBody, info: ValidationInfo) -> BulkFilterBody:
        action = info.data.get("action")
        allowed = ACTION_STATUSES.get(action or "")
        if allowed is not None and bulk_filter.status not in allowed:
            raise ValueError(f"status {bulk_filter.status} does not fit {action}: one of {', '.join(sorted(allowed))}")
        return bulk_filter
