"""The AMQP source against the real RabbitMQ: envelopes, acks after dispatch, redelivery,
kill and stop without loss, quorum declaration, and a broker restart mid-stream."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pika
import pika.exceptions
import pytest

from canvasbridge.engine import Envelope
from canvasbridge.engine.sources import AmqpSourceConfig, build_source
from canvasbridge.engine.sources.amqp import AmqpSource
from canvasbridge.errors import ConfigError
from tests.engine.sources.conftest import AMQP_PASSWORD_ENV, Publisher, Recorder, Running, running, wait_until
from tests.services import unique_name

pytestmark = pytest.mark.rabbitmq


@pytest.fixture
def topology(rabbitmq_url: str) -> Iterator[dict[str, str]]:
    """A unique exchange and queue name per test, deleted afterwards."""
    names = {"exchange": unique_name("cb-src-x"), "queue": unique_name("cb-src-q")}
    yield names
    cleaner = Publisher(rabbitmq_url)
    try:
        cleaner.delete(queues=[names["queue"]], exchanges=[names["exchange"]])
    finally:
        cleaner.close()


def make_config(url: str, topology: dict[str, str], **overrides: Any) -> AmqpSourceConfig:
    queue = {
        "name": topology["queue"],
        "quorum": True,
        "bindings": [{"exchange": topology["exchange"], "routing_keys": ["no.uio.#"]}],
    }
    queue.update(overrides.pop("queue", {}))
    data: dict[str, Any] = {
        "type": "amqp",
        "name": "uio",
        "url": url,
        "password": {"env": AMQP_PASSWORD_ENV},
        "prefetch": 20,
        "workers": 2,
        "exchanges": [{"name": topology["exchange"], "type": "topic"}],
        "queues": [queue],
        "reconnect_backoff_base_s": 0.2,
        "reconnect_backoff_cap_s": 1.0,
        "nack_delay_s": 0.05,
        "nack_delay_cap_s": 0.2,
    }
    data.update(overrides)
    return AmqpSourceConfig.model_validate(data)


def assert_drained(publisher: Publisher, queue: str) -> None:
    """Nothing ready, nothing unacked, no consumer (the broker updates this asynchronously)."""
    wait_until(lambda: publisher.queue_counts(queue) == (0, 0), timeout=5, message=f"{queue} drained")


def start_consuming(source: AmqpSource) -> None:
    assert source.consuming.wait(10), "source did not start consuming"


def test_published_messages_reach_dispatch_with_routing_key_headers_and_ids(
    amqp_url: str, topology: dict[str, str], publisher: Publisher
) -> None:
    recorder = Recorder()
    source = build_source(make_config(amqp_url, topology), recorder)
    assert isinstance(source, AmqpSource)
    with running(source):
        start_consuming(source)
        publisher.publish(
            topology["exchange"],
            "no.uio.cerebrum.scim.accounts.modify",
            b'{"sub": "https://cerebrum/v1/accounts/olan"}',
            message_id="m-1",
            content_type="application/json",
            headers={"event_name": "modify", "attempt": 3, "raw": b"bytes"},
        )
        publisher.publish(topology["exchange"], "no.uio.fs.FS-prod.personer.update", b"{}")
        with pytest.raises(pika.exceptions.UnroutableError):
            publisher.publish(topology["exchange"], "elsewhere.x", b"{}")  # not bound
        envelopes = recorder.wait_count(2)
        wait_until(lambda: source.dispatched == 2, message="acks")

    first = next(e for e in envelopes if e.message_id == "m-1")
    assert first.source == "uio"
    assert first.routing_key == "no.uio.cerebrum.scim.accounts.modify"
    assert first.body == b'{"sub": "https://cerebrum/v1/accounts/olan"}'
    assert first.attributes["event_name"] == "modify"
    assert first.attributes["attempt"] == "3"
    assert first.attributes["raw"] == "bytes"
    assert first.attributes["content_type"] == "application/json"
    assert first.attributes["message_id"] == "m-1"
    assert first.delivery_count == 1
    second = next(e for e in envelopes if e.message_id != "m-1")
    assert second.routing_key == "no.uio.fs.FS-prod.personer.update"
    assert len(second.message_id) >= 32  # generated when the publisher gave none
    # Everything was acked: nothing is ready and nothing comes back to a new consumer.
    assert_drained(publisher, topology["queue"])


def test_a_raising_dispatch_leaves_the_message_for_redelivery_with_a_higher_delivery_count(
    amqp_url: str, topology: dict[str, str], publisher: Publisher
) -> None:
    def fail_first_delivery(envelope: Envelope) -> None:
        if envelope.delivery_count == 1:
            raise ConnectionError("celery broker down")

    recorder = Recorder(fail_first_delivery)
    source = build_source(make_config(amqp_url, topology), recorder)
    assert isinstance(source, AmqpSource)
    with running(source):
        start_consuming(source)
        publisher.publish(topology["exchange"], "no.uio.x", b"payload", message_id="again")
        (envelope,) = recorder.wait_count(1)
        assert recorder.calls == 2
        assert source.failed == 1
    assert envelope.message_id == "again"
    assert envelope.delivery_count == 2  # 1 + the quorum queue's x-delivery-count
    assert_drained(publisher, topology["queue"])


def test_a_consumer_killed_before_dispatch_returns_gets_the_message_redelivered(
    amqp_url: str, topology: dict[str, str], publisher: Publisher
) -> None:
    config = make_config(amqp_url, topology)
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("amqp_child.py")), config.model_dump_json()],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        # The child declares the queue; wait until it consumes before publishing.
        wait_until(lambda: _consumers(publisher, topology["queue"]) == 1, message="child consumer")
        publisher.publish(topology["exchange"], "no.uio.kill", b"survives", message_id="k-1")
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "received k-1"  # inside dispatch, not acked
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()

    recorder = Recorder()
    source = build_source(config, recorder)
    with running(source):
        (envelope,) = recorder.wait_count(1)
    assert envelope.message_id == "k-1"
    assert envelope.body == b"survives"
    assert envelope.delivery_count == 2
    assert_drained(publisher, topology["queue"])


def _consumers(publisher: Publisher, queue: str) -> int:
    try:
        return publisher.queue_counts(queue)[1]
    except pika.exceptions.ChannelClosedByBroker:  # not declared yet
        publisher.channel = publisher.connection.channel()
        publisher.channel.confirm_delivery()
        return 0


def test_stop_finishes_started_dispatches_and_returns_the_rest_to_the_queue(
    amqp_url: str, topology: dict[str, str], publisher: Publisher
) -> None:
    started = threading.Event()

    def slow(envelope: Envelope) -> None:
        started.set()
        time.sleep(0.3)

    recorder = Recorder(slow)
    config = make_config(amqp_url, topology, prefetch=10, workers=2)
    source = build_source(config, recorder)
    assert isinstance(source, AmqpSource)
    with running(source) as runner:
        start_consuming(source)
        for i in range(10):
            publisher.publish(topology["exchange"], "no.uio.stop", str(i).encode(), message_id=f"s-{i}")
        assert started.wait(5)
        runner.stop()
    # Every dispatch that started also finished and was acked; the rest is back in the queue.
    assert recorder.calls == len(recorder.envelopes) == source.dispatched
    assert 1 <= source.dispatched < 10
    # (The quorum queue notices the closed connection asynchronously.)
    ready = 10 - source.dispatched
    wait_until(lambda: publisher.queue_counts(topology["queue"]) == (ready, 0), message="requeue")

    rest = Recorder()
    with running(build_source(config, rest)):
        rest.wait_count(ready)
    seen = {e.message_id for e in recorder.envelopes} | {e.message_id for e in rest.envelopes}
    assert seen == {f"s-{i}" for i in range(10)}


def test_quorum_queue_is_declared_with_its_delivery_limit(
    amqp_url: str, topology: dict[str, str], publisher: Publisher
) -> None:
    config = make_config(amqp_url, topology, queue={"delivery_limit": 7})
    source = build_source(config, Recorder())
    assert isinstance(source, AmqpSource)
    with running(source):
        start_consuming(source)
    # Redeclaring with the same arguments is accepted; as a classic queue it is refused.
    publisher.channel.queue_declare(
        topology["queue"], durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 7}
    )
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        publisher.channel.queue_declare(topology["queue"], durable=True)
    assert refused.value.reply_code == 406


def test_a_queue_that_exists_with_other_arguments_is_a_config_error(
    amqp_url: str, topology: dict[str, str], publisher: Publisher
) -> None:
    publisher.channel.queue_declare(topology["queue"], durable=True)  # classic
    source = build_source(make_config(amqp_url, topology), Recorder())
    with pytest.raises(ConfigError, match="406"):
        source.run(threading.Event())


def _rabbitmqctl(*args: str) -> str:
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed")
    done = subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, text=True, timeout=120)
    return done.stdout


def _close_connection_named(name: str) -> None:
    """Make the broker close one client connection (as a broker-side failure would)."""
    listing = _rabbitmqctl("list_connections", "pid", "client_properties", "-q", "--no-table-headers")
    pids = [line.split()[0] for line in listing.splitlines() if name in line]
    assert len(pids) == 1, f"expected one connection named {name!r}, found {len(pids)}"
    _rabbitmqctl("close_connection", pids[0], "canvasbridge test: forced close")


@pytest.mark.slow
def test_the_consumer_reconnects_when_the_broker_drops_its_connection(
    amqp_url: str, topology: dict[str, str], publisher: Publisher
) -> None:
    """Only this test's connection is closed (rabbitmqctl close_connection), ~3 s."""
    recorder = Recorder()
    source = build_source(make_config(amqp_url, topology), recorder)
    assert isinstance(source, AmqpSource)
    with running(source):
        start_consuming(source)
        publisher.publish(topology["exchange"], "no.uio.before", b"1", message_id="before")
        recorder.wait_count(1)
        _close_connection_named(source.connection_name)
        wait_until(lambda: source.sessions == 2 and source.consuming.is_set(), message="reconnect")
        publisher.publish(topology["exchange"], "no.uio.after", b"2", message_id="after")
        recorder.wait_count(2)
    assert [e.message_id for e in recorder.envelopes] == ["before", "after"]
    assert_drained(publisher, topology["queue"])


RESTART_OPT_IN = "CANVASBRIDGE_TEST_BROKER_RESTART"


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("CI", "").lower() != "true" and os.environ.get(RESTART_OPT_IN) != "1",
    reason=f"restarts the shared RabbitMQ: runs under CI=true or with {RESTART_OPT_IN}=1",
)
def test_every_message_is_dispatched_when_rabbitmq_restarts_mid_stream(
    amqp_url: str, rabbitmq_url: str, topology: dict[str, str], publisher: Publisher
) -> None:
    """rabbitmqctl stop_app / start_app while 1,000 messages are being consumed (~10 s)."""
    total = 1000

    hold_after = 150  # dispatches from here on wait until the broker has gone down
    release = threading.Event()
    counter = itertools.count(1)

    def steady(envelope: Envelope) -> None:
        if next(counter) > hold_after:
            assert release.wait(60)
        time.sleep(0.001)

    recorder = Recorder(steady)
    config = make_config(amqp_url, topology, prefetch=50, workers=2)
    source = build_source(config, recorder)
    assert isinstance(source, AmqpSource)
    with running(source):
        start_consuming(source)
        for i in range(total):
            publisher.publish(topology["exchange"], "no.uio.stream", b"{}", message_id=str(i))
        publisher.close()
        try:
            wait_until(
                lambda: recorder.calls > hold_after, timeout=30, message="the stream to reach the hold"
            )
            _rabbitmqctl("stop_app")
            try:
                wait_until(lambda: not source.consuming.is_set(), timeout=30, message="connection loss")
                dispatched_before_restart = len({e.message_id for e in recorder.envelopes})
            finally:
                release.set()  # the held dispatches finish; their acks have nowhere to go
                _rabbitmqctl("start_app")
        finally:
            release.set()
        recorder.wait_for(lambda envs: len({e.message_id for e in envs}) >= total, timeout=120)
    assert dispatched_before_restart < total  # the restart really was mid-stream
    assert source.sessions >= 2
    ids = {e.message_id for e in recorder.envelopes}
    assert ids == {str(i) for i in range(total)}
    assert len(recorder.envelopes) < total + 100  # redeliveries are bounded by the prefetch window
    after = Publisher(rabbitmq_url)
    try:
        assert_drained(after, topology["queue"])
    finally:
        after.close()


def test_an_unreachable_broker_is_retried_until_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(AMQP_PASSWORD_ENV, "guest")
    config = make_config(f"amqp://guest@127.0.0.1:{port}/%2F", {"exchange": "x", "queue": "q"})
    source = build_source(config, Recorder())
    assert isinstance(source, AmqpSource)
    runner = Running(source)
    runner.thread.start()
    time.sleep(0.8)  # several attempts with the 0.2 s base backoff
    assert not source.consuming.is_set()
    started = time.monotonic()
    runner.stop()
    assert time.monotonic() - started < 2
    assert runner.error is None


class BatchRecorder(Recorder):
    """A dispatcher that takes batches (as the engine's does); fails the first ``fail`` batches."""

    def __init__(self, fail: int = 0, behaviour: Any = None) -> None:
        super().__init__(behaviour)
        self.batches: list[list[str]] = []
        self.fail = fail

    def dispatch_many(self, envelopes: list[Envelope]) -> None:
        self.batches.append([e.message_id for e in envelopes])
        if len(self.batches) <= self.fail:
            raise ConnectionError("the Celery broker is away")
        for envelope in envelopes:
            self(envelope)


def test_deliveries_that_arrive_together_are_dispatched_as_one_batch_and_all_acked(
    amqp_url: str, topology: dict[str, str], publisher: Publisher
) -> None:
    first = threading.Event()

    def slow_first(envelope: Envelope) -> None:
        if not first.is_set():
            first.set()
            time.sleep(0.5)  # the others arrive meanwhile and wait for the one worker thread

    recorder = BatchRecorder(behaviour=slow_first)
    source = build_source(make_config(amqp_url, topology, prefetch=100, workers=1), recorder)
    with running(source):
        start_consuming(source)
        for i in range(60):
            publisher.publish(topology["exchange"], "no.uio.batch", b"{}", message_id=f"b-{i}")
        recorder.wait_count(60)
    assert_drained(publisher, topology["queue"])  # every delivery was acked
    assert sorted(m for batch in recorder.batches for m in batch) == sorted(f"b-{i}" for i in range(60))
    assert len(recorder.batches) < 60  # prefetched deliveries went to the one worker thread together


def test_a_failed_batch_is_handed_back_whole_and_dispatched_again(
    amqp_url: str, topology: dict[str, str], publisher: Publisher
) -> None:
    recorder = BatchRecorder(fail=1)
    source = build_source(make_config(amqp_url, topology, workers=1), recorder)
    with running(source):
        start_consuming(source)
        for i in range(5):
            publisher.publish(topology["exchange"], "no.uio.retry", b"{}", message_id=f"r-{i}")
        recorder.wait_for(lambda envs: {e.message_id for e in envs} >= {f"r-{i}" for i in range(5)})
    assert_drained(publisher, topology["queue"])
    assert source.failed >= 1
    redelivered = [e for e in recorder.envelopes if e.message_id in recorder.batches[0]]
    assert redelivered and all(e.delivery_count >= 2 for e in redelivered)


def test_with_several_nodes_the_source_fails_over_from_one_that_refuses(
    amqp_url: str, topology: dict[str, str], publisher: Publisher
) -> None:
    down = "amqp://guest@127.0.0.1:35699/%2F"  # nothing listens there (this helper's port range)
    recorder = Recorder()
    source = build_source(make_config(f"{down};{amqp_url}", topology), recorder)
    with running(source):
        start_consuming(source)
        publisher.publish(topology["exchange"], "no.uio.fs.FS-prod.personer.update", b"{}", message_id="m")
        (envelope,) = recorder.wait_count(1)
    assert envelope.message_id == "m"
