"""A local stand-in for the Lambda Invoke API that runs the project's real handlers.

moto's Step Functions interpreter invokes Lambdas with boto3; pointing
AWS_ENDPOINT_URL_LAMBDA here makes those calls run ``functions/*/app.py`` in
this process, where moto also answers the handlers' own AWS calls.

Like Lambda, each execution environment serves one invocation at a time:
concurrent invocations of a function run in separate environments (separate
loads of its module), so module-level state such as the signup consumer's
batch processor is never shared by two invocations in flight. State a library
keeps for the whole process is another matter: in Lambda a process is one
environment, here it is all of them, so such code takes turns (see below).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import random
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from urllib.parse import unquote

from local.template_model import ACCOUNT, REGION, FunctionSpec


class LambdaContext:
    """The attributes Powertools reads from a real Lambda context."""

    def __init__(self, function_name: str, timeout_seconds: float = 900):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_module(spec: FunctionSpec) -> ModuleType:
    """A fresh load of the function's handler module: one execution environment's."""
    path = spec.code_dir / f"{spec.module}.py"
    module_spec = importlib.util.spec_from_file_location(f"lambda_{spec.logical_id}", path)
    assert module_spec is not None and module_spec.loader is not None, path
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def load_handler(spec: FunctionSpec) -> Callable:
    return getattr(load_module(spec), spec.handler)


# Powertools' event handler keeps the current event and context in class attributes
# of BaseRouter, shared by every resolver of the process. In Lambda that process is one
# environment serving one invocation; here two API invocations in flight would read
# each other's event (a POST for store 2003 started the clone of 2004). So resolvers
# take turns: the API's answers stay correct, only its local concurrency is one.
_PROCESS_STATE_LOCK = threading.RLock()


def _resolvers_take_turns() -> None:
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

    resolve = ApiGatewayResolver.resolve
    if getattr(resolve, "takes_turns", False):
        return

    @functools.wraps(resolve)
    def resolve_in_turn(self, event, context):
        with _PROCESS_STATE_LOCK:
            return resolve(self, event, context)

    resolve_in_turn.takes_turns = True  # type: ignore[attr-defined]
    ApiGatewayResolver.resolve = resolve_in_turn  # type: ignore[method-assign]


class _Server(ThreadingHTTPServer):
    # Dozens of executions invoke at once: the default listen backlog of 5
    # would refuse connections that real Lambda would have taken.
    request_queue_size = 512
    daemon_threads = True


class LambdaEndpoint:
    def __init__(self, functions: dict[str, FunctionSpec]):
        self._specs = functions
        self._idle: dict[str, list[Callable]] = {name: [] for name in functions}  # warm environments
        self._lock = threading.Lock()
        self.environments_started: dict[str, int] = {name: 0 for name in functions}  # cold starts
        self.invocations: list[dict] = []  # function name, error type, seconds
        # Fault switch: per function, the share of invocations whose handler runs to
        # the end but whose result is lost, as when a Lambda times out after its
        # last side effect. Step Functions then sees Sandbox.Timedout.
        self.lost_result_rate: dict[str, float] = {}
        self._random = random.Random(7)
        self._server = _Server(("127.0.0.1", 0), self._request_handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> LambdaEndpoint:
        _resolvers_take_turns()
        threading.Thread(target=self._server.serve_forever, name="lambda-endpoint", daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @contextmanager
    def environment(self, name: str) -> Iterator[Callable]:
        """An idle environment's handler, or a new environment's (a cold start), for one invocation."""
        with self._lock:
            handler = self._idle[name].pop() if self._idle[name] else None
            if handler is None:
                self.environments_started[name] += 1
        if handler is None:
            handler = load_handler(self._specs[name])
        try:
            yield handler
        finally:
            with self._lock:
                self._idle[name].append(handler)

    def invoke(self, name: str, payload: bytes) -> tuple[bytes, str | None]:
        """Run one invocation; returns (response payload, function error or None)."""
        started = time.monotonic()
        error_type = None
        context = LambdaContext(name)
        try:
            with self.environment(name) as handler:
                result = handler(json.loads(payload or b"{}"), context)
            body = json.dumps(result).encode()
        except Exception as exc:  # what the Lambda runtime reports for an unhandled error
            error_type = type(exc).__name__
            body = json.dumps(
                {
                    "errorMessage": str(exc),
                    "errorType": error_type,
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }
            ).encode()
        if error_type is None and self._random.random() < self.lost_result_rate.get(name, 0.0):
            error_type = "Sandbox.Timedout"
            body = json.dumps(
                {"errorType": error_type, "errorMessage": f"RequestId: {context.aws_request_id} Error: Task timed out"}
            ).encode()
        self.invocations.append({"function": name, "error": error_type, "seconds": time.monotonic() - started})
        return body, ("Unhandled" if error_type else None)

    def _request_handler(self):
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # POST /2015-03-31/functions/{name or ARN}/invocations
                parts = self.path.split("?")[0].split("/")
                if len(parts) < 5 or parts[2] != "functions" or parts[4] != "invocations":
                    self.send_error(404)
                    return
                name = unquote(parts[3]).split(":")[-1] if ":function:" in unquote(parts[3]) else unquote(parts[3])
                if name not in endpoint._specs:
                    body = json.dumps({"Type": "User", "message": f"Function not found: {name}"}).encode()
                    self.send_response(404)
                    self.send_header("x-amzn-ErrorType", "ResourceNotFoundException")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                payload = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body, function_error = endpoint.invoke(name, payload)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Amz-Executed-Version", "$LATEST")
                if function_error:
                    self.send_header("X-Amz-Function-Error", function_error)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet: the runner prints its own progress
                pass

        return Handler
