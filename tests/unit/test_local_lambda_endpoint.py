"""The local Lambda endpoint runs invocations the way Lambda does: one at a time per environment."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from local.lambda_endpoint import LambdaEndpoint
from local.template_model import FunctionSpec

# Keeps the event in module state, like the API's resolver keeps the current event,
# and holds it long enough for a second invocation in flight to overwrite it.
HANDLER = """
import time
current_event = None

def handler(event, context):
    global current_event
    current_event = event
    time.sleep(0.1)
    return current_event
"""


@pytest.fixture
def endpoint(tmp_path):
    (tmp_path / "app.py").write_text(HANDLER)
    spec = FunctionSpec("EchoFunction", tmp_path, "app", "handler", {})
    running = LambdaEndpoint({"EchoFunction": spec}).start()
    yield running
    running.stop()


def invoke(endpoint: LambdaEndpoint, event: dict) -> dict:
    answer = requests.post(
        f"{endpoint.url}/2015-03-31/functions/EchoFunction/invocations", data=json.dumps(event), timeout=10
    )
    assert answer.status_code == 200 and "X-Amz-Function-Error" not in answer.headers
    return answer.json()


def test_concurrent_invocations_never_share_an_environment(endpoint):
    start_together = threading.Barrier(8)

    def call(n: int) -> dict:
        start_together.wait()
        return invoke(endpoint, {"n": n})

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(call, range(8)))

    assert [answer["n"] for answer in answers] == list(range(8))  # each saw its own event
    assert endpoint.environments_started["EchoFunction"] > 1


def test_an_idle_environment_is_reused(endpoint):
    for n in range(3):
        assert invoke(endpoint, {"n": n}) == {"n": n}
    assert endpoint.environments_started["EchoFunction"] == 1  # one cold start, then warm


# Reads the current event after a pause, as the API's routes do; Powertools keeps
# it in class attributes, i.e. once per process.
RESOLVER_HANDLER = """
import time
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

app = APIGatewayRestResolver()

@app.get("/echo/<n>")
def echo(n):
    time.sleep(0.05)
    return {"n": n, "path": app.current_event.path}

def handler(event, context):
    return app.resolve(event, context)
"""


def test_concurrent_api_invocations_each_read_their_own_event(tmp_path):
    from local.api_gateway import rest_event

    (tmp_path / "app.py").write_text(RESOLVER_HANDLER)
    endpoint = LambdaEndpoint({"EchoApi": FunctionSpec("EchoApi", tmp_path, "app", "handler", {})}).start()
    start_together = threading.Barrier(6)

    def call(n: int) -> dict:
        start_together.wait()
        answer = requests.post(
            f"{endpoint.url}/2015-03-31/functions/EchoApi/invocations",
            data=json.dumps(rest_event("GET", f"/echo/{n}")),
            timeout=10,
        )
        return json.loads(answer.json()["body"])

    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(call, range(6)))
    finally:
        endpoint.stop()
    assert answers == [{"n": str(n), "path": f"/echo/{n}"} for n in range(6)]
