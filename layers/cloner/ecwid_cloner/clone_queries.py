"""What the HTTP API shows of jobs and mappings."""

from __future__ import annotations

import base64
import binascii
import json
from decimal import Decimal
from typing import Any

PUBLIC_JOB_FIELDS = (
    "cloneId", "status", "sourceStoreId", "targetStoreId", "scope", "cloneDemoCatalog", "ticket",
    "createdAt", "startedAt", "finishedAt", "durationSeconds", "polls", "products", "categories",
    "errorCode", "errorMessage", "instantSite", "requestId", "signupId", "merchant", "storeCreatedAt",
    "storeTokenSaved", "eventFailures", "waitingPlace",
)


def job_view(job: dict[str, Any], base_path: str = "") -> dict[str, Any]:
    """The job as the API shows it: public fields only, numbers as numbers."""
    view = {name: _plain(job.get(name)) for name in PUBLIC_JOB_FIELDS}
    view["links"] = clone_links(job["cloneId"], base_path)
    return view


def clone_links(clone_id: str, base_path: str = "") -> dict[str, str]:
    """Paths from the host: ``base_path`` is the API stage, e.g. "/v1"."""
    clone = f"{base_path}/clones/{clone_id}"
    return {
        "self": clone,
        "products": f"{clone}/mappings?entity=products",
        "categories": f"{clone}/mappings?entity=categories",
    }


def encode_page_token(last_key: dict | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, separators=(",", ":")).encode()).decode()


def decode_page_token(token: str, clone_partition: str) -> dict:
    """The DynamoDB start key inside a nextToken; ValueError if it is not one of ours for this clone."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        raise ValueError("is not a token this API returned") from None
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


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
