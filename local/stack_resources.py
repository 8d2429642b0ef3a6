"""What template.yaml declares, made on moto: tables, KMS keys, queues, the secret, the event
bus (with a subscriber's rule and queue), and the state machine."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3

from local.template_model import ACCOUNT, REGION, TemplateModel, substitute

STACK = "store-cloner-local"


def create_resources(
    template: TemplateModel, credentials: tuple[str, str], reseller_key: str | None = None
) -> dict[str, str]:
    """Every table, key, queue and secret; returns logical ID (and ``ID.Arn``) -> physical name."""
    physical: dict[str, str] = {}
    dynamodb = boto3.client("dynamodb")
    for logical_id in template.resources("AWS::DynamoDB::Table"):
        name = f"{STACK}-{logical_id}"
        dynamodb.create_table(**template.table_arguments(logical_id, name))
        physical[logical_id] = name

    kms = boto3.client("kms")  # moto's KMS encrypts for real and checks the encryption context
    for logical_id, key in template.resources("AWS::KMS::Key").items():
        if "Condition" in key and not template.condition(key["Condition"]):
            continue
        created = kms.create_key(Description=f"{STACK} {logical_id}")["KeyMetadata"]
        physical[logical_id], physical[f"{logical_id}.Arn"] = created["KeyId"], created["Arn"]

    sqs = boto3.client("sqs")
    queues = template.resources("AWS::SQS::Queue")
    # Dead-letter queues first: the others' redrive policies name them.
    for logical_id in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q]["Properties"]):
        props = queues[logical_id]["Properties"]
        attributes: dict[Any, str] = {}  # boto3-stubs want its attribute names as literals
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(template.resolve(props["RedrivePolicy"], physical))
        if "VisibilityTimeout" in props:
            attributes["VisibilityTimeout"] = str(props["VisibilityTimeout"])
        url = sqs.create_queue(QueueName=f"{STACK}-{logical_id}", Attributes=attributes)["QueueUrl"]
        physical[logical_id] = url
        physical[f"{logical_id}.Arn"] = queue_arn(url)

    secrets = boto3.client("secretsmanager")
    for logical_id in template.resources("AWS::SecretsManager::Secret"):
        physical[logical_id] = secrets.create_secret(
            Name=f"{STACK}/{logical_id}", SecretString=credentials_secret_value(credentials, reseller_key)
        )["ARN"]
    return physical


def credentials_secret_value(credentials: tuple[str, str], reseller_key: str | None) -> str:
    """The Ecwid credentials secret as an operator fills it: the app's, and the reseller key if any."""
    client_id, client_secret = credentials
    value = {"clientId": client_id, "clientSecret": client_secret}
    if reseller_key:
        value["resellerKey"] = reseller_key
    return json.dumps(value)


def queue_arn(url: str) -> str:
    return boto3.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def create_state_machine(template: TemplateModel, physical: dict[str, str], logical_id: str) -> str:
    """A state machine, its DefinitionSubstitutions resolved; returns its ARN."""
    _, path, substitutions = template.state_machine(logical_id)
    resolved = {name: template.resolve(value, physical) for name, value in substitutions.items()}
    return boto3.client("stepfunctions").create_state_machine(
        name=f"{STACK}-{logical_id}",
        definition=substitute(path.read_text(), resolved),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/{STACK}-state-machine",
        type="STANDARD",
    )["stateMachineArn"]


def state_machine_arn(logical_id: str) -> str:
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STACK}-{logical_id}"


class OutcomeEvents:
    """The event bus, and what a subscriber would set up on it: a rule for store-cloner's
    events delivering to a queue, which ``delivered`` reads."""

    def __init__(self) -> None:
        self.bus_name = f"{STACK}-events"
        self._queue_url = ""
        self._delivered: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def create(self) -> str:
        """(Re)create the bus, its rule and the queue; returns the bus ARN."""
        events, sqs = boto3.client("events"), boto3.client("sqs")
        bus_arn = events.create_event_bus(Name=self.bus_name)["EventBusArn"]
        self._queue_url = sqs.create_queue(QueueName=f"{STACK}-delivered-events")["QueueUrl"]
        rule = f"{STACK}-outcomes"
        events.put_rule(Name=rule, EventBusName=self.bus_name, EventPattern=json.dumps({"source": ["store-cloner"]}))
        events.put_targets(
            Rule=rule,
            EventBusName=self.bus_name,
            Targets=[{"Id": "delivered-events", "Arn": queue_arn(self._queue_url)}],
        )
        return bus_arn

    def delivered(self, clone_id: str | None = None) -> list[dict[str, Any]]:
        """The events the bus delivered so far (for one clone, or all), in delivery order."""
        sqs = boto3.client("sqs")
        with self._lock:
            while True:
                messages = sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                    "Messages", []
                )
                if not messages:
                    break
                for message in messages:
                    self._delivered.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
            return [e for e in self._delivered if clone_id is None or e.get("detail", {}).get("cloneId") == clone_id]
