"""Generated events reach SQS (boto3 on moto's server), a webhook and a JSONL file intact."""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from canvasbridge_emulators.caliper_feed import JsonlSink, LiveEventGenerator, SqsSink, WebhookSink, emit
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.university.activity import ActivityDataset

TODAY = dt.date(2026, 3, 2)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def sqs(moto_url: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "sqs",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def generator() -> LiveEventGenerator:
    return LiveEventGenerator(ActivityDataset.generate("tiny", seed=1, today=TODAY), seed=1)


def _drain(sqs, queue_url: str, expected: int) -> list[dict]:  # type: ignore[no-untyped-def]
    messages: list[dict] = []
    deadline = time.monotonic() + 10
    while len(messages) < expected and time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
        )
        for m in answer.get("Messages", []):
            messages.append(m)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return messages


def test_events_round_trip_through_sqs_with_their_attributes(sqs, generator: LiveEventGenerator) -> None:  # type: ignore[no-untyped-def]
    queue_url = sqs.create_queue(QueueName="canvas-live-events-roundtrip")["QueueUrl"]
    events = [*generator.every_event(), generator.one("quiz_submitted", attributes=False)]
    sent = emit(events, SqsSink(queue_url, client=sqs))
    assert sent == len(events) == 33
    received = _drain(sqs, queue_url, sent)
    assert len(received) == sent
    by_id = {json.loads(m["Body"])["data"][0]["id"]: m for m in received}
    for event in events:
        message = by_id[event.body["data"][0]["id"]]
        assert json.loads(message["Body"]) == event.body
        attrs = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
        assert attrs == event.attributes
        if event.attributes:
            assert message["MessageAttributes"]["event_name"]["DataType"] == "String"


def test_sink_built_from_an_endpoint_url_paces_to_the_rate(
    moto_url: str, sqs, generator: LiveEventGenerator
) -> None:  # type: ignore[no-untyped-def]
    queue_url = sqs.create_queue(QueueName="canvas-live-events-rate")["QueueUrl"]
    started = time.monotonic()
    sent = emit(generator.events(30), SqsSink(queue_url, endpoint_url=moto_url), rate=100)
    elapsed = time.monotonic() - started
    assert sent == 30
    assert elapsed >= 0.25  # 30 events at 100/s take about 0.3 s
    assert len(_drain(sqs, queue_url, 30)) == 30


def test_webhook_sink_posts_one_envelope_per_request(generator: LiveEventGenerator) -> None:
    seen: list[tuple[dict, dict]] = []

    async def receive(request: Request) -> JSONResponse:
        seen.append((await request.json(), dict(request.headers)))
        return JSONResponse({"queued": True}, status_code=202)

    app = Starlette(routes=[Route("/events", receive, methods=["POST"])])
    events = list(generator.events(5))
    with ServerThread(app) as server:
        sink = WebhookSink(f"{server.url}/events", token="t0k")
        assert emit(events, sink) == 5
        sink.close()
    assert [body for body, _h in seen] == [e.body for e in events]
    headers = seen[0][1]
    assert headers["authorization"] == "Bearer t0k"
    assert headers["x-attribute-event_name"] == events[0].name
    assert headers["x-message-id"] == events[0].body["data"][0]["id"]


def test_jsonl_sink_writes_the_file_replay_format(tmp_path, generator: LiveEventGenerator) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "events.jsonl"
    events = list(generator.events(12))
    sink = JsonlSink(path)
    emit(events, sink)
    sink.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["body"] for line in lines] == [e.body for e in events]
    assert lines[0]["attributes"]["event_name"] == events[0].name
    assert lines[0]["message_id"] == events[0].body["data"][0]["id"]
