"""Where each store's secret token lives: one DynamoDB item per store, the token encrypted
under the stack's customer-managed KMS key with the store ID as encryption context.

At 100,000 stores a secret each would cost $40,000 a month (bench/token_store_cost.py); here
it costs a few dollars. The encryption context binds each ciphertext to its store: a
ciphertext copied onto another store's item does not decrypt. KMS Encrypt/Decrypt are called
directly: a token is a few dozen bytes, far under Encrypt's 4 KiB, so the AWS Encryption SDK's
envelope (a data key per message, or a cache of them) would add a dependency and its cold start
to save at most one $0.03-per-10,000 KMS request per token.

Only CreateStore writes here (IAM: PutItem and kms:Encrypt), only the steps that use a token
read (GetItem and kms:Decrypt). A store whose token is still a Secrets Manager secret under the
old prefix (a stack from before this table) is read from there (``LegacySecrets``: the one place
that knows those secrets' name and format): existing stacks keep working, and
``migrate_legacy_secrets`` (``python -m local store-tokens migrate``) moves them at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ecwid_cloner.data.job import iso_utc
from ecwid_cloner.errors import EcwidRetryableError, EcwidTerminalError, ErrorCode

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_secretsmanager.client import SecretsManagerClient

CONTEXT_KEY = "storeId"  # the encryption context's one key (the key policy refuses any use without it)
# AWS answers worth another try (botocore's standard mode already retried them a few times).
_TRANSIENT = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "KMSInternalException",
        "DependencyTimeoutException",
        "KeyUnavailableException",
        "LimitExceededException",
    }
)


class SecretReader(Protocol):
    """Reads a Secrets Manager secret's value, or raises ``<code>_MISSING``, ``_UNAVAILABLE``
    (ecwid.credentials.read_secret: Powertools' cache and the typed errors)."""

    def __call__(self, name: str, code: str, *, what: str = "") -> object: ...


@dataclass(frozen=True)
class LegacySecrets:
    """The per-store secrets of stacks from before the store-tokens table: ``<prefix><storeId>``
    (StoreSecretPrefix), each holding the store's token itself or ``{"secretToken": "..."}``."""

    prefix: str
    read_secret: SecretReader

    def name(self, store_id: int) -> str:
        return f"{self.prefix}{store_id}"

    def store_id(self, name: str) -> int | None:
        """The store a secret of this prefix is for; None when its name ends in no store ID."""
        suffix = name[len(self.prefix) :] if name.startswith(self.prefix) else ""
        return int(suffix) if suffix.isdigit() and int(suffix) > 0 else None

    def read(self, store_id: int) -> str:
        """The store's token; STORE_SECRET_MISSING without its secret, STORE_SECRET_INVALID when it holds none."""
        name = self.name(store_id)
        value = self.read_secret(name, "STORE_SECRET", what=f" with store {store_id}'s secret_token")
        token = value
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                token = json.loads(value).get("secretToken")
            except (ValueError, AttributeError):
                token = None
        if not isinstance(token, str) or not token.strip():
            raise EcwidTerminalError(
                ErrorCode.STORE_SECRET_INVALID,
                f"Secret {name} holds no secret_token (the token, or a JSON object with secretToken)",
            )
        return token.strip()

    @staticmethod
    def secret_string(token: str) -> str:
        """What a store's secret holds, as it is written (by an operator, or the local stack)."""
        return json.dumps({"secretToken": token})


class StoreTokens:
    """write / mark_unknown (CreateStore) and read (every step that uses a token)."""

    def __init__(self, table: Table, kms: KMSClient, key_arn: str, legacy: LegacySecrets | None = None):
        self._table = table  # a boto3 DynamoDB Table resource
        self._kms = kms
        self._key_arn = key_arn
        self.legacy = legacy  # the old per-store secrets, read when the table has no item for a store

    def write(self, store_id: int, token: str) -> None:
        """Encrypt the store's token and keep it (replacing whatever the store had: a newer token
        wins). AWS errors are raised as they come: the caller decides what a lost write means."""
        if not token:
            raise ValueError("a store token cannot be empty")
        encrypted = self._kms.encrypt(
            KeyId=self._key_arn, Plaintext=token.encode(), EncryptionContext=_context(store_id)
        )
        self._table.put_item(
            Item={
                "storeId": store_id,
                "ciphertext": encrypted["CiphertextBlob"],
                "keyArn": encrypted.get("KeyId") or self._key_arn,
                "savedAt": iso_utc(),
            }
        )

    def mark_unknown(self, store_id: int) -> bool:
        """Say that this stack made the store but never got its token (found after a lost creation
        answer). False, and nothing written, when the store has a token here already: then another
        provisioning made it and got its answer, so it is not the lost one."""
        try:
            self._table.put_item(
                Item={"storeId": store_id, "tokenUnknown": True, "savedAt": iso_utc()},
                ConditionExpression="attribute_not_exists(storeId) OR tokenUnknown = :true",
                ExpressionAttributeValues={":true": True},
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise _aws_error(exc, f"store {store_id}'s token could not be marked unknown") from None
        except BotoCoreError:
            raise EcwidRetryableError(
                ErrorCode.STORE_TOKENS_UNAVAILABLE, "the store-tokens table could not be reached"
            ) from None

    def read(self, store_id: int) -> str:
        """The store's token; STORE_TOKEN_UNKNOWN when this stack never got it, STORE_SECRET_MISSING
        when neither the table nor the old per-store secret holds it."""
        item = self._item(store_id)
        if item is None:
            return self._read_legacy(store_id)
        if item.get("tokenUnknown") and "ciphertext" not in item:
            raise EcwidTerminalError(
                ErrorCode.STORE_TOKEN_UNKNOWN,
                f"Store {store_id} was found through the Reseller API after its creation answer was lost, and "
                "Ecwid gives a store's token only in that answer: put it with `python -m local store-tokens put` "
                "(docs/operations.md, a store whose token is unknown)",
            )
        return self._decrypt(store_id, item)

    def has_token(self, store_id: int) -> bool:
        """Whether the table holds a token for the store (not the old secrets)."""
        item = self._item(store_id)
        return item is not None and "ciphertext" in item

    def _item(self, store_id: int) -> dict[str, Any] | None:
        try:
            return self._table.get_item(Key={"storeId": store_id}, ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise _aws_error(exc, f"store {store_id}'s token could not be read") from None
        except BotoCoreError:
            raise EcwidRetryableError(
                ErrorCode.STORE_TOKENS_UNAVAILABLE, "the store-tokens table could not be reached"
            ) from None

    def _decrypt(self, store_id: int, item: dict[str, Any]) -> str:
        ciphertext = item["ciphertext"]
        blob = getattr(ciphertext, "value", ciphertext)  # boto3's Binary, or bytes
        try:
            plaintext = self._kms.decrypt(
                CiphertextBlob=bytes(blob), EncryptionContext=_context(store_id), KeyId=self._key_arn
            )["Plaintext"]
        except ClientError as exc:
            raise _aws_error(exc, f"store {store_id}'s token could not be decrypted") from None
        except BotoCoreError:
            raise EcwidRetryableError(ErrorCode.STORE_TOKENS_UNAVAILABLE, "KMS could not be reached") from None
        token = plaintext.decode("utf-8", "replace").strip()
        if not token:
            raise EcwidTerminalError(ErrorCode.STORE_TOKEN_UNREADABLE, f"Store {store_id}'s token is empty")
        return token

    def _read_legacy(self, store_id: int) -> str:
        if self.legacy is None:
            raise EcwidTerminalError(ErrorCode.STORE_SECRET_MISSING, f"No token is kept for store {store_id}")
        try:
            return self.legacy.read(store_id)
        except EcwidTerminalError as missing:
            if missing.code != ErrorCode.STORE_SECRET_MISSING:
                raise
            raise EcwidTerminalError(
                ErrorCode.STORE_SECRET_MISSING,
                f"No token is kept for store {store_id}: none in the store-tokens table, and {missing.message[0].lower()}"
                f"{missing.message[1:]}",
            ) from None


def _context(store_id: int) -> dict[str, str]:
    return {CONTEXT_KEY: str(int(store_id))}


def _aws_error(exc: ClientError, what: str) -> EcwidRetryableError | EcwidTerminalError:
    """An AWS refusal as a clone error: its code only, never its message (it may quote a request)."""
    code = exc.response.get("Error", {}).get("Code", "Unknown")
    if code in _TRANSIENT:
        return EcwidRetryableError(ErrorCode.STORE_TOKENS_UNAVAILABLE, f"{what}: AWS answered {code}")
    return EcwidTerminalError(ErrorCode.STORE_TOKEN_UNREADABLE, f"{what}: AWS answered {code}")


# ---- moving the old per-store secrets into the table ---------------------------------------


@dataclass
class MigrationReport:
    migrated: list[int] = field(default_factory=list)  # written to the table, read back, equal
    already_in_table: list[int] = field(default_factory=list)  # the table had its token: left as it is
    secrets_deleted: list[int] = field(default_factory=list)  # scheduled for deletion (with a recovery window)
    skipped: dict[str, str] = field(default_factory=dict)  # secret name -> why (never its value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "migrated": len(self.migrated),
            "alreadyInTable": len(self.already_in_table),
            "secretsDeleted": len(self.secrets_deleted),
            "skipped": self.skipped,
        }


def migrate_legacy_secrets(
    tokens: StoreTokens,
    secretsmanager: SecretsManagerClient,
    legacy: LegacySecrets,
    *,
    delete_secrets: bool = False,
    recovery_days: int = 30,
) -> MigrationReport:
    """Every ``legacy`` secret's token into the table (read back and compared before anything is
    deleted). ``delete_secrets`` schedules each migrated secret's deletion, with ``recovery_days``
    to restore it. Safe to run again: a store already in the table is left."""
    report = MigrationReport()
    for name in _secret_names(secretsmanager, legacy.prefix):
        store_id = legacy.store_id(name)
        if store_id is None:
            report.skipped[name] = "not a store's secret (the name does not end in a store ID)"
            continue
        try:
            if tokens.has_token(store_id):
                report.already_in_table.append(store_id)
            else:
                token = legacy.read(store_id)
                tokens.write(store_id, token)
                if tokens.read(store_id) != token:
                    report.skipped[name] = "the token read back differs: the secret is kept"
                    continue
                report.migrated.append(store_id)
        except EcwidTerminalError as refused:
            report.skipped[name] = refused.code
            continue
        if delete_secrets:
            secretsmanager.delete_secret(SecretId=name, RecoveryWindowInDays=recovery_days)
            report.secrets_deleted.append(store_id)
    return report


def _secret_names(secretsmanager: SecretsManagerClient, prefix: str) -> Iterator[str]:
    paginator = secretsmanager.get_paginator("list_secrets")
    for page in paginator.paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
        for secret in page.get("SecretList", []):
            if secret.get("Name", "").startswith(prefix) and not secret.get("DeletedDate"):
                yield secret["Name"]
