"""The console's server: the page and /v1 on loopback only, nothing for another Host (DNS
rebinding) or another site's page, only what the API reads passed on, only what the page reads
passed back."""

from __future__ import annotations

import http.client
import json

import pytest

from console.server import ConsoleServer


class Recorder:
    """A Forward that answers like the API and keeps what it was given."""

    def __init__(self):
        self.calls: list[tuple[str, str, bytes | None, dict[str, str]]] = []

    def __call__(self, method, under, body, headers):
        self.calls.append((method, under, body, headers))
        answer_headers = {"Content-Type": "application/json", "x-amzn-RequestId": "r-1", "Set-Cookie": "a=b"}
        return 200, answer_headers, json.dumps({"under": under}).encode()


@pytest.fixture
def served():
    forward = Recorder()
    with ConsoleServer(forward, {"mode": "deployed", "api": "example.execute-api", "auth": "SigV4"}).start() as console:
        yield console, forward


def request(console, method, path, headers=None, body=None, host=None):
    connection = http.client.HTTPConnection("127.0.0.1", console.bound_port, timeout=10)
    sent = {"Host": host if host is not None else f"127.0.0.1:{console.bound_port}", **(headers or {})}
    connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for name, value in sent.items():
        connection.putheader(name, value)
    payload = body or b""
    connection.putheader("Content-Length", str(len(payload)))
    connection.endheaders(payload)
    answer = connection.getresponse()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def test_it_listens_on_loopback_only(served):
    console, _ = served
    assert console._server.server_address[0] == "127.0.0.1"
    assert console.url == f"http://127.0.0.1:{console.bound_port}/"


def test_the_page_and_its_files_are_served_with_a_strict_policy(served):
    console, _ = served
    status, headers, body = request(console, "GET", "/")
    assert status == 200 and headers["content-type"].startswith("text/html") and b"/console.js" in body
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    for path, kind in (("/console.js", "javascript"), ("/console.css", "text/css"), ("/favicon.svg", "image/svg")):
        status, headers, _ = request(console, "GET", path)
        assert status == 200 and kind in headers["content-type"], path
    assert request(console, "GET", "/../console/server.py")[0] == 404
    assert request(console, "GET", "/static/console.js")[0] == 404


def test_the_config_the_page_reads_holds_no_credential(served):
    console, _ = served
    status, _, body = request(console, "GET", "/config.json")
    assert status == 200 and json.loads(body) == {"mode": "deployed", "api": "example.execute-api", "auth": "SigV4"}


@pytest.mark.parametrize(
    "host",
    ["evil.example:{port}", "evil.example", "127.0.0.1:1", "127.0.0.2:{port}", "[::1]:{port}", "", "127.0.0.1"],
)
def test_any_other_host_is_refused(served, host):
    console, forward = served
    status, _, body = request(console, "GET", "/v1/campaign", host=host.format(port=console.bound_port))
    assert status == 403 and b"is not this console's address" in body
    assert request(console, "GET", "/", host=host.format(port=console.bound_port))[0] == 403
    assert forward.calls == []


def test_localhost_at_its_port_is_its_own_name(served):
    console, forward = served
    assert request(console, "GET", "/v1/campaign", host=f"localhost:{console.bound_port}")[0] == 200
    assert len(forward.calls) == 1


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Origin": "http://127.0.0.1:1"}, {"Sec-Fetch-Site": "cross-site"}],
)
def test_another_sites_page_is_refused(served, headers):
    console, forward = served
    status, _, _ = request(console, "POST", "/v1/clones/bulk", headers, b'{"action": "cancel"}')
    assert status == 403 and forward.calls == []


def test_api_requests_pass_with_only_what_the_api_reads(served):
    console, forward = served
    own = {"Origin": f"http://127.0.0.1:{console.bound_port}", "Sec-Fetch-Site": "same-origin"}
    sent = {"Content-Type": "application/json", "Cookie": "session=x", "Authorization": "Bearer page", **own}
    status, headers, body = request(console, "POST", "/v1/clones?dry=1", sent, b'{"sourceStoreId": 1003}')

    assert status == 200 and json.loads(body) == {"under": "/clones?dry=1"}
    assert forward.calls == [
        ("POST", "/clones?dry=1", b'{"sourceStoreId": 1003}', {"content-type": "application/json"})
    ]
    assert "set-cookie" not in headers and "x-amzn-requestid" not in headers
    assert request(console, "GET", "/v1/clones/../../etc")[0] == 400


def test_an_api_that_does_not_answer_is_a_502_said_plainly():
    def broken(*_):
        raise ConnectionError("refused")

    with ConsoleServer(broken).start() as console:
        status, _, body = request(console, "GET", "/v1/campaign")
    assert status == 502 and json.loads(body)["message"] == "the API did not answer (ConnectionError)"
