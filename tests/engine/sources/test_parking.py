"""Each source with the real dispatcher on PostgreSQL and RabbitMQ: a message whose id, routing
key or headers the engine cannot carry is parked in one delivery and acknowledged (deleted,
answered 202), and the good messages beside it are queued at once. Before, such messages
failed every dispatch and came back for ever, holding up their batch."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pika
import pytest

from canvasbridge.engine import admission
from canvasbridge.engine.runtime import Runtime
from canvasbridge.engine.sources import build_source
from canvasbridge.engine.sources.amqp import AmqpSource, pika_url
from canvasbridge.engine.sources.webhook import WebhookSource
from tests.engine.helpers import production_runtime, wait_for
from tests.engine.sources.conftest import AMQP_PASSWORD_ENV, REGION, Publisher, running
from tests.services import unique_name

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]


def good_body(i: int) -> bytes:
    return json.dumps({"task": "record", "params": {"key": f"k{i}", "effects_dir": "/tmp/none"}}).encode()


@pytest.fixture
def celery_queue(rabbitmq_url: str) -> Iterator[str]:
    name = unique_name("cb-parking-celery")
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(pika_url(rabbitmq_url)))
    connection.channel().queue_delete(name)
    connection.close()


def queued_origins(runtime: Runtime) -> set[str]:
    return {call.origin_message_id or "" for call in runtime.ledger().calls(limit=1000)}


def test_amqp_ids_routing_keys_and_headers_it_cannot_carry_are_parked_in_one_delivery(
    amqp_url: str,
    rabbitmq_url: str,
    postgres_url: str,
    celery_queue: str,
    publisher: Publisher,
    tmp_path: Path,
) -> None:
    names = {"exchange": unique_name("cb-park-x"), "queue": unique_name("cb-park-q")}
    source = {
        "type": "amqp",
        "name": "uio",
        "url": amqp_url,
        "password": {"env": AMQP_PASSWORD_ENV},
        "workers": 2,
        "nack_delay_s": 0.05,
        "exchanges": [{"name": names["exchange"], "type": "topic", "durable": False}],
        "queues": [
            {
                "name": names["queue"],
                "quorum": True,
                "bindings": [{"exchange": names["exchange"], "routing_keys": ["#"]}],
            }
        ],
    }
    runtime = production_runtime(rabbitmq_url, postgres_url, celery_queue, source)
    amqp = build_source(runtime.config.sources[0], runtime.dispatcher())
    assert isinstance(amqp, AmqpSource)
    # (routing key, AMQP properties) of each message that must be parked, as the issue found them
    bad: list[tuple[str | bytes, dict[str, Any]]] = [
        ("job.a", {"message_id": "i" * 201}),
        ("job.a", {"message_id": "i" * 255}),
        ("job.a", {"message_id": "id-\x00-1"}),
        ("job.\x00.a", {"message_id": "nul-in-key"}),
        (b"job.\xff", {"message_id": "key-not-utf8"}),
        ("job.a", {"message_id": b"id-\xfe"}),
        ("job.a", {"message_id": "nul-in-header-name", "headers": {"a\x00b": "v"}}),
        ("job.a", {"message_id": "nul-in-header-value", "headers": {"event": "v\x00"}}),
        ("job.a", {"message_id": "header-not-utf8", "headers": {"event": b"\xc3\x28"}}),
    ]
    try:
        with running(amqp) as runner:
            assert amqp.consuming.wait(10)
            for i in range(11):
                publisher.publish(names["exchange"], "job.good", good_body(i), message_id=f"good-{i}")
            for key, properties in bad:
                publisher.publish(names["exchange"], key, good_body(99), **properties)  # type: ignore[arg-type]
            for i in range(11, 22):
                publisher.publish(names["exchange"], "job.good", good_body(i), message_id=f"good-{i}")
            started = time.monotonic()
            wait_for(lambda: len(runtime.ledger().parked(limit=100)) >= len(bad), timeout=20, what="parked")
            wait_for(lambda: amqp.dispatched == 22 + len(bad), timeout=20, what="all acknowledged")
            held_up = time.monotonic() - started
            time.sleep(0.5)  # a redelivery, if any, would be parked a second time now
            assert amqp.failed == 0 and runner.error is None
        assert publisher.queue_counts(names["queue"]) == (0, 0)
    finally:
        publisher.delete(queues=[names["queue"]], exchanges=[names["exchange"]])
    assert held_up < 5, "good messages were held up behind the bad ones"
    assert {f"good-{i}" for i in range(22)} <= queued_origins(runtime)
    parked = runtime.ledger().parked(limit=100)
    assert len(parked) == len(bad)
    raw_keys = {admission.as_bytes(p.raw_routing_key or "") for p in parked}
    assert b"job.\xff" in raw_keys and b"job.\x00.a" in raw_keys
    raw_ids = {admission.as_bytes(p.raw_message_id) for p in parked}
    assert {b"i" * 201, b"i" * 255, b"id-\x00-1", b"id-\xfe"} <= raw_ids
    by_id = {p.raw_message_id: p for p in parked}
    assert "contains a NUL" in by_id["nul-in-header-value"].reason
    assert by_id["nul-in-header-value"].attributes["event"] == "v\x00"
    assert admission.as_bytes(by_id["header-not-utf8"].attributes["event"]) == b"\xc3\x28"
    assert all(p.body == good_body(99) for p in parked)


def test_sqs_attributes_it_cannot_carry_are_parked_and_the_messages_deleted(
    rabbitmq_url: str,
    postgres_url: str,
    celery_queue: str,
    moto_endpoint: str,
    sqs: Any,
    queue_url: str,
) -> None:
    source = {
        "type": "sqs",
        "name": "live-events",
        "queue_url": queue_url,
        "region": REGION,
        "endpoint_url": moto_endpoint,
        "wait_time_seconds": 1,
        "visibility_timeout": 2,
    }
    runtime = production_runtime(rabbitmq_url, postgres_url, celery_queue, source)
    bad = {
        "name-too-long": {"n" * 300: "v"},
        "nul-in-value": {"event_name": "v\x00"},
        "value-too-long": {"event_name": "v" * 70_000},
    }
    sent: dict[str, str] = {}
    for label, attributes in bad.items():
        message = sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=good_body(99).decode(),
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
        sent[message["MessageId"]] = label
    for i in range(5):
        sqs.send_message(QueueUrl=queue_url, MessageBody=good_body(i).decode())
    poller = build_source(runtime.config.sources[0], runtime.dispatcher())
    with running(poller):
        wait_for(lambda: poller.deleted == 8, timeout=20, what="all deleted")  # type: ignore[attr-defined]
        time.sleep(2.5)  # past the visibility timeout: nothing comes back
        assert poller.failed == 0  # type: ignore[attr-defined]
    parked = {p.raw_message_id: p for p in runtime.ledger().parked(limit=100)}
    assert set(parked) == set(sent)
    assert "is 300 bytes long (at most 255)" in parked[_id(sent, "name-too-long")].reason
    assert "contains a NUL" in parked[_id(sent, "nul-in-value")].reason
    assert parked[_id(sent, "nul-in-value")].attributes == {"event_name": "v\x00"}
    assert "is 70000 bytes long" in parked[_id(sent, "value-too-long")].reason
    assert runtime.ledger().count() == 5


def _id(sent: dict[str, str], label: str) -> str:
    return next(message_id for message_id, name in sent.items() if name == label)


def test_http_an_over_long_id_or_routing_key_is_parked_and_accepted_not_answered_503(
    rabbitmq_url: str, postgres_url: str, celery_queue: str
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    source = {"type": "http", "name": "hooks", "path": "/hooks/sap", "host": "127.0.0.1", "port": port}
    runtime = production_runtime(rabbitmq_url, postgres_url, celery_queue, source)
    server = build_source(runtime.config.sources[0], runtime.dispatcher())
    assert isinstance(server, WebhookSource)
    url = f"http://127.0.0.1:{port}/hooks/sap"
    with running(server), httpx.Client(timeout=10) as client:
        assert server.started.wait(10)
        long_id = client.post(url, content=good_body(1), headers={"X-Message-Id": "m" * 300})
        long_key = client.post(
            url, content=good_body(2), headers={"X-Message-Id": "key", "X-Routing-Key": "k" * 5000}
        )
        not_utf8 = client.post(
            url, content=good_body(3), headers=[(b"X-Message-Id", b"bytes"), (b"X-Attribute-Event", b"\xff")]
        )
        utf8 = client.post(
            url,
            content=good_body(4),
            headers=[(b"X-Message-Id", b"good"), (b"X-Attribute-Name", "Bjørn".encode())],
        )
    for response, named in [
        (long_id, "message id is 300 bytes long (at most 200)"),
        (long_key, "routing key is 5000 bytes long (at most 500)"),
        (not_utf8, "attribute 'event' is not valid UTF-8"),
    ]:
        assert response.status_code == 202
        body = response.json()
        assert body["queued"] is False and body["parked"] is True and named in body["reason"]
    assert utf8.status_code == 202 and utf8.json() == {"queued": True, "message_id": "good"}
    parked = {p.raw_message_id: p for p in runtime.ledger().parked()}
    assert set(parked) == {"m" * 300, "key", "bytes"}
    assert parked["key"].raw_routing_key == "k" * 5000 and len(parked["key"].routing_key or "") == 500
    assert admission.as_bytes(parked["bytes"].attributes["event"]) == b"\xff"
    (call,) = runtime.ledger().calls()
    assert call.origin_message is not None and call.origin_message["attributes"]["name"] == "Bjørn"
