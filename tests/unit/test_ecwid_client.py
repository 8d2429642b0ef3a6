"""EcwidCloneClient against a mocked Ecwid API (``responses``)."""

from __future__ import annotations

import traceback
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from ecwid_cloner.ecwid import transport as ecwid_client
from ecwid_cloner.ecwid.clone_api import EcwidCloneClient
from ecwid_cloner.ecwid.transport import EcwidCredentials
from ecwid_cloner.errors import (
    CloneError,
    EcwidRateLimitedError,
    EcwidRetryableError,
    EcwidTerminalError,
    TargetBusyError,
)
from ecwid_cloner.models import CloneRequest, CloneStatus
from tests.memory_stores import MemoryBudgetStore

BASE = "https://ecwid.test/api/v3"
URL = BASE + "/stores/clone"
CLIENT_ID = "app-client-id"
SECRET = "very-secret-app-key-0f9e8d"
TICKET = "352397e5-e9c0-4e90-ba43-252813aa14cb"
BUSY_TICKET = "4a096838-0272-46ae-9c83-35242215161b"

SPEC_ERRORS = {
    "AUTH_APP_DOESNT_EXIST": "Application does not exist",
    "TARGET_CATEGORIES_LIMIT": "Target store categories limit will be exceeded",
    "TARGET_PRODUCTS_LIMIT": "Target store products limit will be exceeded",
    "TARGET_DESTINATION_ZONES_LIMIT": "Target store destination zones count will be exceeded",
    "UNKNOWN_IMPORT_FAILED_TO_START": "Failed to start import",
    "SOURCE_NOT_FOUND": "Store #1003 not found",
    "UNKNOWN_INTERNAL_ERROR": "Internal error",
    "SOURCE_NOT_RESPONDING": "Source store failed to respond",
    "TARGET_NOT_ALLOWED_TO_CLONE": "Target store is not allowed to clone",
    "TARGET_NOT_FOUND": "Store #9001 not found",
    "TARGET_CATEGORIES_NOT_EMPTY": "Target store categories should be empty",
    "TARGET_PRODUCT_TYPES_NOT_EMPTY": "Target store product types should be empty",
    "TARGET_PRODUCTS_NOT_EMPTY": "Target store products should be empty",
    "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET": (
        "Not allowed to clone to #99928003 while previous clone is still in progress with ticket " + BUSY_TICKET
    ),
}
RETRYABLE_CODES = {"SOURCE_NOT_RESPONDING", "UNKNOWN_INTERNAL_ERROR", "UNKNOWN_IMPORT_FAILED_TO_START"}
HTML = "<html><body><h1>Bad gateway</h1></body></html>"


@pytest.fixture
def credentials() -> EcwidCredentials:
    return EcwidCredentials(client_id=CLIENT_ID, client_secret=SECRET)


@pytest.fixture
def client(credentials) -> EcwidCloneClient:
    return EcwidCloneClient(credentials, BASE)


@pytest.fixture
def mock_api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Records the client's sleeps instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(ecwid_client.time, "sleep", recorded.append)
    return recorded


def query(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query, keep_blank_values=True)


def assert_secret_absent(*objects) -> None:
    for obj in objects:
        texts = [str(obj), repr(obj)]
        if isinstance(obj, BaseException):
            texts += [repr(obj.args), "".join(traceback.format_exception(obj))]
            texts += [str(getattr(obj, "message", "")), str(getattr(obj, "code", ""))]
        for text in texts:
            assert SECRET not in text


# -- POST /stores/clone -----------------------------------------------------------------


def test_start_clone_sends_every_query_param_and_both_headers(client, mock_api):
    mock_api.post(URL, json={"ticket": TICKET, "success": True})
    ticket = client.start_clone(CloneRequest(1003, 9001, scope="CATALOG", clone_demo_catalog=True))

    assert ticket == TICKET
    assert len(mock_api.calls) == 1
    call = mock_api.calls[0]
    assert call.request.method == "POST"
    assert urlsplit(call.request.url).path == "/api/v3/stores/clone"
    assert query(call) == {
        "sourceStoreId": ["1003"],
        "targetStoreId": ["9001"],
        "scope": ["CATALOG"],
        "cloneDemoCatalog": ["true"],
    }
    assert call.request.headers["X-Ecwid-App-Client-Id"] == CLIENT_ID
    assert call.request.headers["X-Ecwid-App-Secret-Key"] == SECRET
    # The secret travels in the header only, never in the URL (which may be logged).
    assert SECRET not in call.request.url


def test_start_clone_without_scope_copies_everything_and_omits_the_demo_flag(client, mock_api):
    mock_api.post(URL, json={"ticket": TICKET, "success": True})
    client.start_clone(CloneRequest(1003, 9001))
    assert query(mock_api.calls[0]) == {"sourceStoreId": ["1003"], "targetStoreId": ["9001"]}


@pytest.mark.parametrize("scope", ["CATALOG", "STORE_SETTINGS"])
def test_start_clone_passes_the_scope(client, mock_api, scope):
    mock_api.post(URL, json={"ticket": TICKET, "success": True})
    client.start_clone(CloneRequest(1, 2, scope=scope))
    assert query(mock_api.calls[0])["scope"] == [scope]


@pytest.mark.parametrize("http_status", [200, 400])
@pytest.mark.parametrize("code", sorted(SPEC_ERRORS))
def test_start_clone_failure_raises_the_mapped_error(client, mock_api, code, http_status):
    message = SPEC_ERRORS[code]
    mock_api.post(URL, status=http_status, json={"success": False, "errorCode": code, "errorMessage": message})

    with pytest.raises(CloneError) as caught:
        client.start_clone(CloneRequest(1003, 9001, scope="CATALOG"))

    error = caught.value
    assert (error.code, error.message, error.http_status) == (code, message, http_status)
    if code in RETRYABLE_CODES:
        assert type(error) is EcwidRetryableError
    elif code == "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET":
        assert type(error) is TargetBusyError
        assert error.running_ticket == BUSY_TICKET
    else:
        assert type(error) is EcwidTerminalError
    assert len(mock_api.calls) == 1  # no retry inside the client for Ecwid's answers
    assert_secret_absent(error)


@pytest.mark.parametrize("code", ["AUTH_APP_DOESNT_EXIST", "UNKNOWN_INTERNAL_ERROR"])
def test_get_status_failure_raises_the_mapped_error(client, mock_api, code):
    mock_api.get(
        URL,
        status=403 if code.startswith("AUTH") else 500,
        json={"success": False, "errorCode": code, "errorMessage": SPEC_ERRORS[code]},
    )
    expected = EcwidRetryableError if code in RETRYABLE_CODES else EcwidTerminalError
    with pytest.raises(expected) as caught:
        client.get_status(TICKET)
    assert type(caught.value) is expected
    assert caught.value.code == code


@pytest.mark.parametrize("http_status", [500, 502, 503])
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_5xx_with_an_html_body_is_retryable_and_names_the_status(client, mock_api, http_status, method):
    mock_api.add(method, URL, status=http_status, body=HTML, content_type="text/html")
    with pytest.raises(EcwidRetryableError) as caught:
        if method == "POST":
            client.start_clone(CloneRequest(1, 2))
        else:
            client.get_status(TICKET)
    error = caught.value
    assert type(error) is EcwidRetryableError
    assert error.code == f"HTTP_{http_status}"
    assert error.http_status == http_status
    assert str(http_status) in error.message
    assert "<html>" not in error.message


@pytest.mark.parametrize("http_status", [500, 502, 503, 504])
def test_5xx_with_a_json_body_but_no_error_code_is_retryable(client, mock_api, http_status):
    mock_api.post(URL, status=http_status, json={"errorMessage": "Service temporarily unavailable"})
    with pytest.raises(EcwidRetryableError) as caught:
        client.start_clone(CloneRequest(1, 2))
    assert type(caught.value) is EcwidRetryableError
    assert caught.value.code == f"HTTP_{http_status}"
    assert caught.value.message == "Service temporarily unavailable"


@pytest.mark.parametrize("http_status", [400, 401, 403, 404])
def test_4xx_without_an_error_code_is_terminal(client, mock_api, http_status):
    mock_api.post(URL, status=http_status, body="<html>Forbidden</html>", content_type="text/html")
    with pytest.raises(EcwidTerminalError) as caught:
        client.start_clone(CloneRequest(1, 2))
    assert caught.value.code == f"HTTP_{http_status}"
    assert caught.value.http_status == http_status


def test_request_timeout_status_408_is_retryable(client, mock_api):
    mock_api.get(URL, status=408, body="timeout", content_type="text/plain")
    with pytest.raises(EcwidRetryableError) as caught:
        client.get_status(TICKET)
    assert caught.value.code == "HTTP_408"


def test_200_with_a_non_json_body_is_a_retryable_malformed_response(client, mock_api):
    mock_api.post(URL, status=200, body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(EcwidRetryableError) as caught:
        client.start_clone(CloneRequest(1, 2))
    assert type(caught.value) is EcwidRetryableError
    assert caught.value.code == "MALFORMED_RESPONSE"
    assert caught.value.http_status == 200


@pytest.mark.parametrize("body", ["[1, 2]", '"ticket"', "null", "42", "true"])
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_json_that_is_not_an_object_is_a_retryable_malformed_response(client, mock_api, body, method):
    mock_api.add(method, URL, status=200, body=body, content_type="application/json")
    with pytest.raises(EcwidRetryableError) as caught:
        if method == "POST":
            client.start_clone(CloneRequest(1, 2))
        else:
            client.get_status(TICKET)
    assert caught.value.code == "MALFORMED_RESPONSE"


@pytest.mark.parametrize(
    "body",
    [
        {"success": True},
        {"success": True, "ticket": ""},
        {"success": True, "ticket": None},
        {"success": True, "ticket": 12345},
        {"ticket": TICKET},  # no success flag
        {},
    ],
)
def test_start_answer_without_a_usable_ticket_is_retryable(client, mock_api, body):
    mock_api.post(URL, json=body)
    with pytest.raises(EcwidRetryableError) as caught:
        client.start_clone(CloneRequest(1, 2))
    assert type(caught.value) is EcwidRetryableError
    assert caught.value.code == "MALFORMED_RESPONSE"


def test_success_false_without_an_error_code_is_terminal(client, mock_api):
    mock_api.post(URL, json={"success": False})
    with pytest.raises(EcwidTerminalError) as caught:
        client.start_clone(CloneRequest(1, 2))
    assert caught.value.code == "REQUEST_REJECTED"


def test_a_very_long_error_message_is_cut(client, mock_api):
    mock_api.post(URL, status=400, json={"success": False, "errorCode": "TARGET_NOT_FOUND", "errorMessage": "x" * 5000})
    with pytest.raises(EcwidTerminalError) as caught:
        client.start_clone(CloneRequest(1, 2))
    assert caught.value.message == "x" * 500


# -- GET /stores/clone -------------------------------------------------------------------


@pytest.mark.parametrize("status", ["QUEUED", "IN_PROGRESS"])
def test_get_status_while_running(client, mock_api, status):
    mock_api.get(URL, json={"status": status})
    answer = client.get_status(TICKET)
    assert answer == CloneStatus(status=status)
    assert answer.finished is False
    call = mock_api.calls[0]
    assert call.request.method == "GET"
    assert query(call) == {"ticket": [TICKET]}
    assert call.request.headers["X-Ecwid-App-Client-Id"] == CLIENT_ID
    assert call.request.headers["X-Ecwid-App-Secret-Key"] == SECRET


def test_get_status_completed_returns_the_mapping(client, mock_api):
    mapping = {
        "products": {"12345": "54321", "67890": "09876"},
        "categories": {"111": "222", "333": "444"},
    }
    mock_api.get(URL, json={"status": "COMPLETED", "clonedEntitiesMapping": mapping})
    answer = client.get_status(TICKET)
    assert answer.status == "COMPLETED"
    assert answer.finished is True
    assert answer.products == mapping["products"]
    assert answer.categories == mapping["categories"]
    assert answer.error_message is None


def test_get_status_completed_with_an_empty_entity_gives_an_empty_mapping(client, mock_api):
    mock_api.get(URL, json={"status": "COMPLETED", "clonedEntitiesMapping": {"products": {"1": "2"}}})
    answer = client.get_status(TICKET)
    assert answer.products == {"1": "2"}
    assert answer.categories == {}


def test_get_status_failed_carries_the_error_message(client, mock_api):
    mock_api.get(URL, json={"status": "FAILED", "errorMessage": "Import crashed"})
    answer = client.get_status(TICKET)
    assert answer.status == "FAILED"
    assert answer.finished is True
    assert answer.error_message == "Import crashed"
    assert answer.products == {} and answer.categories == {}


@pytest.mark.parametrize("body", [{"status": "PAUSED"}, {"status": None}, {}, {"status": "completed"}])
def test_get_status_with_an_unknown_status_is_retryable(client, mock_api, body):
    mock_api.get(URL, json=body)
    with pytest.raises(EcwidRetryableError) as caught:
        client.get_status(TICKET)
    assert type(caught.value) is EcwidRetryableError
    assert caught.value.code == "MALFORMED_RESPONSE"


@pytest.mark.parametrize(
    "mapping",
    [
        ["12345", "54321"],
        "products",
        {"products": ["1", "2"], "categories": {}},
        {"products": {}, "categories": "nope"},
        {"products": 5},
    ],
)
def test_malformed_cloned_entities_mapping_is_retryable(client, mock_api, mapping):
    mock_api.get(URL, json={"status": "COMPLETED", "clonedEntitiesMapping": mapping})
    with pytest.raises(EcwidRetryableError) as caught:
        client.get_status(TICKET)
    assert caught.value.code == "MALFORMED_RESPONSE"


# -- HTTP 429 ----------------------------------------------------------------------------


def test_429_with_a_short_retry_after_sleeps_it_then_retries_once(client, mock_api, sleeps):
    mock_api.post(URL, status=429, headers={"Retry-After": "2"}, json={"errorMessage": "Too many requests"})
    mock_api.post(URL, json={"ticket": TICKET, "success": True})

    assert client.start_clone(CloneRequest(1003, 9001)) == TICKET
    assert len(mock_api.calls) == 2
    assert sleeps == [2.0]
    assert query(mock_api.calls[1]) == query(mock_api.calls[0])


def test_429_on_get_status_is_retried_too(client, mock_api, sleeps):
    mock_api.get(URL, status=429, headers={"Retry-After": "0.5"})
    mock_api.get(URL, json={"status": "IN_PROGRESS"})
    assert client.get_status(TICKET).status == "IN_PROGRESS"
    assert sleeps == [0.5]


def test_a_second_429_after_the_retry_is_raised(client, mock_api, sleeps):
    mock_api.post(URL, status=429, headers={"Retry-After": "1"})
    mock_api.post(URL, status=429, headers={"Retry-After": "1"})
    mock_api.post(URL, json={"ticket": TICKET, "success": True})  # must not be reached
    with pytest.raises(EcwidRateLimitedError) as caught:
        client.start_clone(CloneRequest(1, 2))
    assert len(mock_api.calls) == 2
    assert sleeps == [1.0]
    assert caught.value.retry_after == 1.0


def test_429_with_a_long_retry_after_is_raised_for_the_state_machine(client, mock_api, sleeps):
    mock_api.post(URL, status=429, headers={"Retry-After": "30"})
    with pytest.raises(EcwidRateLimitedError) as caught:
        client.start_clone(CloneRequest(1, 2))
    error = caught.value
    assert error.retry_after == 30.0
    assert (error.code, error.http_status, error.retryable) == ("RATE_LIMITED", 429, True)
    assert isinstance(error, EcwidRetryableError)
    assert sleeps == []
    assert len(mock_api.calls) == 1


def test_429_just_over_the_sleep_limit_is_raised(credentials, mock_api, sleeps):
    client = EcwidCloneClient(credentials, BASE, max_retry_after_sleep=3)
    mock_api.get(URL, status=429, headers={"Retry-After": "3.5"})
    with pytest.raises(EcwidRateLimitedError):
        client.get_status(TICKET)
    assert sleeps == []


@pytest.mark.parametrize(
    "headers", [{}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, {"Retry-After": "inf"}, {"Retry-After": "nan"}]
)
def test_429_without_a_usable_retry_after_is_raised_at_once(client, mock_api, sleeps, headers):
    mock_api.get(URL, status=429, headers=headers)
    with pytest.raises(EcwidRateLimitedError) as caught:
        client.get_status(TICKET)
    assert caught.value.retry_after is None
    assert sleeps == []
    assert len(mock_api.calls) == 1


# -- network failures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exception", "code"),
    [
        (requests.ConnectTimeout, "TIMEOUT"),
        (requests.ReadTimeout, "TIMEOUT"),
        (requests.ConnectionError, "CONNECTION_ERROR"),
    ],
)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_network_failures_are_retryable(client, mock_api, exception, code, method):
    # The library's exception text carries the secret here: none of it may leak.
    mock_api.add(method, URL, body=exception(f"boom X-Ecwid-App-Secret-Key={SECRET}"))
    with pytest.raises(EcwidRetryableError) as caught:
        if method == "POST":
            client.start_clone(CloneRequest(1, 2))
        else:
            client.get_status(TICKET)
    error = caught.value
    assert type(error) is EcwidRetryableError
    assert error.code == code
    assert method in error.message
    assert error.__cause__ is None
    assert_secret_absent(error)


# -- secrets, URLs, timeouts ------------------------------------------------------------------


def test_the_secret_is_not_in_the_repr_of_credentials_or_client(credentials, client):
    assert CLIENT_ID in repr(credentials)  # the repr is useful, just not revealing
    assert_secret_absent(credentials, client)


@pytest.mark.parametrize(
    "response_kwargs",
    [
        {
            "status": 400,
            "json": {
                "success": False,
                "errorCode": "AUTH_APP_DOESNT_EXIST",
                "errorMessage": "Application does not exist",
            },
        },
        {"status": 502, "body": HTML},
        {"status": 200, "body": "not json"},
        {"status": 429, "headers": {"Retry-After": "60"}},
    ],
)
def test_the_secret_is_in_no_error(client, mock_api, response_kwargs):
    mock_api.post(URL, **response_kwargs)
    with pytest.raises(CloneError) as caught:
        client.start_clone(CloneRequest(1, 2))
    assert_secret_absent(caught.value)


@pytest.mark.parametrize("base_url", [BASE, BASE + "/", BASE + "//"])
def test_a_trailing_slash_on_the_base_url_is_handled(credentials, mock_api, base_url):
    mock_api.get(URL, json={"status": "QUEUED"})
    EcwidCloneClient(credentials, base_url).get_status(TICKET)
    assert urlsplit(mock_api.calls[0].request.url).path == "/api/v3/stores/clone"


def test_the_default_base_url_is_ecwid(credentials, mock_api):
    mock_api.get("https://app.ecwid.com/api/v3/stores/clone", json={"status": "QUEUED"})
    EcwidCloneClient(credentials).get_status(TICKET)
    assert mock_api.calls[0].request.url.startswith("https://app.ecwid.com/api/v3/stores/clone?")


def test_the_timeouts_reach_the_request(credentials, mock_api):
    mock_api.get(URL, json={"status": "QUEUED"})
    EcwidCloneClient(credentials, BASE, connect_timeout=1.5, read_timeout=7.0).get_status(TICKET)
    assert mock_api.calls[0].request.req_kwargs["timeout"] == (1.5, 7.0)


class FakeSession:
    """Records every request and answers with a canned response."""

    def __init__(self, status: int, body: bytes):
        self.status, self.body, self.requests = status, body, []

    def request(self, method, url, **kwargs):
        self.requests.append((method, url, kwargs))
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.headers["Content-Type"] = "application/json"
        return response


def test_default_timeouts_are_passed_to_the_session(credentials):
    session = FakeSession(200, b'{"ticket": "t-1", "success": true}')
    assert EcwidCloneClient(credentials, BASE, session=session).start_clone(CloneRequest(5, 6)) == "t-1"
    ((method, url, kwargs),) = session.requests
    assert (method, url) == ("POST", URL)
    assert kwargs["timeout"] == (3.05, 20.0)
    assert kwargs["params"] == {"sourceStoreId": 5, "targetStoreId": 6}
    assert kwargs["headers"] == {"X-Ecwid-App-Client-Id": CLIENT_ID, "X-Ecwid-App-Secret-Key": SECRET}


def test_custom_timeouts_are_passed_to_the_session(credentials):
    session = FakeSession(200, b'{"status": "IN_PROGRESS"}')
    client = EcwidCloneClient(credentials, BASE, connect_timeout=2, read_timeout=9, session=session)
    client.get_status("abc")
    assert session.requests[0][2]["timeout"] == (2, 9)
    assert session.requests[0][2]["params"] == {"ticket": "abc"}


def test_the_default_session_retries_connects_only():
    session = ecwid_client.new_session()
    for scheme in ("https://x.test", "http://x.test"):
        retry = session.get_adapter(scheme).max_retries
        assert retry.connect == 2
        assert retry.read == 0
        # urllib3 must not retry 429/503 behind the client's back (it handles 429 itself).
        assert retry.is_retry("POST", 429, has_retry_after=True) is False
        assert retry.is_retry("GET", 503, has_retry_after=True) is False
    assert "X-Ecwid-App-Secret-Key" not in session.headers


# ---- the shared request budget ------------------------------------------------------------


@responses.activate
def test_every_request_takes_its_turn_from_the_budget_and_waits_without_calling_ecwid(credentials):
    from ecwid_cloner.ecwid.budget import BudgetPolicy, BudgetWait, Priority, RequestBudget, RequestGate

    now = [1000.0]
    budget = RequestBudget(
        MemoryBudgetStore(), BudgetPolicy(per_minute=60, burst=1, new_work_horizon=0), clock=lambda: now[0]
    )
    client = EcwidCloneClient(credentials, BASE, gate=RequestGate(budget, clock=lambda: now[0]))
    responses.get(URL, json={"status": "IN_PROGRESS"})
    responses.post(URL, json={"success": True, "ticket": TICKET})
    assert client.get_status(TICKET).status == "IN_PROGRESS"
    with pytest.raises(BudgetWait) as new_work:
        client.start_clone(CloneRequest(source_store_id=1003, target_store_id=2001))
    assert not new_work.value.booking.booked, "new work yields to the running clone's schedule"
    budget.take(Priority.RUNNING)  # another clone polls meanwhile
    with pytest.raises(BudgetWait) as poll:
        client.get_status(TICKET)
    assert poll.value.booking.booked and poll.value.booking.wait == pytest.approx(2)
    assert len(responses.calls) == 1, "a request that must wait is not sent"
