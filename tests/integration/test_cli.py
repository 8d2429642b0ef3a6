"""python -m local clone, as a person runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from local.cli import build_parser, clone_body, start_clone
from local.ecwid_sandbox import EcwidSandbox, SandboxConfig
from local.template_model import ROOT

SUMMARY_KEYS = {
    "cloneId",
    "status",
    "targetStoreId",
    "ticket",
    "products",
    "categories",
    "errorCode",
    "errorMessage",
    "seconds",
    "events",
}


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECWID_"))}
    return subprocess.run(
        [sys.executable, "-m", "local", *args],
        cwd=ROOT,
        env={**clean_env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def summary(result: subprocess.CompletedProcess) -> dict:
    last = result.stdout.strip().splitlines()[-1]
    data = json.loads(last)
    assert set(data) - {"instantSite", "profile"} == SUMMARY_KEYS  # the steps after the clone: when they ran
    return data


def run_cli_against(ecwid: EcwidSandbox, *args: str, secret: str = "s3cr3t-partner-key") -> subprocess.CompletedProcess:
    """``clone`` against an Ecwid endpoint the CLI does not start itself, with the app's credentials."""
    return run_cli(
        "clone",
        *args,
        "--poll-scale",
        "0.02",
        "--ecwid-base-url",
        ecwid.base_url,
        env={"ECWID_CLIENT_ID": "partner-app", "ECWID_CLIENT_SECRET": secret},
    )


@pytest.fixture(scope="module")
def external_ecwid():
    """An Ecwid endpoint the CLI does not start itself."""
    with EcwidSandbox(
        SandboxConfig(
            client_id="partner-app", client_secret="s3cr3t-partner-key", queued_seconds=0.3, clone_seconds=2.0
        )
    ) as sandbox:
        yield sandbox


def test_clone_on_the_embedded_sandbox_completes(tmp_path):
    log_file = tmp_path / "lambda.log"
    result = run_cli(
        "clone",
        "--source-store-id",
        "1003",
        "--target-store-id",
        "2002",
        "--scope",
        "CATALOG",
        "--sandbox-clone-seconds",
        "3",
        "--log-file",
        str(log_file),
    )

    assert result.returncode == 0, result.stderr
    data = summary(result)
    assert (data["status"], data["products"], data["categories"]) == ("COMPLETED", 500, 40)
    assert data["errorCode"] is None and data["ticket"]
    assert "-> StartClone" in result.stdout and "-> CheckCloneStatus" in result.stdout
    assert "status IN_PROGRESS" in result.stdout and "next poll in" in result.stdout
    assert result.stdout.count("read from DynamoDB") == 6  # 3 products, 3 categories
    # The handlers' structured logs went to the file, each line JSON with the clone id.
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert lines and all(line.get("cloneId") == data["cloneId"] for line in lines)


def test_clone_against_a_given_ecwid_endpoint(external_ecwid):
    result = run_cli_against(
        external_ecwid,
        "--source-store-id",
        "1003",
        "--target-store-id",
        "2003",
    )

    assert result.returncode == 0, result.stderr
    assert summary(result)["status"] == "COMPLETED"
    assert external_ecwid.accepted_clones(2003) == 1
    assert "s3cr3t-partner-key" not in result.stdout + result.stderr


def test_wrong_credentials_fail_at_once_with_the_auth_code(external_ecwid):
    result = run_cli_against(
        external_ecwid,
        "--source-store-id",
        "1003",
        "--target-store-id",
        "2004",
        secret="wrong-key",
    )

    assert result.returncode == 1
    data = summary(result)
    assert (data["status"], data["errorCode"]) == ("FAILED", "AUTH_APP_DOESNT_EXIST")
    # Terminal at once: one POST, never retried (Ecwid blocks keys that keep failing).
    posts = [
        r for r in external_ecwid.request_log() if r["method"] == "POST" and r["query"].get("targetStoreId") == "2004"
    ]
    assert len(posts) == 1


def test_failed_clone_exits_1_with_the_ecwid_code():
    result = run_cli("clone", "--source-store-id", "1003", "--target-store-id", "3001")

    assert result.returncode == 1
    data = summary(result)
    assert (data["status"], data["errorCode"]) == ("FAILED", "TARGET_NOT_ALLOWED_TO_CLONE")
    assert data["errorMessage"] == "Target store is not allowed to clone"


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (["--source-store-id", "1003", "--target-store-id", "1003"], {}, "--target-store-id"),
        (["--source-store-id", "-4", "--target-store-id", "2001"], {}, "--source-store-id"),
        (["--source-store-id", "abc", "--target-store-id", "2001"], {}, "--source-store-id"),
        (["--source-store-id", "1003"], {}, "--target-store-id or --merchant-email"),
        (
            [
                "--source-store-id",
                "1003",
                "--target-store-id",
                "2001",
                "--merchant-email",
                "a@example.com",
                "--merchant-name",
                "A",
            ],
            {},
            "not both",
        ),
        (["--source-store-id", "1003", "--merchant-email", "a@example.com"], {}, "--merchant-name"),
        (["--source-store-id", "1003", "--target-store-id", "2001", "--merchant-name", "A"], {}, "--merchant-email"),
        (["--source-store-id", "1003", "--target-store-id", "2001", "--scope", "EVERYTHING"], {}, "--scope"),
        (["--source-store-id", "1003", "--target-store-id", "2001", "--poll-scale", "0"], {}, "--poll-scale"),
        (
            ["--source-store-id", "1003", "--target-store-id", "2001", "--ecwid-base-url", "http://127.0.0.1:9"],
            {"ECWID_CLIENT_ID": "x"},
            "ECWID_CLIENT_SECRET",
        ),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(args, env, names):
    result = run_cli("clone", *args, env=env)

    assert result.returncode == 2
    assert names in result.stderr
    assert result.stdout == ""  # nothing was started


def test_a_merchant_in_a_ready_store_of_their_own_out(tmp_path):
    """The issues' own command: a store created, cloned with the template's settings, given the
    merchant's profile, its Instant Site cloned and named, with the store's own token."""
    log_file = tmp_path / "lambda.log"
    result = run_cli(
        "clone",
        "--source-store-id",
        "1003",
        "--merchant-email",
        "owner@example.com",
        "--merchant-name",
        "Ann Owner",
        "--merchant-store-name",
        "Ann's Bakery",
        "--instant-site",
        "draft",
        "--sandbox-clone-seconds",
        "2",
        "--log-file",
        str(log_file),
    )

    assert result.returncode == 0, result.stderr
    data = summary(result)
    assert data["status"] == "COMPLETED" and data["products"] == 500
    assert data["targetStoreId"] and data["targetStoreId"] not in range(2001, 2301), "a new store, not a seeded one"
    assert data["profile"]["status"] == "COMPLETED" and "settings.storeName" in data["profile"]["fields"]
    assert data["instantSite"] == {
        "status": "COMPLETED",
        "draft": True,
        "profile": {"status": "COMPLETED", "fields": ["email", "storeName"]},
    }
    assert data["events"] == ["Store Created", "Clone Completed"]
    assert "-> CreateStore" in result.stdout and f"created store {data['targetStoreId']}" in result.stdout
    # The profiles as the sandbox serves them (GET /{storeId}/profile), the template's beside the new store's.
    rows = {
        line.split("  ")[1].strip(): line
        for line in result.stdout.splitlines()
        if line.startswith("   ") and "  " in line[3:]
    }
    assert "Template Bakery Co." in rows["store name"] and rows["store name"].rstrip().endswith("Ann's Bakery")
    assert rows["company e-mail"].rstrip().endswith("owner@example.com")
    assert rows["notification e-mails"].rstrip().endswith(" owner@example.com")
    assert rows["Instant Site name"].rstrip().endswith("Ann's Bakery")
    # The new store's token is a sandbox secret: never printed, never logged.
    assert "secret_" not in result.stdout + result.stderr + log_file.read_text()


def test_a_merchant_store_against_a_given_ecwid_endpoint_gets_its_profile(external_ecwid):
    result = run_cli_against(
        external_ecwid,
        "--source-store-id",
        "1003",
        "--merchant-email",
        "elsewhere@example.com",
        "--merchant-name",
        "Eve Elsewhere",
        "--merchant-store-name",
        "Eve's Shop",
        "--profile",
        '{"languages": {"defaultLanguage": "de"}}',
    )

    assert result.returncode == 0, result.stderr
    data = summary(result)
    assert data["profile"]["status"] == "COMPLETED"
    [store] = external_ecwid.created_stores("elsewhere@example.com")
    profile = external_ecwid.store(store)["profile"]
    assert (profile["settings"]["storeName"], profile["company"]["email"], profile["languages"]["defaultLanguage"]) == (
        "Eve's Shop",
        "elsewhere@example.com",
        "de",
    )


@pytest.mark.parametrize(
    ("profile", "names"),
    [
        ('{"company": {"fax": "1"}}', "profile.company.fax"),
        ('{"company": {"countryCode": "XX"}}', "profile.company.countryCode"),
        ("not json", "--profile"),
        ("[1]", "--profile"),
    ],
)
def test_a_bad_profile_exits_2_naming_the_field(profile, names):
    result = run_cli(
        "clone",
        "--source-store-id",
        "1003",
        "--merchant-email",
        "a@example.com",
        "--merchant-name",
        "A",
        "--profile",
        profile,
    )

    assert result.returncode == 2
    assert names in result.stderr
    assert result.stdout == ""  # nothing was started


def test_send_signup_delivered_twice_clones_once(tmp_path):
    result = run_cli(
        "send-signup",
        "--target-store-id",
        "2005",
        "--signup-id",
        "acme-0001",
        "--times",
        "2",
        "--sandbox-clone-seconds",
        "2",
    )

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert (data["status"], data["executions"], data["deadLetters"]) == ("COMPLETED", 1, 0)
    assert data["signupId"] == "acme-0001" and data["products"] == 500


def test_a_merchant_signup_delivered_twice_makes_one_store():
    result = run_cli(
        "send-signup",
        "--merchant-email",
        "twice@example.com",
        "--merchant-name",
        "Bo Twice",
        "--signup-id",
        "acme-0003",
        "--times",
        "2",
        "--sandbox-clone-seconds",
        "2",
    )

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert (data["status"], data["executions"], data["deadLetters"]) == ("COMPLETED", 1, 0)
    assert data["targetStoreId"] and data["events"] == ["Store Created", "Clone Completed"]


def test_send_signup_with_a_bad_message_ends_in_the_dead_letter_queue():
    result = run_cli("send-signup", "--message", '{"signupId": "acme-0002", "targetStoreId": "abc"}')

    assert result.returncode == 1
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert (data["executions"], data["deadLetters"], data["signupId"]) == (0, 1, "acme-0002")


@pytest.fixture(scope="module")
def local_api(external_ecwid):
    """`python -m local api` against an Ecwid it did not start (--ecwid-base-url): its base URL."""
    import socket
    import time

    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECWID_"))}
    credentials = {"ECWID_CLIENT_ID": "partner-app", "ECWID_CLIENT_SECRET": "s3cr3t-partner-key"}
    server = subprocess.Popen(
        [sys.executable, "-m", "local", "api", "--port", str(port), "--ecwid-base-url", external_ecwid.base_url],
        cwd=ROOT,
        env={**clean_env, **credentials},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(300):
            try:
                requests.get(f"{base}/clones/none", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def wait_for_status(base: str, clone_id: str, *statuses: str, timeout: float = 60) -> dict:
    import time

    import requests

    deadline = time.monotonic() + timeout
    while True:
        job = requests.get(f"{base}/clones/{clone_id}", timeout=5).json()
        if job["status"] in statuses or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def test_api_command_serves_the_routes_over_http(local_api, external_ecwid):
    import requests

    created = requests.post(
        f"{local_api}/clones", json={"sourceStoreId": 1003, "targetStoreId": 2006, "requestId": "http-1"}, timeout=10
    )
    assert created.status_code == 202
    clone = created.json()
    assert clone["links"]["self"] == f"/v1/clones/{clone['cloneId']}"
    assert wait_for_status(local_api, clone["cloneId"], "COMPLETED", "FAILED", "TIMED_OUT")["status"] == "COMPLETED"
    assert external_ecwid.accepted_clones(2006) == 1  # the Ecwid it was given, not a sandbox of its own
    lookup = requests.get(f"{local_api}/stores/2006/mappings/products/100000000", timeout=5)
    assert lookup.status_code == 200 and lookup.json()["targetId"]
    not_json = requests.post(
        f"{local_api}/clones",
        data="sourceStoreId=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )
    assert not_json.status_code == 415


def operator(*args: str) -> tuple[int, dict]:
    """An operator command: its exit code and its one JSON line."""
    result = run_cli(*args)
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout + result.stderr
    return result.returncode, json.loads(lines[0])


def test_operators_retry_cancel_and_bulk_through_a_running_api(local_api, external_ecwid):
    import requests

    external_ecwid.faults.failed_ticket_rate = 1.0
    failed = requests.post(
        f"{local_api}/clones", json={"sourceStoreId": 1003, "targetStoreId": 2007}, timeout=10
    ).json()
    assert wait_for_status(local_api, failed["cloneId"], "FAILED")["errorCode"] == "CLONE_FAILED"
    external_ecwid.faults.failed_ticket_rate = 0.0

    code, retried = operator("retry", failed["cloneId"], "--request-id", "ops-1", "--api-url", local_api)
    assert (code, retried["httpStatus"], retried["retryOf"], retried["attempt"]) == (0, 202, failed["cloneId"], 2)
    code, again = operator("retry", failed["cloneId"], "--request-id", "ops-1", "--api-url", local_api)
    assert (code, again["httpStatus"], again["cloneId"]) == (0, 200, retried["cloneId"])
    assert wait_for_status(local_api, retried["cloneId"], "COMPLETED", "FAILED")["status"] == "COMPLETED"
    code, timeline = operator("timeline", retried["cloneId"], "--api-url", local_api)
    assert code == 0 and timeline["status"] == "SUCCEEDED" and timeline["steps"][0]["step"] == "AcquireSlot"

    external_ecwid.add_store(1020, products=5, clone_seconds=60)
    slow = requests.post(f"{local_api}/clones", json={"sourceStoreId": 1020, "targetStoreId": 2008}, timeout=10).json()
    wait_for_status(local_api, slow["cloneId"], "QUEUED", "IN_PROGRESS")
    code, cancelled = operator("cancel", slow["cloneId"], "--reason", "wrong template", "--api-url", local_api)
    assert (code, cancelled["httpStatus"], cancelled["status"], cancelled["ecwidTicketMayComplete"]) == (
        0,
        202,
        "CANCELLED",
        True,
    )
    code, refused = operator("cancel", retried["cloneId"], "--api-url", local_api)
    assert (code, refused["httpStatus"], refused["errors"][0]["field"]) == (1, 409, "status")

    code, dry = operator("bulk", "--action", "retry", "--status", "CANCELLED", "--dry-run", "--api-url", local_api)
    assert (code, dry["httpStatus"], dry["matched"], dry["sample"]) == (0, 200, 1, [slow["cloneId"]])
    code, bulk = operator("bulk", "--action", "retry", "--status", "CANCELLED", "--api-url", local_api)
    assert (code, bulk["httpStatus"], bulk["matched"]) == (0, 202, 1)
    for _ in range(100):
        code, view = operator("bulk-status", bulk["bulkId"], "--api-url", local_api)
        if view["status"] == "COMPLETED":
            break
    # Cancelled after Ecwid took the clone: a retry waits for the operator's word, so the bulk skips it.
    assert (view["status"], view["done"], view["skipped"]) == ("COMPLETED", 0, 1)
    # A store this stack did not create (the request named it) is not the operator's to suspend here.
    code, refused = operator("store", retried["cloneId"], "suspend", "--api-url", local_api)
    assert (code, refused["httpStatus"], refused["errors"][0]["field"]) == (1, 409, "targetStoreId")


def test_an_operator_command_without_an_api_exits_1_saying_so():
    code, answer = operator("cancel", "2001-x", "--api-url", "http://127.0.0.1:9/v1")
    assert code == 1 and answer["httpStatus"] is None and "did not answer" in answer["error"]


# -- the CLI starts clones as the API and the signup queue do --------------------------------


def test_the_cli_and_the_api_start_the_same_clone_for_the_same_request(stack, empty_target):
    # What `python -m local clone` runs to start its clone, then the same request on POST /clones:
    # one clone ID rule, one launcher, so the API finds the CLI's clone instead of starting another.
    args = build_parser().parse_args(
        ["clone", "--source-store-id", "1003", "--target-store-id", str(empty_target), "--scope", "CATALOG"]
        + ["--request-id", f"cli-and-api-{empty_target}"]
    )
    executions_before = {execution["name"] for execution in stack.executions()}

    clone_id = start_clone(stack, args)
    status, answer = stack.api("POST", "/clones", clone_body(args))

    assert (status, answer.get("cloneId")) == (200, clone_id), answer
    assert {execution["name"] for execution in stack.executions()} - executions_before == {clone_id}
    job = stack.wait_for_clone(clone_id)
    assert job["status"] == "COMPLETED" and job["requestId"] == f"cli-and-api-{empty_target}"


def test_the_cli_and_the_signup_queue_make_one_store_for_one_signup(stack):
    args = build_parser().parse_args(
        ["clone", "--source-store-id", "1003", "--merchant-email", "one-signup@example.com"]
        + ["--merchant-name", "Una Signup", "--signup-id", "cli-and-queue-1", "--scope", "CATALOG"]
    )
    executions_before = {execution["name"] for execution in stack.executions()}

    clone_id = start_clone(stack, args)
    message = {key: value for key, value in clone_body(args).items() if key != "cloneDemoCatalog"}
    stack.send_signup({**message, "signupId": "cli-and-queue-1"})
    stack.drain_signups()

    assert {execution["name"] for execution in stack.executions()} - executions_before == {clone_id}
    job = stack.wait_for_clone(clone_id)
    assert job["status"] == "COMPLETED" and job["signupId"] == "cli-and-queue-1"
    assert stack.dead_letters() == []
