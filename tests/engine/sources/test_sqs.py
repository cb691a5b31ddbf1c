"""The SQS source with boto3 against moto's server: attributes, delete after dispatch,
redelivery of a failed message, batches of 10, and visibility kept for slow batches."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import boto3
import pytest

from canvasbridge.engine import Envelope
from canvasbridge.engine.sources import SqsSourceConfig, build_source
from canvasbridge.engine.sources.sqs import SqsSource
from canvasbridge.errors import ConfigError
from tests.engine.sources.conftest import REGION, Recorder, running, wait_until
from tests.services import unique_name


def make_config(endpoint: str, queue_url: str, **overrides: Any) -> SqsSourceConfig:
    data: dict[str, Any] = {
        "type": "sqs",
        "name": "live-events",
        "queue_url": queue_url,
        "region": REGION,
        "endpoint_url": endpoint,
        "wait_time_seconds": 1,
        "visibility_timeout": 30,
    }
    data.update(overrides)
    return SqsSourceConfig.model_validate(data)


def counts(sqs: Any, queue_url: str) -> tuple[int, int]:
    """(visible, in flight) messages of the queue."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_message_attributes_and_ids_arrive_in_the_envelope(
    sqs: Any, queue_url: str, moto_endpoint: str
) -> None:
    sent = sqs.send_message(
        QueueUrl=queue_url,
        MessageBody='{"data": [{"type": "NavigationEvent"}]}',
        MessageAttributes={
            "event_name": {"DataType": "String", "StringValue": "asset_accessed"},
            "event_time": {"DataType": "String", "StringValue": "2026-11-22T08:00:00Z"},
            "attempt": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    recorder = Recorder()
    with running(build_source(make_config(moto_endpoint, queue_url), recorder)):
        (envelope,) = recorder.wait_count(1)
        wait_until(lambda: counts(sqs, queue_url) == (0, 0), message="delete")
    assert envelope.source == "live-events"
    assert envelope.message_id == sent["MessageId"]
    assert envelope.routing_key is None
    assert envelope.body == b'{"data": [{"type": "NavigationEvent"}]}'
    assert envelope.attributes == {
        "event_name": "asset_accessed",
        "event_time": "2026-11-22T08:00:00Z",
        "attempt": "3",
        "blob": "AAE=",
    }
    assert envelope.delivery_count == 1


def test_a_message_is_deleted_only_after_dispatch_returns(
    sqs: Any, queue_url: str, moto_endpoint: str
) -> None:
    release = threading.Event()
    entered = threading.Event()

    def blocked(envelope: Envelope) -> None:
        entered.set()
        assert release.wait(10)

    sqs.send_message(QueueUrl=queue_url, MessageBody="hold")
    source = build_source(make_config(moto_endpoint, queue_url), Recorder(blocked))
    assert isinstance(source, SqsSource)
    with running(source):
        assert entered.wait(10)
        assert counts(sqs, queue_url) == (0, 1)  # received, hidden, not deleted
        assert source.deleted == 0
        release.set()
        wait_until(lambda: counts(sqs, queue_url) == (0, 0), message="delete")
    assert source.deleted == 1


def test_a_raising_dispatch_leaves_the_message_to_reappear(
    sqs: Any, queue_url: str, moto_endpoint: str
) -> None:
    def fail_first(envelope: Envelope) -> None:
        if envelope.delivery_count == 1:
            raise ConnectionError("celery broker down")

    sqs.send_message(QueueUrl=queue_url, MessageBody="retry me")
    recorder = Recorder(fail_first)
    source = build_source(make_config(moto_endpoint, queue_url, visibility_timeout=1), recorder)
    assert isinstance(source, SqsSource)
    with running(source):
        (envelope,) = recorder.wait_count(1, timeout=10)
        wait_until(lambda: counts(sqs, queue_url) == (0, 0), message="delete")
    assert recorder.calls == 2
    assert source.failed == 1
    assert envelope.body == b"retry me"
    assert envelope.delivery_count == 2


def test_ten_messages_are_received_and_deleted_as_one_batch(
    sqs: Any, queue_url: str, moto_endpoint: str
) -> None:
    sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(10)],
    )
    client = boto3.client("sqs", region_name=REGION, endpoint_url=moto_endpoint)
    received: list[int] = []
    deleted: list[int] = []
    client.meta.events.register(
        "after-call.sqs.ReceiveMessage",
        lambda parsed, **_: received.append(len(parsed.get("Messages", []))),
    )
    client.meta.events.register(
        "provide-client-params.sqs.DeleteMessageBatch",
        lambda params, **_: deleted.append(len(params["Entries"])),
    )
    recorder = Recorder()
    source = SqsSource(make_config(moto_endpoint, queue_url), recorder, client=client)
    with running(source):
        envelopes = recorder.wait_count(10)
        wait_until(lambda: counts(sqs, queue_url) == (0, 0), message="delete")
    assert sorted(e.body for e in envelopes) == sorted(f"m{i}".encode() for i in range(10))
    assert max(received) == 10
    assert deleted == [10]


def test_a_slow_batch_keeps_its_messages_hidden(sqs: Any, queue_url: str, moto_endpoint: str) -> None:
    def slow(envelope: Envelope) -> None:
        time.sleep(1.6)

    sqs.send_message(QueueUrl=queue_url, MessageBody="slow")
    recorder = Recorder(slow)
    source = build_source(make_config(moto_endpoint, queue_url, visibility_timeout=1), recorder)
    with running(source):
        wait_until(lambda: recorder.calls == 1, message="dispatch start")
        time.sleep(1.2)  # past the original visibility timeout
        other = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
        assert other.get("Messages", []) == []  # still hidden: the source extended it
        recorder.wait_count(1)
        wait_until(lambda: counts(sqs, queue_url) == (0, 0), message="delete")
    assert recorder.calls == 1


def test_several_pollers_share_the_work_and_dispatch_each_receive_once(
    sqs: Any, queue_url: str, moto_endpoint: str
) -> None:
    for start in (0, 10, 20):
        sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "MessageBody": f"p{i}"} for i in range(start, start + 10)],
        )
    client = boto3.client("sqs", region_name=REGION, endpoint_url=moto_endpoint)
    received: list[bytes] = []
    client.meta.events.register(
        "after-call.sqs.ReceiveMessage",
        lambda parsed, **_: received.extend(m["Body"].encode() for m in parsed.get("Messages", [])),
    )
    recorder = Recorder()
    config = make_config(moto_endpoint, queue_url, pollers=3, workers=4)
    source = SqsSource(config, recorder, client=client)
    with running(source):
        recorder.wait_count(30)
        wait_until(lambda: counts(sqs, queue_url) == (0, 0), message="delete")
    bodies = sorted(e.body for e in recorder.envelopes)
    assert set(bodies) == {f"p{i}".encode() for i in range(30)}
    # SQS delivers at least once (moto's receive, unlocked, may even hand one message to two
    # pollers at once): what the source owes is one dispatch per message it received
    assert bodies == sorted(received)


def test_many_pollers_get_a_connection_each_without_pool_warnings(
    sqs: Any, queue_url: str, moto_endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    for start in range(0, 50, 10):
        sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, start + 10)],
        )
    recorder = Recorder()
    source = build_source(make_config(moto_endpoint, queue_url, pollers=16, workers=4), recorder)
    with caplog.at_level(logging.WARNING, logger="urllib3"), running(source):
        recorder.wait_count(50)
        wait_until(lambda: counts(sqs, queue_url) == (0, 0), message="delete")
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_a_queue_that_does_not_exist_is_a_config_error(sqs: Any, moto_endpoint: str) -> None:
    missing = sqs.create_queue(QueueName=unique_name("gone"))["QueueUrl"]
    sqs.delete_queue(QueueUrl=missing)
    source = build_source(make_config(moto_endpoint, missing, pollers=2), Recorder())
    with pytest.raises(ConfigError, match="queue_url"):
        source.run(threading.Event())
