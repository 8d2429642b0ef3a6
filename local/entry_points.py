"""The stack's entry points as AWS runs them: API Gateway's proxy event for the API,
Lambda's SQS event source mapping for the signup queue, EventBridge's rule for the
slot reaper."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import boto3

from local.api_gateway import refusal, response_parts, rest_event
from local.stack_resources import queue_arn
from local.template_model import REGION

Invoke = Callable[[str, dict[str, Any]], Any]


def call_api(
    invoke: Invoke, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One HTTP API call through API Gateway's proxy event, to the real ApiFunction."""
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    headers = {"Content-Type": "application/json", **(headers or {})}
    result = refusal(method, path) or invoke("ApiFunction", rest_event(method, path, body, headers))
    status, _, raw = response_parts(result)
    return status, json.loads(raw) if raw else None


class SignupQueue:
    def __init__(self, invoke: Invoke, queue_url: str, dead_letter_url: str) -> None:
        self._invoke = invoke
        self.url = queue_url
        self.dead_letter_url = dead_letter_url

    def send(self, message: Any) -> str:
        """Put one message (a dict, or any string) on the queue; its message ID."""
        body = message if isinstance(message, str) else json.dumps(message)
        return boto3.client("sqs").send_message(QueueUrl=self.url, MessageBody=body)["MessageId"]

    def drain(self, batch_size: int = 10, max_rounds: int = 100) -> dict[str, int]:
        """Do what Lambda's event source mapping does until the queue is empty:
        receive a batch, invoke the consumer, delete what succeeded. A failed
        item becomes visible again at once (not after the visibility timeout),
        and SQS moves it to the dead-letter queue after maxReceiveCount."""
        sqs = boto3.client("sqs")
        arn = queue_arn(self.url)
        counts = {"batches": 0, "records": 0, "failures": 0}
        for _ in range(max_rounds):
            messages = sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=batch_size, AttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return counts
            answer = self._invoke("SignupConsumerFunction", {"Records": [sqs_record(m, arn) for m in messages]})
            failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
            counts["batches"] += 1
            counts["records"] += len(messages)
            counts["failures"] += len(failed)
            for message in messages:
                if message["MessageId"] in failed:
                    sqs.change_message_visibility(
                        QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return counts

    def dead_letters(self) -> list[str]:
        """Bodies of the messages in the dead-letter queue (left in place)."""
        answer = boto3.client("sqs").receive_message(
            QueueUrl=self.dead_letter_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return [message["Body"] for message in answer.get("Messages", [])]


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """A message as Lambda's SQS event source mapping hands it to the function."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }


def execution_status_change(execution_arn: str, state_machine_arn: str, name: str, status: str) -> dict[str, Any]:
    """What the deployed stack's EventBridge rule hands the slot reaper when an execution ends."""
    return {
        "version": "0",
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"executionArn": execution_arn, "stateMachineArn": state_machine_arn, "name": name, "status": status},
    }
