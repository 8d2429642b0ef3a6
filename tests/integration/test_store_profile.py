"""PersonalizeStore on the local stack: a clone that copies settings copies the template's
profile; a merchant's store gets the merchant's own, and its Instant Site the same name."""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest

from tests.integration.helpers import fresh_targets, lambda_errors, run_clone

TEMPLATE = 1003
_emails = itertools.count(1)
# The fields PersonalizeStore owns for a merchant's store: set from the merchant, or cleared.
OWNED = {
    "settings": ("storeName",),
    "company": ("companyName", "email", "phone", "street", "city", "postalCode"),
    "mailNotifications": ("adminNotificationEmails",),
}


@pytest.fixture
def merchant() -> dict:
    return {"email": f"baker-{next(_emails)}-{time.time_ns()}@example.com", "name": "Ann Owner"}


def profile_of(stack, store_id: int) -> dict:
    """The store's profile as Ecwid serves it: GET /{storeId}/profile with the store's token."""
    profile = stack.read_store_profile(store_id)
    assert profile is not None
    return profile


def profile_calls(stack, store_id: int) -> list[dict]:
    return [r for r in stack.sandbox.request_log() if r["path"].endswith(f"/{store_id}/profile")]


def entered(run) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in run.history if e["type"].endswith("StateEntered")]


def test_without_the_step_a_clone_with_settings_leaves_the_templates_profile(stack, empty_target):
    # What every provisioned store looked like before PersonalizeStore: the clone copies the
    # template's name, company and mail settings. (A store with no merchant and no profile asked
    # for is still left so: whose profile would it be?)
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target})

    assert run.job["status"] == "COMPLETED" and "profile" not in run.job
    assert "PersonalizeStore" not in entered(run)
    profile, template = profile_of(stack, empty_target), profile_of(stack, TEMPLATE)
    assert profile["settings"]["storeName"] == template["settings"]["storeName"] == "Template Bakery Co."
    assert profile["company"] == template["company"]
    assert profile["mailNotifications"] == template["mailNotifications"]


def test_a_merchants_store_gets_the_merchants_profile_and_no_template_value(stack, merchant):
    merchant["storeName"] = "Ann's Bakery"
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "instantSite": {"draft": True}})

    assert run.execution["status"] == "SUCCEEDED" and run.job["status"] == "COMPLETED"
    store = int(run.job["targetStoreId"])
    assert run.job["profile"]["status"] == "COMPLETED"
    assert set(run.job["profile"]["fields"]) == {f"{s}.{n}" for s, names in OWNED.items() for n in names}
    profile, template = profile_of(stack, store), profile_of(stack, TEMPLATE)
    assert profile["settings"]["storeName"] == profile["company"]["companyName"] == "Ann's Bakery"
    assert profile["company"]["email"] == merchant["email"]
    assert profile["mailNotifications"]["adminNotificationEmails"] == [merchant["email"]]
    for section, names in OWNED.items():
        for name in names:
            assert profile[section].get(name) != template[section].get(name), f"{section}.{name} is the template's"
    # The rest of the settings stay the template's: that is what the clone was for.
    assert profile["formatsAndUnits"] == template["formatsAndUnits"]
    # The site's own profile follows: its SEO title and browser tab, its e-mail.
    site = stack.sandbox.store(store)["siteProfile"]
    assert (site["storeName"], site["email"]) == ("Ann's Bakery", merchant["email"])
    assert run.job["instantSite"]["profile"] == {"status": "COMPLETED", "fields": ["email", "storeName"]}
    # After the mapping, before the Instant Site; one PUT, with the store's own token.
    steps = entered(run)
    assert steps.index("CheckCloneStatus") < steps.index("PersonalizeStore") < steps.index("CloneInstantSite")
    assert [r["method"] for r in profile_calls(stack, store) if "/instantsite/" not in r["path"]][:1] == ["PUT"]
    # Announced, by field names only.
    completed = [e for e in stack.delivered_events(run.clone_id) if e["detail-type"] == "Clone Completed"]
    assert completed[0]["detail"]["profile"] == run.job["profile"]


def test_the_state_machine_never_holds_the_merchant_or_the_profile(stack, merchant):
    profile = {"company": {"phone": "+33 4 72 00 00 00", "street": "12 rue des Boulangers", "city": "Lyon"}}
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "profile": profile})

    assert run.job["status"] == "COMPLETED" and run.job["profile"]["status"] == "COMPLETED"
    history = json.dumps(run.history, default=str)
    for personal in (merchant["email"], merchant["name"], "+33 4 72", "rue des Boulangers"):
        assert personal not in history, personal
    events = json.dumps(stack.delivered_events(run.clone_id))
    assert merchant["email"] not in events and "Lyon" not in events
    # On the job, where the steps read it.
    assert run.job["merchant"]["email"] == merchant["email"] and run.job["requestedProfile"] == profile


def test_what_the_request_gives_wins_over_the_merchants_defaults(stack, merchant):
    profile = {
        "settings": {"storeName": "Boulangerie Ann"},
        "company": {"email": "shop@annsbakery.example", "city": "Lyon", "countryCode": "FR", "phone": "+33 1"},
        "mailNotifications": {"adminNotificationEmails": ["orders@annsbakery.example", merchant["email"]]},
        "formatsAndUnits": {"timezone": "Europe/Paris"},
        "languages": {"defaultLanguage": "fr"},
    }
    status, answer = stack.api("POST", "/clones", {"sourceStoreId": TEMPLATE, "merchant": merchant, "profile": profile})
    assert status == 202, answer
    job = stack.wait_for_clone(answer["cloneId"])

    assert job["status"] == "COMPLETED"
    store = profile_of(stack, int(job["targetStoreId"]))
    assert store["settings"]["storeName"] == "Boulangerie Ann"
    assert store["company"]["companyName"] == merchant["name"]  # not given: the merchant's name
    assert (store["company"]["email"], store["company"]["city"], store["company"]["countryCode"]) == (
        "shop@annsbakery.example",
        "Lyon",
        "FR",
    )
    assert (
        store["mailNotifications"]["adminNotificationEmails"] == profile["mailNotifications"]["adminNotificationEmails"]
    )
    assert (store["formatsAndUnits"]["timezone"], store["languages"]["defaultLanguage"]) == ("Europe/Paris", "fr")
    status, view = stack.api("GET", f"/clones/{answer['cloneId']}")
    assert view["profile"]["status"] == "COMPLETED" and "languages.defaultLanguage" in view["profile"]["fields"]


def test_a_catalog_only_merchant_store_is_not_touched_unless_asked(stack, merchant):
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant, "scope": "CATALOG"})

    assert run.job["status"] == "COMPLETED" and "profile" not in run.job
    store = int(run.job["targetStoreId"])
    assert profile_calls(stack, store) == []
    assert profile_of(stack, store)["company"]["email"] == merchant["email"]  # Ecwid's new store is the merchant's


def test_a_refused_profile_leaves_the_clone_completed_and_says_why(stack):
    target = next(fresh_targets)
    stack.sandbox.add_store(target, demo_products=2, rest_scopes=["read_store_profile"])  # no update_store_profile
    stack.put_store_secret(target, stack.sandbox.store_secret_token(target))
    run = run_clone(
        stack,
        {
            "sourceStoreId": TEMPLATE,
            "targetStoreId": target,
            "profile": {"settings": {"storeName": "Mine"}},
            "instantSite": {"draft": True},
        },
    )

    assert run.execution["status"] == "SUCCEEDED" and run.job["status"] == "COMPLETED"
    assert int(run.job["products"]) == 500
    outcome = run.job["profile"]
    assert outcome["status"] == "FAILED" and outcome["error"]["errorCode"] == "PROFILE_UPDATE_FORBIDDEN"
    assert "update_store_profile" in outcome["error"]["errorMessage"]
    assert lambda_errors(run) == ["EcwidTerminalError"]  # a 403 is never retried
    assert profile_of(stack, target)["settings"]["storeName"] == "Template Bakery Co."
    # The Instant Site step still ran, and the event carries the profile's outcome.
    assert run.job["instantSite"]["status"] == "COMPLETED"
    completed = [e for e in stack.delivered_events(run.clone_id) if e["detail-type"] == "Clone Completed"]
    assert completed[0]["detail"]["profile"]["error"]["errorCode"] == "PROFILE_UPDATE_FORBIDDEN"


def test_a_missing_store_token_fails_the_step_before_any_ecwid_call(stack, empty_target):
    run = run_clone(
        stack,
        {"sourceStoreId": TEMPLATE, "targetStoreId": empty_target, "profile": {"languages": {"defaultLanguage": "de"}}},
    )

    assert run.job["status"] == "COMPLETED"
    assert run.job["profile"]["error"]["errorCode"] == "STORE_SECRET_MISSING"
    assert profile_calls(stack, empty_target) == []


def lift_after(faults, counter: str, endpoint, attribute: str, hits: int = 1) -> None:
    def lift():
        while faults.counts.get(counter, 0) < hits:
            time.sleep(0.05)
        setattr(endpoint, attribute, 0.0)

    threading.Thread(target=lift, daemon=True).start()


@pytest.mark.parametrize(
    ("attribute", "counter", "error"),
    [("error_5xx_rate", "profile.5xx", "EcwidRetryableError"), ("rate_429", "profile.429", "EcwidRateLimitedError")],
)
def test_ecwid_trouble_on_the_profile_is_retried(stack, merchant, attribute, counter, error):
    faults = stack.sandbox.faults
    faults.profile.retry_after_seconds = None  # a 429 the client cannot sleep through: the state machine retries
    setattr(faults.profile, attribute, 1.0)
    lift_after(faults, counter, faults.profile, attribute)
    run = run_clone(stack, {"sourceStoreId": TEMPLATE, "merchant": merchant}, timeout=180)

    assert run.job["status"] == "COMPLETED" and run.job["profile"]["status"] == "COMPLETED"
    assert lambda_errors(run) == [error]
    assert profile_of(stack, int(run.job["targetStoreId"]))["company"]["email"] == merchant["email"]


def test_a_signup_names_its_store_and_profile_and_a_bad_one_fails_alone(stack, merchant):
    good = {
        "signupId": f"profile-{time.time_ns()}",
        "merchant": {**merchant, "storeName": "Ann's Signup Bakery"},
        "profile": {"company": {"city": "Lyon"}},
    }
    bad = {"signupId": f"bad-profile-{time.time_ns()}", "merchant": merchant, "profile": {"company": {"fax": "1"}}}
    stack.send_signup(good)
    stack.send_signup(bad)
    counts = stack.drain_signups()

    assert counts["failures"] >= 1 and json.dumps(bad) in stack.dead_letters()
    [clone_id] = [
        e["name"] for e in stack.executions() if (stack.job(e["name"]) or {}).get("signupId") == good["signupId"]
    ]
    job = stack.wait_for_clone(clone_id)
    assert job["status"] == "COMPLETED" and job["profile"]["status"] == "COMPLETED"
    store = profile_of(stack, int(job["targetStoreId"]))
    assert (store["settings"]["storeName"], store["company"]["city"]) == ("Ann's Signup Bakery", "Lyon")
