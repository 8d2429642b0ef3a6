"""Fixtures shared by the unit tests: fake AWS credentials and the DynamoDB tables
created on moto exactly as template.yaml declares them."""

from __future__ import annotations

import functools
import json

import pytest

from local.moto_aws import serialize_moto_calls
from local.template_model import TemplateModel
from tests.fake_ecwid import Clock
from tests.memory_stores import MemoryJobs

REGION = "us-east-1"


@functools.cache
def _template() -> TemplateModel:
    return TemplateModel()


def template_table(dynamodb_client, logical_id: str, table_name: str) -> None:
    """The template's table ``logical_id``, made on moto under ``table_name``."""
    dynamodb_client.create_table(**_template().table_arguments(logical_id, table_name))


@pytest.fixture
def aws_env(monkeypatch):
    """Fake credentials and a region; no real AWS account can be reached."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_SECURITY_TOKEN", "testing")
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mocked_aws(aws_env):
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def dynamodb_client(mocked_aws):
    import boto3

    return boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def jobs_table(dynamodb_client):
    import boto3

    template_table(dynamodb_client, "JobsTable", "jobs")
    return boto3.resource("dynamodb", region_name=REGION).Table("jobs")


@pytest.fixture
def mappings_table_name(dynamodb_client) -> str:
    template_table(dynamodb_client, "MappingsTable", "mappings")
    return "mappings"


@pytest.fixture
def coordination_table(dynamodb_client):
    import boto3

    template_table(dynamodb_client, "CoordinationTable", "coordination")
    return boto3.resource("dynamodb", region_name=REGION).Table("coordination")


@pytest.fixture
def serialized_moto():
    """One AWS call at a time into moto, as DynamoDB applies each conditional write
    atomically: moto's backends are not thread-safe, so threads that test a condition
    race would otherwise race inside moto, not in our code."""
    restore = serialize_moto_calls()
    yield
    restore()


@pytest.fixture
def emitted(monkeypatch, capsys):
    """The CloudWatch EMF lines printed so far, read as the metrics of template.yaml's environment."""
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    # What template.yaml gives every function: the namespace and service come from there.
    shared = _template().doc["Globals"]["Function"]["Environment"]["Variables"]
    for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
        monkeypatch.setenv(name, shared[name])

    def read() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]

    return read


@pytest.fixture
def clock():
    """The fast step tests' clock: time moves only when a test advances it."""
    return Clock()


@pytest.fixture
def jobs(clock):
    """In-memory jobs on that clock (tests/memory_stores.py, held to JobsRepository's contract)."""
    return MemoryJobs(clock)
