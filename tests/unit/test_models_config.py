"""The plain data (models.py) and the settings read from the environment (config.py)."""

from __future__ import annotations

import json
import re

import pytest

from ecwid_cloner.config import DEFAULT_BASE_URL, SettingError, Settings
from ecwid_cloner.models import (
    CloneRequest,
    CloneStatus,
    Entity,
    JobStatus,
    Merchant,
    Scope,
    StoreProfile,
    TicketStatus,
    clone_id_for,
    clone_id_for_merchant,
    clone_id_of,
    clone_key,
)

EXECUTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


def test_clone_request_round_trips_through_the_state():
    request = CloneRequest(1003, 9001, scope="CATALOG", clone_demo_catalog=True)
    state = request.to_state()
    assert state == {"sourceStoreId": 1003, "targetStoreId": 9001, "scope": "CATALOG", "cloneDemoCatalog": True}
    assert CloneRequest.from_state(state) == request


def test_clone_request_from_state_converts_ids_and_defaults():
    request = CloneRequest.from_state({"sourceStoreId": "1003", "targetStoreId": "9001"})
    assert request == CloneRequest(1003, 9001, scope=None, clone_demo_catalog=False)


def test_clone_request_from_state_needs_a_source_and_a_target_or_a_new_store():
    with pytest.raises(ValueError, match="targetStoreId or a merchant"):
        CloneRequest.from_state({"sourceStoreId": 1})
    with pytest.raises(KeyError):
        CloneRequest.from_state({"targetStoreId": 1})
    assert CloneRequest.from_state({"sourceStoreId": 1, "newStore": True}).new_store


MERCHANT = Merchant("ann@example.com", "Ann Owner", "203.0.113.9", store_name="Ann's Bakery")


def test_a_merchant_request_keeps_its_merchant_on_the_job_and_none_in_the_state():
    request = CloneRequest(1003, None, scope="CATALOG", merchant=MERCHANT)
    state = request.to_state()
    assert "targetStoreId" not in state, "absent, so the state machine routes to CreateStore"
    assert state == {"sourceStoreId": 1003, "scope": "CATALOG", "cloneDemoCatalog": False, "newStore": True}
    assert "ann" not in str(state).lower() and "203.0.113.9" not in str(state)
    item = request.to_item()
    assert item["merchant"] == {
        "email": "ann@example.com",
        "name": "Ann Owner",
        "ip": "203.0.113.9",
        "storeName": "Ann's Bakery",
    }
    assert CloneRequest.from_item(item) == request
    # The state alone knows a store is to be made, not for whom: CreateStore reads the job.
    from_state = CloneRequest.from_state(state)
    assert from_state.new_store and from_state.merchant is None
    created = request.with_target(60000001)
    assert created.target == 60000001 and CloneRequest.from_item(created.to_item()) == created
    with pytest.raises(ValueError, match="CreateStore"):
        _ = request.target


def test_ecwid_is_sent_only_the_merchant_fields_it_documents():
    assert MERCHANT.to_ecwid() == {"email": "ann@example.com", "name": "Ann Owner", "ip": "203.0.113.9"}
    assert Merchant("a@b.co", "A").to_ecwid() == {"email": "a@b.co", "name": "A"}


@pytest.mark.parametrize(
    ("scope", "merchant", "profile", "personalize"),
    [
        (None, MERCHANT, None, True),  # settings and catalog: the template's profile was copied
        ("STORE_SETTINGS", MERCHANT, None, True),
        ("CATALOG", MERCHANT, None, False),  # the settings were not copied: Ecwid's new store is the merchant's
        ("CATALOG", None, StoreProfile({"company.phone": "+1 555"}), True),  # asked for: always
        (None, None, None, False),  # an existing store and no profile: whose would it be?
    ],
)
def test_when_the_profile_step_runs(scope, merchant, profile, personalize):
    target = None if merchant else 2001
    request = CloneRequest(1003, target, scope, merchant=merchant, profile=profile)
    assert request.personalize is personalize
    assert CloneRequest.from_state(request.to_state()).personalize is personalize


def test_a_merchant_store_gets_the_merchants_name_and_email_and_none_of_the_templates_contact_lines():
    profile = CloneRequest(1003, None, merchant=MERCHANT).profile_to_set()
    assert profile is not None
    assert profile.to_ecwid() == {
        "settings": {"storeName": "Ann's Bakery"},
        "company": {
            "companyName": "Ann's Bakery",
            "email": "ann@example.com",
            "phone": "",
            "street": "",
            "city": "",
            "postalCode": "",
        },
        "mailNotifications": {"adminNotificationEmails": ["ann@example.com"]},
    }
    # Without a store name, the owner's name.
    plain = CloneRequest(1003, None, merchant=Merchant("b@c.io", "Bo")).profile_to_set()
    assert plain is not None and plain.values["settings.storeName"] == plain.values["company.companyName"] == "Bo"


def test_what_the_profile_gives_wins_field_by_field():
    asked = StoreProfile.from_ecwid(
        {"company": {"email": "shop@annsbakery.example", "city": "Lyon"}, "languages": {"defaultLanguage": "fr"}}
    )
    profile = CloneRequest(1003, None, merchant=MERCHANT, profile=asked).profile_to_set()
    assert profile is not None
    values = profile.values
    assert values["company.email"] == "shop@annsbakery.example" and values["company.city"] == "Lyon"
    assert values["settings.storeName"] == "Ann's Bakery"  # the merchant's default where nothing was given
    assert values["mailNotifications.adminNotificationEmails"] == ["ann@example.com"]
    assert values["languages.defaultLanguage"] == "fr"
    assert profile.fields.index("settings.storeName") < profile.fields.index("languages.defaultLanguage")
    # An existing store: only what was asked for.
    only = CloneRequest(1003, 2001, profile=asked).profile_to_set()
    assert only is not None and only.values == asked.values


def test_a_store_profile_takes_only_the_fields_the_step_may_set():
    with pytest.raises(ValueError, match="company.fax"):
        StoreProfile({"company.fax": "1"})
    with pytest.raises(ValueError, match="account.accountEmail"):
        StoreProfile.from_ecwid({"account": {"accountEmail": "x@y.zz"}})


def test_one_signup_one_merchant_clone_id_whatever_the_case_of_the_email():
    first = clone_id_for_merchant("Ann@Example.com", "signup-1")
    assert first == clone_id_for_merchant("ann@example.com ", "signup-1")
    assert first != clone_id_for_merchant("ann@example.com", "signup-2")
    assert EXECUTION_NAME.fullmatch(first) and first.startswith("new-")


@pytest.mark.parametrize(
    ("status", "finished"), [("QUEUED", False), ("IN_PROGRESS", False), ("COMPLETED", True), ("FAILED", True)]
)
def test_clone_status_finished(status, finished):
    assert CloneStatus(status).finished is finished


def test_clone_status_mappings_are_not_shared_between_instances():
    first, second = CloneStatus("COMPLETED"), CloneStatus("COMPLETED")
    first.products["1"] = "2"
    assert second.products == {}


def test_clone_id_is_stable_per_request():
    assert clone_id_for(9001, "req-1") == clone_id_for(9001, "req-1")


def test_clone_id_differs_per_request_and_per_target():
    ids = {clone_id_for(9001, "req-1"), clone_id_for(9001, "req-2"), clone_id_for(9002, "req-1")}
    assert len(ids) == 3


@pytest.mark.parametrize("request_id", ["r", "x" * 500, "spaces and / slashes?", "ünïcödé", "9001:req"])
def test_clone_id_is_a_valid_execution_name_starting_with_the_target(request_id):
    clone_id = clone_id_for(99928003, request_id)
    assert EXECUTION_NAME.fullmatch(clone_id), clone_id
    assert clone_id.startswith("99928003-")


def test_one_clone_id_rule_for_every_entry_point():
    into_store = CloneRequest(1003, 9001, Scope.CATALOG)
    for_merchant = CloneRequest(1003, None, merchant=Merchant("Ann@Example.com", "Ann"))
    # A request ID, or a signup ID in a namespace of its own: the same key, the same clone.
    assert clone_id_of(into_store, clone_key("req-1")) == clone_id_of(into_store, clone_key(request_id="req-1"))
    assert clone_id_of(into_store, clone_key("req-1")) != clone_id_of(into_store, clone_key(signup_id="req-1"))
    assert clone_id_of(for_merchant, clone_key(signup_id="s-1")) == clone_id_for_merchant(
        "ann@example.com", "signup-s-1"
    )
    assert clone_id_of(into_store, clone_key("req-1")).startswith("9001-")
    # No key: a clone of its own each time.
    assert clone_key() is None
    assert clone_id_of(into_store, None) != clone_id_of(into_store, None)
    assert EXECUTION_NAME.fullmatch(clone_id_of(for_merchant, None))


def test_the_vocabulary_is_written_as_its_strings():
    # Items, answers, events and the state machine see exactly the strings they always did.
    assert [str(status) for status in JobStatus] == [
        "STARTING",
        "WAITING",
        "CREATING_STORE",
        "QUEUED",
        "IN_PROGRESS",
        "COMPLETED",
        "FAILED",
        "TIMED_OUT",
        "CANCELLED",
    ]
    assert list(TicketStatus) == ["QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED"]
    assert (list(Scope), list(Entity)) == (["CATALOG", "STORE_SETTINGS"], ["products", "categories"])
    state = CloneRequest(1003, 9001, Scope.STORE_SETTINGS).to_state()
    assert json.dumps(state, sort_keys=True) == json.dumps({**state, "scope": "STORE_SETTINGS"}, sort_keys=True)
    assert f"{Entity.PRODUCTS}" == "products" and {JobStatus.FAILED: 1}["FAILED"] == 1


ENV = {
    "JOBS_TABLE_NAME": "jobs",
    "MAPPINGS_TABLE_NAME": "mappings",
    "ECWID_CREDENTIALS_SECRET": "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecwid",
}


def test_settings_defaults():
    settings = Settings.from_env(dict(ENV))
    assert settings == Settings(
        jobs_table="jobs",
        mappings_table="mappings",
        credentials_secret=ENV["ECWID_CREDENTIALS_SECRET"],
        ecwid_base_url=DEFAULT_BASE_URL,
        poll_scale=1.0,
        deadline_seconds=3600.0,
        ecwid_connect_timeout=3.05,
        ecwid_read_timeout=20.0,
    )
    assert DEFAULT_BASE_URL == "https://app.ecwid.com/api/v3"


def test_settings_read_every_variable():
    env = {
        **ENV,
        "ECWID_API_BASE_URL": "http://127.0.0.1:8765/api/v3",
        "POLL_SCALE": "0.02",
        "CLONE_DEADLINE_SECONDS": "1800",
        "ECWID_CONNECT_TIMEOUT": "1.5",
        "ECWID_READ_TIMEOUT": "9",
    }
    settings = Settings.from_env(env)
    assert settings.ecwid_base_url == "http://127.0.0.1:8765/api/v3"
    assert settings.poll_scale == 0.02
    assert settings.deadline_seconds == 1800.0
    assert (settings.ecwid_connect_timeout, settings.ecwid_read_timeout) == (1.5, 9.0)


def test_settings_treat_empty_optional_variables_as_unset():
    env = {**ENV, "ECWID_API_BASE_URL": "", "POLL_SCALE": "", "CLONE_DEADLINE_SECONDS": ""}
    settings = Settings.from_env(env)
    assert (settings.ecwid_base_url, settings.poll_scale, settings.deadline_seconds) == (DEFAULT_BASE_URL, 1.0, 3600.0)


@pytest.mark.parametrize("missing", sorted(ENV))
def test_settings_require_the_table_and_secret_names(missing):
    env = {key: value for key, value in ENV.items() if key != missing}
    with pytest.raises(KeyError, match=missing):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("POLL_SCALE", "0", "must be above 0"),
        ("POLL_SCALE", "-1", "must be above 0"),
        ("POLL_SCALE", "fast", "could not convert"),
        ("CLONE_DEADLINE_SECONDS", "0", "must be above 0"),
        ("ECWID_BUDGET_PER_MINUTE", "0", "must be above 0"),
        ("ECWID_BUDGET_BURST", "1.5", "invalid literal"),
        ("MAX_CLONES_IN_FLIGHT", "0", "must be above 0"),
        ("JOB_RETENTION_DAYS", "-1", "must be 0 or more"),
        ("FAILED_STORE_ACTION", "suspnd", "must be one of keep, suspend, delete"),
    ],
)
def test_a_setting_the_code_cannot_run_with_fails_at_start_naming_its_variable(variable, value, reason):
    # (POLL_SCALE=0 used to pass here and divide by zero in a step, clones later.)
    with pytest.raises(SettingError) as refused:
        Settings.from_env({**ENV, variable: value})
    assert str(refused.value).startswith(f"{variable}: ") and reason in str(refused.value)


def test_zero_days_of_retention_is_a_setting_not_an_error():
    assert Settings.from_env({**ENV, "JOB_RETENTION_DAYS": "0"}).job_retention_days == 0.0


def test_settings_read_os_environ_by_default(monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("POLL_SCALE", "0.5")
    assert Settings.from_env().poll_scale == 0.5


def test_a_store_id_is_a_whole_json_number_however_written():
    # JSON Schema's integer (the OpenAPI document's) includes 1003.0; strings and booleans are not IDs.
    from pydantic import ValidationError

    from ecwid_cloner.api.clone_requests import CloneRequestBody, SignupMessage

    assert CloneRequestBody.model_validate({"sourceStoreId": 1003.0, "targetStoreId": 2001}).sourceStoreId == 1003
    assert SignupMessage.model_validate({"signupId": "s-1", "targetStoreId": 2001.0}).targetStoreId == 2001
    for bad in ("1003", True, 1003.5):
        with pytest.raises(ValidationError):
            CloneRequestBody.model_validate({"sourceStoreId": bad, "targetStoreId": 2001})
