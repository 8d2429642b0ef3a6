"""python -m local store-tokens migrate | put, on moto: what an operator runs against a deployed stack."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from ecwid_cloner.data.store_tokens import StoreTokens
from local.cli import EXIT_BAD_ARGS, EXIT_COMPLETED, EXIT_FAILED, main
from tests.unit.conftest import REGION, template_table

PREFIX = "store-cloner/stores/"
TOKEN = "secret_token_from_stdin_6b1f"


@pytest.fixture
def deployed(dynamodb_client):
    """The store-tokens table and key as a deployed stack has them, and some old secrets."""
    parameters.clear_caches()
    template_table(dynamodb_client, "StoreTokensTable", "tokens")
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    yield {"table": "tokens", "key": key}
    parameters.clear_caches()


def tokens(deployed) -> StoreTokens:
    table = boto3.resource("dynamodb", region_name=REGION).Table(deployed["table"])
    return StoreTokens(table, boto3.client("kms", region_name=REGION), deployed["key"])


def run(deployed, *args: str, stdin: str = "", monkeypatch=None) -> int:
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["store-tokens", args[0], "--table", deployed["table"], "--key", deployed["key"], *args[1:]])


def test_put_reads_the_token_from_stdin_and_never_prints_it(deployed, monkeypatch, capsys):
    assert run(deployed, "put", "--store-id", "60000007", stdin=TOKEN + "\n", monkeypatch=monkeypatch) == 0
    out = capsys.readouterr()
    assert json.loads(out.out) == {"storeId": 60000007, "saved": True}
    assert TOKEN not in out.out + out.err
    assert tokens(deployed).read(60000007) == TOKEN


def test_put_without_a_token_writes_nothing(deployed, monkeypatch):
    assert run(deployed, "put", "--store-id", "60000008", stdin="\n", monkeypatch=monkeypatch) == EXIT_BAD_ARGS
    assert not tokens(deployed).has_token(60000008)


def test_migrate_moves_the_old_secrets_and_reports_what_it_skipped(deployed, capsys):
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name=f"{PREFIX}9001", SecretString=json.dumps({"secretToken": TOKEN}))
    secrets.create_secret(Name=f"{PREFIX}9002", SecretString="{}")

    code = run(deployed, "migrate", "--prefix", PREFIX, "--delete-secrets", "--recovery-days", "7")

    report = json.loads(capsys.readouterr().out)
    assert code == EXIT_FAILED, "something was skipped: the operator must look"
    assert report == {
        "migrated": 1,
        "alreadyInTable": 0,
        "secretsDeleted": 1,
        "skipped": {f"{PREFIX}9002": "STORE_SECRET_INVALID"},
    }
    assert tokens(deployed).read(9001) == TOKEN
    secrets.delete_secret(SecretId=f"{PREFIX}9002", ForceDeleteWithoutRecovery=True)
    assert run(deployed, "migrate", "--prefix", PREFIX) == EXIT_COMPLETED


def test_the_recovery_window_is_one_secrets_manager_allows(deployed):
    with pytest.raises(SystemExit) as exited:
        run(deployed, "migrate", "--recovery-days", "3")
    assert exited.value.code == EXIT_BAD_ARGS
