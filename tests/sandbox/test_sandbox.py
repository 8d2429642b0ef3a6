"""The Ecwid sandbox over real HTTP: spec behaviour, faults, rate limit, admin API."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

import pytest
import requests

from local.ecwid_sandbox import EcwidSandbox, Faults, SandboxConfig

SECRET = "s3cr3t-value-never-logged"
CLIENT_ID = "test-client"
QUEUED_S = 0.15
CLONE_S = 0.5
TERMINAL = ("COMPLETED", "FAILED")
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config() -> SandboxConfig:
    return SandboxConfig(client_id=CLIENT_ID, client_secret=SECRET, queued_seconds=QUEUED_S, clone_seconds=CLONE_S)


@pytest.fixture
def sbx(config):
    with EcwidSandbox(config) as sandbox:
        yield sandbox


@pytest.fixture
def http():
    with requests.Session() as session:
        session.headers.update({"X-Ecwid-App-Client-Id": CLIENT_ID, "X-Ecwid-App-Secret-Key": SECRET})
        yield session


def post(http, sbx, source, target, **params):
    return http.post(
        f"{sbx.base_url}/stores/clone",
        params={"sourceStoreId": source, "targetStoreId": target, **params},
        timeout=5,
    )


def get(http, sbx, ticket, **kwargs):
    return http.get(f"{sbx.base_url}/stores/clone", params={"ticket": ticket}, timeout=5, **kwargs)


def start(http, sbx, source, target, **params) -> str:
    r = post(http, sbx, source, target, **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    return body["ticket"]


def wait_terminal(http, sbx, ticket, deadline=5.0) -> dict:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        body = get(http, sbx, ticket).json()
        if body["status"] in TERMINAL:
            return body
        time.sleep(0.05)
    raise AssertionError(f"ticket {ticket} still {body['status']} after {deadline}s")


def assert_error(r, status, code, message):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json;charset=utf-8"
    assert r.json() == {"success": False, "errorCode": code, "errorMessage": message}


# ---- the happy path -------------------------------------------------------------


def test_ticket_goes_queued_in_progress_completed_with_a_full_mapping(sbx, http):
    # Wider steps than the other tests: this one asserts each intermediate state.
    queued_s, clone_s = sbx.config.queued_seconds, sbx.config.clone_seconds = 0.3, 0.9
    source = sbx.store(1003)
    posted = time.monotonic()
    r = post(http, sbx, 1003, 2001, scope="CATALOG")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json;charset=utf-8"
    ticket = r.json()["ticket"]
    assert len(ticket) == 36 and ticket[14] == "4"  # a uuid4
    assert get(http, sbx, ticket).json() == {"status": "QUEUED"}

    time.sleep(max(0.0, posted + (queued_s + clone_s) / 2 - time.monotonic()))
    assert get(http, sbx, ticket).json() == {"status": "IN_PROGRESS"}

    done = wait_terminal(http, sbx, ticket)
    assert time.monotonic() - posted >= clone_s
    assert done["status"] == "COMPLETED"
    mapping = done["clonedEntitiesMapping"]
    assert set(mapping["products"]) == {str(i) for i in source["products"]}
    assert set(mapping["categories"]) == {str(i) for i in source["categories"]}
    new_ids = list(mapping["products"].values()) + list(mapping["categories"].values())
    assert all(isinstance(v, str) and v.isdigit() for v in new_ids)
    assert len(set(new_ids)) == len(new_ids) == 540
    assert not set(new_ids) & {str(i) for i in source["products"] + source["categories"]}

    target = sbx.store(2001)
    assert sorted(target["products"]) == sorted(int(v) for v in mapping["products"].values())
    assert sorted(target["categories"]) == sorted(int(v) for v in mapping["categories"].values())
    assert target["productTypes"] == 3
    assert len(target["demoProducts"]) == 2  # untouched
    assert sbx.accepted_clones(2001) == 1 and sbx.accepted_clones() == 1


def test_demo_items_do_not_make_a_target_non_empty(sbx, http):
    target = sbx.store(2002)
    assert target["products"] == [] and len(target["demoProducts"]) == 2 and len(target["demoCategories"]) == 1
    start(http, sbx, 1003, 2002)


def test_a_completed_target_is_no_longer_empty(sbx, http):
    wait_terminal(http, sbx, start(http, sbx, 1003, 2003))
    assert_error(post(http, sbx, 1003, 2003), 400, "TARGET_PRODUCTS_NOT_EMPTY", "Target store products should be empty")
    assert sbx.accepted_clones(2003) == 1


def test_a_running_clone_blocks_its_target_and_is_named(sbx, http):
    ticket = start(http, sbx, 1003, 2004)
    msg = f"Not allowed to clone to #2004 while previous clone is still in progress with ticket {ticket}"
    for scope in ("CATALOG", "STORE_SETTINGS"):
        assert_error(post(http, sbx, 1003, 2004, scope=scope), 400, "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET", msg)
    start(http, sbx, 1003, 2005)  # other targets are free
    wait_terminal(http, sbx, ticket)
    # Free again, but now full.
    assert post(http, sbx, 1003, 2004).json()["errorCode"] == "TARGET_PRODUCTS_NOT_EMPTY"


def test_concurrent_posts_get_one_ticket_per_target(sbx, http):
    sbx.config.clone_seconds = 30  # still running when the last POST lands, however slow the machine

    def attempt(_):
        with requests.Session() as session:
            session.headers.update(http.headers)
            return post(session, sbx, 1003, 2100).json()

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(attempt, range(12)))
    tickets = [a["ticket"] for a in answers if a["success"]]
    assert len(tickets) == 1 and sbx.accepted_clones(2100) == 1
    assert all(tickets[0] in a["errorMessage"] for a in answers if not a["success"])


def test_store_settings_scope_gives_an_empty_mapping_and_copies_zones(sbx, http):
    done = wait_terminal(http, sbx, start(http, sbx, 1003, 2006, scope="STORE_SETTINGS", cloneDemoCatalog="true"))
    assert done == {"status": "COMPLETED", "clonedEntitiesMapping": {"products": {}, "categories": {}}}
    target = sbx.store(2006)
    assert target["products"] == [] and target["destinationZones"] == 3


def test_clone_demo_catalog_includes_the_demo_items(sbx, http):
    sbx.add_store(1010, products=3, categories=2, demo_products=2, demo_categories=1)
    src = sbx.store(1010)
    with_demo = wait_terminal(http, sbx, start(http, sbx, 1010, 2007, cloneDemoCatalog="true"))["clonedEntitiesMapping"]
    without = wait_terminal(http, sbx, start(http, sbx, 1010, 2008, cloneDemoCatalog="false"))["clonedEntitiesMapping"]
    assert set(with_demo["products"]) == {str(i) for i in src["products"] + src["demoProducts"]}
    assert set(with_demo["categories"]) == {str(i) for i in src["categories"] + src["demoCategories"]}
    assert set(without["products"]) == {str(i) for i in src["products"]}
    assert set(without["categories"]) == {str(i) for i in src["categories"]}
    assert len(sbx.store(2007)["products"]) == 3  # cloned sample items stay sample items
    assert len(sbx.store(2007)["demoProducts"]) == 2 + 2


def test_new_ids_are_unique_across_clones(sbx, http):
    a = wait_terminal(http, sbx, start(http, sbx, 1003, 2010))["clonedEntitiesMapping"]
    b = wait_terminal(http, sbx, start(http, sbx, 1003, 2011))["clonedEntitiesMapping"]
    ids = [v for m in (a, b) for kind in ("products", "categories") for v in m[kind].values()]
    assert len(ids) == len(set(ids)) == 2 * 540


def test_source_clone_seconds_overrides_the_config(sbx, http):
    sbx.add_store(1011, products=1, clone_seconds=0.05)
    ticket = start(http, sbx, 1011, 2012)
    time.sleep(0.1)
    assert get(http, sbx, ticket).json()["status"] == "COMPLETED"


# ---- pre-flight errors ----------------------------------------------------------------

ZONES_LIMIT = "Target store destination zones count will be exceeded"


@pytest.mark.parametrize(
    ("source", "target", "scope", "code", "message"),
    [
        (9999, 2001, None, "SOURCE_NOT_FOUND", "Store #9999 not found"),
        (1003, 9998, None, "TARGET_NOT_FOUND", "Store #9998 not found"),
        (1003, 3001, None, "TARGET_NOT_ALLOWED_TO_CLONE", "Target store is not allowed to clone"),
        (1005, 2001, None, "SOURCE_NOT_RESPONDING", "Source store failed to respond"),
        (1003, 3008, None, "SOURCE_NOT_RESPONDING", "Target store failed to respond"),
        (1003, 3002, None, "TARGET_PRODUCTS_LIMIT", "Target store products limit will be exceeded"),
        (1003, 3003, "CATALOG", "TARGET_CATEGORIES_LIMIT", "Target store categories limit will be exceeded"),
        (1003, 3004, None, "TARGET_DESTINATION_ZONES_LIMIT", ZONES_LIMIT),
        (1003, 3004, "STORE_SETTINGS", "TARGET_DESTINATION_ZONES_LIMIT", ZONES_LIMIT),
        (1003, 3005, "CATALOG", "TARGET_PRODUCTS_NOT_EMPTY", "Target store products should be empty"),
        (1003, 3006, None, "TARGET_CATEGORIES_NOT_EMPTY", "Target store categories should be empty"),
        (1003, 3007, None, "TARGET_PRODUCT_TYPES_NOT_EMPTY", "Target store product types should be empty"),
        # Order: source before target, existence before everything else.
        (9999, 9998, None, "SOURCE_NOT_FOUND", "Store #9999 not found"),
        (1005, 3001, None, "TARGET_NOT_ALLOWED_TO_CLONE", "Target store is not allowed to clone"),
    ],
)
def test_preflight_errors(sbx, http, source, target, scope, code, message):
    params = {"scope": scope} if scope else {}
    assert_error(post(http, sbx, source, target, **params), 400, code, message)
    assert sbx.accepted_clones() == 0


def test_not_empty_comes_before_limits(sbx, http):
    sbx.add_store(4001, products=1, products_limit=0)
    assert post(http, sbx, 1003, 4001).json()["errorCode"] == "TARGET_PRODUCTS_NOT_EMPTY"


@pytest.mark.parametrize(("target", "scope"), [(3004, "CATALOG"), (3005, "STORE_SETTINGS"), (3002, "STORE_SETTINGS")])
def test_checks_only_apply_to_their_scope(sbx, http, target, scope):
    start(http, sbx, 1003, target, scope=scope)


@pytest.mark.parametrize("code", ["UNKNOWN_INTERNAL_ERROR", "UNKNOWN_IMPORT_FAILED_TO_START"])
def test_unknown_errors_come_from_the_error_code_queue(sbx, http, code):
    message = {"UNKNOWN_INTERNAL_ERROR": "Internal error", "UNKNOWN_IMPORT_FAILED_TO_START": "Failed to start import"}
    sbx.faults.post.error_codes.extend([code, code])
    assert_error(post(http, sbx, 1003, 2001), 500, code, message[code])
    # A real terminal error wins and leaves the queue alone.
    assert post(http, sbx, 9999, 2001).json()["errorCode"] == "SOURCE_NOT_FOUND"
    assert_error(post(http, sbx, 1003, 2001), 500, code, message[code])
    start(http, sbx, 1003, 2001)
    assert sbx.faults.post.error_codes == []
    assert sbx.faults.counts == {"post.error_code": 2}
    assert sbx.accepted_clones(2001) == 1


# ---- auth and parameters -----------------------------------------------------------------

AUTH_BODY = {"success": False, "errorCode": "AUTH_APP_DOESNT_EXIST", "errorMessage": "Application does not exist"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Ecwid-App-Client-Id": CLIENT_ID},
        {"X-Ecwid-App-Secret-Key": SECRET},
        {"X-Ecwid-App-Client-Id": CLIENT_ID, "X-Ecwid-App-Secret-Key": "wrong"},
        {"X-Ecwid-App-Client-Id": "other-app", "X-Ecwid-App-Secret-Key": SECRET},
    ],
    ids=["none", "no-secret", "no-client-id", "wrong-secret", "wrong-client-id"],
)
def test_auth_is_checked_on_both_endpoints(sbx, headers):
    url = f"{sbx.base_url}/stores/clone"
    # Bad params too: auth is checked first.
    r = requests.post(url, params={"sourceStoreId": "x"}, headers=headers, timeout=5)
    assert r.status_code == 403 and r.json() == AUTH_BODY
    r = requests.get(url, params={"ticket": "nope"}, headers=headers, timeout=5)
    assert r.status_code == 403 and r.json() == AUTH_BODY
    assert sbx.accepted_clones() == 0


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"targetStoreId": "2001"}, "sourceStoreId"),
        ({"sourceStoreId": "abc", "targetStoreId": "2001"}, "sourceStoreId"),
        ({"sourceStoreId": "1003"}, "targetStoreId"),
        ({"sourceStoreId": "1003", "targetStoreId": "-5"}, "targetStoreId"),
        ({"sourceStoreId": "1003", "targetStoreId": "1.5"}, "targetStoreId"),
        ({"sourceStoreId": "1003", "targetStoreId": "2001", "scope": "ALL"}, "scope"),
        ({"sourceStoreId": "1003", "targetStoreId": "2001", "cloneDemoCatalog": "yes"}, "cloneDemoCatalog"),
    ],
)
def test_bad_params_are_400_naming_the_param(sbx, http, params, param):
    r = http.post(f"{sbx.base_url}/stores/clone", params=params, timeout=5)
    assert r.status_code == 400
    body = r.json()
    assert body["success"] is False and "errorCode" not in body
    assert param in body["errorMessage"]


def test_get_without_ticket_unknown_ticket_and_unknown_paths(sbx, http):
    r = http.get(f"{sbx.base_url}/stores/clone", timeout=5)
    assert r.status_code == 400 and "ticket" in r.json()["errorMessage"]
    r = get(http, sbx, "0000-nope")
    assert r.status_code == 404 and r.json() == {"errorMessage": "Ticket 0000-nope not found"}
    for method, path in [("GET", "/api/v3/stores"), ("PUT", "/api/v3/stores/clone"), ("GET", "/")]:
        r = http.request(method, sbx.root_url + path, timeout=5)
        assert r.status_code == 404 and "errorMessage" in r.json()


# ---- faults -------------------------------------------------------------------------------


def test_5xx_fault(sbx, http):
    sbx.faults.post.error_5xx_rate = 1.0
    sbx.faults.get.error_5xx_rate = 1.0
    for _ in range(4):
        r = post(http, sbx, 1003, 2001)
        assert r.status_code in (500, 502, 503)
        with pytest.raises(ValueError):
            r.json()
    assert get(http, sbx, "whatever").status_code in (500, 502, 503)
    assert sbx.faults.counts == {"post.5xx": 4, "get.5xx": 1}
    assert sbx.accepted_clones() == 0
    sbx.faults.reset()
    start(http, sbx, 1003, 2001)


def test_429_fault_with_and_without_retry_after(sbx, http):
    sbx.faults.post.rate_429 = 1.0
    sbx.faults.post.retry_after_seconds = 7
    r = post(http, sbx, 1003, 2001)
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    sbx.faults.post.retry_after_seconds = None
    r = post(http, sbx, 1003, 2001)
    assert r.status_code == 429 and "Retry-After" not in r.headers
    assert sbx.faults.counts == {"post.429": 2} and sbx.accepted_clones() == 0


def test_slow_fault(sbx, http):
    sbx.faults.get.slow_rate = 1.0
    sbx.faults.get.slow_seconds = 0.3
    t0 = time.monotonic()
    assert get(http, sbx, "x").status_code == 404  # slow, then the normal answer
    assert time.monotonic() - t0 >= 0.3
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.get(f"{sbx.base_url}/stores/clone", params={"ticket": "x"}, timeout=0.1)
    assert sbx.faults.counts == {"get.slow": 2}


def test_drop_fault(sbx, http):
    sbx.faults.post.drop_rate = 1.0
    with pytest.raises(requests.exceptions.ConnectionError):
        post(http, sbx, 1003, 2001)
    assert sbx.faults.counts == {"post.drop": 1} and sbx.accepted_clones() == 0
    assert sbx.request_log()[-1]["status"] is None
    sbx.faults.post.drop_rate = 0.0
    start(http, sbx, 1003, 2001)  # the session recovers with a new connection


def test_malformed_fault(sbx, http):
    sbx.faults.post.malformed_rate = 1.0
    sbx.faults.get.malformed_rate = 1.0
    for r in (post(http, sbx, 1003, 2001), post(http, sbx, 1003, 2001), get(http, sbx, "x")):
        assert r.status_code == 200
        with pytest.raises(ValueError):
            json.loads(r.text)
    assert sbx.faults.counts == {"post.malformed": 2, "get.malformed": 1} and sbx.accepted_clones() == 0


def test_failed_ticket_fault_leaves_the_target_empty_and_free(sbx, http):
    sbx.faults.failed_ticket_rate = 1.0
    done = wait_terminal(http, sbx, start(http, sbx, 1003, 2001))
    assert done["status"] == "FAILED" and done["errorMessage"]
    assert sbx.store(2001)["products"] == []
    assert sbx.faults.counts == {"ticket.failed": 1}
    sbx.faults.failed_ticket_rate = 0.0
    assert wait_terminal(http, sbx, start(http, sbx, 1003, 2001))["status"] == "COMPLETED"


def test_stuck_ticket_fault_keeps_the_target_busy(sbx, http):
    sbx.faults.stuck_ticket_rate = 1.0
    ticket = start(http, sbx, 1003, 2001)
    time.sleep(CLONE_S + 0.1)
    assert get(http, sbx, ticket).json() == {"status": "IN_PROGRESS"}
    assert post(http, sbx, 1003, 2001).json()["errorCode"] == "TARGET_ALREADY_USED_IN_ANOTHER_CLONE_TICKET"
    assert sbx.faults.counts == {"ticket.stuck": 1}


def test_set_ticket_outcome(sbx, http):
    failing, stuck = start(http, sbx, 1003, 2001), start(http, sbx, 1003, 2002)
    sbx.set_ticket_outcome(failing, "FAILED")
    sbx.set_ticket_outcome(stuck, "STUCK")
    assert wait_terminal(http, sbx, failing)["status"] == "FAILED"
    assert get(http, sbx, stuck).json() == {"status": "IN_PROGRESS"}
    with pytest.raises(ValueError):
        sbx.set_ticket_outcome(failing, "STUCK")  # already ended
    with pytest.raises(KeyError):
        sbx.set_ticket_outcome("no-such-ticket", "FAILED")


def test_fault_draws_are_seeded_and_reset_clears_everything():
    def draws(seed):
        f = Faults()
        f.reseed(seed)
        f.post.error_5xx_rate = 0.5
        return [f.draw_request_fault("post") for _ in range(50)]

    assert draws(7) == draws(7)
    assert 0 < draws(7).count("5xx") < 50
    f = Faults()
    f.post.error_codes.append("UNKNOWN_INTERNAL_ERROR")
    f.get.slow_rate, f.failed_ticket_rate, f.counts["x"] = 1.0, 1.0, 3
    counts = f.counts
    f.reset()
    assert f == Faults() and counts == {}


# ---- rate limit, gzip, logging ------------------------------------------------------------


def test_rate_limit_per_client_id(sbx, http):
    sbx.config.rate_limit_per_minute = 3
    for _ in range(3):
        assert get(http, sbx, "x").status_code == 404
    r = get(http, sbx, "x")
    assert r.status_code == 429 and r.json() == {"errorMessage": "Too many requests"}
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert post(http, sbx, 1003, 2001).status_code == 429
    # Another client id has its own window (and is refused for its credentials).
    other = requests.get(
        f"{sbx.base_url}/stores/clone",
        params={"ticket": "x"},
        timeout=5,
        headers={"X-Ecwid-App-Client-Id": "other", "X-Ecwid-App-Secret-Key": "x"},
    )
    assert other.status_code == 403
    assert sbx.stats()["rateLimited"] == 2 and sbx.accepted_clones() == 0


def test_the_busiest_minute_is_counted_as_ecwid_counts_it(sbx, http):
    sbx.config.rate_limit_window_seconds = 0.5  # Ecwid's minute, shrunk as a local run shrinks it
    for _ in range(4):
        get(http, sbx, "x")
    time.sleep(0.6)
    for _ in range(3):
        get(http, sbx, "x")
    assert sbx.peak_requests_per_minute() == 4, "requests half a 'minute' apart are in different windows"
    sbx.config.rate_limit_per_minute = 3
    time.sleep(0.6)
    answers = [get(http, sbx, "x").status_code for _ in range(5)]
    assert answers.count(429) == 2
    assert sbx.peak_requests_per_minute() == 4, "rejected requests are not served"


def test_gzip_when_asked_and_only_then(sbx, http):
    ticket = start(http, sbx, 1004, 2001)
    wait_terminal(http, sbx, ticket)
    assert get(http, sbx, ticket).headers["Content-Encoding"] == "gzip"  # requests asks for gzip by default
    host, port = sbx.root_url.removeprefix("http://").split(":")
    for encoding in ("gzip", "identity"):
        conn = HTTPConnection(host, int(port), timeout=5)
        conn.request(
            "GET",
            f"/api/v3/stores/clone?ticket={ticket}",
            headers={"X-Ecwid-App-Client-Id": CLIENT_ID, "X-Ecwid-App-Secret-Key": SECRET, "Accept-Encoding": encoding},
        )
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        assert resp.status == 200
        assert resp.getheader("Content-Type") == "application/json;charset=utf-8"
        if encoding == "gzip":
            assert resp.getheader("Content-Encoding") == "gzip"
            raw = gzip.decompress(raw)
        else:
            assert resp.getheader("Content-Encoding") is None
        body = json.loads(raw)
        assert len(body["clonedEntitiesMapping"]["products"]) == 5000
        assert len(body["clonedEntitiesMapping"]["categories"]) == 200


def test_request_log_never_holds_the_secret(sbx, http):
    ticket = start(http, sbx, 1003, 2001)
    get(http, sbx, ticket)
    requests.post(
        f"{sbx.base_url}/stores/clone",
        timeout=5,
        headers={"X-Ecwid-App-Client-Id": CLIENT_ID, "X-Ecwid-App-Secret-Key": "wrong-secret-too"},
    )
    # A secret pasted into the query by mistake is redacted as well.
    http.get(f"{sbx.base_url}/stores/clone", params={"ticket": SECRET}, timeout=5)
    log = sbx.request_log()
    assert [e["status"] for e in log] == [200, 200, 403, 404]
    assert log[0]["method"] == "POST" and log[0]["path"] == "/api/v3/stores/clone"
    assert log[0]["query"] == {"sourceStoreId": "1003", "targetStoreId": "2001"}
    assert log[2]["errorCode"] == "AUTH_APP_DOESNT_EXIST"
    dumped = json.dumps(log)
    assert SECRET not in dumped and "wrong-secret-too" not in dumped


# ---- admin API and CLI ---------------------------------------------------------------------


def test_admin_endpoints(sbx, http):
    admin = sbx.admin_url
    r = requests.post(f"{admin}/stores", json={"storeId": 5001, "products": 4, "categories": 1}, timeout=5)
    assert r.status_code == 201 and len(r.json()["products"]) == 4
    assert requests.get(f"{admin}/stores/5001", timeout=5).json() == sbx.store(5001)
    assert requests.get(f"{admin}/stores/777", timeout=5).status_code == 404
    assert requests.post(f"{admin}/stores", json={"storeId": 5002, "bogus": 1}, timeout=5).status_code == 400

    r = requests.put(f"{admin}/faults", json={"post": {"rate_429": 1.0, "retry_after_seconds": 3}}, timeout=5)
    assert r.status_code == 200 and r.json()["post"]["rate_429"] == 1.0
    assert requests.put(f"{admin}/faults", json={"post": {"nope": 1}}, timeout=5).status_code == 400
    assert requests.put(f"{admin}/faults", json={"failed_ticket_rate": 2}, timeout=5).status_code == 400
    assert post(http, sbx, 5001, 2001).status_code == 429
    requests.put(f"{admin}/faults", json={"reset": True}, timeout=5)
    start(http, sbx, 5001, 2001)

    stats = requests.get(f"{admin}/stats", timeout=5).json()
    assert stats["acceptedClones"] == {"2001": 1} and stats["acceptedClonesTotal"] == 1
    assert stats["faultCounts"] == {}  # reset zeroed them
    assert stats["tickets"] == {"QUEUED": 1}


def test_without_default_stores_and_start_stop():
    sandbox = EcwidSandbox(SandboxConfig(), seed_default_stores=False)
    with pytest.raises(RuntimeError):
        _ = sandbox.base_url
    with sandbox:
        assert sandbox.start() is sandbox
        assert sandbox.base_url.endswith("/api/v3")
        with pytest.raises(KeyError):
            sandbox.store(1003)
    sandbox.stop()  # idempotent


def test_cli_prints_url_and_client_id_but_not_the_secret():
    env = {**os.environ, "ECWID_SANDBOX_CLIENT_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "local.ecwid_sandbox", "--port", "0", "--client-id", CLIENT_ID, "--clone-seconds", "20"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        second = proc.stdout.readline()
        assert first.startswith("Ecwid sandbox serving at http://127.0.0.1:") and first.strip().endswith("/api/v3")
        assert CLIENT_ID in second
        base = first.split(" at ", 1)[1].strip()
        r = requests.post(
            f"{base}/stores/clone",
            params={"sourceStoreId": 1003, "targetStoreId": 2001},
            timeout=5,
            headers={"X-Ecwid-App-Client-Id": CLIENT_ID, "X-Ecwid-App-Secret-Key": SECRET},
        )
        assert r.status_code == 200
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=5)
    assert proc.returncode == 0
    assert SECRET not in first + second + out + err
