"""The shared HTTP base: error typing, redaction, endpoint templates, statistics, retry policy."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from canvasbridge.clients.http import (
    AuthenticationError,
    CallStats,
    HttpClient,
    HttpNotFoundError,
    HttpPermanentError,
    HttpRateLimitedError,
    HttpTransientError,
    Redactor,
    RetryPolicy,
    endpoint_template,
    error_for_status,
)
from canvasbridge.errors import NotFoundError, PermanentError, RateLimitedError, TransientError


@pytest.mark.parametrize(
    ("status", "kind", "branch"),
    [
        (500, HttpTransientError, TransientError),
        (502, HttpTransientError, TransientError),
        (503, HttpTransientError, TransientError),
        (408, HttpTransientError, TransientError),
        (429, HttpRateLimitedError, RateLimitedError),
        (404, HttpNotFoundError, NotFoundError),
        (401, AuthenticationError, PermanentError),
        (403, AuthenticationError, PermanentError),
        (400, HttpPermanentError, PermanentError),
        (409, HttpPermanentError, PermanentError),
        (422, HttpPermanentError, PermanentError),
    ],
)
def test_statuses_map_onto_the_shared_error_tree(status: int, kind: type, branch: type) -> None:
    error = error_for_status(status, system="fs", method="GET", endpoint="personer/{id}", retry_after=3)
    assert isinstance(error, kind) and isinstance(error, branch)
    assert str(error).startswith(f"fs GET personer/{{id}}: HTTP {status}")
    if isinstance(error, RateLimitedError):
        assert error.retry_after == 3


def test_errors_and_urls_never_show_secrets() -> None:
    redactor = Redactor(["s3cr3t-value", "xyz"])  # too short values are not matched blindly
    text = (
        'Authorization: Bearer abc.def.ghi {"password": "hunter22", "access_token":"tok123"} '
        "echo s3cr3t-value and Basic dXNlcjpwYXNz"
    )
    cleaned = redactor.clean(text)
    for secret in ("abc.def.ghi", "hunter22", "tok123", "s3cr3t-value", "dXNlcjpwYXNz"):
        assert secret not in cleaned
    assert "Bearer ***" in cleaned
    url = redactor.url("https://user:pw@host.example/x?access_token=abc&page=2&api_key=k")
    assert url == "https://host.example/x?access_token=***&page=2&api_key=***"
    error = error_for_status(
        400, system="sf", method="POST", endpoint="token", text="bad s3cr3t-value", redactor=redactor
    )
    assert "s3cr3t-value" not in str(error)


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("personer/12345", "personer/{id}"),
        ("undervisning/185,INF1000,1,2026,H%C3%98ST,1", "undervisning/{id}"),
        ("/api/v1/courses/sis_course_id:X/sections?page=2", "api/v1/courses/{id}/sections"),
        ("locations(50000001)/parent", "locations({id})/parent"),
        ("services/data/v59.0/sobjects/Contact", "services/data/v59.0/sobjects/Contact"),
        ("users/self", "users/self"),
    ],
)
def test_endpoint_templates_hide_identifiers(path: str, template: str) -> None:
    assert endpoint_template(path) == template


def test_call_stats_are_safe_across_threads() -> None:
    stats = CallStats()

    def work() -> None:
        for _ in range(1000):
            stats.record("canvas", "get", "users/{id}", 0.001, 200)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stats.total == 4000
    assert stats.by_endpoint["canvas GET users/{id}"].calls == 4000
    assert stats.by_system == {"canvas": 4000}
    assert stats.calls("canvas", "users") == 4000
    assert stats.by_endpoint["canvas GET users/{id}"].mean_ms == pytest.approx(1.0)


def test_call_hooks_see_every_request_and_cannot_break_it() -> None:
    seen: list[tuple[str, str, str, str]] = []

    def broken_hook(*_args: object) -> None:
        raise RuntimeError("metrics backend down")

    stats = CallStats(hooks=[lambda s, m, t, _sec, status: seen.append((s, m, t, status)), broken_hook])
    transport = httpx.MockTransport(lambda request: httpx.Response(404, json={"error": "x"}))
    client = HttpClient("http://sap.test/", system="sap", stats=stats, transport=transport)
    with pytest.raises(HttpNotFoundError):
        client.get_json("locations(5)")
    assert seen == [("sap", "GET", "locations({id})", "404")]


def test_the_client_retries_a_503_after_the_servers_retry_after_date() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"})])
    transport = httpx.MockTransport(lambda request: next(answers, httpx.Response(200, json={"ok": True})))
    client = HttpClient("http://fs.test/", system="fs", transport=transport, retry=RetryPolicy(jitter=False))
    assert client.get_json("personer/1") == {"ok": True}  # a date in the past: retried at once
    assert client.stats.by_endpoint["fs GET personer/{id}"].calls == 2


def test_a_connection_refused_is_transient_and_the_log_has_no_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    client = HttpClient(
        f"http://127.0.0.1:{port}/",
        system="fs",
        headers={"Authorization": "Bearer very-secret-token"},
        secrets=["very-secret-token"],
        retry=RetryPolicy(max_attempts=2, backoff_base_s=0.0, jitter=False),
    )
    caplog.set_level(logging.DEBUG, logger="canvasbridge.clients")
    with pytest.raises(HttpTransientError) as info:
        client.get_json("personer/1", params={"access_token": "very-secret-token"})
    assert "ConnectError" in str(info.value)
    assert client.stats.by_endpoint["fs GET personer/{id}"].errors == 2
    assert "very-secret-token" not in caplog.text + str(info.value)


def test_decoding_a_non_json_answer_is_a_permanent_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>maintenance</html>"))
    client = HttpClient("http://fs.test/", system="fs", transport=transport)
    with pytest.raises(HttpPermanentError, match="not JSON"):
        client.get_json("personer/1")


def test_a_redirect_is_a_permanent_error_naming_where_it_points() -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            302, headers={"Location": "https://sso.example.org/login?token=abc123"}
        )
    )
    client = HttpClient("http://fs.test/", system="fs", transport=transport)
    with pytest.raises(HttpPermanentError) as info:
        client.get_json("personer/1")
    assert "redirect to https://sso.example.org/login" in str(info.value)
    assert "abc123" not in str(info.value)


class _ThrottlingServer:
    """A real HTTP server on 127.0.0.1: answers 429 with a given Retry-After once, then 200,
    and notes when each request arrived."""

    def __init__(self, retry_after: Callable[[], str]) -> None:
        arrivals: list[float] = []
        self.arrivals = arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                arrivals.append(time.monotonic())
                if len(arrivals) == 1:
                    self.send_response(429)
                    self.send_header("Retry-After", retry_after())
                    body = b'{"error": "slow down"}'
                else:
                    self.send_response(200)
                    body = b'{"ok": true}'
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    "retry_after",
    [
        pytest.param(lambda: "1", id="delta-seconds"),
        pytest.param(lambda: formatdate(time.time() + 2, usegmt=True), id="http-date"),
    ],
)
def test_a_real_servers_retry_after_is_waited_for_in_either_form(retry_after: Callable[[], str]) -> None:
    server = _ThrottlingServer(retry_after)
    try:
        policy = RetryPolicy(max_attempts=2, backoff_base_s=0.01, backoff_cap_s=5, jitter=False)
        with HttpClient(server.url, system="fs", retry=policy) as client:
            assert client.get_json("personer/1") == {"ok": True}
        first, second = server.arrivals
        assert second - first >= 0.9  # our own backoff alone would have been 10 ms
    finally:
        server.close()
