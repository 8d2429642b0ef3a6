"""python -m local clone …: run one clone through the local stack, end to end; and
python -m local store-tokens …: an operator's commands on a deployed stack's store tokens."""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from typing import Any, NoReturn
from urllib.parse import quote

import requests
from pydantic import ValidationError

from ecwid_cloner.api.clone_requests import CloneRequestBody
from ecwid_cloner.data.job import plain
from ecwid_cloner.models import Entity, JobStatus, Scope
from ecwid_cloner.state import CloneState
from local.api_client import LOCAL_API_URL, client_from

EXIT_COMPLETED, EXIT_FAILED, EXIT_BAD_ARGS = 0, 1, 2
SCOPES = [scope.value for scope in Scope]  # as argparse shows and names them


def positive(number_type: type):
    """An argparse type: a number of ``number_type`` above zero."""

    def parse(text: str):
        try:
            value = number_type(text)
        except ValueError:
            value = None
        if value is None or value <= 0:
            kind = "integer" if number_type is int else "number"
            raise argparse.ArgumentTypeError(f"must be a positive {kind}, got {text!r}")
        return value

    parse.__name__ = f"positive {number_type.__name__}"
    return parse


positive_int, positive_float = positive(int), positive(float)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    clone = commands.add_parser(
        "clone", help="clone one store into another (or into a new store for a merchant) on the local stack"
    )
    clone.add_argument("--source-store-id", type=positive_int, required=True)
    clone.add_argument("--target-store-id", type=positive_int, help="an existing store to clone into")
    _add_merchant_options(clone)
    clone.add_argument("--signup-id", help="as a signup would name it: one signup, one store (default: a new request)")
    clone.add_argument("--scope", choices=SCOPES)
    clone.add_argument("--clone-demo-catalog", action="store_true")
    clone.add_argument(
        "--instant-site",
        choices=["draft", "publish"],
        help="after the store clone, clone the Instant Site too (as a draft, or published)",
    )
    clone.add_argument("--request-id", help="idempotency key (default: a new one per run)")
    _add_ecwid_option(clone)
    clone.add_argument(
        "--poll-scale",
        type=positive_float,
        help="multiplies every wait (default 0.02 on the sandbox, 1 with --ecwid-base-url)",
    )
    clone.add_argument("--deadline-seconds", type=positive_float, help="clone deadline, before --poll-scale")
    clone.add_argument(
        "--sandbox-clone-seconds", type=positive_float, default=6.0, help="how long a sandbox clone takes (default 6)"
    )
    clone.add_argument(
        "--show-mappings",
        type=int,
        default=3,
        metavar="N",
        help="print N mapped IDs per entity read back from DynamoDB (default 3)",
    )
    clone.add_argument("--log-file", help="write the handlers' JSON log lines to this file")

    api = commands.add_parser("api", help="serve the HTTP API on 127.0.0.1, clones running on the local stack")
    api.add_argument("--port", type=int, default=8080)
    _add_stack_options(api)
    _add_ecwid_option(api)
    api.add_argument(
        "--verify-sigv4",
        action="store_true",
        help="refuse (403, as API Gateway does) every request without a valid SigV4 signature by the test "
        "credentials of local/sigv4.py",
    )
    console = commands.add_parser(
        "console", help="serve the operator console on 127.0.0.1 (the page at /, the API at /v1) over the local stack"
    )
    console.add_argument("--port", type=int, default=8090)
    _add_stack_options(console)
    _add_ecwid_option(console)
    console.add_argument(
        "--max-clones-in-flight",
        type=positive_int,
        default=4,
        help="MaxClonesInFlight of the local stack (default 4: a small campaign makes a line)",
    )
    console.add_argument(
        "--demo-clones",
        type=int,
        help="start this many clones through the API, one every --demo-every seconds, for the page to show "
        "(default 12 on the sandbox, 0 with --ecwid-base-url)",
    )
    console.add_argument("--demo-every", type=positive_float, default=1.0, help="seconds between demo clones")
    console.add_argument(
        "--refresh-seconds", type=positive_float, default=2.0, help="how often the page reads the API (default 2)"
    )
    _add_operator_commands(commands)

    commands.add_parser(
        "openapi", help="print the API's OpenAPI document, generated from its routes (docs/openapi.json)"
    )
    signup = commands.add_parser("send-signup", help="put a signup message on the local queue and run the consumer")
    signup.add_argument("--target-store-id", type=positive_int)
    _add_merchant_options(signup)
    signup.add_argument("--signup-id", help="default: a new one")
    signup.add_argument("--source-store-id", type=positive_int, help="default: the template store (TemplateStoreId)")
    signup.add_argument("--scope", choices=SCOPES)
    signup.add_argument("--instant-site", choices=["draft", "publish"], help="clone the Instant Site too")
    signup.add_argument("--message", help="send this raw message body instead (e.g. a malformed one)")
    signup.add_argument("--times", type=positive_int, default=1, help="deliver the message this many times")
    _add_stack_options(signup)

    tokens = commands.add_parser(
        "store-tokens",
        help="on a deployed stack (your AWS credentials): move the old per-store secrets into the store-tokens "
        "table, or put a store's token there",
    )
    actions = tokens.add_subparsers(dest="action", required=True)
    migrate = actions.add_parser("migrate", help="every <prefix><storeId> secret's token into the table")
    put = actions.add_parser("put", help="a store's token into the table, read from stdin (never an argument)")
    for action in (migrate, put):
        action.add_argument("--table", required=True, help="the stack's output StoreTokensTableName")
        action.add_argument("--key", required=True, help="the stack's output StoreTokensKeyArn")
        action.add_argument("--region", help="default: your AWS configuration's")
    migrate.add_argument("--prefix", default="store-cloner/stores/", help="the stack's StoreSecretPrefix")
    migrate.add_argument(
        "--delete-secrets",
        action="store_true",
        help="schedule each moved secret's deletion once its token reads back from the table",
    )
    migrate.add_argument("--recovery-days", type=int, default=30, choices=range(7, 31), metavar="7..30")
    put.add_argument("--store-id", type=positive_int, required=True)
    return parser


def _add_operator_commands(commands: Any) -> None:
    """Operators' actions on a running API: the local one (python -m local api), or a deployed one."""
    actions = {
        "retry": "start a new attempt of a FAILED, TIMED_OUT or CANCELLED clone",
        "cancel": "cancel a clone that has not ended",
        "timeline": "where a clone spent its time, step by step",
        "erase-merchant": "erase the merchant's personal data from an ended clone and its attempts",
        "store": "suspend, resume or delete the store this stack created for an ended clone",
    }
    for name, text in actions.items():
        command = commands.add_parser(name, help=f"{text} (through the API)")
        command.add_argument("clone_id", metavar="CLONE_ID")
        if name == "retry":
            command.add_argument("--target-store-id", type=positive_int, help="the store, when the clone has none")
            command.add_argument("--confirm-target", action="store_true", help="the target was checked (emptied...)")
        if name == "cancel":
            command.add_argument("--reason", help="kept on the job as cancelReason")
        if name == "store":
            command.add_argument("action", choices=["suspend", "resume", "delete"])
        if name in ("retry", "cancel"):
            command.add_argument("--request-id", help="the same ID again acts once")
        _add_api_options(command)
    bulk = commands.add_parser("bulk", help="retry or cancel every clone a filter matches (through the API)")
    bulk.add_argument("--action", choices=["retry", "cancel"], required=True)
    bulk.add_argument("--status", required=True, help="the clones' status, e.g. WAITING (cancel) or FAILED (retry)")
    bulk.add_argument("--error-code")
    bulk.add_argument("--source-store-id", type=positive_int)
    bulk.add_argument("--target-store-id", type=positive_int)
    bulk.add_argument("--since", help="created at or after, an RFC 3339 date-time: 2026-11-26T00:00:00Z")
    bulk.add_argument("--dry-run", action="store_true", help="only count what matches")
    bulk.add_argument("--request-id", help="the same ID again starts nothing new")
    _add_api_options(bulk)
    status = commands.add_parser("bulk-status", help="a bulk action's progress (through the API)")
    status.add_argument("bulk_id", metavar="BULK_ID")
    _add_api_options(status)


def _add_ecwid_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--ecwid-base-url",
        help="use this Ecwid API instead of the sandbox; credentials from ECWID_CLIENT_ID / ECWID_CLIENT_SECRET "
        "(and ECWID_RESELLER_KEY, optional)",
    )


def _add_api_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--api-url", help=f"the API's base URL (default {LOCAL_API_URL}: python -m local api)")
    command.add_argument("--api-key", help="for ApiAuthMode=API_KEY (or STORE_CLONER_API_KEY)")
    command.add_argument("--sigv4", action="store_true", help="sign with your AWS credentials (ApiAuthMode=AWS_IAM)")
    command.add_argument("--region", help="for --sigv4 (default: from the API's host name)")


def operator_action(args: argparse.Namespace) -> int:
    """One call to the API; its answer printed as one JSON line with the HTTP status."""
    client = client_from(args.api_url, args.api_key, args.sigv4, args.region)
    method, path, body = operator_request(args)
    try:
        answer = client.call(method, path, body)
    except requests.RequestException as exc:
        print(
            json.dumps(
                {"httpStatus": None, "error": f"{type(exc).__name__}: the API at {client.api_url} did not answer"}
            )
        )
        return EXIT_FAILED
    try:
        payload = answer.json()
    except ValueError:
        payload = {"body": answer.text[:500]}
    print(
        json.dumps({"httpStatus": answer.status_code, **(payload if isinstance(payload, dict) else {"body": payload})})
    )
    return EXIT_COMPLETED if answer.ok else EXIT_FAILED


def operator_request(args: argparse.Namespace) -> tuple[str, str, dict[str, Any] | None]:
    """The API call an operator command makes: method, path, body."""
    if args.command == "bulk":
        names = {"error_code": "errorCode", "source_store_id": "sourceStoreId", "target_store_id": "targetStoreId"}
        bulk_filter = {"status": args.status, **{names.get(o, o): getattr(args, o) for o in (*names, "since")}}
        body = {"action": args.action, "filter": _present(bulk_filter), "dryRun": args.dry_run}
        return "POST", "/clones/bulk", _present({**body, "requestId": args.request_id}) | {"dryRun": args.dry_run}
    if args.command == "bulk-status":
        return "GET", f"/clones/bulk/{quote(args.bulk_id, safe='')}", None
    clone = f"/clones/{quote(args.clone_id, safe='')}"
    if args.command == "store":
        return "POST", f"{clone}/store/{args.action}", None
    if args.command in ("timeline", "erase-merchant"):
        return (
            ("GET", f"{clone}/timeline", None) if args.command == "timeline" else ("DELETE", f"{clone}/merchant", None)
        )
    if args.command == "retry":
        options = {"targetStoreId": args.target_store_id, "confirmTarget": args.confirm_target or None}
    else:
        options = {"reason": args.reason}
    return "POST", f"{clone}/{args.command}", _present({**options, "requestId": args.request_id})


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _add_merchant_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--merchant-email", help="instead of --target-store-id: create a store for this merchant first"
    )
    command.add_argument("--merchant-name", help="the merchant's name (with --merchant-email)")
    command.add_argument("--merchant-ip", help="the merchant's IP, for the store's location defaults (optional)")
    command.add_argument(
        "--merchant-store-name", help="the new store's name (default: the merchant's name; with --merchant-email)"
    )
    command.add_argument(
        "--profile",
        type=json_object,
        metavar="JSON",
        help='store profile fields to set after the clone, in Ecwid\'s shape: \'{"company": {"phone": "+1 555 0100"}}\'',
    )


def json_object(text: str) -> dict[str, Any]:
    """An argparse type: a JSON object."""
    try:
        value = json.loads(text)
    except ValueError as bad:
        raise argparse.ArgumentTypeError(f"must be a JSON object: {bad}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _merchant(args: argparse.Namespace) -> dict[str, str] | None:
    if not args.merchant_email:
        return None
    merchant = {"email": args.merchant_email, "name": args.merchant_name}
    if args.merchant_ip:
        merchant["ip"] = args.merchant_ip
    if args.merchant_store_name:
        merchant["storeName"] = args.merchant_store_name
    return merchant


def _check_target(parser: argparse.ArgumentParser, args: argparse.Namespace, command: str) -> None:
    """Exactly one of --target-store-id and --merchant-email; a merchant needs a name."""
    if args.target_store_id is not None and args.merchant_email:
        parser.error(f"{command}: give --target-store-id or --merchant-email, not both")
    if args.target_store_id is None and not args.merchant_email:
        parser.error(f"{command}: --target-store-id or --merchant-email (with --merchant-name) is required")
    if args.merchant_email and not args.merchant_name:
        parser.error(f"{command}: --merchant-name is required with --merchant-email")
    if (args.merchant_name or args.merchant_ip or args.merchant_store_name) and not args.merchant_email:
        parser.error(f"{command}: --merchant-name, --merchant-ip and --merchant-store-name go with --merchant-email")


def _add_stack_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--poll-scale", type=positive_float, default=0.02)
    command.add_argument("--sandbox-clone-seconds", type=positive_float, default=6.0)
    command.add_argument("--log-file", help="write the handlers' JSON log lines to this file")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on bad arguments
    if args.command in ("retry", "cancel", "timeline", "erase-merchant", "store", "bulk", "bulk-status"):
        return operator_action(args)
    if args.command == "api":
        return serve_api(args, ecwid_options(parser, args))
    if args.command == "console":
        return serve_console(args, ecwid_options(parser, args))
    if args.command == "openapi":
        print(json.dumps(api_document(), indent=2))
        return 0
    if args.command == "store-tokens":
        return store_tokens_command(args)
    if args.command == "send-signup":
        if args.message is None:
            _check_target(parser, args, "send-signup")
        return send_signup(args)
    _check_target(parser, args, "clone")
    if args.request_id and args.signup_id:
        parser.error("clone: give --request-id or --signup-id, not both")
    if args.source_store_id == args.target_store_id:
        parser.error("--target-store-id: must differ from --source-store-id")
    return run_clone(parser, args, ecwid_options(parser, args))


def ecwid_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, Any]:
    """The stack's Ecwid: the sandbox, or --ecwid-base-url with the app's credentials from the environment."""
    if not args.ecwid_base_url:
        return {}
    missing = [name for name in ("ECWID_CLIENT_ID", "ECWID_CLIENT_SECRET") if not os.environ.get(name)]
    if missing:
        parser.error(f"--ecwid-base-url needs the environment variables {', '.join(missing)}")
    credentials = (os.environ["ECWID_CLIENT_ID"], os.environ["ECWID_CLIENT_SECRET"])
    # The partner's reseller key, if given, goes where the credentials secret holds it.
    reseller_key = os.environ.get("ECWID_RESELLER_KEY")
    return {"ecwid_base_url": args.ecwid_base_url, "credentials": credentials, "reseller_key": reseller_key}


def clone_body(args: argparse.Namespace) -> dict[str, Any]:
    """The request as the API takes it (and validates it)."""
    body: dict[str, Any] = {"sourceStoreId": args.source_store_id}
    merchant = _merchant(args)
    if merchant:
        body["merchant"] = merchant
    else:
        body["targetStoreId"] = args.target_store_id
    body.update(scope=args.scope, cloneDemoCatalog=args.clone_demo_catalog)
    if args.instant_site:
        body["instantSite"] = {"draft": args.instant_site == "draft"}
    if args.profile is not None:
        body["profile"] = args.profile
    if args.request_id:
        body["requestId"] = args.request_id
    return body


def invalid_request(parser: argparse.ArgumentParser, bad: ValidationError) -> NoReturn:
    """Exit 2 naming every bad field, as the API's 400 does."""
    problems = "; ".join(f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}" for problem in bad.errors())
    parser.error(f"invalid request: {problems}")


def run_clone(parser: argparse.ArgumentParser, args: argparse.Namespace, ecwid: dict[str, Any]) -> int:
    poll_scale = args.poll_scale or (1.0 if args.ecwid_base_url else 0.02)
    body = clone_body(args)
    try:  # before anything starts: a bad request exits 2 naming the field
        CloneRequestBody.model_validate(body)
    except ValidationError as bad:
        invalid_request(parser, bad)
    started = time.monotonic()
    say(
        f"Starting the local stack (moto + {'Ecwid at ' + args.ecwid_base_url if args.ecwid_base_url else 'the Ecwid sandbox'})"
    )
    with _local_stack(
        args,
        poll_scale=poll_scale,
        deadline_seconds=args.deadline_seconds,
        **ecwid,
    ) as stack:
        if args.instant_site and stack.sandbox and args.target_store_id:
            # What an operator does once per store: its secret_token into its own secret.
            # (A store created for a merchant has its token kept by CreateStore.)
            stack.put_store_secret(args.target_store_id, stack.sandbox.store_secret_token(args.target_store_id))
        if args.profile is not None and stack.sandbox and args.target_store_id:
            stack.put_store_secret(args.target_store_id, stack.sandbox.store_secret_token(args.target_store_id))
        clone_id = start_clone(stack, args)
        into = f"a new store for {args.merchant_email}" if args.merchant_email else f"store {args.target_store_id}"
        say(
            f"Clone {clone_id}: store {args.source_store_id} -> {into}, "
            f"scope {args.scope or 'CATALOG+STORE_SETTINGS'}, poll scale {poll_scale}"
        )
        stack.wait(stack.execution_arn(clone_id), on_event=print_progress)
        job = stack.job(clone_id) or {}
        target = _int_or_none(job.get("targetStoreId"))
        if job.get("status") == JobStatus.COMPLETED and args.show_mappings > 0 and target:
            print_mappings(stack, clone_id, target, args.show_mappings)
        if job.get("profile") and target:
            print_profiles(stack, args.source_store_id, target)
        events = [event["detail-type"] for event in stack.delivered_events(clone_id)]
        say(f"Events delivered: {', '.join(events) or 'none'}")
    summary: dict[str, Any] = {
        "cloneId": clone_id,
        "status": job.get("status"),
        "targetStoreId": target,
        "ticket": job.get("ticket"),
        **{entity: _int_or_none(job.get(entity)) for entity in Entity},  # how many of each were mapped
        "errorCode": job.get("errorCode"),
        "errorMessage": job.get("errorMessage"),
        "seconds": round(time.monotonic() - started, 2),
    }
    for step in ("profile", "instantSite"):
        if step in job:
            summary[step] = plain(job[step])
    summary["events"] = events
    print(json.dumps(summary), flush=True)
    return EXIT_COMPLETED if summary["status"] == JobStatus.COMPLETED else EXIT_FAILED


def start_clone(stack: Any, args: argparse.Namespace) -> str:
    """Start the clone ``args`` ask for as the API starts one (or the signup consumer, with
    --signup-id): the same validation, launcher, clone ID and job. Its clone ID."""
    clone_id, _ = stack.launch(clone_body(args), signup_id=args.signup_id)
    return str(clone_id)


def _local_stack(args: argparse.Namespace, **options: Any):
    """The local stack every command runs on; ``options`` go to LocalStack as they are."""
    from local.ecwid_sandbox import SandboxConfig
    from local.stack import LocalStack

    options.setdefault("poll_scale", args.poll_scale)
    return LocalStack(
        sandbox_config=SandboxConfig(clone_seconds=args.sandbox_clone_seconds, queued_seconds=1.0),
        log_path=args.log_file,
        **options,
    )


def api_document() -> dict[str, Any]:
    """The document ApiFunction serves at GET /openapi.json, without a stack."""
    from local.lambda_endpoint import load_module
    from local.template_model import TemplateModel

    return load_module(TemplateModel().functions()["ApiFunction"]).api_document()


def serve_api(args: argparse.Namespace, ecwid: dict[str, Any]) -> int:
    """Turn each HTTP request into API Gateway's proxy event for the real ApiFunction."""
    from local import serving
    from local.sigv4 import SigV4Verifier

    with _local_stack(args, **ecwid) as stack:
        serving.serve_api(stack, args.port, say, SigV4Verifier() if args.verify_sigv4 else None)
    return 0


def serve_console(args: argparse.Namespace, ecwid: dict[str, Any]) -> int:
    """The console's page and the local API beside it, and (on the sandbox) a small campaign to watch."""
    from local import serving

    demo = args.demo_clones if args.demo_clones is not None else (0 if args.ecwid_base_url else 12)
    with _local_stack(args, **ecwid) as stack:
        stack.configure(MAX_CLONES_IN_FLIGHT=str(args.max_clones_in_flight))
        console = serving.console_server(stack, args.port, args.refresh_seconds, say).bind()
        say(
            f"store-cloner console on {console.url} (the API at {console.url}v1; "
            f"{'Ecwid sandbox' if stack.sandbox else 'Ecwid at ' + str(stack.ecwid_base_url)}, "
            f"MaxClonesInFlight {args.max_clones_in_flight}; Ctrl-C stops)"
        )
        if demo > 0:
            say(f"Starting {demo} demo clones through the API, one every {args.demo_every:g} s")
            serving.start_demo_clones(stack, demo, args.demo_every, say)
        console.serve_forever()
    return 0


def send_signup(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.message is not None:
        message: Any = args.message
    else:
        message = {"signupId": args.signup_id or f"signup-{uuid.uuid4()}"}
        merchant = _merchant(args)
        if merchant:
            message["merchant"] = merchant
        else:
            message["targetStoreId"] = args.target_store_id
        if args.source_store_id:
            message["sourceStoreId"] = args.source_store_id
        if args.scope:
            message["scope"] = args.scope
        if args.instant_site:
            message["instantSite"] = {"draft": args.instant_site == "draft"}
        if args.profile is not None:
            message["profile"] = args.profile
    with _local_stack(args) as stack:
        if (args.instant_site or args.profile is not None) and args.target_store_id:
            stack.put_store_secret(args.target_store_id, stack.sandbox.store_secret_token(args.target_store_id))
        for _ in range(args.times):
            say(
                f"Sent {message if isinstance(message, str) else json.dumps(message)} as message {stack.send_signup(message)}"
            )
            counts = stack.drain_signups()
            say(
                f"Consumer: {counts['batches']} batches, {counts['records']} deliveries, {counts['failures']} item failures"
            )
        dead = stack.dead_letters()
        executions = stack.executions()
        say(f"Dead-letter queue: {len(dead)} messages; executions started: {len(executions)}")
        jobs = []
        for execution in executions:
            say(f"Waiting for clone {execution['name']}")
            stack.wait(execution["executionArn"], on_event=print_progress)
            jobs.append(stack.job(execution["name"]) or {})
        job = jobs[0] if jobs else {}
        events = [event["detail-type"] for event in stack.delivered_events(job.get("cloneId"))] if job else []
    summary: dict[str, Any] = {
        "signupId": _signup_id(message),
        "cloneId": job.get("cloneId"),
        "status": job.get("status"),
        "targetStoreId": _int_or_none(job.get("targetStoreId")),
        "executions": len(executions),
        "deadLetters": len(dead),
        **{entity: _int_or_none(job.get(entity)) for entity in Entity},  # how many of each were mapped
        "errorCode": job.get("errorCode"),
        **{step: plain(job[step]) for step in ("profile", "instantSite") if step in job},
        "events": events,
        "seconds": round(time.monotonic() - started, 2),
    }
    print(json.dumps(summary), flush=True)
    return EXIT_COMPLETED if summary["status"] == JobStatus.COMPLETED and not dead else EXIT_FAILED


def store_tokens_command(args: argparse.Namespace) -> int:
    """migrate: the old secrets into the table (a JSON report: counts, and what was skipped and why);
    put: one store's token from stdin. Never prints a token."""
    import sys

    import boto3

    from ecwid_cloner.data.store_tokens import LegacySecrets, StoreTokens, migrate_legacy_secrets
    from ecwid_cloner.ecwid.credentials import read_secret

    if args.region:  # the old secrets are read through Powertools, whose client takes the default region
        os.environ["AWS_DEFAULT_REGION"] = args.region
    session = boto3.Session(region_name=args.region)
    legacy_prefix = getattr(args, "prefix", None)
    legacy = LegacySecrets(legacy_prefix, read_secret) if legacy_prefix else None
    tokens = StoreTokens(session.resource("dynamodb").Table(args.table), session.client("kms"), args.key, legacy)
    if args.action == "put":
        token = sys.stdin.readline().strip()
        if not token:
            say("store-tokens put: no token on stdin (pipe it in, e.g. from a file: < token.txt)")
            return EXIT_BAD_ARGS
        tokens.write(args.store_id, token)
        saved = tokens.has_token(args.store_id)
        print(json.dumps({"storeId": args.store_id, "saved": saved}), flush=True)
        return EXIT_COMPLETED if saved else EXIT_FAILED
    report = migrate_legacy_secrets(
        tokens,
        session.client("secretsmanager"),
        LegacySecrets(args.prefix, read_secret),
        delete_secrets=args.delete_secrets,
        recovery_days=args.recovery_days,
    )
    print(json.dumps(report.to_dict()), flush=True)
    return EXIT_FAILED if report.skipped else EXIT_COMPLETED


def _signup_id(message: Any) -> str | None:
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:
            return None
    return message.get("signupId") if isinstance(message, dict) else None


def print_progress(event: dict[str, Any]) -> None:
    """One line per step worth seeing: states entered, Ecwid's answers, the next wait, errors."""
    kind = event["type"]
    if kind.endswith("StateEntered"):
        name = event["stateEnteredEventDetails"]["name"]
        if name in ("WaitForClone", "RouteByStatus", "RouteByTarget"):
            return  # the previous line already said where it goes and how long
        say(f"-> {name}")
    elif kind in ("LambdaFunctionSucceeded", "TaskSucceeded"):
        details = event.get("lambdaFunctionSucceededEventDetails") or event.get("taskSucceededEventDetails") or {}
        state = json.loads(details.get("output") or "{}")
        if "detailType" in state:  # DescribeOutcome
            say(f"   event {state['detailType']}: {json.dumps(state.get('detail'))}")
            return
        if "Entries" in state:  # the native PutEvents
            say(f"   published, event id {(state['Entries'] or [{}])[0].get('EventId')}")
            return
        say(describe_state(CloneState.from_state(state)) if "request" in state else f"   status {state.get('status')}")
    elif kind == "LambdaFunctionFailed":
        details = event["lambdaFunctionFailedEventDetails"]
        cause = details.get("cause") or ""
        try:
            cause = json.loads(cause).get("errorMessage", cause)
        except ValueError:
            pass
        say(f"   error {details.get('error')}: {cause}")
    elif kind == "ExecutionSucceeded":
        say("Execution succeeded")
    elif kind == "ExecutionFailed":
        details = event.get("executionFailedEventDetails") or {}
        say(f"Execution failed: {details.get('error')}: {details.get('cause')}")


def describe_state(state: CloneState) -> str:
    """A step's output in one line: the store made, the ticket, the counts or the failure, the next poll."""
    line = f"   status {state.status}"
    if state.store:
        line = f"   created store {state.store.store_id} (token kept: {state.store.token_saved})"
    if state.ticket:
        line += f", ticket {state.ticket}"
    if state.profile:
        outcome = state.profile
        line += f", profile {outcome.status}: " + (
            f"{len(outcome.fields or ())} fields set" if not outcome.error else outcome.error.error_code
        )
    elif state.result:
        line += f", mapped {state.result['products']} products and {state.result['categories']} categories"
    elif state.failure:
        line += f", {state.failure.error_code}: {state.failure.error_message}"
    elif state.poll is not None:
        line += f", next poll in {state.poll.wait_seconds} s (polls so far: {state.poll.attempt})"
    if state.poll is not None and state.poll.last_error:
        line += f" [last poll failed: {state.poll.last_error}]"
    return line


def print_profiles(stack, source_store_id: int, target_store_id: int) -> None:
    """The new store's profile as Ecwid serves it (GET /{storeId}/profile with the store's token),
    beside the template's, for the fields a clone copies and PersonalizeStore sets."""
    rows = [
        ("store name", ("settings", "storeName")),
        ("company", ("company", "companyName")),
        ("company e-mail", ("company", "email")),
        ("phone", ("company", "phone")),
        ("street", ("company", "street")),
        ("notification e-mails", ("mailNotifications", "adminNotificationEmails")),
    ]
    profiles = {store_id: stack.read_store_profile(store_id) for store_id in (source_store_id, target_store_id)}
    if profiles[target_store_id] is None:
        say("   (the new store's profile cannot be read here: its token is not at hand)")
        return
    say(f"   {'profile field':<22} {'template ' + str(source_store_id):<50} new store {target_store_id}")
    for label, (section, name) in rows:
        values = [((profile or {}).get(section) or {}).get(name) for profile in profiles.values()]
        shown = [", ".join(v) if isinstance(v, list) else ("" if v is None else str(v)) for v in values]
        say(f"   {label:<22} {shown[0] or '-':<50} {shown[1] or '-'}")
    site = stack.sandbox.store(target_store_id)["siteProfile"] if stack.sandbox else None
    if site:
        say(
            f"   {'Instant Site name':<22} {stack.sandbox.store(source_store_id)['siteProfile']['storeName']:<50} {site['storeName']}"
        )


def print_mappings(stack, clone_id: str, target_store_id: int, count: int) -> None:
    store = stack.mapping_store()
    for entity in Entity:
        page, _ = store.page(clone_id, entity, limit=count)
        for source_id in page:
            # Read back through the lookup users make: target store + source ID.
            looked_up = store.get(target_store_id, entity, source_id)
            noun = "category" if entity == Entity.CATEGORIES else "product"
            say(f"   {noun} {source_id} -> {looked_up}  (read from DynamoDB {stack.mappings_table})")


def say(line: str) -> None:
    print(line, flush=True)


def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None
