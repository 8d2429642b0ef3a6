"""Fixtures shared by the unit tests: fake AWS credentials and the DynamoDB tables
created on moto exactly as template.yaml declares them."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
REGION = "us-east-1"

# The CreateTable parameters that a template's AWS::DynamoDB::Table shares with the API.
_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


@functools.cache
def _template_resources() -> str:
    from cfnlint.decode import cfn_yaml  # understands !Ref, !If and friends

    # Plain JSON, not cfn-lint nodes; a string so that callers get fresh copies.
    return json.dumps(cfn_yaml.loads(TEMPLATE.read_text())["Resources"])


def template_table_kwargs(logical_id: str, table_name: str) -> dict[str, Any]:
    """CreateTable arguments for the template's table ``logical_id``."""
    resource = json.loads(_template_resources())[logical_id]
    assert resource["Type"] == "AWS::DynamoDB::Table"
    props = resource["Properties"]
    kwargs = {key: props[key] for key in _TABLE_KEYS if key in props}
    kwargs["TableName"] = table_name
    return kwargs


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

    dynamodb_client.create_table(**template_table_kwargs("JobsTable", "jobs"))
    return boto3.resource("dynamodb", region_name=REGION).Table("jobs")


@pytest.fixture
def mappings_table_name(dynamodb_client) -> str:
    dynamodb_client.create_table(**template_table_kwargs("MappingsTable", "mappings"))
    return "mappings"


@pytest.fixture
def coordination_table(dynamodb_client):
    import boto3

    dynamodb_client.create_table(**template_table_kwargs("CoordinationTable", "coordination"))
    return boto3.resource("dynamodb", region_name=REGION).Table("coordination")


@pytest.fixture
def serialized_moto(monkeypatch):
    """One AWS call at a time into moto, as DynamoDB applies each conditional write
    atomically: moto's backends are not thread-safe, so threads that test a condition
    race would otherwise race inside moto, not in our code."""
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.__call__
    lock = threading.RLock()

    def serialized(stubber, event_name, request, **kwargs):
        with lock:
            return original(stubber, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialized)
