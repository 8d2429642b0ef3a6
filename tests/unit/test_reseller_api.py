"""EcwidResellerClient against a mocked Reseller API (``responses``), and the key from the credentials secret."""

from __future__ import annotations

import json
import traceback
from urllib.parse import parse_qs

import boto3
import pytest
import requests
import responses
from aws_lambda_powertools.utilities import parameters

from ecwid_cloner.ecwid import transport as ecwid_client
from ecwid_cloner.ecwid.budget import BudgetPolicy, BudgetWait, RequestBudget, RequestGate
from ecwid_cloner.ecwid.credentials import load_reseller_key
from ecwid_cloner.ecwid.reseller import (
    EcwidResellerClient,
    PartnerStore,
    ResellerKey,
    ResellerStoreForbiddenError,
    ResellerStoreNotFoundError,
    StoreStatus,
)
from ecwid_cloner.errors import EcwidRateLimitedError, EcwidRetryableError, EcwidTerminalError
from tests.memory_stores import MemoryBudgetStore

BASE = "https://my.ecwid.test/resellerapi/v1"
KEY = "reseller-key-never-shown-31c9"
JETTY_403 = (
    "<html><head><title>Error 403 Forbidden</title></head><body><h2>HTTP ERROR 403</h2>"
    f"<p>Problem accessing /resellerapi/v1/suspend?key={KEY}. Reason:<pre>    Forbidden</pre></p></body></html>"
)


@pytest.fixture
def client() -> EcwidResellerClient:
    return EcwidResellerClient(ResellerKey(KEY), BASE)


@pytest.fixture
def api():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def form(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body, keep_blank_values=True).items()}


def store_list(*stores: dict, total: int | None = None) -> str:
    items = "".join("<stores>" + "".join(f"<{k}>{v}</{k}>" for k, v in s.items()) + "</stores>" for s in stores)
    total_tag = f"<total>{len(stores) if total is None else total}</total>" if total != -1 else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><storeList>{items}{total_tag}</storeList>'


def assert_key_absent(*objects) -> None:
    for item in objects:
        text = item if isinstance(item, str) else repr(item)
        assert KEY not in text


def test_find_stores_posts_the_form_with_the_key_in_the_body_only(api, client):
    api.post(f"{BASE}/stores", body=store_list({"id": "60000001", "email": "ann@example.com", "suspended": "false"}))

    found = client.find_stores(1_764_000_000.7, email_substring="ann@example.com")

    assert found == [PartnerStore(60000001, "ann@example.com", False)]
    call = api.calls[0]
    assert form(call) == {
        "date.from": "1764000000",  # whole seconds, down: never past the moment asked for
        "email.substring": "ann@example.com",
        "offset": "0",
        "limit": "100",
        "key": KEY,
    }
    assert KEY not in call.request.url
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "xml" in call.request.headers["Accept"]
    assert_key_absent(client, ResellerKey(KEY))


def test_find_stores_reads_every_page(api, client):
    first = [{"id": str(60000000 + n), "email": f"m{n}@example.com"} for n in range(100)]
    api.post(f"{BASE}/stores", body=store_list(*first, total=101))
    api.post(f"{BASE}/stores", body=store_list({"id": "60000100", "email": "m100@example.com"}, total=101))

    found = client.find_stores(0)

    assert len(found) == 101 and found[-1].store_id == 60000100
    assert [form(c)["offset"] for c in api.calls] == ["0", "100"]


def test_without_a_total_pages_are_read_until_an_empty_one(api, client):
    api.post(f"{BASE}/stores", body=store_list(*[{"id": str(n + 1)} for n in range(20)], total=-1))
    api.post(f"{BASE}/stores", body=store_list({"id": "21"}, total=-1))
    api.post(f"{BASE}/stores", body=store_list(total=-1))
    assert len(client.find_stores(0)) == 21 and len(api.calls) == 3


def test_a_server_that_pages_by_fewer_than_asked_loses_no_store(api, client):
    for page in range(3):  # 20 a page, Ecwid's default, whatever limit was asked
        stores = [{"id": str(page * 20 + n + 1)} for n in range(20 if page < 2 else 5)]
        api.post(f"{BASE}/stores", body=store_list(*stores, total=45))
    found = client.find_stores(0)
    assert [s.store_id for s in found] == list(range(1, 46))
    assert [form(c)["offset"] for c in api.calls] == ["0", "20", "40"]


def test_too_many_pages_are_refused_rather_than_guessed(api, client):
    api.post(f"{BASE}/stores", body=store_list(*[{"id": str(n + 1)} for n in range(100)], total=5000))
    with pytest.raises(EcwidTerminalError) as caught:
        client.find_stores(0, max_pages=2)
    assert caught.value.code == "RESELLER_TOO_MANY_STORES" and len(api.calls) == 2


def test_the_other_filters_go_as_ecwid_documents_them(api, client):
    api.post(f"{BASE}/stores", body=store_list())
    client.find_stores(10, created_before=20.2, store_ids=[7, 8], suspended=True)
    sent = form(api.calls[0])
    assert sent["date.to"] == "21" and sent["store.ids"] == "7,8" and sent["suspended"] == "true"


def test_stores_of_email_keeps_the_exact_email_in_any_case_and_those_without_one(api, client):
    api.post(
        f"{BASE}/stores",
        body=store_list(
            {"id": "1", "email": "ANN@Example.com"},
            {"id": "2", "email": "joann@example.com"},  # a substring match, another merchant
            {"id": "3"},  # Ecwid left the e-mail out: it may be the one
            {"id": "4", "email": " ann@example.com "},
        ),
    )
    found = client.stores_of_email("ann@example.com", 0)
    assert [store.store_id for store in found] == [1, 3, 4]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"id": " 60000001 ", "suspended": "TRUE"}, PartnerStore(60000001, None, True)),
        ({"id": "60000001.0", "suspended": "yes"}, PartnerStore(60000001, None, True)),
        (
            {"id": "60000001", "suspended": "n", "registered": "2026-11-28 10:00:00"},
            PartnerStore(60000001, None, False, "2026-11-28 10:00:00"),
        ),
        ({"id": "60000001", "suspended": "", "email": ""}, PartnerStore(60000001, None, None)),
        ({"id": "123456789012345678"}, PartnerStore(123456789012345678)),
    ],
)
def test_store_fields_are_read_as_a_real_server_may_write_them(api, client, item, expected):
    api.post(f"{BASE}/stores", body=store_list(item))
    assert client.find_stores(0) == [expected]


def test_a_listed_store_without_an_id_is_a_malformed_answer(api, client):
    api.post(f"{BASE}/stores", body=store_list({"email": "ann@example.com"}))
    with pytest.raises(EcwidRetryableError) as caught:
        client.find_stores(0)
    assert caught.value.code == "MALFORMED_RESPONSE"


@pytest.mark.parametrize(
    "body",
    [
        "",  # empty
        "   ",
        "<html><body>Maintenance</body></html",  # not even XML
        '<?xml version="1.0"?><!DOCTYPE storeList [<!ENTITY a "aaaa">]><storeList>&a;</storeList>',  # a DTD
        "<storeList>" + "x" * (1 << 20) + "</storeList>",  # over 1 MiB
    ],
)
def test_a_2xx_without_its_xml_is_retryable(api, client, body):
    api.post(f"{BASE}/stores", body=body)
    with pytest.raises(EcwidRetryableError) as caught:
        client.find_stores(0)
    assert caught.value.code == "MALFORMED_RESPONSE"


def test_status_reads_its_fields_wherever_they_sit(api, client):
    api.post(
        f"{BASE}/status",
        body=(
            "<account><ownerid>60000001</ownerid><suspended>true</suspended><closed>false</closed>"
            "<email>ann@example.com</email><account-type><subscription><originalProduct>PLAN_B</originalProduct>"
            "</subscription></account-type><productCount>500</productCount><categoryCount>40.0</categoryCount></account>"
        ),
    )
    assert client.status(60000001) == StoreStatus(60000001, True, False, "ann@example.com", 500, 40, "PLAN_B")
    assert form(api.calls[0]) == {"ownerid": "60000001", "key": KEY}


def test_status_with_fields_left_out(api, client):
    api.post(f"{BASE}/status", body="<status><suspended>maybe</suspended></status>")
    assert client.status(60000001) == StoreStatus(60000001)


@pytest.mark.parametrize("call", ["suspend", "resume", "delete"])
@pytest.mark.parametrize("body", ["", "<ok/>", "OK", "<html>done</html>"])
def test_store_calls_take_any_2xx_with_any_body(api, client, call, body):
    api.post(f"{BASE}/{call}", body=body)
    assert getattr(client, call)(60000001) is None
    assert form(api.calls[0]) == {"ownerid": "60000001", "key": KEY}


@pytest.mark.parametrize("call", ["suspend", "resume", "delete", "status"])
def test_a_store_that_is_not_the_partners_or_unknown_is_its_own_terminal_error(api, client, call):
    api.post(f"{BASE}/{call}", status=403, body=JETTY_403, content_type="text/html")
    with pytest.raises(ResellerStoreForbiddenError) as forbidden:
        getattr(client, call)(2001)
    assert forbidden.value.code == "RESELLER_STORE_FORBIDDEN" and forbidden.value.store_id == 2001
    api.replace(responses.POST, f"{BASE}/{call}", status=404, body="<html>HTTP ERROR 404</html>")
    with pytest.raises(ResellerStoreNotFoundError) as unknown:
        getattr(client, call)(99)
    assert unknown.value.code == "RESELLER_STORE_NOT_FOUND"
    # The error page echoed the key: no message, repr or traceback carries it.
    for error in (forbidden.value, unknown.value):
        assert_key_absent(error.message, str(error), "".join(traceback.format_exception(error)))


def test_a_refused_key_on_stores_is_terminal_and_says_so_without_the_key(api, client):
    api.post(f"{BASE}/stores", status=403, body=JETTY_403, content_type="text/html")
    with pytest.raises(EcwidTerminalError) as caught:
        client.find_stores(0)
    assert caught.value.code == "RESELLER_KEY_REFUSED"
    assert_key_absent(caught.value.message, "".join(traceback.format_exception(caught.value)))


@pytest.mark.parametrize("status", [400, 412])
def test_a_refused_parameter_is_terminal(api, client, status):
    api.post(f"{BASE}/stores", status=status, body="<html>HTTP ERROR</html>")
    with pytest.raises(EcwidTerminalError) as caught:
        client.find_stores(0)
    assert caught.value.code == "RESELLER_BAD_REQUEST"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_server_trouble_is_retryable(api, client, status):
    api.post(f"{BASE}/suspend", status=status, body="<html><h1>Bad gateway</h1></html>")
    with pytest.raises(EcwidRetryableError) as caught:
        client.suspend(60000001)
    assert type(caught.value) is EcwidRetryableError, "the exact class the state machine's Retry matches"
    assert caught.value.code == f"RESELLER_HTTP_{status}"


def test_429_and_lost_answers_are_retryable(api, client, monkeypatch):
    monkeypatch.setattr(ecwid_client.time, "sleep", lambda seconds: None)
    api.post(f"{BASE}/stores", status=429, headers={"Retry-After": "60"})
    with pytest.raises(EcwidRateLimitedError) as limited:
        client.find_stores(0)
    assert limited.value.retry_after == 60
    api.replace(responses.POST, f"{BASE}/stores", body=requests.ReadTimeout("lost"))
    with pytest.raises(EcwidRetryableError) as lost:
        client.find_stores(0)
    assert lost.value.code == "TIMEOUT"
    api.post(f"{BASE}/delete", body=requests.ConnectionError("reset"))
    with pytest.raises(EcwidRetryableError) as reset:
        client.delete(60000001)
    assert reset.value.code == "CONNECTION_ERROR"


def test_every_call_takes_its_turn_from_the_budget_first(api):
    now = [1000.0]
    budget = RequestBudget(MemoryBudgetStore(), BudgetPolicy(per_minute=60, burst=1), clock=lambda: now[0])
    client = EcwidResellerClient(ResellerKey(KEY), BASE, gate=RequestGate(budget, clock=lambda: now[0]))
    api.post(f"{BASE}/suspend", body="")
    client.suspend(1)
    with pytest.raises(BudgetWait):
        client.resume(1)  # the budget's next turn is a second away
    assert len(api.calls) == 1, "a call that must wait never reached Ecwid"


def test_an_empty_key_is_no_key():
    with pytest.raises(ValueError, match="empty"):
        ResellerKey("  ")


# ---- the key in the credentials secret --------------------------------------------------------


@pytest.fixture
def secrets(mocked_aws):
    parameters.clear_caches()
    yield boto3.client("secretsmanager", region_name="us-east-1")
    parameters.clear_caches()


def test_the_key_is_read_beside_the_app_credentials(secrets):
    secrets.create_secret(
        Name="app", SecretString=json.dumps({"clientId": "c", "clientSecret": "s", "resellerKey": f" {KEY} "})
    )
    key = load_reseller_key("app")
    assert key == ResellerKey(KEY)
    assert_key_absent(key)


@pytest.mark.parametrize("value", [{"clientId": "c", "clientSecret": "s"}, {"resellerKey": ""}, {"resellerKey": None}])
def test_no_key_is_none(secrets, value):
    secrets.create_secret(Name="app", SecretString=json.dumps(value))
    assert load_reseller_key("app") is None


@pytest.mark.parametrize("value", [{"resellerKey": 12345}, {"resellerKey": "   "}, {"resellerKey": ["k"]}])
def test_a_key_that_is_not_a_string_is_named_and_never_shown(secrets, value):
    secrets.create_secret(Name="app", SecretString=json.dumps(value))
    with pytest.raises(EcwidTerminalError) as caught:
        load_reseller_key("app")
    assert caught.value.code == "CREDENTIALS_INVALID" and "resellerKey" in caught.value.message
    assert "12345" not in caught.value.message
