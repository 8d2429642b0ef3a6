"""What the HTTP API shows of jobs and mappings."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any

from ecwid_cloner.api.contract import CloneView
from ecwid_cloner.data.job import Job, iso_utc
from ecwid_cloner.models import Entity

# The job's fields the API shows: the answer's own (CloneView), whose links are made here.
PUBLIC_JOB_FIELDS = tuple(name for name in CloneView.model_fields if name != "links")


def job_view(job: Job, base_path: str = "") -> dict[str, Any]:
    """The job as the API shows it: public fields only, numbers as numbers."""
    view = job.view(PUBLIC_JOB_FIELDS)
    view["attempt"] = job.attempt
    view["links"] = clone_links(job.clone_id, base_path)
    return view


def clone_links(clone_id: str, base_path: str = "") -> dict[str, str]:
    """Paths from the host: ``base_path`` is the API stage, e.g. "/v1"."""
    clone = f"{base_path}/clones/{clone_id}"
    return {"self": clone, **{entity: f"{clone}/mappings?entity={entity}" for entity in Entity}}


def encode_page_token(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode()


def _token_key(token: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        raise ValueError("is not a token this API returned") from None


def decode_page_token(token: str, clone_partition: str) -> dict[str, Any]:
    """The DynamoDB start key inside a nextToken; ValueError if it is not one of ours for this clone."""
    key = _token_key(token)
    expected = {"pk", "cloneEntity", "sourceId"}
    if (
        not isinstance(key, dict)
        or set(key) != expected
        or not all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
    ):
        raise ValueError("is not a token this API returned")
    if key["cloneEntity"]["S"] != clone_partition:
        raise ValueError("belongs to another clone or entity")
    return key


CLONES_TOKEN_KEYS = {"cloneId", "status", "createdAt"}


# RFC 3339's date-time (what OpenAPI's format says): a zone is required.
RFC3339_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def as_created_at(text: str) -> str:
    """An RFC 3339 date-time as the jobs' createdAt strings read (UTC, milliseconds, Z), so
    that they compare as text. ValueError naming the form when it is not one: a bare number
    is not taken for Unix seconds, nor a moment without a zone for UTC."""
    if not RFC3339_DATE_TIME.fullmatch(text):
        raise ValueError("must be an RFC 3339 date-time with a zone, like 2026-11-26T00:00:00Z")
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        raise ValueError("is not a real moment (month, day or time out of range)") from None
    return iso_utc(moment)


def decode_clones_token(token: str, status: str) -> dict[str, Any]:
    """The jobs start key inside a GET /clones nextToken; ValueError if it is not one of ours for this status."""
    key = _token_key(token)
    if not isinstance(key, dict) or set(key) != CLONES_TOKEN_KEYS or not all(isinstance(v, str) for v in key.values()):
        raise ValueError("is not a token this API returned")
    if key["status"] != status:
        raise ValueError("belongs to a list of another status")
    return key
