"""python -m local clone …: run one clone through the local stack, end to end; and
python -m local store-tokens …: an operator's commands on a deployed stack's store tokens."""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from typing import Any

from ecwid_cloner.clone_state import CloneState

EXIT_COMPLETED, EXIT_FAILED, EXIT_BAD_ARGS = 0, 1, 2


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
    clone.add_argument("--scope", choices=["CATALOG", "STORE_SETTINGS"])
    clone.add_argument("--clone-demo-catalog", action="store_true")
    clone.add_argument(
        "--instant-site",
        choices=["draft", "publish"],
        help="after the store clone, clone the Instant Site too (as a draft, or published)",
    )
    clone.add_argument("--request-id", help="idempotency key (default: a new one per run)")
    clone.add_argument(
        "--ecwid-base-url",
        help="use this Ecwid API instead of the sandbox; credentials from ECWID_CLIENT_ID / ECWID_CLIENT_SECRET "
        "(and ECWID_RESELLER_KEY, optional)",
    )
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

    commands.add_parser(
        "openapi", help="print the API's OpenAPI document, generated from its routes (docs/openapi.json)"
    )
    signup = commands.add_parser("send-signup", help="put a signup message on the local queue and run the consumer")
    signup.add_argument("--target-store-id", type=positive_int)
    _add_merchant_options(signup)
    signup.add_argument("--signup-id", help="default: a new one")
    signup.add_argument("--source-store-id", type=positive_int, help="default: the template store (TemplateStoreId)")
    signup.add_argument("--scope", choices=["CATALOG", "STORE_SETTINGS"])
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


def _add_merchant_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--merchant-email", help="instead of --target-store-id: create a store for this merchant first"
    )
    command.add_argument("--merchant-name", help="the merchant's name (with --merchant-email)")
    command.add_argument("--merchant-ip", help="the merchant's IP, for the store's location defaults (optional)")


def _merchant(args: argparse.Namespace) -> dict[str, str] | None:
    if not args.merchant_email:
        return None
    merchant = {"email": args.merchant_email, "name": args.merchant_name}
    if args.merchant_ip:
        merchant["ip"] = args.merchant_ip
    return merchant


def _check_target(parser: argparse.ArgumentParser, args: argparse.Namespace, command: str) -> None:
    """Exactly one of --target-store-id and --merchant-email; a merchant needs a name."""
    if args.target_store_id is not None and args.merchant_email:
        parser.error(f"{command}: give --target-store-id or --merchant-email, not both")
    if args.target_store_id is None and not args.merchant_email:
        parser.error(f"{command}: --target-store-id or --merchant-email (with --merchant-name) is required")
    if args.merchant_email and not args.merchant_name:
        parser.error(f"{command}: --merchant-name is required with --merchant-email")
    if (args.merchant_name or args.merchant_ip) and not args.merchant_email:
        parser.error(f"{command}: --merchant-name and --merchant-ip go with --merchant-email")


def _add_stack_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--poll-scale", type=positive_float, default=0.02)
    command.add_argument("--sandbox-clone-seconds", type=positive_float, default=6.0)
    command.add_argument("--log-file", help="write the handlers' JSON log lines to this file")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on bad arguments
    if args.command == "api":
        return serve_api(args)
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
    credentials = None
    if args.ecwid_base_url:
        missing = [name for name in ("ECWID_CLIENT_ID", "ECWID_CLIENT_SECRET") if not os.environ.get(name)]
        if missing:
            parser.error(f"--ecwid-base-url needs the environment variables {', '.join(missing)}")
        credentials = (os.environ["ECWID_CLIENT_ID"], os.environ["ECWID_CLIENT_SECRET"])
    return run_clone(args, credentials)


def run_clone(args: argparse.Namespace, credentials: tuple[str, str] | None) -> int:
    poll_scale = args.poll_scale or (1.0 if args.ecwid_base_url else 0.02)
    merchant = _merchant(args)
    request: dict[str, Any] = {"sourceStoreId": args.source_store_id}
    if merchant:
        request["merchant"] = merchant
    else:
        request["targetStoreId"] = args.target_store_id
    request.update(scope=args.scope, cloneDemoCatalog=args.clone_demo_catalog)
    if args.instant_site:
        request["instantSite"] = {"draft": args.instant_site == "draft"}
    started = time.monotonic()
    say(
        f"Starting the local stack (moto + {'Ecwid at ' + args.ecwid_base_url if args.ecwid_base_url else 'the Ecwid sandbox'})"
    )
    with _local_stack(
        args,
        poll_scale=poll_scale,
        ecwid_base_url=args.ecwid_base_url,
        credentials=credentials,
        deadline_seconds=args.deadline_seconds,
        # Against another Ecwid: the partner's reseller key, if given, as the credentials secret holds it.
        reseller_key=os.environ.get("ECWID_RESELLER_KEY") if args.ecwid_base_url else None,
    ) as stack:
        from ecwid_cloner.models import clone_id_for, clone_id_for_merchant

        if args.instant_site and stack.sandbox and not merchant:
            # What an operator does once per store: its secret_token into its own secret.
            # (A store created for a merchant has its token kept by CreateStore.)
            stack.put_store_secret(args.target_store_id, stack.sandbox.store_secret_token(args.target_store_id))
        key = f"signup-{args.signup_id}" if args.signup_id else args.request_id
        if merchant:
            clone_id = clone_id_for_merchant(merchant["email"], key or str(uuid.uuid4()))
            into = f"a new store for {merchant['email']}"
        else:
            clone_id = clone_id_for(args.target_store_id, key or str(uuid.uuid4()))
            into = f"store {args.target_store_id}"
        say(
            f"Clone {clone_id}: store {args.source_store_id} -> {into}, "
            f"scope {args.scope or 'CATALOG+STORE_SETTINGS'}, poll scale {poll_scale}"
        )
        origin = (
            {"signupId": args.signup_id}
            if args.signup_id
            else {"requestId": args.request_id}
            if args.request_id
            else {}
        )
        stack.record_intent(clone_id, request, origin)  # as the API and the signup consumer do
        execution_arn = stack.start_clone(clone_id, request)
        stack.wait(execution_arn, on_event=print_progress)
        job = stack.job(clone_id) or {}
        target = _int_or_none(job.get("targetStoreId"))
        if job.get("status") == "COMPLETED" and args.show_mappings > 0 and target:
            print_mappings(stack, clone_id, target, args.show_mappings)
        events = [event["detail-type"] for event in stack.delivered_events(clone_id)]
        say(f"Events delivered: {', '.join(events) or 'none'}")
    summary = {
        "cloneId": clone_id,
        "status": job.get("status"),
        "targetStoreId": target,
        "ticket": job.get("ticket"),
        "products": _int_or_none(job.get("products")),
        "categories": _int_or_none(job.get("categories")),
        "errorCode": job.get("errorCode"),
        "errorMessage": job.get("errorMessage"),
        "seconds": round(time.monotonic() - started, 2),
    }
    if "instantSite" in job:
        summary["instantSite"] = job["instantSite"]
    summary["events"] = events
    print(json.dumps(summary), flush=True)
    return EXIT_COMPLETED if summary["status"] == "COMPLETED" else EXIT_FAILED


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


def serve_api(args: argparse.Namespace) -> int:
    """Turn each HTTP request into API Gateway's proxy event for the real ApiFunction."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from local.api_gateway import refusal, response_parts, rest_event

    with _local_stack(args) as stack:

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                answer = refusal(self.command, self.path) or stack.invoke_raw(
                    "ApiFunction", rest_event(self.command, self.path, body, dict(self.headers.items()))
                )
                status, headers, payload = response_parts(answer)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def __getattr__(self, name: str):
                if name.startswith("do_"):  # every method, as API Gateway takes any (and refuses the undeclared)
                    return self._serve
                raise AttributeError(name)

            def log_message(self, format, *values):
                say(f"{self.command} {self.path} -> {values[1] if len(values) > 1 else ''}")

        server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
        say(
            f"store-cloner API on http://127.0.0.1:{server.server_address[1]}/v1 "
            f"(Ecwid sandbox at {stack.ecwid_base_url}; Ctrl-C stops)"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
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
    with _local_stack(args) as stack:
        if args.instant_site and args.target_store_id:
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
    summary = {
        "signupId": _signup_id(message),
        "cloneId": job.get("cloneId"),
        "status": job.get("status"),
        "targetStoreId": _int_or_none(job.get("targetStoreId")),
        "executions": len(executions),
        "deadLetters": len(dead),
        "products": _int_or_none(job.get("products")),
        "categories": _int_or_none(job.get("categories")),
        "errorCode": job.get("errorCode"),
        "events": events,
        "seconds": round(time.monotonic() - started, 2),
    }
    print(json.dumps(summary), flush=True)
    return EXIT_COMPLETED if summary["status"] == "COMPLETED" and not dead else EXIT_FAILED


def store_tokens_command(args: argparse.Namespace) -> int:
    """migrate: the old secrets into the table (a JSON report: counts, and what was skipped and why);
    put: one store's token from stdin. Never prints a token."""
    import sys

    import boto3

    from ecwid_cloner.instant_site import load_store_secret_token
    from ecwid_cloner.store_tokens import StoreTokens, migrate_legacy_secrets

    if args.region:  # the old secrets are read through Powertools, whose client takes the default region
        os.environ["AWS_DEFAULT_REGION"] = args.region
    session = boto3.Session(region_name=args.region)
    legacy_prefix = getattr(args, "prefix", None)
    tokens = StoreTokens(
        session.resource("dynamodb").Table(args.table),
        session.client("kms"),
        args.key,
        legacy=(lambda store_id: load_store_secret_token(legacy_prefix, store_id)) if legacy_prefix else None,
    )
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
        args.prefix,
        read_secret_token=lambda store_id: load_store_secret_token(args.prefix, store_id),
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
        line = f"   created store {state.store['storeId']} (token kept: {state.store['tokenSaved']})"
    if state.ticket:
        line += f", ticket {state.ticket}"
    if state.result:
        line += f", mapped {state.result['products']} products and {state.result['categories']} categories"
    elif state.failure:
        line += f", {state.failure['errorCode']}: {state.failure['errorMessage']}"
    elif state.poll is not None:
        line += f", next poll in {state.poll.wait_seconds} s (polls so far: {state.poll.attempt})"
    if state.poll is not None and state.poll.last_error:
        line += f" [last poll failed: {state.poll.last_error}]"
    return line


def print_mappings(stack, clone_id: str, target_store_id: int, count: int) -> None:
    store = stack.mapping_store()
    for entity in ("products", "categories"):
        page, _ = store.page(clone_id, entity, limit=count)
        for source_id in page:
            # Read back through the lookup users make: target store + source ID.
            looked_up = store.get(target_store_id, entity, source_id)
            noun = "category" if entity == "categories" else "product"
            say(f"   {noun} {source_id} -> {looked_up}  (read from DynamoDB {stack.mappings_table})")


def say(line: str) -> None:
    print(line, flush=True)


def _int_or_none(value: Any) -> int | None:
    return int(value) if value is not None else None
