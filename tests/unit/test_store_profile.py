"""The store profile client (against `responses`): PUT /{storeId}/profile with the store's token."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from ecwid_cloner.ecwid.budget import Booking, BudgetWait, Priority, RequestGate
from ecwid_cloner.ecwid.store_profile import EcwidStoreProfileClient
from ecwid_cloner.errors import EcwidRateLimitedError, EcwidRetryableError, EcwidTerminalError
from ecwid_cloner.models import StoreProfile

BASE = "https://ecwid.example/api/v3"
TOKEN = "secret_60000001_do_not_log"
PROFILE = StoreProfile(
    {
        "settings.storeName": "Ann's Bakery",
        "company.email": "ann@example.com",
        "mailNotifications.adminNotificationEmails": ["ann@example.com"],
        "languages.defaultLanguage": "fr",
    }
)


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def client() -> EcwidStoreProfileClient:
    return EcwidStoreProfileClient(BASE + "/")


def test_puts_only_the_fields_set_in_ecwids_shape_with_the_stores_token(api, client):
    api.put(f"{BASE}/60000001/profile", json={"updateCount": 1})

    assert client.update(60000001, TOKEN, PROFILE) == {"updateCount": 1}
    sent = api.calls[0].request
    assert json.loads(sent.body) == {
        "settings": {"storeName": "Ann's Bakery"},
        "company": {"email": "ann@example.com"},
        "mailNotifications": {"adminNotificationEmails": ["ann@example.com"]},
        "languages": {"defaultLanguage": "fr"},
    }
    assert sent.headers["Authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({"updateCount": "1"}, 200, {"updateCount": "1"}),  # a number as a string
        (None, 204, {"status": 204}),  # no body at all
        ("<html>ok</html>", 200, {"status": 200}),  # a proxy's page: the update still went through
    ],
)
def test_any_2xx_is_an_update_done(api, client, body, status, expected):
    if isinstance(body, dict):
        api.put(f"{BASE}/1/profile", json=body, status=status)
    else:
        api.put(f"{BASE}/1/profile", body=body or "", status=status)
    assert client.update(1, TOKEN, PROFILE) == expected


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "PROFILE_INVALID"),
        (401, "PROFILE_TOKEN_INVALID"),
        (402, "PROFILE_NOT_ALLOWED"),
        (403, "PROFILE_UPDATE_FORBIDDEN"),
        (404, "PROFILE_STORE_NOT_FOUND"),
        (415, "PROFILE_HTTP_415"),
    ],
)
def test_refusals_are_terminal_with_a_code_an_operator_can_act_on(api, client, status, code):
    api.put(
        f"{BASE}/1/profile",
        json={"errorMessage": "Access token doesn't have update_store_profile scope"},
        status=status,
    )
    with pytest.raises(EcwidTerminalError) as raised:
        client.update(1, TOKEN, PROFILE)
    assert raised.value.code == code and raised.value.http_status == status
    assert "update_store_profile" in raised.value.message and TOKEN not in str(raised.value)


@pytest.mark.parametrize("answer", [{"status": 500, "body": "<html>502</html>"}, {"status": 503, "json": {}}])
def test_ecwids_own_trouble_is_retryable(api, client, answer):
    api.put(f"{BASE}/1/profile", **answer)
    with pytest.raises(EcwidRetryableError) as raised:
        client.update(1, TOKEN, PROFILE)
    assert raised.value.code.startswith("PROFILE_HTTP_5")


def test_429_is_rate_limited_and_timeouts_are_retryable(api, client):
    api.put(f"{BASE}/1/profile", status=429, headers={"Retry-After": "30"})
    with pytest.raises(EcwidRateLimitedError) as raised:
        client.update(1, TOKEN, PROFILE)
    assert raised.value.retry_after == 30
    api.put(f"{BASE}/2/profile", body=requests.ReadTimeout())
    with pytest.raises(EcwidRetryableError, match="TIMEOUT"):
        client.update(2, TOKEN, PROFILE)


def test_get_reads_the_whole_profile_and_refuses_what_is_not_one(api, client):
    api.get(f"{BASE}/1/profile", json={"settings": {"storeName": "S"}})
    assert client.get(1, TOKEN)["settings"] == {"storeName": "S"}
    assert api.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"
    api.get(f"{BASE}/2/profile", body="<html>", status=200)
    with pytest.raises(EcwidRetryableError, match="MALFORMED_RESPONSE"):
        client.get(2, TOKEN)


class _WaitingGate(RequestGate):
    def __init__(self) -> None:
        super().__init__(None)
        self.asked: list[Priority] = []

    def admit(self, priority: Priority) -> None:
        self.asked.append(priority)
        raise BudgetWait(Booking(at=10.0, wait=10.0, booked=True), 1)


def test_every_call_asks_the_shared_budget_first_as_part_of_a_running_clone(api):
    gate = _WaitingGate()
    client = EcwidStoreProfileClient(BASE, gate=gate)
    with pytest.raises(BudgetWait):
        client.update(1, TOKEN, PROFILE)
    assert gate.asked == [Priority.RUNNING]
    assert len(api.calls) == 0  # nothing went to Ecwid
