"""The whole pipeline in one process: moto, the tables, the secret and the
state machine from template.yaml, the real handlers, and the Ecwid sandbox."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from local.template_model import ACCOUNT, REGION, TemplateModel, substitute

STACK = "store-cloner-local"
ASYNC_EXECUTION_STATUSES = ("RUNNING",)


class LocalStack:
    """Start with ``with LocalStack() as stack:``; clones run through ``stack.clone(...)``.

    ``ecwid_base_url``/``credentials`` point the pipeline at another Ecwid
    endpoint; without them the sandbox is started (``sandbox_config`` tunes it).
    """

    def __init__(
        self,
        *,
        ecwid_base_url: str | None = None,
        credentials: tuple[str, str] | None = None,
        poll_scale: float = 0.02,
        deadline_seconds: float | None = None,
        sandbox_config=None,
        log_path: Path | None = None,
    ):
        self.ecwid_base_url = ecwid_base_url
        self.credentials = credentials
        self.poll_scale = poll_scale
        self.deadline_seconds = deadline_seconds
        self.sandbox_config = sandbox_config
        self.log_path = log_path
        self.sandbox = None
        self._mock = None
        self._lambda = None
        self._saved_env: dict[str, str | None] = {}
        self._unserialize_moto = None

    # -- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> LocalStack:
        from moto import mock_aws

        from local.lambda_endpoint import LambdaEndpoint

        if self.ecwid_base_url is None:
            from local.ecwid_sandbox import EcwidSandbox, SandboxConfig

            self.sandbox = EcwidSandbox(self.sandbox_config or SandboxConfig()).start()
            self.ecwid_base_url = self.sandbox.base_url
            self.credentials = (self.sandbox.config.client_id, self.sandbox.config.client_secret)
        if not self.credentials:
            raise ValueError("credentials are required with an Ecwid base URL")

        # Fake AWS credentials: moto answers everything, nothing reaches AWS.
        self._set_env(
            AWS_DEFAULT_REGION=REGION,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
            MOTO_ALLOW_NONEXISTENT_REGION="true",
        )
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        self._serialize_moto()

        parameters = {"EcwidApiBaseUrl": self.ecwid_base_url}
        if self.sandbox is not None:
            parameters["InstantSiteBaseUrl"] = self.sandbox.instant_site_base_url
        self.template = TemplateModel(parameters=parameters)
        physical = self._create_resources()
        functions = self.template.functions()
        self._lambda = LambdaEndpoint(functions).start()
        self._set_env(AWS_ENDPOINT_URL_LAMBDA=self._lambda.url)
        machine_id, _, _ = self.template.state_machine()
        self.state_machine_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STACK}-{machine_id}"
        physical[machine_id] = self.state_machine_arn  # Ref of a state machine is its ARN
        self.queues = {logical_id: physical[logical_id] for logical_id in self.template.resources("AWS::SQS::Queue")}
        for spec in functions.values():
            physical[f"{spec.logical_id}.Arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{spec.logical_id}"
            self._apply_function_env(spec.environment, physical)
        self._create_state_machine(physical)
        self._route_handler_logs()
        return self

    def stop(self) -> None:
        if self._lambda:
            self._lambda.stop()
        if self._mock:
            self._mock.stop()
        if self._unserialize_moto:
            self._unserialize_moto()
        if self.sandbox:
            self.sandbox.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _serialize_moto(self) -> None:
        """One AWS call at a time into moto's backends.

        Real AWS serves concurrent Lambdas; moto's in-memory backends are not
        thread-safe (a Query iterating a table while a PutItem grows it raises
        "dictionary changed size during iteration"), and here every handler
        runs in a thread of this process.
        """
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.__call__
        lock = threading.RLock()

        def serialized(stubber, event_name, request, **kwargs):
            with lock:
                return original(stubber, event_name, request, **kwargs)

        BotocoreStubber.__call__ = serialized

        def restore() -> None:
            BotocoreStubber.__call__ = original

        self._unserialize_moto = restore

    def configure(self, **env: str) -> None:
        """Change the handlers' environment (e.g. CLONE_DEADLINE_SECONDS) between clones."""
        self._set_env(**{name: str(value) for name, value in env.items()})
        self._reset_handler_caches()

    # -- resources -----------------------------------------------------------------

    def _create_resources(self) -> dict[str, str]:
        import boto3

        physical: dict[str, str] = {}
        dynamodb = boto3.client("dynamodb")
        for logical_id, resource in self.template.resources("AWS::DynamoDB::Table").items():
            props = resource["Properties"]
            name = f"{STACK}-{logical_id}"
            kwargs: dict[str, Any] = {
                "TableName": name,
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            dynamodb.create_table(**json.loads(json.dumps(kwargs)))
            physical[logical_id] = name

        sqs = boto3.client("sqs")
        queues = self.template.resources("AWS::SQS::Queue")
        # Dead-letter queues first: the others' redrive policies name them.
        for logical_id in sorted(queues, key=lambda q: "RedrivePolicy" in queues[q]["Properties"]):
            props = queues[logical_id]["Properties"]
            attributes = {}
            if "RedrivePolicy" in props:
                attributes["RedrivePolicy"] = json.dumps(self.template.resolve(props["RedrivePolicy"], physical))
            if "VisibilityTimeout" in props:
                attributes["VisibilityTimeout"] = str(props["VisibilityTimeout"])
            url = sqs.create_queue(QueueName=f"{STACK}-{logical_id}", Attributes=attributes)["QueueUrl"]
            physical[logical_id] = url
            physical[f"{logical_id}.Arn"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]

        secrets = boto3.client("secretsmanager")
        for logical_id in self.template.resources("AWS::SecretsManager::Secret"):
            client_id, client_secret = self.credentials
            arn = secrets.create_secret(
                Name=f"{STACK}/{logical_id}",
                SecretString=json.dumps({"clientId": client_id, "clientSecret": client_secret}),
            )["ARN"]
            physical[logical_id] = arn

        for logical_id in self.template.resources("AWS::Events::EventBus"):
            self.event_bus_name = f"{STACK}-events"
            physical[logical_id] = self.event_bus_name
            physical[f"{logical_id}.Arn"] = self.recreate_event_bus()
        return physical

    def recreate_event_bus(self) -> str:
        """The bus, and what a subscriber would set up on it: a rule for store-cloner's
        events delivering to a queue that ``delivered_events`` reads. Returns the bus ARN."""
        import boto3

        events, sqs = boto3.client("events"), boto3.client("sqs")
        bus_arn = events.create_event_bus(Name=self.event_bus_name)["EventBusArn"]
        url = sqs.create_queue(QueueName=f"{STACK}-delivered-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule = f"{STACK}-outcomes"
        events.put_rule(
            Name=rule, EventBusName=self.event_bus_name, EventPattern=json.dumps({"source": ["store-cloner"]})
        )
        events.put_targets(
            Rule=rule, EventBusName=self.event_bus_name, Targets=[{"Id": "delivered-events", "Arn": arn}]
        )
        self._delivered_queue_url = url
        if not hasattr(self, "_delivered"):
            self._delivered: list[dict[str, Any]] = []
            self._delivered_lock = threading.Lock()
        return bus_arn

    def _apply_function_env(self, environment: dict[str, Any], physical: dict[str, str]) -> None:
        env = {name: str(self.template.resolve(value, physical)) for name, value in environment.items()}
        env["POLL_SCALE"] = str(self.poll_scale)
        if self.deadline_seconds is not None:
            env["CLONE_DEADLINE_SECONDS"] = str(self.deadline_seconds)
        env.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
        env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        self._set_env(**env)
        self._reset_handler_caches()

    def _create_state_machine(self, physical: dict[str, str]) -> None:
        import boto3

        logical_id, path, substitutions = self.template.state_machine()
        resolved = {name: self.template.resolve(value, physical) for name, value in substitutions.items()}
        definition = substitute(path.read_text(), resolved)
        created = boto3.client("stepfunctions").create_state_machine(
            name=f"{STACK}-{logical_id}",
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/{STACK}-state-machine",
            type="STANDARD",
        )["stateMachineArn"]
        assert created == self.state_machine_arn, (created, self.state_machine_arn)
        self.jobs_table = physical["JobsTable"]
        self.mappings_table = physical["MappingsTable"]
        self.coordination_table = physical["CoordinationTable"]

    def _route_handler_logs(self) -> None:
        """Handler log lines go to a file (or nowhere), not between the runner's progress lines."""
        import ecwid_cloner.runtime as runtime

        # moto's interpreter logs every caught task error at ERROR: the history says it better.
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)

        target = open(self.log_path, "a") if self.log_path else open(os.devnull, "w")
        for handler in logging.getLogger(runtime.logger.service).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(target)
        # Powertools' own loggers (the batch processor logs each failed record's traceback).
        powertools = logging.getLogger("aws_lambda_powertools")
        powertools.handlers[:] = [logging.StreamHandler(target)]
        powertools.propagate = False

    @staticmethod
    def _reset_handler_caches() -> None:
        from aws_lambda_powertools.utilities import parameters

        import ecwid_cloner.runtime as runtime

        runtime.reset_caches()
        parameters.clear_caches()

    def _set_env(self, **env: str) -> None:
        for name, value in env.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    # -- running clones ------------------------------------------------------------

    def clone(self, request: dict[str, Any], clone_id: str | None = None, timeout: float = 600) -> CloneRun:
        """Run one clone to its end and gather what it left: execution, history, job."""
        from ecwid_cloner.models import clone_id_for, clone_id_for_merchant

        if clone_id is None and "merchant" in request:
            clone_id = clone_id_for_merchant(request["merchant"]["email"], str(uuid.uuid4()))
        clone_id = clone_id or clone_id_for(int(request["targetStoreId"]), str(uuid.uuid4()))
        request = {"scope": None, "cloneDemoCatalog": False, **request}
        arn = self.start_clone(clone_id, request)
        execution = self.wait(arn, timeout=timeout)
        return CloneRun(self, clone_id, execution, self.history(arn))

    def start_clone(self, clone_id: str, request: dict[str, Any]) -> str:
        import boto3

        return boto3.client("stepfunctions").start_execution(
            stateMachineArn=self.state_machine_arn,
            name=clone_id,
            input=json.dumps({"cloneId": clone_id, "request": request}),
        )["executionArn"]

    def wait(
        self,
        execution_arn: str,
        on_event: Callable[[dict], None] | None = None,
        timeout: float = 600,
        interval: float = 0.1,
    ) -> dict[str, Any]:
        """Wait for the execution to end; ``on_event`` sees each history event once."""
        import boto3

        sfn = boto3.client("stepfunctions")
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            execution = sfn.describe_execution(executionArn=execution_arn)
            if on_event:
                events = self.history(execution_arn)
                for event in events[seen:]:
                    on_event(event)
                seen = len(events)
            if execution["status"] not in ASYNC_EXECUTION_STATUSES:
                return execution
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still running after {timeout} s")
            time.sleep(interval)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        import boto3

        sfn = boto3.client("stepfunctions")
        events, token = [], None
        while True:
            kwargs = {"executionArn": execution_arn, "maxResults": 1000}
            if token:
                kwargs["nextToken"] = token
            page = sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events

    def job(self, clone_id: str) -> dict[str, Any] | None:
        import boto3

        return (
            boto3.resource("dynamodb")
            .Table(self.jobs_table)
            .get_item(Key={"cloneId": clone_id}, ConsistentRead=True)
            .get("Item")
        )

    def record_intent(self, clone_id: str, request: dict[str, Any], origin: dict[str, str] | None = None) -> None:
        """Record the job as the entry points do before they start an execution."""
        import boto3

        from ecwid_cloner.jobs import JobsRepository
        from ecwid_cloner.models import CloneRequest

        JobsRepository(boto3.resource("dynamodb").Table(self.jobs_table)).record_intent(
            clone_id, CloneRequest.from_state(request), origin
        )

    def put_store_secret(self, store_id: int, secret_token: str) -> None:
        """Keep a store's secret_token where the Instant Site step reads it: {StoreSecretPrefix}{storeId}."""
        import boto3

        name = f"{self.template.parameters['StoreSecretPrefix']}{store_id}"
        secrets = boto3.client("secretsmanager")
        try:
            secrets.create_secret(Name=name, SecretString=json.dumps({"secretToken": secret_token}))
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId=name, SecretString=json.dumps({"secretToken": secret_token}))

    def job_for_target(self, target_store_id: int) -> dict[str, Any] | None:
        """The newest job into a target store."""
        import boto3

        answer = (
            boto3.resource("dynamodb")
            .Table(self.jobs_table)
            .query(
                IndexName="target-index",
                KeyConditionExpression="targetStoreId = :t",
                ExpressionAttributeValues={":t": target_store_id},
                ScanIndexForward=False,
                Limit=1,
            )
        )
        items = answer.get("Items") or []
        return self.job(items[0]["cloneId"]) if items else None

    def mapping_store(self):
        import boto3

        from ecwid_cloner.mappings import MappingStore

        return MappingStore(boto3.client("dynamodb"), self.mappings_table)

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke one function through the local Lambda endpoint, as Step Functions does."""
        import boto3

        answer = boto3.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
        payload = json.loads(answer["Payload"].read())
        if answer.get("FunctionError"):
            raise RuntimeError(f"{function} failed: {payload.get('errorType')}: {payload.get('errorMessage')}")
        return payload

    def invoke_raw(self, function: str, event: dict[str, Any]) -> Any:
        """Like invoke, but a failed function gives API Gateway's 502 instead of raising."""
        try:
            return self.invoke(function, event)
        except RuntimeError:
            return {"statusCode": 502, "body": json.dumps({"message": "Internal server error"})}

    # -- entry points ---------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """One HTTP API call through API Gateway's proxy event, to the real ApiFunction."""
        from local.api_gateway import refusal, response_parts, rest_event

        if body is not None and not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        headers = {"Content-Type": "application/json", **(headers or {})}
        result = refusal(method, path) or self.invoke("ApiFunction", rest_event(method, path, body, headers))
        status, _, raw = response_parts(result)
        return status, json.loads(raw) if raw else None

    def send_signup(self, message: Any) -> str:
        """Put one message (a dict, or any string) on the signup queue."""
        import boto3

        body = message if isinstance(message, str) else json.dumps(message)
        return boto3.client("sqs").send_message(QueueUrl=self.queues["SignupQueue"], MessageBody=body)["MessageId"]

    def drain_signups(self, batch_size: int = 10, max_rounds: int = 100) -> dict[str, int]:
        """Do what Lambda's event source mapping does until the queue is empty:
        receive a batch, invoke the consumer, delete what succeeded. A failed
        item becomes visible again at once (not after the visibility timeout),
        and SQS moves it to the dead-letter queue after maxReceiveCount."""
        import boto3

        sqs = boto3.client("sqs")
        url, arn = self.queues["SignupQueue"], None
        counts = {"batches": 0, "records": 0, "failures": 0}
        for _ in range(max_rounds):
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=batch_size, AttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return counts
            arn = arn or sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            event = {"Records": [_sqs_record(message, arn) for message in messages]}
            answer = self.invoke("SignupConsumerFunction", event)
            failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
            counts["batches"] += 1
            counts["records"] += len(messages)
            counts["failures"] += len(failed)
            for message in messages:
                if message["MessageId"] in failed:
                    sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return counts

    def delivered_events(self, clone_id: str | None = None) -> list[dict[str, Any]]:
        """The events the bus delivered so far (for one clone, or all), in delivery order."""
        import boto3

        sqs = boto3.client("sqs")
        with self._delivered_lock:
            while True:
                messages = sqs.receive_message(
                    QueueUrl=self._delivered_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                ).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    self._delivered.append(json.loads(message["Body"]))
                    sqs.delete_message(QueueUrl=self._delivered_queue_url, ReceiptHandle=message["ReceiptHandle"])
            return [e for e in self._delivered if clone_id is None or e.get("detail", {}).get("cloneId") == clone_id]

    def dead_letters(self) -> list[str]:
        """Bodies of the messages in the signup dead-letter queue (left in place)."""
        import boto3

        sqs = boto3.client("sqs")
        answer = sqs.receive_message(
            QueueUrl=self.queues["SignupDeadLetterQueue"], MaxNumberOfMessages=10, VisibilityTimeout=0
        )
        return [message["Body"] for message in answer.get("Messages", [])]

    def executions(self) -> list[dict]:
        import boto3

        sfn = boto3.client("stepfunctions")
        return sfn.list_executions(stateMachineArn=self.state_machine_arn, maxResults=1000)["executions"]

    def execution_arn(self, clone_id: str) -> str:
        """The ARN of the execution named ``clone_id``."""
        return f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{clone_id}"

    def stop_execution(self, clone_id: str) -> dict[str, Any]:
        """Stop a clone's execution as an operator would, then do what the deployed stack's
        EventBridge rule does with the status change: hand it to the slot reaper."""
        import boto3

        arn = self.execution_arn(clone_id)
        boto3.client("stepfunctions").stop_execution(executionArn=arn, error="Operator", cause="stopped by hand")
        return self.invoke(
            "SlotReaperFunction",
            {
                "version": "0",
                "source": "aws.states",
                "detail-type": "Step Functions Execution Status Change",
                "detail": {
                    "executionArn": arn,
                    "stateMachineArn": self.state_machine_arn,
                    "name": clone_id,
                    "status": "ABORTED",
                },
            },
        )

    def wait_for_clone(self, clone_id: str, timeout: float = 120) -> dict[str, Any]:
        """Wait for the execution named ``clone_id`` to end; returns the job."""
        self.wait(self.execution_arn(clone_id), timeout=timeout)
        return self.job(clone_id)

    @property
    def lambda_faults(self) -> dict[str, float]:
        """Per function name, the share of invocations whose result is lost (see LambdaEndpoint)."""
        return self._lambda.lost_result_rate

    @property
    def invocations(self) -> list[dict]:
        return self._lambda.invocations


class CloneRun:
    """One finished clone on the local stack."""

    def __init__(self, stack: LocalStack, clone_id: str, execution: dict, history: list[dict]):
        self.stack, self.clone_id, self.execution, self.history = stack, clone_id, execution, history
        self.job = stack.job(clone_id)

    def events(self, kind: str) -> list[dict]:
        return [event for event in self.history if event["type"] == kind]

    def largest_state_bytes(self) -> int:
        """The largest input or output any state of the execution carried."""
        sizes = [0]
        for event in self.history:
            for details in event.values():
                if isinstance(details, dict):
                    for key in ("input", "output"):
                        if isinstance(details.get(key), str):
                            sizes.append(len(details[key].encode()))
        return max(sizes)


def _sqs_record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
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
