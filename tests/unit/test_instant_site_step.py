"""CloneInstantSite in milliseconds: when the state machine runs it, its calls, and what it records
when Ecwid refuses. In-memory jobs, a fake Instant Site client answering from a script, no HTTP."""

from __future__ import annotations

import pytest

from ecwid_cloner.errors import EcwidRetryableError, EcwidTerminalError
from ecwid_cloner.models import CloneRequest, Merchant, StoreProfile
from ecwid_cloner.state import CloneState
from ecwid_cloner.steps.clone_instant_site import CloneInstantSite
from ecwid_cloner.steps.record_failure import RecordFailure
from tests.unit.asl_choice import next_state
from tests.unit.step_fakes import STORE, FakeInstantSiteClient, Gated, InMemoryBudget, completed_clone
from tests.unit.test_caught_errors import lambda_cause

CLONE_ID = "9001-abc"
TARGET = 9001
SECRET_TOKENS = {TARGET: "secret-9001", STORE: "secret-7001"}
MERCHANT = Merchant("ann@example.com", "Ann Owner", store_name="Ann's Bakery")


def _site(jobs, client, gate=None, secrets=SECRET_TOKENS) -> CloneInstantSite:
    if gate is None:
        return CloneInstantSite(lambda: client, secrets.__getitem__, jobs)
    return CloneInstantSite(lambda: Gated(client, gate), secrets.__getitem__, jobs, gate)


def _asked(draft: bool = True, **options) -> CloneRequest:
    return CloneRequest(1003, TARGET, scope="CATALOG", instant_site_draft=draft, **options)


def _refused(code: str, status: int) -> EcwidTerminalError:
    return EcwidTerminalError(code, f"Instant Site: HTTP {status}", status)


# ---- when it runs -------------------------------------------------------------------------


def test_a_clone_that_did_not_ask_for_the_site_never_reaches_the_step(jobs):
    state = completed_clone(jobs, CLONE_ID, CloneRequest(1003, TARGET, scope="CATALOG"))
    assert next_state("RouteByStatus", state.to_state()) == "ReleaseSlotCompleted"
    assert "instantSite" not in jobs.get(CLONE_ID)


@pytest.mark.parametrize("draft", [True, False], ids=["draft", "published"])
def test_a_clone_that_asked_for_the_site_gets_it_cloned_once_and_recorded(jobs, draft):
    state = completed_clone(jobs, CLONE_ID, _asked(draft))
    assert jobs.get(CLONE_ID)["instantSite"] == {"draft": draft, "status": "PENDING"}
    assert next_state("RouteByStatus", state.to_state()) == "CloneInstantSite"
    client = FakeInstantSiteClient()

    done = _site(jobs, client)(state)

    assert client.calls == [("token", TARGET, "secret-9001"), ("clone", TARGET, 1003, draft, "site-token")]
    outcome = {"status": "COMPLETED", "draft": draft}
    assert done.instant_site.to_state() == outcome and jobs.get(CLONE_ID)["instantSite"] == outcome
    assert (done.status, done.ticket, done.result) == ("COMPLETED", "t-1", {"products": 2, "categories": 1})
    assert next_state("InstantSiteDoneOrWaiting", done.to_state()) == "ReleaseSlotCompleted"
    assert jobs.get(CLONE_ID).status == "COMPLETED"


def test_a_personalized_stores_site_gets_the_stores_name_and_email_with_the_same_token(jobs):
    asked = StoreProfile.from_ecwid({"settings": {"storeName": "Boulangerie Ann"}, "company": {"phone": "+33 1"}})
    state = completed_clone(jobs, CLONE_ID, CloneRequest(1003, None, merchant=MERCHANT, profile=asked), True)
    client = FakeInstantSiteClient()

    done = _site(jobs, client)(state)

    assert [call[0] for call in client.calls] == ["token", "clone", "profile"]
    # The name the request gave wins; the e-mail is the merchant's. Nothing else goes to the site.
    assert client.calls[2] == (
        "profile",
        STORE,
        {"storeName": "Boulangerie Ann", "email": MERCHANT.email},
        "site-token",
    )
    assert done.instant_site.to_state() == {
        "status": "COMPLETED",
        "draft": True,
        "profile": {"status": "COMPLETED", "fields": ["email", "storeName"]},
    }
    assert jobs.get(CLONE_ID)["instantSite"] == done.instant_site.to_state()


def test_a_profile_without_a_name_or_an_email_leaves_the_sites_profile_alone(jobs):
    phone_only = StoreProfile.from_ecwid({"company": {"phone": "+33 1"}})
    state = completed_clone(jobs, CLONE_ID, _asked(profile=phone_only))
    client = FakeInstantSiteClient()
    done = _site(jobs, client)(state)
    assert [call[0] for call in client.calls] == ["token", "clone"] and done.instant_site.profile is None


# ---- what it records when Ecwid refuses ----------------------------------------------------


def test_a_refused_site_profile_is_the_steps_outcome_and_the_site_clone_stands(jobs):
    state = completed_clone(jobs, CLONE_ID, CloneRequest(1003, None, merchant=MERCHANT), True)
    forbidden = _refused("INSTANT_SITE_HTTP_403", 403)
    done = _site(jobs, FakeInstantSiteClient(profiles=[forbidden]))(state)
    assert done.instant_site.to_state() == {
        "status": "COMPLETED",
        "draft": True,
        "profile": {"status": "FAILED", "error": {"errorCode": forbidden.code, "errorMessage": forbidden.message}},
    }
    assert jobs.get(CLONE_ID)["instantSite"] == done.instant_site.to_state()


def test_ecwids_trouble_with_the_site_profile_is_raised_for_the_state_machine_to_retry(jobs):
    state = completed_clone(jobs, CLONE_ID, CloneRequest(1003, None, merchant=MERCHANT), True)
    unavailable = EcwidRetryableError("INSTANT_SITE_HTTP_503", "Instant Site profile: HTTP 503", 503)
    with pytest.raises(EcwidRetryableError):
        _site(jobs, FakeInstantSiteClient(profiles=[unavailable]))(state)
    assert jobs.get(CLONE_ID)["instantSite"]["status"] == "PENDING"


@pytest.mark.parametrize(
    ("refused_call", "refusal", "calls"),
    [
        ("tokens", _refused("INSTANT_SITE_HTTP_401", 401), ["token"]),
        ("clones", _refused("INSTANT_SITE_HTTP_403", 403), ["token", "clone"]),
    ],
    ids=["token-refused", "clone-refused"],
)
def test_a_refused_token_or_clone_fails_the_step_and_record_failure_keeps_the_store_clone(
    jobs, refused_call, refusal, calls
):
    client = FakeInstantSiteClient(**{refused_call: [refusal]})
    state = completed_clone(jobs, CLONE_ID, _asked(draft=False))
    with pytest.raises(EcwidTerminalError) as refused:
        _site(jobs, client)(state)
    assert [call[0] for call in client.calls] == calls
    assert jobs.get(CLONE_ID)["instantSite"]["status"] == "PENDING", "the step records only what it did"

    # What RecordInstantSiteFailure hands RecordFailure (the ASL's Parameters, the Catch's $.error).
    caught = {
        **{key: state.to_state()[key] for key in ("cloneId", "request", "ticket", "result")},
        "error": {"Error": "EcwidTerminalError", "Cause": lambda_cause(refused.value)},
        "failedStep": "INSTANT_SITE",
    }
    recorded = RecordFailure(jobs)(caught).to_state()

    failed = {
        "status": "FAILED",
        "draft": False,
        "error": {"errorCode": refused.value.code, "errorMessage": refused.value.message},
    }
    job = jobs.get(CLONE_ID)
    assert job["instantSite"] == failed and job.status == "COMPLETED"
    assert recorded["instantSite"] == failed and recorded["status"] == "COMPLETED"
    assert recorded["result"] == {"products": 2, "categories": 1}


def test_a_store_without_its_secret_token_fails_before_any_request(jobs):
    client = FakeInstantSiteClient()
    with pytest.raises(KeyError):
        _site(jobs, client, secrets={})(completed_clone(jobs, CLONE_ID, _asked()))
    assert client.calls == []


# ---- the request budget -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "requests"),
    [(_asked(), 2), (CloneRequest(1003, None, merchant=MERCHANT), 3)],
    ids=["token-and-clone", "and-site-profile"],
)
def test_its_requests_are_booked_together_and_spent_on_the_next_run(jobs, clock, request_, requests):
    budget = InMemoryBudget(clock)
    budget.run_ahead(10)
    schedule = budget.booked_until
    client = FakeInstantSiteClient()
    step = _site(jobs, client, gate=budget.gate)

    waiting = step(completed_clone(jobs, CLONE_ID, request_, instant_site=True))

    assert client.calls == [] and waiting.instant_site is None
    assert waiting.budget.tokens == requests and budget.booked_until == schedule + requests
    assert next_state("InstantSiteDoneOrWaiting", waiting.to_state()) == "WaitForBudgetInstantSite"
    assert jobs.get(CLONE_ID)["instantSite"]["status"] == "PENDING"

    clock.advance(waiting.budget.wait_seconds)
    done = step(CloneState.from_state(waiting.to_state()))
    assert len(client.calls) == requests and done.instant_site.status == "COMPLETED"
    assert budget.booked_until == schedule + requests, "no second booking"
