"""Where store tokens live, what it costs a month per 100,000 stores, both ways.

    .venv/bin/python bench/token_store.py                    # the cost, both ways (< 5 s)
    .venv/bin/python bench/token_store.py --provision 1000   # and 1,000 merchants provisioned on the local stack

Before: a Secrets Manager secret per store (StoreSecretPrefix). Now: one DynamoDB item per
store in the store-tokens table, the token encrypted under one customer-managed KMS key with
the store ID as encryption context (ecwid_cloner.data.store_tokens). The cost of the stock is the
secrets' monthly fee against the key's and the items' storage; each provisioning then costs one
write (CreateSecret / Encrypt + PutItem) and one read per step that uses the token
(GetSecretValue / GetItem + Decrypt: CloneInstantSite, and PersonalizeStore). The item size is
measured with the product's own adapter (moto's KMS; the real KMS ciphertext is longer, so the
item is billed as if it were 1 KB, one write unit, whatever it measures).

``--provision N`` sends N merchant signups through the real consumer and state machine on the
local stack (a one-product template, the Instant Site cloned) and counts what they left: the
Secrets Manager secrets under the prefix (none), the encrypted items (N), any plaintext token in
the table (none), and every token decrypted back from its own item, equal to the sandbox's.
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "cloner"), str(ROOT)]

STORES = 100_000
READS_PER_PROVISIONING = 2  # CloneInstantSite and PersonalizeStore each read the token once


@dataclass(frozen=True)
class Prices:
    """AWS list prices, us-east-1, on-demand, no free tier counted (it would only lower "after")."""

    secret_month: float = 0.40  # Secrets Manager, per secret per month
    secrets_api_call: float = 0.05 / 10_000  # Secrets Manager, per API call
    kms_key_month: float = 3.00  # a customer-managed key $1, +$1 for each of its first two yearly rotations
    kms_request: float = 0.03 / 10_000  # KMS symmetric Encrypt / Decrypt
    dynamodb_write_unit: float = 0.625 / 1_000_000  # on-demand WRU (1 KB)
    dynamodb_read_unit: float = 0.125 / 1_000_000  # on-demand RRU (a strongly consistent read of 4 KB)
    dynamodb_gb_month: float = 0.25 + 0.20  # storage, Standard table class, plus point-in-time recovery
    # This machine reads no live page: from stored copies of the pages below, checked 28 Nov 2026; the
    # newest change they show is DynamoDB's on-demand price cut of 1 Nov 2024.
    as_of: str = "the pricing pages as of 28 Nov 2026 (stored copies; newest change shown: 1 Nov 2024)"
    sources: tuple[str, ...] = (
        "https://aws.amazon.com/secrets-manager/pricing/ ($0.40 per secret-month, $0.05 per 10,000 API calls)",
        "https://aws.amazon.com/kms/pricing/ ($1 per key-month; automatic rotation: +$1 a month for each of the "
        "first two rotations, none after, since May 2024; $0.03 per 10,000 requests)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/ ($0.625 per million WRU, $0.125 per million RRU since "
        "1 Nov 2024; $0.25 per GB-month; PITR $0.20 per GB-month)",
    )


def measured_item_bytes() -> int:
    """The size DynamoDB bills for one store-tokens item, written by the product's adapter on moto."""
    import os

    import boto3
    from moto import mock_aws

    from ecwid_cloner.data.store_tokens import StoreTokens
    from local.template_model import TemplateModel

    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(**TemplateModel().table_arguments("StoreTokensTable", "tokens"))
        key = boto3.client("kms").create_key()["KeyMetadata"]["Arn"]
        tokens = StoreTokens(boto3.resource("dynamodb").Table("tokens"), boto3.client("kms"), key)
        tokens.write(123_456_789, "secret_" + "x" * 32)  # Ecwid's store tokens: "secret_" and 32 characters
        item = client.get_item(TableName="tokens", Key={"storeId": {"N": "123456789"}})["Item"]
    # DynamoDB's item size: attribute names (UTF-8 bytes) plus values (a number ~ its digits / 2 + 1).
    size = 0
    for name, value in item.items():
        ((kind, raw),) = cast("dict[str, bytes | str]", value).items()  # one type: B (bytes), N or S (text)
        size += len(name.encode())
        size += len(raw) if kind == "B" else len(raw) // 2 + 1 if kind == "N" else len(str(raw).encode())
    return size


def monthly_cost(prices: Prices, stores: int, provisioned: int, item_bytes: int) -> dict[str, dict[str, float]]:
    """Dollars a month for ``stores`` kept and ``provisioned`` of them made that month, both ways."""
    requests = provisioned * (1 + READS_PER_PROVISIONING)
    before = {
        "storage": stores * prices.secret_month,
        "requests": requests * prices.secrets_api_call,
    }
    billed_bytes = max(item_bytes, 1024)  # a real KMS blob is longer than moto's: bill the whole write unit
    after = {
        "storage": prices.kms_key_month + stores * billed_bytes / 1e9 * prices.dynamodb_gb_month,
        "requests": requests * prices.kms_request
        + provisioned * prices.dynamodb_write_unit
        + provisioned * READS_PER_PROVISIONING * prices.dynamodb_read_unit,
    }
    for way in (before, after):
        way["total"] = way["storage"] + way["requests"]
    return {"secretsManager": before, "dynamodbKms": after}


def print_cost(prices: Prices, item_bytes: int) -> dict:
    print(f"Prices, us-east-1, from {prices.as_of}:")
    for source in prices.sources:
        print(f"  {source}")
    print(f"One store-tokens item as written: {item_bytes} bytes (billed as {max(item_bytes, 1024)}: one write unit)")
    figures = {}
    print(f"\nMonthly cost, {STORES:,} stores kept; provisioning reads each token {READS_PER_PROVISIONING} times")
    print(f"{'new stores that month':>24} | {'Secrets Manager':>16} | {'DynamoDB + KMS':>15} | ratio")
    for provisioned in (0, 10_000, STORES):
        cost = monthly_cost(prices, STORES, provisioned, item_bytes)
        before, after = cost["secretsManager"]["total"], cost["dynamodbKms"]["total"]
        figures[str(provisioned)] = {"secretsManager": round(before, 2), "dynamodbKms": round(after, 2)}
        print(f"{provisioned:>24,} | {f'${before:,.2f}':>16} | {f'${after:,.2f}':>15} | {before / after:,.0f}x")
    return figures


def provision(count: int, poll_scale: float) -> dict:
    """``count`` merchant signups through the local stack; what they left in Secrets Manager and the table."""
    import boto3

    from local.burst import run_burst
    from local.ecwid_sandbox import SandboxConfig
    from local.stack import LocalStack

    template = 1010  # one product, one category: the bench measures the tokens, not the mapping writes
    with LocalStack(
        sandbox_config=SandboxConfig(queued_seconds=0.2, clone_seconds=1.0), poll_scale=poll_scale
    ) as stack:
        stack.sandbox.add_store(template, products=1, categories=1)
        started = time.monotonic()
        figures = run_burst(stack, count, source_store_id=template, run_id=f"tokens-{int(time.time())}", timeout=7200)
        seconds = time.monotonic() - started
        prefix = stack.template.parameters["StoreSecretPrefix"]
        pages = boto3.client("secretsmanager").get_paginator("list_secrets").paginate()
        secrets = [s["Name"] for page in pages for s in page["SecretList"] if s["Name"].startswith(prefix)]
        items = stack.store_token_items()
        created = stack.sandbox.created_stores()
        sandbox_tokens = {store: stack.sandbox.store_secret_token(store) for store in created}
        table_text = json.dumps(items, default=lambda b: b.decode("latin-1") if isinstance(b, bytes) else str(b))
        plaintext = sum(1 for token in sandbox_tokens.values() if token in table_text)
        reader = stack.store_tokens()
        decrypted = sum(1 for store, token in sandbox_tokens.items() if reader.read(store) == token)
    return {
        "provisioned": figures["completed"],
        "failed": figures["failed"],
        "failures": figures["failures"],
        "storesCreated": len(created),
        "secretsUnderPrefix": len(secrets),
        "encryptedItems": sum(1 for item in items if "ciphertext" in item),
        "plaintextTokensInTable": plaintext,
        "tokensDecryptedEqual": decrypted,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--provision", type=int, default=0, metavar="N", help="provision N merchants on the local stack"
    )
    parser.add_argument("--poll-scale", type=float, default=0.05, help="local: the time scale of every wait")
    args = parser.parse_args()

    prices = Prices()
    item_bytes = measured_item_bytes()
    result: dict = {"itemBytes": item_bytes, "monthlyCostPer100kStores": print_cost(prices, item_bytes)}
    if args.provision:
        print(f"\n{args.provision} merchant signups through the local stack (time scale {args.poll_scale})", flush=True)
        local = provision(args.provision, args.poll_scale)
        result["localStack"] = local
        goals = {
            "every store provisioned": local["provisioned"] == args.provision,
            "no Secrets Manager secret": local["secretsUnderPrefix"] == 0,
            "one encrypted item per store": local["encryptedItems"] == local["storesCreated"] == args.provision,
            "no plaintext token in the table": local["plaintextTokensInTable"] == 0,
            "every token decrypts back": local["tokensDecryptedEqual"] == args.provision,
        }
        print(
            f"stores {local['storesCreated']}, secrets under the prefix {local['secretsUnderPrefix']}, encrypted "
            f"items {local['encryptedItems']}, plaintext tokens in the table {local['plaintextTokensInTable']}, "
            f"decrypted equal {local['tokensDecryptedEqual']}, {local['seconds']} s"
        )
        for goal, met in goals.items():
            print(f"  {goal}: {'MET' if met else 'MISSED'}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
