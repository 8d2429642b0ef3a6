"""What the outcome events carry: read from the job, never more."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ecwid_cloner.data.outcome_events import CLONE_COMPLETED, CLONE_FAILED, STORE_CREATED, event_for

JOB = {
    "cloneId": "new-abc",
    "signupId": "acme-1",
    "status": "COMPLETED",
    "sourceStoreId": Decimal("1003"),
    "targetStoreId": Decimal("60000001"),
    "scope": "CATALOG",
    "products": Decimal("500"),
    "categories": Decimal("40"),
    "durationSeconds": Decimal("312.5"),
    "instantSite": {"status": "COMPLETED", "draft": True},
    "merchant": {"email": "ann@example.com", "name": "Ann"},
    "ticket": "t-1",
    "intentId": "x",
    "storeTokenSaved": True,
    "storeCreatedAt": "2026-11-24T10:00:00.000Z",
    "postAttempts": Decimal("1"),
}


def test_clone_completed_carries_the_outcome_as_plain_json():
    event = event_for(JOB, CLONE_COMPLETED)
    assert event["detailType"] == "Clone Completed"
    assert event["detail"] == {
        "cloneId": "new-abc",
        "signupId": "acme-1",
        "sourceStoreId": 1003,
        "targetStoreId": 60000001,
        "scope": "CATALOG",
        "status": "COMPLETED",
        "products": 500,
        "categories": 40,
        "durationSeconds": 312.5,
        "instantSite": {"status": "COMPLETED", "draft": True},
    }


def test_clone_failed_carries_the_error_and_omits_what_is_unknown():
    job = {
        "cloneId": "new-abc",
        "requestId": "r-1",
        "status": "FAILED",
        "sourceStoreId": Decimal("1003"),
        "errorCode": "MERCHANT_EMAIL_EXISTS",
        "errorMessage": "A store with the e-mail ... exists",
    }
    assert event_for(job, CLONE_FAILED)["detail"] == {
        "cloneId": "new-abc",
        "requestId": "r-1",
        "sourceStoreId": 1003,
        "status": "FAILED",
        "errorCode": "MERCHANT_EMAIL_EXISTS",
        "errorMessage": "A store with the e-mail ... exists",
    }


def test_store_created_names_the_store_and_nothing_of_the_clone_yet():
    detail = event_for(JOB, STORE_CREATED)["detail"]
    assert detail["targetStoreId"] == 60000001 and detail["storeTokenSaved"] is True
    assert "products" not in detail and "status" not in detail


@pytest.mark.parametrize("detail_type", [CLONE_COMPLETED, CLONE_FAILED, STORE_CREATED])
def test_no_event_carries_internals_or_personal_data_beyond_the_ids(detail_type):
    detail = event_for(JOB, detail_type)["detail"]
    assert not {"merchant", "ticket", "intentId", "postAttempts"} & set(detail)


def test_an_unknown_detail_type_is_refused():
    with pytest.raises(ValueError, match="detailType"):
        event_for(JOB, "Clone Started")
