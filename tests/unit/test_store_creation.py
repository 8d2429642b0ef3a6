"""EcwidStoreCreator against a mocked Ecwid API (``responses``)."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from ecwid_cloner.ecwid.store_creation import CreatedStore, EcwidStoreCreator, StoreEmailTakenError
from ecwid_cloner.ecwid.transport import EcwidCredentials
from ecwid_cloner.errors import EcwidRateLimitedError, EcwidRetryableError, EcwidTerminalError
from ecwid_cloner.models import Merchant

BASE = "https://ecwid.test/api/v3"
URL = BASE + "/stores"
SECRET = "app-secret-9f8e7d"
STORE_TOKEN = "secret_new_store_token_4c3b2a"
MERCHANT = Merchant("ann@example.com", "Ann Owner", "203.0.113.9")


@pytest.fixture
def creator() -> EcwidStoreCreator:
    return EcwidStoreCreator(EcwidCredentials("partner-app", SECRET), BASE)


@responses.activate
def test_posts_the_merchant_with_the_app_headers_and_asks_for_the_token(creator):
    responses.post(URL, json={"id": 60000001, "token": STORE_TOKEN})

    created = creator.create_store(MERCHANT)

    assert created == CreatedStore(60000001, STORE_TOKEN)
    call = responses.calls[0].request
    assert "returnApiToken=true" in call.url
    assert json.loads(call.body) == {"merchant": {"email": "ann@example.com", "name": "Ann Owner", "ip": "203.0.113.9"}}
    assert call.headers["X-Ecwid-App-Client-Id"] == "partner-app" and call.headers["X-Ecwid-App-Secret-Key"] == SECRET
    assert STORE_TOKEN not in repr(created), "the token never shows in a repr"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"id": "60000002", "token": STORE_TOKEN}, CreatedStore(60000002, STORE_TOKEN)),  # a number as a string
        ({"id": 60000003}, CreatedStore(60000003, None)),  # no token: the store exists all the same
        ({"id": 60000004, "token": ""}, CreatedStore(60000004, None)),
        ({"id": 60000005, "token": 12345}, CreatedStore(60000005, None)),
    ],
)
@responses.activate
def test_reads_the_answer_as_a_real_server_may_give_it(creator, body, expected):
    responses.post(URL, json=body)
    assert creator.create_store(MERCHANT) == expected


@pytest.mark.parametrize(
    "answer",
    [
        {"json": {"token": STORE_TOKEN}},
        {"json": {"id": True}},
        {"json": {"id": "60000001abc"}},
        {"json": {"id": 0}},
        {"json": [60000001]},
        {"body": "<html><body>OK</body></html>", "content_type": "text/html"},
    ],
)
@responses.activate
def test_a_2xx_without_a_usable_id_is_terminal_never_a_second_post(creator, answer):
    responses.post(URL, status=200, **answer)
    with pytest.raises(EcwidTerminalError) as raised:
        creator.create_store(MERCHANT)
    assert raised.value.code == "STORE_CREATE_ANSWER_MALFORMED"
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (
            409,
            {"errorCode": "EMAIL_ALREADY_EXISTS", "errorMessage": "Account exists"},
            StoreEmailTakenError,
            "EMAIL_ALREADY_EXISTS",
        ),
        (409, None, StoreEmailTakenError, "EMAIL_ALREADY_EXISTS"),  # any 409 here is a taken e-mail
        (400, {"errorMessage": "Invalid e-mail"}, EcwidTerminalError, "INVALID_MERCHANT"),
        (402, {"errorMessage": "Plan"}, EcwidTerminalError, "STORE_CREATE_NOT_ALLOWED"),
        (403, {"errorMessage": "No create_stores scope"}, EcwidTerminalError, "STORE_CREATE_NOT_ALLOWED"),
        (404, None, EcwidTerminalError, "HTTP_404"),
        (500, None, EcwidRetryableError, "HTTP_500"),
        (502, "<html>Bad gateway</html>", EcwidRetryableError, "HTTP_502"),
        (408, None, EcwidRetryableError, "HTTP_408"),
    ],
)
@responses.activate
def test_errors_are_classified_with_ecwids_message(creator, status, body, error, code):
    if isinstance(body, str):
        responses.post(URL, status=status, body=body, content_type="text/html")
    else:
        responses.post(URL, status=status, json=body)
    with pytest.raises(error) as raised:
        creator.create_store(MERCHANT)
    assert raised.value.code == code and raised.value.http_status == status
    assert raised.value.message.startswith("Store creation: ")
    if isinstance(body, dict):
        assert body["errorMessage"] in raised.value.message
    assert SECRET not in str(raised.value)


@responses.activate
def test_429_and_timeouts_are_retryable(creator):
    responses.post(URL, status=429, headers={"Retry-After": "60"}, json={})
    with pytest.raises(EcwidRateLimitedError):
        creator.create_store(MERCHANT)
    responses.replace(responses.POST, URL, body=requests.ReadTimeout("slow"))
    with pytest.raises(EcwidRetryableError) as raised:
        creator.create_store(MERCHANT)
    assert raised.value.code == "TIMEOUT"
