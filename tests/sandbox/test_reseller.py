"""The sandbox's Reseller API v1 (stores, suspend, resume, delete, status) over real HTTP."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

import pytest
import requests

from local.ecwid_sandbox import EcwidSandbox, SandboxConfig

KEY = "partner-key-5d1e"


@pytest.fixture
def sbx():
    with EcwidSandbox(SandboxConfig(reseller_key=KEY)) as sandbox:
        yield sandbox


def call(sbx, name: str, *, key: str | None = KEY, method: str = "POST", **params) -> requests.Response:
    form = {**params, **({"key": key} if key is not None else {})}
    return requests.request(method, f"{sbx.reseller_base_url}/{name}", data=form, timeout=5)


def create_store(sbx, email: str) -> int:
    answer = requests.post(
        f"{sbx.base_url}/stores",
        params={"returnApiToken": "true"},
        json={"merchant": {"email": email, "name": "Ann Owner"}},
        headers={"X-Ecwid-App-Client-Id": sbx.config.client_id, "X-Ecwid-App-Secret-Key": sbx.config.client_secret},
        timeout=5,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def stores(answer: requests.Response) -> tuple[list[dict[str, str]], int]:
    assert answer.status_code == 200, answer.text
    root = ET.fromstring(answer.content)
    assert root.tag == "storeList"
    listed = [{child.tag: child.text or "" for child in store} for store in root.findall("stores")]
    return listed, int(root.findtext("total") or -1)


def test_stores_lists_the_partners_stores_created_since_a_moment_with_their_ids(sbx):
    since = int(time.time()) - 1
    ann = create_store(sbx, "ann@example.com")
    joann = create_store(sbx, "joann@example.com")

    listed, total = stores(call(sbx, "stores", **{"date.from": since, "email.substring": "ann@example.com"}))

    assert total == 2 and [int(s["id"]) for s in listed] == [ann, joann]  # a substring: both
    assert listed[0]["email"] == "ann@example.com" and listed[0]["suspended"] == "false"
    assert listed[0]["channelId"] == sbx.config.partner_id and listed[0]["registered"]
    # The seeded stores (1003, 2001, ...) are not the partner's: never listed.
    everything, _ = stores(call(sbx, "stores", **{"date.from": "2000-01-01", "limit": 100}))
    assert {int(s["id"]) for s in everything} == {ann, joann}


def test_stores_filters_by_date_id_and_suspension_and_pages(sbx):
    old = create_store(sbx, "old@example.com")
    sbx.add_store(70_000_001, partner=True, created_at=time.time() - 86_400 * 10)
    cutoff = int(time.time()) - 3600
    new = create_store(sbx, "new@example.com")
    call(sbx, "suspend", ownerid=new)

    def ids(**params) -> list[int]:
        return [int(s["id"]) for s in stores(call(sbx, "stores", **params))[0]]

    assert ids(**{"date.from": cutoff}) == [old, new]
    assert ids(**{"date.from": 0, "date.to": cutoff}) == [70_000_001]
    assert ids(**{"date.from": 0, "suspended": "yes"}) == [new]
    assert ids(**{"date.from": 0, "suspended": "f"}) == [old, 70_000_001]
    assert ids(**{"date.from": 0, "store.ids": f"{new},{old}"}) == [old, new]
    assert ids(**{"date.from": 0, "order": "id_desc", "limit": 1}) == [70_000_001]
    listed, total = stores(call(sbx, "stores", **{"date.from": 0, "offset": 1, "limit": 1}))
    assert [int(s["id"]) for s in listed] == [new] and total == 3


@pytest.mark.parametrize(
    "params",
    [
        {},  # date.from is required
        {"date.from": "yesterday"},
        {"date.from": "2026-13-01"},
        {"date.from": 0, "limit": 101},
        {"date.from": 0, "suspended": "maybe"},
        {"date.from": 0, "store.ids": "1,x"},
        {"date.from": 0, "order": "price"},
        {"date.from": 0, "timezone": "Mars/Olympus"},
    ],
)
def test_a_wrong_parameter_format_is_412(sbx, params):
    answer = call(sbx, "stores", **params)
    assert answer.status_code == 412 and "text/html" in answer.headers["Content-Type"]


def test_suspend_and_resume_are_idempotent_and_a_suspended_store_refuses_rest_calls_and_clones(sbx):
    store = create_store(sbx, "ann@example.com")
    token = sbx.store_secret_token(store)
    profile = f"{sbx.base_url}/{store}/profile"

    for _ in range(2):
        suspended = call(sbx, "suspend", ownerid=store)
        assert suspended.status_code == 200 and suspended.content == b""
    assert sbx.store(store)["suspended"] is True
    refused = requests.get(profile, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert refused.status_code == 402 and "suspended" in refused.json()["errorMessage"]
    # A call without the store's own token is not the suspension's to answer.
    assert requests.get(profile, headers={"Authorization": "Bearer nope"}, timeout=5).status_code != 402
    clone = requests.post(
        f"{sbx.base_url}/stores/clone",
        params={"sourceStoreId": 1003, "targetStoreId": store},
        headers={"X-Ecwid-App-Client-Id": sbx.config.client_id, "X-Ecwid-App-Secret-Key": sbx.config.client_secret},
        timeout=5,
    )
    assert clone.status_code == 400 and clone.json()["errorCode"] == "TARGET_NOT_ALLOWED_TO_CLONE"

    for _ in range(2):
        assert call(sbx, "resume", ownerid=store).status_code == 200
    assert sbx.store(store)["suspended"] is False
    again = requests.get(profile, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert again.status_code != 402


def test_status_describes_the_store_in_xml(sbx):
    store = create_store(sbx, "ann@example.com")
    call(sbx, "suspend", ownerid=store)
    answer = call(sbx, "status", ownerid=store)
    assert answer.status_code == 200
    root = ET.fromstring(answer.content)
    assert root.findtext("ownerid") == str(store)
    assert root.findtext("suspended") == "true" and root.findtext("closed") == "false"
    assert root.findtext("email") == "ann@example.com"
    assert root.findtext("productCount") == "0" and root.findtext("categoryCount") == "0"
    assert root.findtext("account-type/subscription/originalProduct")


def test_delete_takes_the_store_out_of_every_api_and_keeps_its_record(sbx):
    store = create_store(sbx, "ann@example.com")
    token = sbx.store_secret_token(store)

    assert call(sbx, "delete", ownerid=store).status_code == 200

    assert sbx.store(store)["deleted"] is True
    assert sbx.created_stores("ann@example.com") == [store], "made once, deleted: still in the record"
    assert call(sbx, "status", ownerid=store).status_code == 404
    assert call(sbx, "delete", ownerid=store).status_code == 404
    assert stores(call(sbx, "stores", **{"date.from": 0}))[0] == []
    exchange = requests.post(
        f"{sbx.instant_site_base_url}/oauth/token",
        params={"grant_type": "authorization_code", "site_id": store, "code": token},
        timeout=5,
    )
    assert exchange.status_code == 404, "its Instant Site is gone too"
    assert create_store(sbx, "ann@example.com") != store, "the e-mail is free again, for a new store"


@pytest.mark.parametrize("name", ["suspend", "resume", "delete", "status"])
def test_a_store_that_is_not_the_partners_is_403_and_an_unknown_one_404(sbx, name):
    not_ours = call(sbx, name, ownerid=2001)  # seeded: not made by the partner
    assert not_ours.status_code == 403 and b"HTTP ERROR 403" in not_ours.content
    assert call(sbx, name, ownerid=99_999_999).status_code == 404
    assert call(sbx, name, ownerid="abc").status_code == 400
    assert sbx.store(2001)["suspended"] is False and sbx.store(2001)["deleted"] is False


def test_a_store_added_as_the_partners_is_the_partners(sbx):
    sbx.add_store(70_000_002, partner=True)
    assert call(sbx, "suspend", ownerid=70_000_002).status_code == 200


@pytest.mark.parametrize("name", ["stores", "suspend", "resume", "delete", "status"])
def test_a_wrong_or_missing_key_is_refused_and_never_logged(sbx, name):
    store = create_store(sbx, "ann@example.com")
    params = {"date.from": 0} if name == "stores" else {"ownerid": store}
    assert call(sbx, name, key="wrong-key", **params).status_code == 403
    assert call(sbx, name, key=None, **params).status_code == 403
    # The key in the query string (as some clients send it) is never logged either.
    in_query = requests.post(f"{sbx.reseller_base_url}/{name}", params={"key": KEY, **params}, timeout=5)
    assert in_query.status_code == 200
    assert sbx.store(store)["deleted"] is (name == "delete")
    log = json.dumps(sbx.request_log())
    assert KEY not in log and "wrong-key" not in log


def test_only_post_and_known_calls(sbx):
    assert call(sbx, "stores", method="GET", **{"date.from": 0}).status_code == 405
    assert call(sbx, "register").status_code == 404


def test_reseller_calls_are_rate_limited_with_the_apps_and_take_their_own_faults(sbx):
    sbx.faults.reseller.error_5xx_rate = 1.0
    faulted = call(sbx, "stores", **{"date.from": 0})
    assert faulted.status_code in (500, 502, 503)
    assert sbx.stats()["faultCounts"] == {"reseller.5xx": 1}
    sbx.faults.reset()
    sbx.config.rate_limit_per_minute = 2  # that faulted call counted, as Ecwid counts every call
    assert call(sbx, "stores", **{"date.from": 0}).status_code == 200
    limited = call(sbx, "stores", **{"date.from": 0})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_reseller_faults_take_no_error_codes_and_no_lost_answers(sbx):
    with pytest.raises(ValueError, match="Clone Store POST only"):
        sbx.faults.update({"reseller": {"error_codes": ["X"]}})
    with pytest.raises(ValueError, match="create_store only"):
        sbx.faults.update({"reseller": {"answer_lost_rate": 1.0}})
    sbx.faults.update({"reseller": {"drop_rate": 0.5}})
    assert sbx.faults.reseller.drop_rate == 0.5
