"""Signup messages, end to end: the SQS queue with its dead-letter redrive, the real
SignupConsumerFunction, clones run by the real state machine against the Ecwid sandbox.

Every message is sent and drained first (one batch per case), then the clones they
started are waited for together; the tests read what that left.
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter

import boto3
import pytest

from local.template_model import ROOT
from tests.integration.helpers import fresh_targets, read_mapping

SOURCE = 1003  # an explicit source, for messages that name one


# -- helpers ------------------------------------------------------------------------


def sample_bodies() -> tuple[dict, str]:
    """The good and the bad message of the sample SQS event (events/sqs_signups.json)."""
    path = ROOT / "events" / "sqs_signups.json"
    if path.exists():
        records = json.loads(path.read_text())["Records"]
        return json.loads(records[0]["body"]), records[1]["body"]
    return {
        "signupId": "signup-20261123-0001",
        "targetStoreId": 2005,
    }, '{"signupId": "x", "targetStoreId": "not-a-store"}'


def signup(target: int, **fields) -> dict:
    """The sample good signup, for ``target``, with a signupId of its own."""
    good, _ = sample_bodies()
    return {**good, "signupId": f"test-{uuid.uuid4()}", "targetStoreId": target, **fields}


def template_store() -> int:
    return int(os.environ["TEMPLATE_STORE_ID"])  # what the stack gave the consumer, from template.yaml


def max_receive_count(stack) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.queues["SignupQueue"], AttributeNames=["RedrivePolicy"]
    )["Attributes"]
    return int(json.loads(attributes["RedrivePolicy"])["maxReceiveCount"])


def jobs_for(stack, target: int) -> list[dict]:
    table = boto3.resource("dynamodb").Table(stack.jobs_table)
    kwargs, items = {"FilterExpression": "targetStoreId = :t", "ExpressionAttributeValues": {":t": target}}, []
    while True:
        answer = table.scan(**kwargs)
        items.extend(answer["Items"])
        if "LastEvaluatedKey" not in answer:
            return items
        kwargs["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def execution_names(stack) -> list[str]:
    return [execution["name"] for execution in stack.executions()]


def added(after: list, before: list) -> list:
    return list((Counter(after) - Counter(before)).elements())


def delivered(stack, *bodies) -> dict:
    """Send ``bodies`` and drain the queue; what the consumer did with them."""
    names, letters = execution_names(stack), stack.dead_letters()
    for body in bodies:
        stack.send_signup(body)
    counts = stack.drain_signups()
    return {
        "sent": len(bodies),
        "counts": counts,
        "executions": added(execution_names(stack), names),
        "dead_letters": added(stack.dead_letters(), letters),
    }


def empty_dead_letter_queue(stack) -> None:
    """Delete what earlier tests left in the dead-letter queue (PurgeQueue allows one call a minute)."""
    sqs, url = boto3.client("sqs"), stack.queues["SignupDeadLetterQueue"]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert stack.dead_letters() == []


def bad_messages(good_target: int, bad_target: int) -> dict[str, str]:
    """Bad signups, by what is wrong with them; each names a store no one else uses."""

    def text(**message) -> str:
        return json.dumps(message)

    signup_id = f"bad-{uuid.uuid4()}"
    _, sample_bad = sample_bodies()
    sample_bad = {**json.loads(sample_bad), "signupId": signup_id}
    return {
        "not JSON": f"signup {signup_id} for store {bad_target}",
        "JSON array": json.dumps([signup(bad_target)]),
        "missing signupId": text(targetStoreId=bad_target),
        "signupId with spaces": text(signupId="has spaces", targetStoreId=bad_target),
        "targetStoreId not a number": json.dumps(sample_bad),
        "targetStoreId as a string": text(signupId=signup_id, targetStoreId=str(bad_target)),
        "targetStoreId zero": text(signupId=signup_id, targetStoreId=0),
        "missing targetStoreId": text(signupId=signup_id),
        "unknown field": text(signupId=signup_id, targetStoreId=bad_target, plan="pro"),
        "target is the template store": text(signupId=signup_id, targetStoreId=template_store()),
        "source equals target": text(signupId=signup_id, sourceStoreId=bad_target, targetStoreId=bad_target),
        "scope unknown": text(signupId=signup_id, targetStoreId=bad_target, scope="EVERYTHING"),
    }


BAD_KINDS = [
    "not JSON",
    "JSON array",
    "missing signupId",
    "signupId with spaces",
    "targetStoreId not a number",
    "targetStoreId as a string",
    "targetStoreId zero",
    "missing targetStoreId",
    "unknown field",
    "target is the template store",
    "source equals target",
    "scope unknown",
]
DEAD_LETTER_READ = 10  # stack.dead_letters() reads one receive: at most 10 messages
BATCH_GROUPS = [BAD_KINDS[i : i + DEAD_LETTER_READ - 1] for i in range(0, len(BAD_KINDS), DEAD_LETTER_READ - 1)]


# -- everything sent first, the clones waited for together --------------------------


@pytest.fixture(scope="module")
def signups(stack):
    results: dict = {"bad": {}, "max_receive_count": max_receive_count(stack)}
    started: list[str] = []
    assert sorted(bad_messages(0, 0)) == sorted(BAD_KINDS)

    def drained(*bodies) -> dict:
        outcome = delivered(stack, *bodies)
        started.extend(outcome["executions"])
        return outcome

    # One batch per bad kind: the bad message beside a good one. The dead-letter
    # queue starts empty for each group, so stack.dead_letters() sees all of it.
    for group in BATCH_GROUPS:
        empty_dead_letter_queue(stack)
        for kind in group:
            good_target, bad_target = next(fresh_targets), next(fresh_targets)
            good, bad = signup(good_target), bad_messages(good_target, bad_target)[kind]
            results["bad"][kind] = {
                "good": good,
                "bad": bad,
                "good_target": good_target,
                "bad_target": bad_target,
                **drained(json.dumps(good), bad),
            }

    # Without a source, with a source and scope.
    results["template"] = {"message": signup(next(fresh_targets))}
    results["template"].update(drained(results["template"]["message"]))
    results["explicit"] = {"message": signup(next(fresh_targets), sourceStoreId=SOURCE, scope="STORE_SETTINGS")}
    results["explicit"].update(drained(results["explicit"]["message"]))

    # One signup delivered twice, drained twice; another twice in one batch.
    twice = results["twice"] = {"message": signup(next(fresh_targets))}
    twice["deliveries"] = [drained(twice["message"]), drained(twice["message"])]
    one_batch = results["twice_in_one_batch"] = {"message": signup(next(fresh_targets))}
    one_batch["deliveries"] = [drained(one_batch["message"], one_batch["message"])]

    results["jobs"] = {name: stack.wait_for_clone(name) for name in started}
    # Delivered once more after its clone ended.
    twice["deliveries"].append(drained(twice["message"]))
    results["started"] = started
    return results


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_a_bad_message_fails_alone_and_ends_in_the_dead_letter_queue(stack, signups, kind):
    case, retries = signups["bad"][kind], signups["max_receive_count"]

    # The bad record failed on each of its deliveries; the good one was delivered once and never failed.
    assert case["counts"]["failures"] == retries
    assert case["counts"]["records"] == retries + 1
    assert case["dead_letters"] == [case["bad"]]
    # Only the good one started a clone, and it ran to the end.
    [execution] = case["executions"]
    [good_job] = jobs_for(stack, case["good_target"])
    assert good_job["cloneId"] == execution
    assert signups["jobs"][execution]["status"] == "COMPLETED"
    assert stack.sandbox.accepted_clones(case["good_target"]) == 1
    # The bad one left nothing behind.
    assert jobs_for(stack, case["bad_target"]) == []
    assert stack.sandbox.accepted_clones(case["bad_target"]) == 0


def test_the_template_target_message_starts_nothing_for_the_template(stack, signups):
    assert jobs_for(stack, template_store()) == []
    assert stack.sandbox.accepted_clones(template_store()) == 0


def test_signup_without_source_clones_the_template_store(stack, signups):
    case = signups["template"]
    target = case["message"]["targetStoreId"]

    assert case["counts"] == {"batches": 1, "records": 1, "failures": 0}
    [execution] = case["executions"]
    job = signups["jobs"][execution]
    assert job["status"] == "COMPLETED"
    assert int(job["sourceStoreId"]) == template_store()
    assert int(job["targetStoreId"]) == target
    source = stack.sandbox.store(template_store())
    for entity in ("products", "categories"):
        mapping = read_mapping(stack, execution, entity)
        assert sorted(mapping) == sorted(str(i) for i in source[entity])
        assert sorted(mapping.values()) == sorted(str(i) for i in stack.sandbox.store(target)[entity])
    assert stack.sandbox.accepted_clones(target) == 1


def test_signup_with_source_and_scope_clones_as_asked(stack, signups):
    case = signups["explicit"]
    message = case["message"]

    [execution] = case["executions"]
    job = signups["jobs"][execution]
    assert job["status"] == "COMPLETED"
    assert int(job["sourceStoreId"]) == message["sourceStoreId"]
    assert job["scope"] == message["scope"]
    posts = [
        entry
        for entry in stack.sandbox.request_log()
        if entry["method"] == "POST" and entry["query"].get("targetStoreId") == str(message["targetStoreId"])
    ]
    assert [(p["query"]["sourceStoreId"], p["query"].get("scope")) for p in posts] == [
        (str(message["sourceStoreId"]), message["scope"])
    ]
    assert read_mapping(stack, execution, "products") == {}  # settings only: nothing to map


@pytest.mark.parametrize("case_name", ["twice", "twice_in_one_batch"])
def test_one_signup_one_clone(stack, signups, case_name):
    case = signups[case_name]
    target = case["message"]["targetStoreId"]

    for delivery in case["deliveries"]:
        assert delivery["counts"]["records"] == delivery["sent"]  # each copy reached the consumer
        assert delivery["counts"]["failures"] == 0  # a repeat is no error: it is acknowledged
        assert delivery["dead_letters"] == []
    started = [name for delivery in case["deliveries"] for name in delivery["executions"]]
    [job] = jobs_for(stack, target)
    assert started == [job["cloneId"]]
    assert signups["jobs"][job["cloneId"]]["status"] == "COMPLETED"
    assert stack.sandbox.accepted_clones(target) == 1


def test_the_queue_is_empty_after_the_drains(stack, signups):
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.queues["SignupQueue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert int(attributes["ApproximateNumberOfMessages"]) == 0
    assert int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 0
