"""Wiring for the Lambdas: Powertools objects and the domain services, built once per container.

Services are imported where they are built, so each handler loads only what
it runs: the API and the signup consumer never load requests, the Step
Functions tasks never load pydantic, RecordFailure loads neither.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeIs, cast

import boto3
from aws_lambda_powertools import Logger, Tracer
from botocore.config import Config
from botocore.exceptions import ClientError

from ecwid_cloner.config import Settings
from ecwid_cloner.data.jobs import JobsRepository
from ecwid_cloner.data.mappings import MappingStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_stepfunctions.client import SFNClient

    from ecwid_cloner.admission.clone_slots import CloneSlots
    from ecwid_cloner.admission.control import AdmissionControl
    from ecwid_cloner.api.bulk_actions import BulkActions, BulkRecords, BulkWorker
    from ecwid_cloner.api.campaign import CampaignView
    from ecwid_cloner.api.launcher import CloneLauncher
    from ecwid_cloner.api.operator_actions import CloneCancellations, CloneRetries, PersonalData
    from ecwid_cloner.data.outcome_events import OutcomePublisher
    from ecwid_cloner.data.store_tokens import StoreTokens
    from ecwid_cloner.ecwid.budget import RequestGate
    from ecwid_cloner.ecwid.clone_api import EcwidCloneClient
    from ecwid_cloner.ecwid.instant_site import InstantSiteClient
    from ecwid_cloner.ecwid.reseller import EcwidResellerClient, ResellerKey
    from ecwid_cloner.ecwid.store_creation import EcwidStoreCreator
    from ecwid_cloner.ecwid.store_profile import EcwidStoreProfileClient
    from ecwid_cloner.ecwid.transport import EcwidCredentials
    from ecwid_cloner.state import BudgetTurn
    from ecwid_cloner.steps.check_clone_status import CheckCloneStatus
    from ecwid_cloner.steps.clone_instant_site import CloneInstantSite
    from ecwid_cloner.steps.create_store import StoreProvisioning
    from ecwid_cloner.steps.personalize_store import PersonalizeStore
    from ecwid_cloner.steps.poll_timing import PollTiming
    from ecwid_cloner.steps.record_failure import RecordFailure
    from ecwid_cloner.steps.start_clone import StartClone
    from ecwid_cloner.steps.store_actions import StoreActions

# The service name and the metrics namespace: POWERTOOLS_SERVICE_NAME and
# POWERTOOLS_METRICS_NAMESPACE, which template.yaml sets (Powertools reads them).
logger = Logger()
# botocore now, requests when an HTTP client is first built: patching everything
# (Tracer's default) would import requests into handlers that never call Ecwid.
tracer = Tracer(patch_modules=["botocore"])

# Throttled AWS calls are retried by botocore before our own backoff sees them.
_AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=16)


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


@functools.cache
def jobs_repository() -> JobsRepository:
    config = settings()
    table = boto3.resource("dynamodb", config=_AWS_CONFIG).Table(config.jobs_table)
    return JobsRepository(table, retention_days=config.job_retention_days)


@functools.cache
def mapping_store() -> MappingStore:
    # A plain client: the resource's own client would re-serialize the
    # already typed items (and cost time doing it).
    config = settings()
    client = boto3.client("dynamodb", config=_AWS_CONFIG)
    return MappingStore(client, config.mappings_table, retention_days=config.mapping_retention_days)


@functools.cache
def coordination_table() -> Table:
    # template.yaml's Globals give every function COORDINATION_TABLE_NAME (request_gate alone runs without it).
    return boto3.resource("dynamodb", config=_AWS_CONFIG).Table(cast(str, settings().coordination_table))


@functools.cache
def request_gate() -> RequestGate:
    """The one gate every Ecwid request of this process passes (open when no table is configured)."""
    from ecwid_cloner.ecwid.budget import BudgetPolicy, RequestBudget, RequestGate
    from ecwid_cloner.ecwid.budget_store import DynamoBudgetStore

    config = settings()
    if not config.coordination_table:
        return RequestGate(None)
    # poll_scale < 1 on the local stack: Ecwid's minute shrinks with every wait.
    policy = BudgetPolicy(
        per_minute=config.ecwid_budget_per_minute, burst=config.ecwid_budget_burst, time_scale=config.poll_scale
    )
    return RequestGate(RequestBudget(DynamoBudgetStore(coordination_table()), policy))


@functools.cache
def admission_control() -> AdmissionControl:
    from ecwid_cloner.admission.control import AdmissionControl, AdmissionPolicy
    from ecwid_cloner.admission.slot_store import DynamoSlotStore

    config = settings()
    policy = AdmissionPolicy.for_budget(config.ecwid_budget_per_minute, config.max_clones_in_flight, config.poll_scale)
    return AdmissionControl(DynamoSlotStore(coordination_table()), policy)


@functools.cache
def clone_slots() -> CloneSlots:
    from ecwid_cloner.admission.clone_slots import CloneSlots

    return CloneSlots(admission_control(), jobs_repository())


@functools.lru_cache(maxsize=6)
def _app_client[Client](
    kind: Callable[..., Client], credentials: EcwidCredentials | ResellerKey, base_url: str | None = None
) -> Client:
    # One client (and its connection pool) per kind and credentials: a rotated secret,
    # seen once Powertools' cache expires, gets a fresh client.
    tracer.patch(["requests"])  # once per module; later calls change nothing
    config = settings()
    return kind(
        credentials,
        base_url or config.ecwid_base_url,
        connect_timeout=config.ecwid_connect_timeout,
        read_timeout=config.ecwid_read_timeout,
        gate=request_gate(),
    )


def _app_credentials() -> EcwidCredentials:
    from ecwid_cloner.ecwid.credentials import load_credentials

    return load_credentials(settings().credentials_secret)


def ecwid_client() -> EcwidCloneClient:
    from ecwid_cloner.ecwid.clone_api import EcwidCloneClient

    return cast("EcwidCloneClient", _app_client(EcwidCloneClient, _app_credentials()))


def store_creator() -> EcwidStoreCreator:
    from ecwid_cloner.ecwid.store_creation import EcwidStoreCreator

    return cast("EcwidStoreCreator", _app_client(EcwidStoreCreator, _app_credentials()))


def reseller_client() -> EcwidResellerClient | None:
    """The partner's Reseller API client, or None when the credentials secret holds no resellerKey."""
    from ecwid_cloner.ecwid.credentials import load_reseller_key
    from ecwid_cloner.ecwid.reseller import EcwidResellerClient

    key = load_reseller_key(settings().credentials_secret)
    return _app_client(EcwidResellerClient, key, settings().reseller_api_base_url) if key is not None else None


@functools.cache
def store_actions() -> StoreActions:
    from ecwid_cloner.steps.store_actions import StoreActions

    return StoreActions(jobs_repository(), reseller_client, settings().failed_store_action, request_gate())


@functools.cache
def store_tokens() -> StoreTokens:
    """Every store's token: encrypted in the store-tokens table, or (a stack from before it)
    in its own secret under the old StoreSecretPrefix."""
    from ecwid_cloner.data.store_tokens import LegacySecrets, StoreTokens
    from ecwid_cloner.ecwid.credentials import read_secret

    config = settings()
    if not config.store_tokens_table or not config.store_tokens_key_arn:
        raise KeyError("STORE_TOKENS_TABLE_NAME and STORE_TOKENS_KEY_ARN")  # template.yaml sets both
    return StoreTokens(
        boto3.resource("dynamodb", config=_AWS_CONFIG).Table(config.store_tokens_table),
        boto3.client("kms", config=_AWS_CONFIG),
        config.store_tokens_key_arn,
        legacy=LegacySecrets(config.store_secret_prefix, read_secret),
    )


@functools.cache
def store_provisioning() -> StoreProvisioning:
    from ecwid_cloner.steps.create_store import StoreProvisioning

    return StoreProvisioning(
        creator_factory=store_creator,
        jobs=jobs_repository(),
        save_token=lambda store_id, token: store_tokens().write(store_id, token),
        mark_token_unknown=lambda store_id: store_tokens().mark_unknown(store_id),
        reseller_factory=reseller_client,
        gate=request_gate(),
    )


@functools.cache
def instant_site_client() -> InstantSiteClient:
    from ecwid_cloner.ecwid.instant_site import InstantSiteClient

    tracer.patch(["requests"])
    config = settings()
    return InstantSiteClient(
        config.instant_site_base_url, connect_timeout=config.ecwid_connect_timeout, gate=request_gate()
    )


@functools.cache
def store_profile_client() -> EcwidStoreProfileClient:
    from ecwid_cloner.ecwid.store_profile import EcwidStoreProfileClient

    tracer.patch(["requests"])
    config = settings()
    return EcwidStoreProfileClient(
        config.ecwid_base_url,
        connect_timeout=config.ecwid_connect_timeout,
        read_timeout=config.ecwid_read_timeout,
        gate=request_gate(),
    )


def store_secret_token(store_id: int) -> str:
    """The store's secret token: the one function every step that uses a token calls
    (CloneInstantSite, PersonalizeStore). STORE_TOKEN_UNKNOWN for a store found after a
    lost creation answer, STORE_SECRET_MISSING when none is kept."""
    return store_tokens().read(store_id)


@functools.cache
def poll_timing() -> PollTiming:
    from ecwid_cloner.steps.poll_timing import PollTiming

    config = settings()
    return PollTiming(poll_scale=config.poll_scale, deadline_seconds=config.deadline_seconds)


@functools.cache
def start_clone() -> StartClone:
    from ecwid_cloner.steps.start_clone import StartClone

    return StartClone(ecwid_client, jobs_repository(), poll_timing(), request_gate())


@functools.cache
def check_clone_status() -> CheckCloneStatus:
    from ecwid_cloner.steps.check_clone_status import CheckCloneStatus

    return CheckCloneStatus(ecwid_client, jobs_repository(), mapping_store(), poll_timing(), request_gate())


@functools.cache
def clone_instant_site() -> CloneInstantSite:
    from ecwid_cloner.steps.clone_instant_site import CloneInstantSite

    return CloneInstantSite(instant_site_client, store_secret_token, jobs_repository(), request_gate())


@functools.cache
def personalize_store() -> PersonalizeStore:
    from ecwid_cloner.steps.personalize_store import PersonalizeStore

    return PersonalizeStore(store_profile_client, store_secret_token, jobs_repository(), request_gate())


@functools.cache
def record_failure() -> RecordFailure:
    from ecwid_cloner.steps.record_failure import RecordFailure

    return RecordFailure(jobs_repository())


@functools.cache
def clone_launcher() -> CloneLauncher:
    from ecwid_cloner.api.launcher import CloneLauncher

    state_machine = _required(settings().state_machine_arn, "STATE_MACHINE_ARN")
    return CloneLauncher(jobs_repository(), stepfunctions(), state_machine)


@functools.cache
def stepfunctions() -> SFNClient:
    return boto3.client("stepfunctions", config=_AWS_CONFIG)


def _required(value: str | None, variable: str) -> str:
    if not value:
        raise KeyError(variable)  # only the functions that use it have it
    return value


@functools.cache
def clone_retries() -> CloneRetries:
    from ecwid_cloner.api.operator_actions import CloneRetries

    return CloneRetries(
        jobs_repository(), clone_launcher(), lambda clone_id, action, by: store_actions().act(clone_id, action, by=by)
    )


@functools.cache
def outcome_publisher() -> OutcomePublisher:
    from ecwid_cloner.data.outcome_events import OutcomePublisher

    bus = _required(settings().event_bus_name, "EVENT_BUS_NAME")
    return OutcomePublisher(boto3.client("events", config=_AWS_CONFIG), bus, jobs_repository())


@functools.cache
def clone_cancellations() -> CloneCancellations:
    from ecwid_cloner.api.operator_actions import CloneCancellations, stop_execution
    from ecwid_cloner.data.outcome_events import CLONE_FAILED

    state_machine = _required(settings().state_machine_arn, "STATE_MACHINE_ARN")
    return CloneCancellations(
        jobs_repository(),
        admission_control(),
        stop_execution(stepfunctions(), state_machine),
        lambda job: outcome_publisher().publish(job, CLONE_FAILED),
        lambda clone_id: store_actions().settle_cancelled(clone_id),
    )


@functools.cache
def bulk_records() -> BulkRecords:
    from ecwid_cloner.api.bulk_actions import BulkRecords

    return BulkRecords(coordination_table())


@functools.cache
def bulk_actions() -> BulkActions:
    from ecwid_cloner.api.bulk_actions import BulkActions

    state_machine = _required(settings().bulk_state_machine_arn, "BULK_STATE_MACHINE_ARN")

    def start(bulk_id: str) -> None:
        try:
            stepfunctions().start_execution(
                stateMachineArn=state_machine, name=bulk_id, input=json.dumps({"bulkId": bulk_id})
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise

    return BulkActions(jobs_repository(), bulk_records(), start)


@functools.cache
def bulk_worker() -> BulkWorker:
    from ecwid_cloner.api.bulk_actions import BulkWorker

    config = settings()
    return BulkWorker(
        jobs_repository(),
        bulk_records(),
        clone_retries(),
        clone_cancellations(),
        per_second=config.bulk_actions_per_second,
        time_scale=config.poll_scale,
    )


def clone_timeline(clone_id: str) -> dict[str, Any]:
    """The steps of the clone's execution and the seconds by phase (timeline.ExecutionNotFound: none)."""
    from ecwid_cloner.api.timeline import history_events, timeline

    state_machine = _required(settings().state_machine_arn, "STATE_MACHINE_ARN")
    arn = f"{state_machine.replace(':stateMachine:', ':execution:')}:{clone_id}"
    return timeline(history_events(stepfunctions(), arn))


@functools.cache
def campaign_view() -> CampaignView:
    from ecwid_cloner.api.campaign import CampaignLimits, CampaignView

    config = settings()
    limits = CampaignLimits(
        max_in_flight=config.max_clones_in_flight,
        budget_per_minute=config.ecwid_budget_per_minute,
        budget_burst=config.ecwid_budget_burst,
        time_scale=config.poll_scale,
    )
    return CampaignView(jobs_repository(), coordination_table(), limits)


@functools.cache
def personal_data() -> PersonalData:
    from ecwid_cloner.api.operator_actions import PersonalData

    return PersonalData(jobs_repository())


def waits_for_budget(result: object, step: str) -> TypeIs[BudgetTurn]:
    """Whether a step's result is its turn to wait for Ecwid's request budget (the state machine
    waits, then runs the step again: ``$.budget`` of a clone's state); if so, logged and counted."""
    from ecwid_cloner.state import BudgetTurn
    from ecwid_cloner.telemetry import record_budget_wait

    if not isinstance(result, BudgetTurn):
        return False
    logger.info("Waiting for the Ecwid request budget", extra={"budget": result.to_state(), "step": step})
    record_budget_wait(result, step)
    return True


def reset_caches() -> None:
    """Forget every built service (the local stack calls this when it changes the environment)."""
    for builder in cached_builders():
        builder.cache_clear()


def cached_builders() -> list[Any]:
    """Every function of this module that functools caches (cache, lru_cache): found, not listed,
    so that a builder added later is forgotten with the others."""
    return [
        value
        for value in globals().values()
        if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == __name__
    ]
