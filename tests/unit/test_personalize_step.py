"""PersonalizeStore in milliseconds: when the state machine runs it, what it sends Ecwid, and what
it records. In-memory jobs (the merchant and the profile asked for are on the job, never in the
state), a fake store-profile client answering from a script, no HTTP."""

from __future__ import annotations

import json

import pytest

from ecwid_cloner.errors import EcwidRetryableError, EcwidTerminalError
from ecwid_cloner.models import PROFILE_FIELDS, CloneRequest, Merchant, StoreProfile
from ecwid_cloner.state import CloneState
from ecwid_cloner.steps.personalize_store import PersonalizeStore
from ecwid_cloner.steps.record_failure import RecordFailure
from tests.unit.asl_choice import next_state
from tests.unit.step_fakes import STORE, FakeStoreProfileClient, Gated, InMemoryBudget, completed_clone
from tests.unit.test_caught_errors import lambda_cause

CLONE_ID = "new-abc"
TOKENS = {STORE: "store-token-7001", 2001: "store-token-2001"}
MERCHANT = Merchant("ann@example.com", "Ann Owner", ip="203.0.113.9", store_name="Ann's Bakery")
ASKED = StoreProfile.from_ecwid(
    {"settings": {"storeName": "Boulangerie Ann"}, "company": {"email": "shop@annsbakery.example", "city": "Lyon"}}
)


def _personalize(jobs, client, gate=None, tokens=TOKENS) -> PersonalizeStore:
    if gate is None:
        return PersonalizeStore(lambda: client, tokens.__getitem__, jobs)
    return PersonalizeStore(lambda: Gated(client, gate), tokens.__getitem__, jobs, gate)


def _merchants(request_profile: StoreProfile | None = None, scope: str | None = None) -> CloneRequest:
    return CloneRequest(1003, None, scope=scope, merchant=MERCHANT, profile=request_profile)


# ---- when it runs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "runs"),
    [
        (_merchants(), True),  # settings and catalog: the clone copied the template's profile
        (_merchants(scope="STORE_SETTINGS"), True),
        (_merchants(scope="CATALOG"), False),  # no settings copied: Ecwid's new store is the merchant's already
        (CloneRequest(1003, 2001, scope="CATALOG", profile=ASKED), True),  # a profile asked for: always
        (CloneRequest(1003, 2001), False),  # an existing store and no profile: whose would it be?
    ],
    ids=["merchant-all", "merchant-settings", "merchant-catalog", "profile-asked", "neither"],
)
def test_the_state_machine_runs_the_step_only_when_the_rules_say_and_once(jobs, request_, runs):
    state = completed_clone(jobs, CLONE_ID, request_)
    route = next_state("RouteByStatus", state.to_state())
    assert route == ("PersonalizeStore" if runs else "ReleaseSlotCompleted")
    if runs:
        done = _personalize(jobs, FakeStoreProfileClient())(state)
        assert next_state("ProfileDoneOrWaiting", done.to_state()) == "RouteByStatus"
        assert next_state("RouteByStatus", done.to_state()) == "ReleaseSlotCompleted", "not a second time"


def test_the_profile_step_goes_before_the_instant_site_and_the_site_follows_it(jobs):
    state = completed_clone(jobs, CLONE_ID, _merchants(), instant_site=True)
    assert next_state("RouteByStatus", state.to_state()) == "PersonalizeStore"
    done = _personalize(jobs, FakeStoreProfileClient())(state)
    assert next_state("RouteByStatus", done.to_state()) == "CloneInstantSite"


# ---- what it sends ------------------------------------------------------------------------


def test_a_merchants_store_gets_the_merchants_profile_from_the_job_with_the_stores_own_token(jobs):
    client = FakeStoreProfileClient()
    state = _personalize(jobs, client)(completed_clone(jobs, CLONE_ID, _merchants()))

    [(store, token, body)] = client.puts
    assert (store, token) == (STORE, TOKENS[STORE])
    # The merchant's defaults (test_models_config pins them), read from the job: the state has no merchant.
    assert body == _merchants().profile_to_set().to_ecwid()
    assert body["settings"]["storeName"] == "Ann's Bakery" and body["company"]["email"] == MERCHANT.email
    assert body["company"]["phone"] == "", "the template's contact lines are cleared"
    fields = [f"{section}.{name}" for section, values in body.items() for name in values]
    assert set(fields) <= set(PROFILE_FIELDS), "only the documented fields the step owns"
    assert MERCHANT.ip not in json.dumps(body) and MERCHANT.name not in json.dumps(body)
    outcome = {"status": "COMPLETED", "fields": StoreProfile.from_ecwid(body).fields}
    assert state.profile.to_state() == outcome and jobs.get(CLONE_ID)["profile"] == outcome
    assert (state.status, state.ticket, state.result) == ("COMPLETED", "t-1", {"products": 2, "categories": 1})
    assert "ann@example.com" not in json.dumps(state.to_state()), "field names on the state, never values"


def test_the_profile_a_request_gives_wins_over_the_merchants_defaults_field_by_field(jobs):
    client = FakeStoreProfileClient()
    _personalize(jobs, client)(completed_clone(jobs, CLONE_ID, _merchants(ASKED)))
    body = client.puts[0][2]
    assert body["settings"]["storeName"] == "Boulangerie Ann"
    assert (body["company"]["email"], body["company"]["city"]) == ("shop@annsbakery.example", "Lyon")
    # Where the request gives nothing, the merchant's defaults.
    assert body["company"]["companyName"] == "Ann's Bakery" and body["company"]["phone"] == ""
    assert body["mailNotifications"]["adminNotificationEmails"] == ["ann@example.com"]


def test_an_existing_store_gets_only_the_fields_asked_for(jobs):
    client = FakeStoreProfileClient()
    _personalize(jobs, client)(completed_clone(jobs, CLONE_ID, CloneRequest(1003, 2001, profile=ASKED)))
    assert client.puts == [(2001, TOKENS[2001], ASKED.to_ecwid())]


@pytest.mark.parametrize(
    "request_",
    [CloneRequest(1003, 2001), CloneRequest(1003, 2001, profile=StoreProfile({}))],
    ids=["not-asked", "empty-profile"],
)
def test_with_nothing_to_set_the_step_records_no_fields_and_reads_no_token(jobs, request_):
    client = FakeStoreProfileClient()
    state = _personalize(jobs, client, tokens={})(completed_clone(jobs, CLONE_ID, request_))
    assert client.puts == [] and state.profile.to_state() == {"status": "COMPLETED", "fields": []}
    assert jobs.get(CLONE_ID)["profile"] == state.profile.to_state()


# ---- what it records when Ecwid refuses -----------------------------------------------------


def test_a_refused_update_fails_the_step_and_record_failure_keeps_the_clone_completed(jobs):
    forbidden = EcwidTerminalError("PROFILE_UPDATE_FORBIDDEN", "Store profile update: no scope", 403)
    state = completed_clone(jobs, CLONE_ID, _merchants(), instant_site=True)
    with pytest.raises(EcwidTerminalError):
        _personalize(jobs, FakeStoreProfileClient([forbidden]))(state)
    assert jobs.get(CLONE_ID)["profile"] == {"status": "PENDING"}, "the step records only what it did"

    # What RecordProfileFailure hands RecordFailure (the ASL's Parameters, the Catch's $.error).
    caught = {
        **{key: state.to_state()[key] for key in ("cloneId", "request", "ticket", "result")},
        "error": {"Error": "EcwidTerminalError", "Cause": lambda_cause(forbidden)},
        "failedStep": "PROFILE",
    }
    recorded = RecordFailure(jobs)(caught).to_state()

    failed = {"status": "FAILED", "error": {"errorCode": forbidden.code, "errorMessage": forbidden.message}}
    job = jobs.get(CLONE_ID)
    assert job["profile"] == failed and job.status == "COMPLETED"
    assert recorded["profile"] == failed and recorded["status"] == "COMPLETED"
    assert next_state("RouteByStatus", recorded) == "CloneInstantSite", "the clone goes on to its site"


def test_ecwids_trouble_is_raised_for_the_state_machine_to_retry_and_records_nothing(jobs):
    unavailable = EcwidRetryableError("PROFILE_HTTP_503", "Store profile update: HTTP 503", 503)
    client = FakeStoreProfileClient([unavailable, {"updateCount": 1}])
    step = _personalize(jobs, client)
    state = completed_clone(jobs, CLONE_ID, _merchants())
    with pytest.raises(EcwidRetryableError):
        step(state)
    assert jobs.get(CLONE_ID)["profile"] == {"status": "PENDING"}
    assert step(state).profile.status == "COMPLETED" and len(client.puts) == 2


def test_a_store_without_a_token_fails_before_any_request(jobs):
    client = FakeStoreProfileClient()
    with pytest.raises(KeyError):
        _personalize(jobs, client, tokens={})(completed_clone(jobs, CLONE_ID, _merchants()))
    assert client.puts == []


# ---- the request budget -----------------------------------------------------------------


def test_told_to_wait_it_puts_nothing_then_spends_its_booking(jobs, clock):
    budget = InMemoryBudget(clock)
    budget.run_ahead(10)
    client = FakeStoreProfileClient()
    step = _personalize(jobs, client, gate=budget.gate)

    waiting = step(completed_clone(jobs, CLONE_ID, _merchants()))
    assert client.puts == [] and waiting.profile is None and jobs.get(CLONE_ID)["profile"] == {"status": "PENDING"}
    assert next_state("ProfileDoneOrWaiting", waiting.to_state()) == "WaitForBudgetToPersonalize"
    assert waiting.result == {"products": 2, "categories": 1}, "the counts wait with it"

    schedule = budget.booked_until
    clock.advance(waiting.budget.wait_seconds)
    done = step(CloneState.from_state(waiting.to_state()))
    assert len(client.puts) == 1 and done.profile.status == "COMPLETED" and done.budget is None
    assert budget.booked_until == schedule
