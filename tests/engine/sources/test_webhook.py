"""The HTTP webhook source: 202 once dispatched, 503 when dispatch raises, 413 too large,
401 without the token, and the uvicorn-served source stopping cleanly."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

with warnings.catch_warnings():  # starlette 1.x nudges towards httpx2; httpx is what we have
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from canvasbridge.engine import Envelope
from canvasbridge.engine.sources import WebhookSourceConfig, build_source, webhook_app
from canvasbridge.engine.sources.webhook import WebhookSource
from canvasbridge.errors import ConfigError
from tests.engine.sources.conftest import Recorder, running

TOKEN_ENV = "CB_TEST_WEBHOOK_TOKEN"


def make_config(**overrides: Any) -> WebhookSourceConfig:
    data: dict[str, Any] = {"type": "http", "name": "hooks", "path": "/hooks/sap", "max_body_bytes": 64}
    data.update(overrides)
    return WebhookSourceConfig.model_validate(data)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> Iterator[TestClient]:
    with TestClient(webhook_app([make_config()], recorder)) as test_client:
        yield test_client


def test_a_post_is_dispatched_before_the_202_answer(client: TestClient, recorder: Recorder) -> None:
    response = client.post(
        "/hooks/sap",
        content=b'{"sub": "employees(42)"}',
        headers={
            "Content-Type": "application/json",
            "X-Routing-Key": "no.uio.sap.employee.modify",
            "X-Attribute-Event_Name": "modify",
            "X-Message-Id": "hook-1",
        },
    )
    assert response.status_code == 202
    assert response.json() == {"queued": True, "message_id": "hook-1"}
    (envelope,) = recorder.envelopes  # already there when the answer came
    assert envelope.source == "hooks"
    assert envelope.body == b'{"sub": "employees(42)"}'
    assert envelope.routing_key == "no.uio.sap.employee.modify"
    assert envelope.attributes == {"event_name": "modify", "content_type": "application/json"}
    assert envelope.message_id == "hook-1"
    assert envelope.delivery_count == 1


def test_a_message_id_is_generated_when_the_sender_gives_none(client: TestClient, recorder: Recorder) -> None:
    response = client.post("/hooks/sap", content=b"x")
    assert response.status_code == 202
    assert response.json()["message_id"] == recorder.envelopes[0].message_id
    assert len(recorder.envelopes[0].message_id) == 36
    assert recorder.envelopes[0].routing_key is None


def test_a_raising_dispatch_answers_503_so_the_sender_retries() -> None:
    def down(envelope: Envelope) -> None:
        raise ConnectionError("broker down")

    with TestClient(webhook_app([make_config()], down)) as test_client:
        response = test_client.post("/hooks/sap", content=b"{}", headers={"X-Message-Id": "m"})
    assert response.status_code == 503
    assert response.json()["queued"] is False
    assert "broker" not in response.text  # internals are logged, not sent
    assert int(response.headers["Retry-After"]) > 0


def test_a_body_over_the_limit_is_refused_with_413_and_not_dispatched(
    client: TestClient, recorder: Recorder
) -> None:
    assert client.post("/hooks/sap", content=b"x" * 65).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the stream itself is counted
        yield b"x" * 40
        yield b"x" * 40

    assert client.post("/hooks/sap", content=chunks()).status_code == 413
    assert client.post("/hooks/sap", content=b"x" * 64).status_code == 202
    assert len(recorder.envelopes) == 1


def test_only_post_on_the_configured_path_is_accepted(client: TestClient, recorder: Recorder) -> None:
    assert client.get("/hooks/sap").status_code == 405
    assert client.post("/hooks/other", content=b"{}").status_code == 404
    assert client.get("/healthz").status_code == 200
    assert recorder.envelopes == []


def test_a_configured_token_is_required(monkeypatch: pytest.MonkeyPatch, recorder: Recorder) -> None:
    monkeypatch.setenv(TOKEN_ENV, "s3cret")
    app = webhook_app([make_config(token={"env": TOKEN_ENV})], recorder)
    with TestClient(app) as test_client:
        assert test_client.post("/hooks/sap", content=b"{}").status_code == 401
        wrong = test_client.post("/hooks/sap", content=b"{}", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        good = test_client.post("/hooks/sap", content=b"{}", headers={"Authorization": "Bearer s3cret"})
        assert good.status_code == 202
    assert len(recorder.envelopes) == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_source_serves_over_http_and_stops_when_asked(recorder: Recorder) -> None:
    port = _free_port()
    source = build_source(make_config(port=port), recorder)
    assert isinstance(source, WebhookSource)
    with running(source) as runner:
        assert source.started.wait(10)
        response = httpx.post(
            f"http://127.0.0.1:{port}/hooks/sap", content=b"{}", headers={"X-Message-Id": "h"}
        )
        assert response.status_code == 202
        runner.stop()
        assert not runner.thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{port}/hooks/sap", content=b"{}")
    assert [e.message_id for e in recorder.envelopes] == ["h"]


def test_stopping_waits_for_a_request_in_progress() -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(envelope: Envelope) -> None:
        entered.set()
        assert release.wait(10)

    recorder = Recorder(slow)
    port = _free_port()
    source = build_source(make_config(port=port), recorder)
    assert isinstance(source, WebhookSource)
    answers: list[int] = []
    with running(source) as runner:
        assert source.started.wait(10)
        sender = threading.Thread(
            target=lambda: answers.append(
                httpx.post(f"http://127.0.0.1:{port}/hooks/sap", content=b"{}", timeout=10).status_code
            )
        )
        sender.start()
        assert entered.wait(10)
        runner.stop_event.set()
        time.sleep(0.4)  # the server has been told to exit while the request is in dispatch
        release.set()
        sender.join(10)
    assert answers == [202]


def test_a_token_that_cannot_be_read_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(ConfigError, match=TOKEN_ENV):
        webhook_app([make_config(token={"env": TOKEN_ENV})], Recorder())
