"""The whole pipeline in one process: moto, the resources and the state machine of
template.yaml, the real handlers behind a local Lambda endpoint, and the Ecwid sandbox.

The parts, each in its own module: moto and the environment (moto_aws), the
resources (stack_resources), executions and their histories (executions), the
entry points as AWS runs them (entry_points). Jobs and mappings are read through
the product's own repositories.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import boto3
from pydantic import ValidationError

from ecwid_cloner.api.clone_requests import CloneRequestBody
from ecwid_cloner.api.launcher import CloneLauncher
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.data.mappings import MappingStore
from ecwid_cloner.data.store_tokens import LegacySecrets, StoreTokens
from ecwid_cloner.models import CloneRequest, clone_id_of
from local.entry_points import SignupQueue, call_api, execution_status_change
from local.executions import CloneRun, Executions
from local.lambda_endpoint import LambdaEndpoint
from local.moto_aws import Environment, MotoAws
from local.stack_resources import (
    OutcomeEvents,
    create_resources,
    create_state_machine,
    credentials_secret_value,
    state_machine_arn,
)
from local.template_model import ACCOUNT, CLONE_STATE_MACHINE, REGION, TemplateModel

__all__ = ["CloneRun", "LocalStack"]


class LocalStack:
    """Start with ``with LocalStack() as stack:``; clones run through ``stack.clone(...)``.

    ``ecwid_base_url``/``credentials`` point the pipeline at another Ecwid
    endpoint; without them the sandbox is started (``sandbox_config`` tunes it).
    ``reseller_key`` goes into the credentials secret (``resellerKey``); with the
    sandbox it defaults to the sandbox's own (``set_reseller_key(None)`` takes it out).
    """

    def __init__(
        self,
        *,
        ecwid_base_url: str | None = None,
        credentials: tuple[str, str] | None = None,
        poll_scale: float = 0.02,
        deadline_seconds: float | None = None,
        sandbox_config: Any = None,
        log_path: Path | None = None,
        reseller_key: str | None = None,
        reseller_base_url: str | None = None,
    ):
        self.ecwid_base_url = ecwid_base_url
        self.credentials = credentials
        self.poll_scale = poll_scale
        self.deadline_seconds = deadline_seconds
        self.sandbox_config = sandbox_config
        self.log_path = log_path
        self.reseller_key = reseller_key
        self.reseller_base_url = reseller_base_url
        self.sandbox: Any = None
        self._environment = Environment()
        self._moto = MotoAws(self._environment)
        self._lambda: LambdaEndpoint | None = None
        self._events = OutcomeEvents()

    # -- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> LocalStack:
        if self.ecwid_base_url is None:
            from local.ecwid_sandbox import EcwidSandbox, SandboxConfig

            self.sandbox = EcwidSandbox(self.sandbox_config or SandboxConfig()).start()
            self.ecwid_base_url = self.sandbox.base_url
            self.credentials = (self.sandbox.config.client_id, self.sandbox.config.client_secret)
            self.reseller_key = self.reseller_key or self.sandbox.config.reseller_key
            self.reseller_base_url = self.reseller_base_url or self.sandbox.reseller_base_url
        if not self.credentials:
            raise ValueError("credentials are required with an Ecwid base URL")
        self._moto.start()

        parameters = {"EcwidApiBaseUrl": self.ecwid_base_url}
        if self.sandbox is not None:
            parameters["InstantSiteBaseUrl"] = self.sandbox.instant_site_base_url
        if self.reseller_base_url:
            parameters["ResellerApiBaseUrl"] = self.reseller_base_url
        self.template = TemplateModel(parameters=parameters)
        physical = create_resources(self.template, self.credentials, self.reseller_key)
        self._credentials_secret = physical["EcwidCredentialsSecret"]
        for logical_id in self.template.resources("AWS::Events::EventBus"):
            physical[logical_id] = self._events.bus_name
            physical[f"{logical_id}.Arn"] = self._events.create()
        functions = self.template.functions()
        self._lambda = LambdaEndpoint(functions).start()
        self._environment.set(AWS_ENDPOINT_URL_LAMBDA=self._lambda.url)

        machines = self.template.state_machines()
        for logical_id in machines:
            physical[logical_id] = state_machine_arn(logical_id)  # Ref of a state machine is its ARN
        self.state_machine_arn = physical[CLONE_STATE_MACHINE]
        self.bulk_state_machine_arn = next(
            arn for name, arn in physical.items() if name in machines and name != CLONE_STATE_MACHINE
        )
        for spec in functions.values():
            physical[f"{spec.logical_id}.Arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{spec.logical_id}"
            self._apply_function_env(spec.environment, physical)
        for logical_id in machines:
            created = create_state_machine(self.template, physical, logical_id)
            assert created == physical[logical_id], (created, physical[logical_id])

        self.queues = {logical_id: physical[logical_id] for logical_id in self.template.resources("AWS::SQS::Queue")}
        self.jobs_table = physical["JobsTable"]
        self.mappings_table = physical["MappingsTable"]
        self.coordination_table = physical["CoordinationTable"]
        self.store_tokens_table = physical["StoreTokensTable"]
        self.store_tokens_key_arn = physical["StoreTokensKey.Arn"]
        self._jobs = JobsRepository(boto3.resource("dynamodb").Table(self.jobs_table))
        self._executions = Executions(self.state_machine_arn)
        self._signups = SignupQueue(self.invoke, self.queues["SignupQueue"], self.queues["SignupDeadLetterQueue"])
        self._route_handler_logs()
        return self

    def stop(self) -> None:
        if self._lambda:
            self._lambda.stop()
        self._moto.stop()
        if self.sandbox:
            self.sandbox.stop()
        self._environment.restore()

    # -- the handlers' environment -------------------------------------------------

    def set_reseller_key(self, key: str | None) -> None:
        """Put the reseller key into the credentials secret (None: take it out), as an operator would."""
        assert self.credentials is not None
        self.reseller_key = key
        boto3.client("secretsmanager").put_secret_value(
            SecretId=self._credentials_secret, SecretString=credentials_secret_value(self.credentials, key)
        )
        _reset_handler_caches()

    def configure(self, **env: str) -> None:
        """Change the handlers' environment (e.g. CLONE_DEADLINE_SECONDS) between clones."""
        self._environment.set(**{name: str(value) for name, value in env.items()})
        _reset_handler_caches()

    def _apply_function_env(self, environment: dict[str, Any], physical: dict[str, str]) -> None:
        env = {name: str(self.template.resolve(value, physical)) for name, value in environment.items()}
        env["POLL_SCALE"] = str(self.poll_scale)
        if self.deadline_seconds is not None:
            env["CLONE_DEADLINE_SECONDS"] = str(self.deadline_seconds)
        env.setdefault("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
        env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        self._environment.set(**env)
        _reset_handler_caches()

    def _route_handler_logs(self) -> None:
        """Handler log lines go to a file (or nowhere), not between the runner's progress lines."""
        import ecwid_cloner.runtime as runtime

        # moto's interpreter logs every caught task error at ERROR: the history says it better.
        logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)

        target = open(self.log_path, "a") if self.log_path else open(os.devnull, "w")  # noqa: SIM115
        for handler in logging.getLogger(runtime.logger.service).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(target)
        # Powertools' own loggers (the batch processor logs each failed record's traceback).
        powertools = logging.getLogger("aws_lambda_powertools")
        powertools.handlers[:] = [logging.StreamHandler(target)]
        powertools.propagate = False

    # -- clones and executions -------------------------------------------------------

    def clone(self, request: dict[str, Any], clone_id: str | None = None, timeout: float = 600) -> CloneRun:
        """Run one clone to its end and gather what it left: execution, history, job.

        A request the API would take is recorded and started as the entry points do (the job
        whole, the execution's input without personal data, the clone ID by the entry points'
        rule); any other is started as it is."""
        request = {"scope": None, "cloneDemoCatalog": False, **request}
        try:
            asked = CloneRequestBody.model_validate(request).clone_request()
        except ValidationError:
            clone_id = clone_id or clone_id_of(CloneRequest.from_state(request), None)
            arn = self.start_clone(clone_id, request)
        else:
            clone_id = clone_id or clone_id_of(asked, None)
            self._jobs.record_intent(clone_id, asked)
            arn = self.start_clone(clone_id, asked.to_state())
        execution = self.wait(arn, timeout=timeout)
        return CloneRun(clone_id, execution, self.history(arn), self.job(clone_id))

    def launch(self, body: dict[str, Any], *, signup_id: str | None = None) -> tuple[str, bool]:
        """Start a clone as the API does (a body it takes; with ``signup_id`` keyed as the signup
        consumer keys it), through the product's own launcher: (its clone ID, whether this call
        started it). ValidationError names every bad field."""
        request = CloneRequestBody.model_validate(body).clone_request()
        launcher = CloneLauncher(self._jobs, boto3.client("stepfunctions"), self.state_machine_arn)
        job, started = launcher.launch(request, body.get("requestId"), signup_id=signup_id)
        return job.clone_id, started

    def start_clone(self, clone_id: str, request: dict[str, Any]) -> str:
        return self._executions.start(clone_id, request)

    def wait(self, execution_arn: str, **options: Any) -> dict[str, Any]:
        """Wait for the execution to end (options: on_event, timeout, interval; see Executions.wait)."""
        return self._executions.wait(execution_arn, **options)

    def wait_for_clone(self, clone_id: str, timeout: float = 120) -> dict[str, Any] | None:
        """Wait for the execution named ``clone_id`` to end; returns the job."""
        self.wait(self.execution_arn(clone_id), timeout=timeout)
        return self.job(clone_id)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self._executions.history(execution_arn)

    def executions(self) -> list[dict]:
        return self._executions.list()

    def execution_arn(self, clone_id: str) -> str:
        """The ARN of the execution named ``clone_id``."""
        return self._executions.arn(clone_id)

    def stop_execution(self, clone_id: str) -> dict[str, Any]:
        """Stop a clone's execution as an operator would, then do what the deployed stack's
        EventBridge rule does with the status change: hand it to the slot reaper."""
        arn = self._executions.stop(clone_id)
        return self.invoke(
            "SlotReaperFunction", execution_status_change(arn, self.state_machine_arn, clone_id, "ABORTED")
        )

    # -- what the pipeline wrote, read as the product reads it -------------------------

    def job(self, clone_id: str) -> dict[str, Any] | None:
        """The job's item, as the jobs table holds it."""
        job = self._jobs.get(clone_id)
        return dict(job) if job is not None else None

    def job_for_target(self, target_store_id: int) -> dict[str, Any] | None:
        """The newest job into a target store."""
        job = self._jobs.newest_for_target(target_store_id)
        return dict(job) if job is not None else None

    def record_intent(self, clone_id: str, request: dict[str, Any], origin: dict[str, str] | None = None) -> None:
        """Record the job as the entry points do before they start an execution."""
        self._jobs.record_intent(clone_id, CloneRequest.from_item(request), origin)

    @property
    def jobs(self) -> JobsRepository:
        """The jobs table, read as the product reads it."""
        return self._jobs

    def mapping_store(self) -> MappingStore:
        return MappingStore(boto3.client("dynamodb"), self.mappings_table)

    def store_tokens(self) -> StoreTokens:
        """The token store as the steps read it (the table, then the old per-store secrets)."""
        return StoreTokens(
            boto3.resource("dynamodb").Table(self.store_tokens_table),
            boto3.client("kms"),
            self.store_tokens_key_arn,
            legacy=self.legacy_store_secrets(),
        )

    def legacy_store_secrets(self) -> LegacySecrets:
        """The old per-store secrets under the template's StoreSecretPrefix, as the steps read them."""
        from ecwid_cloner.ecwid.credentials import read_secret

        return LegacySecrets(self.template.parameters["StoreSecretPrefix"], read_secret)

    def store_token_items(self) -> list[dict[str, Any]]:
        """Every item of the store-tokens table as DynamoDB holds it (a ciphertext, never a token)."""
        pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=self.store_tokens_table)
        return [item for page in pages for item in page.get("Items", [])]

    def put_store_secret(self, store_id: int, secret_token: str) -> None:
        """Keep a store's secret_token where the steps read it: its old per-store secret (LegacySecrets)."""
        name = self.legacy_store_secrets().name(store_id)
        secrets = boto3.client("secretsmanager")
        value = LegacySecrets.secret_string(secret_token)
        try:
            secrets.create_secret(Name=name, SecretString=value)
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId=name, SecretString=value)

    def read_store_profile(self, store_id: int) -> dict[str, Any] | None:
        """A store's profile as Ecwid serves it, read with the store's token: the one the stack keeps
        (a store it created), else the sandbox's own (a seeded store); None when neither is at hand."""
        from ecwid_cloner.ecwid.store_profile import EcwidStoreProfileClient
        from ecwid_cloner.errors import CloneError

        try:
            token = self.store_tokens().read(store_id)
        except CloneError:
            if self.sandbox is None:
                return None
            token = self.sandbox.store_secret_token(store_id)
        assert self.ecwid_base_url is not None
        return EcwidStoreProfileClient(self.ecwid_base_url).get(store_id, token)

    @property
    def event_bus_name(self) -> str:
        return self._events.bus_name

    def recreate_event_bus(self) -> str:
        """The bus again (after a test deleted it), with the subscriber's rule and queue; its ARN."""
        return self._events.create()

    def delivered_events(self, clone_id: str | None = None) -> list[dict[str, Any]]:
        """The events the bus delivered so far (for one clone, or all), in delivery order."""
        return self._events.delivered(clone_id)

    # -- Lambda and the entry points ---------------------------------------------------

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """Invoke one function through the local Lambda endpoint, as Step Functions does."""
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

    def api(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """One HTTP API call through API Gateway's proxy event, to the real ApiFunction."""
        return call_api(self.invoke, method, path, body, headers)

    def send_signup(self, message: Any) -> str:
        """Put one message (a dict, or any string) on the signup queue."""
        return self._signups.send(message)

    def drain_signups(self, batch_size: int = 10, max_rounds: int = 100) -> dict[str, int]:
        """Run the consumer as Lambda's event source mapping would, until the queue is empty."""
        return self._signups.drain(batch_size, max_rounds)

    def dead_letters(self) -> list[str]:
        """Bodies of the messages in the signup dead-letter queue (left in place)."""
        return self._signups.dead_letters()

    @property
    def lambda_faults(self) -> dict[str, float]:
        """Per function name, the share of invocations whose result is lost (see LambdaEndpoint)."""
        assert self._lambda is not None
        return self._lambda.lost_result_rate

    @property
    def invocations(self) -> list[dict]:
        assert self._lambda is not None
        return self._lambda.invocations


def _reset_handler_caches() -> None:
    from aws_lambda_powertools.utilities import parameters

    import ecwid_cloner.runtime as runtime

    runtime.reset_caches()
    parameters.clear_caches()
