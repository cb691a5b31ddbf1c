"""Lean GETs (``HttpClient(lean_gets=True)``): the same answers and errors as the httpx path,
on kept-alive connections, against a real HTTP/1.1 server."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from canvasbridge.clients.http import (
    AuthenticationError,
    CallStats,
    HttpClient,
    HttpNotFoundError,
    HttpPermanentError,
    HttpTransientError,
    RetryPolicy,
)
from canvasbridge.clients.http._client import loads

FAST = RetryPolicy(max_attempts=3, backoff_base_s=0.0, backoff_cap_s=0.01, jitter=False)


class Server:
    """Answers by path: ``/v1/ok``, ``/v1/missing`` (404), ``/v1/html`` (200, not JSON),
    ``/v1/moved`` (302), ``/v1/flaky`` (503 then 200), ``/v1/hangup`` (200, then closes the
    connection without saying so, as an idle timeout would). Notes every request's target,
    headers and client port."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str], int]] = []
        self.flaky = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.seen.append((self.path, dict(self.headers), self.client_address[1]))
                path = self.path.split("?")[0]
                status, body, headers = 200, json.dumps({"path": self.path}).encode(), {}
                if path == "/v1/missing":
                    status, body = 404, b'{"message": "No such thing"}'
                elif path == "/v1/denied":
                    status, body = 403, b'{"message": "Invalid API key in header"}'
                elif path == "/v1/html":
                    body = b"<html>maintenance</html>"
                elif path == "/v1/moved":
                    status, headers = 302, {"Location": "https://sso.example.org/login?token=abc123"}
                elif path == "/v1/flaky":
                    server.flaky += 1
                    if server.flaky == 1:
                        status, body = 503, b'{"message": "busy"}'
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                if path == "/v1/hangup":
                    self.close_connection = True  # no "Connection: close": the client learns later

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/v1/"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def client(server: Server, *, lean: bool, stats: CallStats | None = None) -> HttpClient:
    return HttpClient(
        server.url,
        system="cerebrum",
        stats=stats or CallStats(),
        headers={"X-API-Key": "k3y-s3cret"},
        secrets=["k3y-s3cret"],
        retry=FAST,
        lean_gets=lean,
    )


def test_both_paths_send_the_same_request_and_read_the_same_answer(server: Server) -> None:
    params = {"name": "ol*", "owner_id": 5, "flag": True, "type": ["a", "b"], "q": "Å ø&="}
    answers = []
    for lean in (True, False):
        with client(server, lean=lean) as http:
            assert http._lean is not None if lean else http._lean is None
            answers.append(http.get_json("accounts/%C3%A5se/ok", params=params))
            answers.append(http.get_json("ok"))
            answers.append(http.follow_json(server.url + "ok?page=2"))
    assert answers[:3] == answers[3:]
    (lean_target, lean_headers, _), (httpx_target, httpx_headers, _) = server.seen[0], server.seen[3]
    query = "name=ol%2A&owner_id=5&flag=true&type=a&type=b&q=%C3%85+%C3%B8%26%3D"
    assert lean_target == httpx_target == f"/v1/accounts/%C3%A5se/ok?{query}"
    assert lean_headers["X-API-Key"] == httpx_headers["X-API-Key"] == "k3y-s3cret"
    assert server.seen[2][0] == server.seen[5][0] == "/v1/ok?page=2"


def test_one_kept_alive_connection_serves_a_run_of_calls(server: Server) -> None:
    with client(server, lean=True) as http:
        for _ in range(5):
            http.get_json("ok")
    assert len({port for _, _, port in server.seen}) == 1


def test_a_connection_the_server_closed_meanwhile_is_redialled_without_a_retry(server: Server) -> None:
    stats = CallStats()
    with client(server, lean=True, stats=stats) as http:
        http.get_json("hangup")
        assert http.get_json("ok") == {"path": "/v1/ok"}
    assert stats.total == 2 and stats.by_endpoint["cerebrum GET ok"].errors == 0
    assert len({port for _, _, port in server.seen}) == 2


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "httpx"])
def test_errors_are_typed_alike_and_show_no_secret(server: Server, lean: bool) -> None:
    stats = CallStats()
    with client(server, lean=lean, stats=stats) as http:
        with pytest.raises(HttpNotFoundError, match=r"cerebrum GET missing: HTTP 404: .*No such thing"):
            http.get_json("missing")
        with pytest.raises(AuthenticationError) as denied:
            http.get_json("denied")
        assert denied.value.status == 403 and denied.value.body == {"message": "Invalid API key in header"}
        with pytest.raises(HttpPermanentError, match="not JSON"):
            http.get_json("html")
        with pytest.raises(HttpPermanentError) as moved:
            http.get_json("moved")
        assert "redirect to https://sso.example.org/login" in str(moved.value)
        assert "abc123" not in str(moved.value)
        assert http.get_json("flaky") == {"path": "/v1/flaky"}  # the 503 retried once
    assert stats.by_endpoint["cerebrum GET missing"].calls == 1  # a 404 is not retried
    assert stats.by_endpoint["cerebrum GET flaky"].calls == 2


def test_a_refused_connection_is_transient_counted_and_logged_without_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    stats = CallStats()
    seen: list[str] = []
    stats.hooks.append(lambda system, method, template, seconds, status: seen.append(status))
    http = HttpClient(
        f"http://127.0.0.1:{port}/v1/",
        system="cerebrum",
        stats=stats,
        headers={"X-API-Key": "k3y-s3cret"},
        secrets=["k3y-s3cret"],
        retry=RetryPolicy(max_attempts=2, backoff_base_s=0.0, jitter=False),
        lean_gets=True,
    )
    caplog.set_level(logging.DEBUG, logger="canvasbridge")
    with pytest.raises(HttpTransientError) as info:
        http.get_json("persons/1", params={"api_key": "k3y-s3cret"})
    assert "ConnectError" in str(info.value)
    assert seen == ["connect", "connect"]
    assert "k3y-s3cret" not in caplog.text + str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        b'{"items": [{"navn": [{"lang": "nb", "value": "H\\u00d8ST"}]}], "size": 1}',
        '{"a": "Å"}'.encode("utf-16"),  # orjson reads UTF-8 only
        b'{"big": 123456789012345678901234567890, "nan": NaN}',  # past 64 bits; not strict JSON
    ],
)
def test_json_is_decoded_as_the_standard_library_does(body: bytes) -> None:
    decoded = loads(body)
    expected = json.loads(body)
    assert repr(decoded) == repr(expected)  # NaN != NaN: compare what was read


def test_a_broken_json_body_is_still_a_value_error() -> None:
    with pytest.raises(ValueError):
        loads(b'{"items": [')
