"""The sample events in events/ drive the real handlers on the local stack."""

from __future__ import annotations

import json

from ecwid_cloner.state import CloneState
from local.template_model import ROOT

EVENTS = ROOT / "events"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_sample_events_run_the_task_handlers_in_order(stack):
    request = load("clone_request.json")
    request["cloneId"] = "events-" + request["cloneId"]

    started = stack.invoke("StartCloneFunction", request)
    assert started["status"] == "QUEUED" and started["ticket"]
    # The sample status event has the shape StartClone returns (the template's recent durations
    # too, which a StartClone carries once the template has a history), and reads back as it is.
    sample = load("check_clone_status.json")
    assert set(sample) == set(started) and set(started["poll"]) <= set(sample["poll"])
    assert CloneState.from_state(sample).to_state() == sample

    checked = stack.invoke("CheckCloneStatusFunction", started)
    assert checked["status"] in ("QUEUED", "IN_PROGRESS") and checked["poll"]["attempt"] == 1

    failure = load("record_failure.json")
    failure["cloneId"] = request["cloneId"]
    recorded = stack.invoke("RecordFailureFunction", failure)
    assert recorded["failure"] == {
        "errorCode": "TARGET_PRODUCTS_NOT_EMPTY",
        "errorMessage": "Target store products should be empty",
    }
    assert stack.job(request["cloneId"])["status"] == "FAILED"


def test_api_sample_events_reach_their_routes(stack, empty_target):
    post = load("api_post_clones.json")
    body = json.loads(post["body"])
    body["targetStoreId"] = empty_target
    post["body"] = json.dumps(body)

    created = stack.invoke("ApiFunction", post)
    assert created["statusCode"] == 202
    clone_id = json.loads(created["body"])["cloneId"]
    stack.wait_for_clone(clone_id)

    for name in ("api_get_clone.json", "api_get_clone_mappings.json"):
        event = load(name)
        event["path"] = event["path"].replace(event["pathParameters"]["cloneId"], clone_id)
        event["pathParameters"]["cloneId"] = clone_id
        answer = stack.invoke("ApiFunction", event)
        assert answer["statusCode"] == 200, (name, answer)
        assert json.loads(answer["body"])["cloneId"] == clone_id

    lookup = load("api_get_store_mapping.json")
    lookup["path"] = lookup["path"].replace(
        f"/stores/{lookup['pathParameters']['targetStoreId']}/", f"/stores/{empty_target}/"
    )
    lookup["pathParameters"]["targetStoreId"] = str(empty_target)
    answer = stack.invoke("ApiFunction", lookup)
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["sourceId"] == lookup["pathParameters"]["sourceId"]


def test_sqs_sample_batch_fails_only_its_bad_record(stack, empty_target):
    event = load("sqs_signups.json")
    good, bad = event["Records"]
    message = json.loads(good["body"])
    message["targetStoreId"] = empty_target
    good["body"] = json.dumps(message)

    answer = stack.invoke("SignupConsumerFunction", event)

    assert answer == {"batchItemFailures": [{"itemIdentifier": bad["messageId"]}]}
    job = stack.wait_for_clone(stack.job_for_target(empty_target)["cloneId"])
    assert job["status"] == "COMPLETED"


def test_sample_events_provision_a_store_and_describe_its_outcome(stack):
    request = load("create_store.json")
    request["cloneId"] = "events-" + request["cloneId"]
    request["request"]["merchant"]["email"] = "events-sample@example.com"

    created = stack.invoke("CreateStoreFunction", request)
    store_id = created["store"]["storeId"]
    assert created["request"]["targetStoreId"] == store_id and created["store"]["tokenSaved"] is True
    assert created["event"]["detailType"] == "Store Created"
    assert stack.sandbox.created_stores("events-sample@example.com") == [store_id]
    # Again, as a retried step: the same store, no second POST.
    assert stack.invoke("CreateStoreFunction", request)["store"]["storeId"] == store_id
    assert stack.sandbox.created_stores("events-sample@example.com") == [store_id]

    describe = load("describe_outcome.json")
    describe["cloneId"] = request["cloneId"]
    outcome = stack.invoke("CloneEventsFunction", describe)
    assert outcome["detailType"] == "Clone Completed"
    assert outcome["detail"]["targetStoreId"] == store_id and outcome["detail"]["status"] == "CREATING_STORE"


def test_the_personalize_sample_event_sets_the_profile_its_job_asks_for(stack, empty_target):
    event = load("personalize_store.json")
    event["cloneId"] = clone_id = "events-" + event["cloneId"]
    event["request"]["targetStoreId"] = empty_target
    # The profile asked for is on the job, as an entry point records it; the state says only "personalize".
    asked = {"settings": {"storeName": "Sample Store"}, "languages": {"defaultLanguage": "de"}}
    stack.record_intent(clone_id, {**event["request"], "requestedProfile": asked})
    stack.put_store_secret(empty_target, stack.sandbox.store_secret_token(empty_target))

    answer = stack.invoke("PersonalizeStoreFunction", event)

    assert answer["profile"] == {"status": "COMPLETED", "fields": ["settings.storeName", "languages.defaultLanguage"]}
    assert (answer["status"], answer["result"]) == ("COMPLETED", event["result"])
    profile = stack.read_store_profile(empty_target)
    assert profile is not None
    assert (profile["settings"]["storeName"], profile["languages"]["defaultLanguage"]) == ("Sample Store", "de")
    assert stack.job(clone_id)["profile"] == answer["profile"]
