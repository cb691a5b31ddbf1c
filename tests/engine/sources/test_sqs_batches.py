"""The SQS source in batches, with boto3 against moto's server: what one ReceiveMessage returned
is dispatched as one batch (``dispatch_many``) and deleted with one DeleteMessageBatch; a batch
whose dispatch raised is left whole to reappear; delete entries that failed on SQS's side are
tried again."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import boto3

from canvasbridge.engine import Envelope
from canvasbridge.engine.sources.sqs import SqsSource
from tests.engine.sources.conftest import REGION, wait_until
from tests.engine.sources.conftest import running as running_source
from tests.engine.sources.test_sqs import counts, make_config


class BatchRecorder:
    """A dispatcher taking batches, as the engine's does; ``fail`` decides whether a batch raises."""

    def __init__(self, fail: Any = None) -> None:
        self.batches: list[list[Envelope]] = []
        self.fail = fail
        self._lock = threading.Lock()

    def __call__(self, envelope: Envelope) -> None:
        raise AssertionError("a dispatcher with dispatch_many gets batches")

    def dispatch_many(self, envelopes: list[Envelope]) -> None:
        with self._lock:
            self.batches.append(list(envelopes))
        if self.fail is not None and self.fail(envelopes):
            raise ConnectionError("ledger down")

    def dispatched(self) -> list[Envelope]:
        with self._lock:
            return [e for batch in self.batches for e in batch]


def hooked_client(endpoint: str) -> tuple[Any, list[int], list[int]]:
    """A boto3 client recording how many messages each receive returned and each delete carried."""
    client = boto3.client("sqs", region_name=REGION, endpoint_url=endpoint)
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
    return client, received, deleted


def send(sqs: Any, queue_url: str, n: int) -> None:
    sqs.send_message_batch(
        QueueUrl=queue_url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(n)]
    )


def test_what_one_receive_returned_is_dispatched_as_one_batch_and_deleted_as_one(
    sqs: Any, queue_url: str, moto_endpoint: str
) -> None:
    send(sqs, queue_url, 10)
    client, received, deleted = hooked_client(moto_endpoint)
    recorder = BatchRecorder()
    source = SqsSource(make_config(moto_endpoint, queue_url), recorder, client=client)
    with running_source(source):
        wait_until(lambda: len(recorder.dispatched()) == 10, message="ten dispatched")
        wait_until(lambda: counts(sqs, queue_url) == (0, 0), message="delete")
    assert [len(batch) for batch in recorder.batches] == [n for n in received if n]
    assert deleted == [len(batch) for batch in recorder.batches]
    assert max(deleted) > 1  # batches, not one message at a time
    assert sorted(e.body for e in recorder.dispatched()) == sorted(f"m{i}".encode() for i in range(10))
    assert source.dispatched == 10 and source.deleted == 10 and source.failed == 0


def test_a_batch_whose_dispatch_raised_is_left_whole_to_reappear(
    sqs: Any, queue_url: str, moto_endpoint: str
) -> None:
    send(sqs, queue_url, 3)
    recorder = BatchRecorder(fail=lambda batch: any(e.delivery_count == 1 for e in batch))
    source = SqsSource(make_config(moto_endpoint, queue_url, visibility_timeout=1), recorder)
    with running_source(source):
        wait_until(
            lambda: sum(e.delivery_count > 1 for e in recorder.dispatched()) == 3,
            timeout=20,
            message="all three again",
        )
        wait_until(lambda: counts(sqs, queue_url) == (0, 0), message="delete")
    seen = Counter(e.body for e in recorder.dispatched())
    assert seen == {b"m0": 2, b"m1": 2, b"m2": 2}  # none was deleted after the failed batch
    assert source.failed == 3 and source.deleted == 3


def test_a_delete_entry_that_failed_on_sqs_side_is_tried_again(
    sqs: Any, queue_url: str, moto_endpoint: str
) -> None:
    send(sqs, queue_url, 4)
    client, _, deleted = hooked_client(moto_endpoint)
    dropped: list[str] = []

    def drop_one(params: Any, **_: Any) -> None:  # the first delete loses its last entry...
        if not dropped and len(params["Entries"]) > 1:
            dropped.append(params["Entries"].pop()["Id"])

    def report_it(parsed: Any, **_: Any) -> None:  # ...and SQS reports it as its own failure
        if dropped and len(dropped) == 1:
            parsed.setdefault("Failed", []).append(
                {"Id": dropped[0], "SenderFault": False, "Code": "InternalError", "Message": "try again"}
            )
            dropped.append("reported")

    client.meta.events.register("provide-client-params.sqs.DeleteMessageBatch", drop_one)
    client.meta.events.register("after-call.sqs.DeleteMessageBatch", report_it)
    recorder = BatchRecorder()
    # visibility 30 s: without the second try the message would stay in flight, then come back
    source = SqsSource(make_config(moto_endpoint, queue_url, visibility_timeout=30), recorder, client=client)
    with running_source(source):
        wait_until(lambda: len(recorder.dispatched()) == 4, message="four dispatched")
        wait_until(lambda: counts(sqs, queue_url) == (0, 0), timeout=5, message="every message deleted")
    assert dropped and deleted[-1] == 1  # the failed entry went again on its own
    assert source.deleted == 4
    assert len(recorder.dispatched()) == 4  # and nothing came back


def test_a_delete_entry_sqs_refused_is_not_tried_again(sqs: Any, queue_url: str, moto_endpoint: str) -> None:
    send(sqs, queue_url, 2)
    client, _, deleted = hooked_client(moto_endpoint)
    spoiled: list[str] = []

    def spoil_one(params: Any, **_: Any) -> None:
        if not spoiled:
            entry = params["Entries"][0]
            entry["ReceiptHandle"] = "not-a-receipt-handle"
            spoiled.append(entry["Id"])

    client.meta.events.register("provide-client-params.sqs.DeleteMessageBatch", spoil_one)
    recorder = BatchRecorder()
    source = SqsSource(make_config(moto_endpoint, queue_url, visibility_timeout=1), recorder, client=client)
    with running_source(source):
        wait_until(lambda: len(recorder.dispatched()) == 3, timeout=20, message="the spoiled one again")
        wait_until(lambda: counts(sqs, queue_url) == (0, 0), message="delete")
    assert len(deleted) == len(recorder.batches)  # no second try of a refused entry
    assert Counter(e.delivery_count for e in recorder.dispatched()) == {1: 2, 2: 1}
