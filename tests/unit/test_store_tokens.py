"""StoreTokens on moto: the template's store-tokens table and a KMS key (moto encrypts for real and
checks the encryption context), the old per-store secrets, and their migration."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError

from ecwid_cloner.data.store_tokens import LegacySecrets, StoreTokens, migrate_legacy_secrets
from ecwid_cloner.ecwid.credentials import read_secret
from ecwid_cloner.errors import EcwidRetryableError, EcwidTerminalError
from tests.unit.conftest import REGION, template_table

PREFIX = "store-cloner/stores/"
TOKEN = "secret_60000001_token_never_in_plaintext_7d2c"
SECRET_TOKEN = "secret_9001_do_not_log"
LEGACY = LegacySecrets(PREFIX, read_secret)


@pytest.fixture
def kms(mocked_aws):
    return boto3.client("kms", region_name=REGION)


@pytest.fixture
def key_arn(kms) -> str:
    return kms.create_key(Description="store tokens")["KeyMetadata"]["Arn"]


@pytest.fixture
def secrets(mocked_aws):
    parameters.clear_caches()
    yield boto3.client("secretsmanager", region_name=REGION)
    parameters.clear_caches()


@pytest.fixture
def table(dynamodb_client):
    template_table(dynamodb_client, "StoreTokensTable", "store-tokens")
    return boto3.resource("dynamodb", region_name=REGION).Table("store-tokens")


@pytest.fixture
def tokens(table, kms, key_arn, secrets) -> StoreTokens:
    return StoreTokens(table, kms, key_arn, legacy=LEGACY)


def raw_item(dynamodb_client, store_id: int) -> dict:
    return dynamodb_client.get_item(TableName="store-tokens", Key={"storeId": {"N": str(store_id)}})["Item"]


def test_a_token_is_kept_encrypted_and_read_back(tokens, dynamodb_client, key_arn):
    tokens.write(60000001, TOKEN)

    assert tokens.read(60000001) == TOKEN
    item = raw_item(dynamodb_client, 60000001)
    assert set(item) == {"storeId", "ciphertext", "keyArn", "savedAt"}
    assert item["keyArn"]["S"] == key_arn
    assert TOKEN not in json.dumps(item, default=str) and TOKEN.encode() not in item["ciphertext"]["B"]
    assert tokens.has_token(60000001) and not tokens.has_token(60000002)


def test_a_newer_token_replaces_the_older(tokens):
    tokens.write(60000001, TOKEN)
    tokens.write(60000001, "secret_rotated")
    assert tokens.read(60000001) == "secret_rotated"


def test_a_ciphertext_decrypts_only_for_its_own_store(tokens, table):
    tokens.write(60000001, TOKEN)
    stolen = table.get_item(Key={"storeId": 60000001})["Item"]
    table.put_item(Item={**stolen, "storeId": 60000002})  # copied onto another store's item

    with pytest.raises(EcwidTerminalError) as caught:
        tokens.read(60000002)
    assert caught.value.code == "STORE_TOKEN_UNREADABLE" and "InvalidCiphertextException" in caught.value.message
    assert TOKEN not in str(caught.value)


def test_a_store_found_without_its_token_says_so_until_the_token_is_put(tokens):
    assert tokens.mark_unknown(60000003) is True
    assert tokens.mark_unknown(60000003) is True, "a retried CreateStore marks it again"

    with pytest.raises(EcwidTerminalError) as caught:
        tokens.read(60000003)
    assert caught.value.code == "STORE_TOKEN_UNKNOWN" and "store-tokens put" in caught.value.message

    tokens.write(60000003, TOKEN)  # the operator's remedy
    assert tokens.read(60000003) == TOKEN


def test_a_store_with_a_token_is_never_marked_unknown(tokens):
    tokens.write(60000001, TOKEN)
    assert tokens.mark_unknown(60000001) is False
    assert tokens.read(60000001) == TOKEN


def test_a_store_from_before_the_table_is_read_from_its_old_secret(tokens, secrets):
    secrets.create_secret(Name=f"{PREFIX}9001", SecretString=json.dumps({"secretToken": TOKEN}))
    assert tokens.read(9001) == TOKEN


def test_no_token_anywhere_is_terminal_and_names_both_places(tokens):
    with pytest.raises(EcwidTerminalError) as caught:
        tokens.read(9002)
    assert caught.value.code == "STORE_SECRET_MISSING"
    assert "store-tokens table" in caught.value.message and f"{PREFIX}9002" in caught.value.message


class RefusingKms:
    """KMS refusing to decrypt as AWS does for a disabled key or a role without kms:Decrypt
    (moto decrypts with a disabled key)."""

    def __init__(self, kms, code: str):
        self._kms, self._code = kms, code

    def encrypt(self, **request):
        return self._kms.encrypt(**request)

    def decrypt(self, **_):
        raise ClientError({"Error": {"Code": self._code, "Message": f"refused {TOKEN}"}}, "Decrypt")


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("DisabledException", EcwidTerminalError),
        ("AccessDeniedException", EcwidTerminalError),
        ("ThrottlingException", EcwidRetryableError),
        ("KMSInternalException", EcwidRetryableError),
    ],
)
def test_kms_refusals_are_sorted_and_never_quoted(table, kms, key_arn, code, error):
    tokens = StoreTokens(table, RefusingKms(kms, code), key_arn)
    tokens.write(60000001, TOKEN)
    with pytest.raises(error) as caught:
        tokens.read(60000001)
    assert type(caught.value) is error and code in caught.value.message
    assert TOKEN not in str(caught.value), "AWS's message is never passed on"


class ThrottledTable:
    def get_item(self, **_):
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "GetItem")

    put_item = get_item


def test_a_throttled_table_is_retryable(kms, key_arn):
    tokens = StoreTokens(ThrottledTable(), kms, key_arn)
    with pytest.raises(EcwidRetryableError) as reading:
        tokens.read(1)
    with pytest.raises(EcwidRetryableError) as marking:
        tokens.mark_unknown(1)
    assert reading.value.code == marking.value.code == "STORE_TOKENS_UNAVAILABLE"
    assert type(reading.value) is EcwidRetryableError, "the exact class the state machine's Retry matches"


def test_an_empty_token_is_refused(tokens):
    with pytest.raises(ValueError, match="empty"):
        tokens.write(1, "")


def test_the_old_secrets_move_into_the_table_at_once(tokens, secrets, dynamodb_client):
    secrets.create_secret(Name=f"{PREFIX}9001", SecretString=TOKEN)
    secrets.create_secret(Name=f"{PREFIX}9002", SecretString=json.dumps({"secretToken": "secret_9002"}))
    secrets.create_secret(Name=f"{PREFIX}9003", SecretString=json.dumps({"token": "wrong field"}))
    secrets.create_secret(Name=f"{PREFIX}notes", SecretString="not a store")
    secrets.create_secret(Name="another/prefix/9004", SecretString="left alone")
    secrets.create_secret(Name=f"{PREFIX}9005", SecretString="secret_old_9005")
    tokens.write(9005, "secret_new_9005")  # already in the table: the table's stays

    def migrate():
        return migrate_legacy_secrets(
            tokens,
            secrets,
            LEGACY,
            delete_secrets=True,
            recovery_days=7,
        )

    report = migrate()

    assert sorted(report.migrated) == [9001, 9002] and report.already_in_table == [9005]
    assert sorted(report.secrets_deleted) == [9001, 9002, 9005]
    assert report.skipped == {
        f"{PREFIX}9003": "STORE_SECRET_INVALID",
        f"{PREFIX}notes": "not a store's secret (the name does not end in a store ID)",
    }
    assert (tokens.read(9001), tokens.read(9002), tokens.read(9005)) == (TOKEN, "secret_9002", "secret_new_9005")
    assert secrets.describe_secret(SecretId=f"{PREFIX}9001").get("DeletedDate"), "scheduled, restorable for 7 days"
    assert "DeletedDate" not in secrets.describe_secret(SecretId=f"{PREFIX}9003"), "a secret not moved is kept"
    assert "DeletedDate" not in secrets.describe_secret(SecretId="another/prefix/9004")
    assert TOKEN not in json.dumps(report.to_dict())
    assert report.to_dict()["migrated"] == 2

    again = migrate()
    assert again.migrated == [] and again.secrets_deleted == [], "safe to run again"


# -- the old per-store secrets: their name and format --------------------------------------


@pytest.mark.parametrize("stored", [SECRET_TOKEN, json.dumps({"secretToken": SECRET_TOKEN})])
def test_store_secret_token_is_read_from_the_prefixed_secret(secrets, stored):
    secrets.create_secret(Name="store-cloner/stores/9001", SecretString=stored)
    assert LegacySecrets("store-cloner/stores/", read_secret).read(9001) == SECRET_TOKEN


def test_a_missing_store_secret_is_terminal_and_names_it(secrets):
    with pytest.raises(EcwidTerminalError) as caught:
        LegacySecrets("store-cloner/stores/", read_secret).read(9002)
    assert caught.value.code == "STORE_SECRET_MISSING" and "store-cloner/stores/9002" in caught.value.message


@pytest.mark.parametrize("stored", ['{"token": "x"}', '{"secretToken": ""}', "   "])
def test_a_store_secret_without_a_token_is_terminal(secrets, stored):
    secrets.create_secret(Name="store-cloner/stores/9003", SecretString=stored)
    with pytest.raises(EcwidTerminalError) as caught:
        LegacySecrets("store-cloner/stores/", read_secret).read(9003)
    assert caught.value.code == "STORE_SECRET_INVALID"


def test_a_secret_written_as_the_local_stack_writes_it_reads_back(secrets):
    # The one format, both ways: what secret_string writes under name() is what read() finds.
    legacy = LegacySecrets("store-cloner/stores/", read_secret)
    secrets.create_secret(Name=legacy.name(9004), SecretString=LegacySecrets.secret_string(SECRET_TOKEN))
    assert legacy.read(9004) == SECRET_TOKEN
    assert legacy.store_id(legacy.name(9004)) == 9004
    assert legacy.store_id("store-cloner/stores/notes") is None
    assert legacy.store_id("another/prefix/9004") is None
