"""Every message is parked or dispatched, never a failed dispatch: envelope fields the engine
cannot carry (too long, NUL, not UTF-8) park the message in one go, with the reason and the
original text kept. On the production backends (PostgreSQL ledger, RabbitMQ broker), where
column sizes, NUL and AMQP's 255-byte correlation id used to fail every delivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvasbridge.engine import admission
from canvasbridge.engine.api.operations import Operations
from canvasbridge.engine.dispatch import Dispatcher, DispatchOutcome
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.runtime import Runtime
from canvasbridge.engine.sources.amqp import pika_url
from tests.engine.helpers import production_runtime
from tests.services import unique_name

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]
GOOD_BODY = json.dumps({"task": "record", "params": {"key": "k", "effects_dir": "/tmp/none"}}).encode()


@pytest.fixture
def runtime(rabbitmq_url: str, postgres_url: str, tmp_path: Path) -> Iterator[Runtime]:
    queue = unique_name("cb-admission")
    source = {"type": "file", "name": "src", "path": str(tmp_path / "in.jsonl")}
    runtime = production_runtime(rabbitmq_url, postgres_url, queue, source)
    yield runtime
    runtime.ledger().close()
    connection = pika.BlockingConnection(pika.URLParameters(pika_url(rabbitmq_url)))
    connection.channel().queue_delete(queue)
    connection.close()


def envelope(**fields: Any) -> Envelope:
    return Envelope(**{"body": GOOD_BODY, "source": "src", "message_id": "m-1", **fields})


def not_utf8(raw: bytes) -> str:
    """Text as a source decodes bytes that are not UTF-8."""
    return raw.decode("utf-8", "surrogateescape")


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"message_id": "m" * 201}, "message id is 201 bytes long (at most 200)"),
        ({"message_id": "m" * 255}, "message id is 255 bytes long"),
        ({"message_id": "é" * 101}, "message id is 202 bytes long"),
        ({"message_id": "m-\x00-1"}, "message id contains a NUL character"),
        ({"message_id": not_utf8(b"m-\xff")}, "message id is not valid UTF-8"),
        ({"routing_key": "job.\x00.x"}, "routing key contains a NUL character"),
        ({"routing_key": "k" * 5000}, "routing key is 5000 bytes long (at most 500)"),
        ({"routing_key": not_utf8(b"job.\xc3\x28")}, "routing key is not valid UTF-8"),
        ({"attributes": {"a\x00b": "v"}}, "attribute name 'a\\\\x00b' contains a NUL"),
        ({"attributes": {"n" * 300: "v"}}, "is 300 bytes long (at most 255)"),
        ({"attributes": {"event": "v\x00"}}, "attribute 'event' contains a NUL"),
        ({"attributes": {"event": not_utf8(b"\x80")}}, "attribute 'event' is not valid UTF-8"),
        ({"attributes": {"event": "v" * 70_000}}, "attribute 'event' is 70000 bytes long"),
    ],
)
def test_an_envelope_the_engine_cannot_carry_is_parked_at_once_with_the_field_named_and_kept(
    runtime: Runtime, fields: dict[str, Any], named: str
) -> None:
    message = envelope(**fields)
    result = runtime.dispatcher()(message)
    assert result.outcome is DispatchOutcome.PARKED
    assert named in result.reason
    (parked,) = runtime.ledger().parked()
    assert named in parked.reason
    assert parked.raw_message_id == message.message_id
    assert parked.raw_routing_key == message.routing_key
    assert parked.attributes == message.attributes
    assert parked.body == GOOD_BODY
    # the columns hold a printable copy that fits; the original bytes come back exactly
    assert "\x00" not in parked.message_id and len(parked.message_id) <= 200
    assert admission.as_bytes(parked.raw_message_id) == admission.as_bytes(message.message_id)
    assert runtime.ledger().count() == 0


def test_a_batch_with_bad_envelopes_queues_its_good_messages(runtime: Runtime) -> None:
    bad = [envelope(message_id="x" * 230), envelope(message_id="n\x00"), envelope(routing_key="r\x00")]
    good = [
        envelope(message_id=f"good-{i}", body=GOOD_BODY.replace(b'"k"', f'"k{i}"'.encode()))
        for i in range(11)
    ]
    results = runtime.dispatcher().dispatch_many(bad + good)
    assert [r.outcome for r in results] == [DispatchOutcome.PARKED] * 3 + [DispatchOutcome.QUEUED] * 11
    assert len(runtime.ledger().parked()) == 3
    assert {runtime.ledger().get(r.calls[0].id).origin_message_id for r in results[3:]} == {
        f"good-{i}" for i in range(11)
    }


def test_the_longest_admitted_id_and_routing_key_are_queued_with_them_as_origin(runtime: Runtime) -> None:
    message = envelope(message_id="é" * 100, routing_key="k" * 500, attributes={"n" * 255: "v"})
    result = runtime.dispatcher()(message)
    assert result.outcome is DispatchOutcome.QUEUED
    record = runtime.ledger().get(result.calls[0].id)
    assert record.origin_message_id == message.message_id and record.origin_routing_key == message.routing_key


# Text as sources make it: any Unicode (NUL included), or bytes decoded with surrogateescape;
# short, or around the limits.
def texts(max_size: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=max_size),
        st.binary(max_size=max_size).map(not_utf8),
        st.text(alphabet="abc.", min_size=max_size - 60, max_size=max_size),
    )


envelopes = st.builds(
    Envelope,
    body=st.one_of(st.just(GOOD_BODY), st.binary(max_size=64)),
    source=st.just("src"),
    message_id=texts(260),
    routing_key=st.none() | texts(560),
    attributes=st.dictionaries(texts(300), texts(100), max_size=3),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=envelopes)
def test_any_envelope_is_parked_or_dispatched_never_a_failed_dispatch(
    runtime: Runtime, message: Envelope
) -> None:
    dispatcher: Dispatcher = runtime.dispatcher()
    result = dispatcher(message)  # raising here is the failure this test exists for
    ledger = runtime.ledger()
    if result.outcome is DispatchOutcome.PARKED:
        parked = ledger.parked(limit=1)[0]
        assert parked.raw_message_id == message.message_id and parked.raw_routing_key == message.routing_key
        assert parked.attributes == message.attributes and parked.body == message.body
    else:
        assert result.outcome in (DispatchOutcome.QUEUED, DispatchOutcome.NOTHING)
        assert not admission.problems(message)
        for call in result.calls:
            if not call.folded:  # a folded call keeps the first message's origin
                assert ledger.get(call.id).origin_message_id == message.message_id


def test_a_requeued_parked_message_is_dispatched_as_received_not_as_its_printable_copy(
    runtime: Runtime,
) -> None:
    message = envelope(message_id="m-\x00-" + "x" * 250, routing_key=not_utf8(b"job.\xff"))
    first = runtime.dispatcher()(message)
    done = Operations(runtime).requeue_parked(first.parked_id or 0, actor="test")
    assert done.outcome == "parked" and done.parked_again_as != first.parked_id
    (again,) = runtime.ledger().parked()
    assert again.raw_message_id == message.message_id and again.raw_routing_key == message.routing_key
    assert again.reason == first.reason and "contains a NUL" in again.reason
