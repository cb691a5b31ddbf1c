"""Helpers shared by the source tests: a recording dispatch, a source runner, a publisher,
moto's SQS server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import pika
import pytest
from moto.server import ThreadedMotoServer

from canvasbridge.engine import Envelope
from canvasbridge.engine.sources import Source
from tests.services import unique_name

AMQP_PASSWORD_ENV = "CB_TEST_SOURCES_AMQP_PASSWORD"


class Recorder:
    """A thread-safe ``dispatch`` that records envelopes; ``behaviour`` may block or raise."""

    def __init__(self, behaviour: Callable[[Envelope], None] | None = None) -> None:
        self.envelopes: list[Envelope] = []
        self.calls = 0
        self.behaviour = behaviour
        self._cond = threading.Condition()

    def __call__(self, envelope: Envelope) -> None:
        with self._cond:
            self.calls += 1
        if self.behaviour is not None:
            self.behaviour(envelope)
        with self._cond:
            self.envelopes.append(envelope)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[Envelope]], bool], timeout: float = 10.0) -> list[Envelope]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.envelopes):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out; dispatched so far: {len(self.envelopes)}")
                self._cond.wait(remaining)
            return list(self.envelopes)

    def wait_count(self, n: int, timeout: float = 10.0) -> list[Envelope]:
        return self.wait_for(lambda envs: len(envs) >= n, timeout)


class Running:
    """A source running in a thread; ``stop()`` sets its event and joins it."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.source.run(self.stop_event)
        except BaseException as exc:
            self.error = exc

    def stop(self, timeout: float = 15.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "source did not stop"


@contextmanager
def running(source: Source) -> Iterator[Running]:
    runner = Running(source)
    runner.thread.start()
    try:
        yield runner
    finally:
        runner.stop()
    if runner.error is not None:
        raise runner.error


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.02)


@pytest.fixture
def amqp_url(rabbitmq_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The broker URL without its password (which goes to an env var, as config requires)."""
    parts = urlsplit(rabbitmq_url)
    monkeypatch.setenv(AMQP_PASSWORD_ENV, parts.password or "")
    netloc = f"{parts.username}@{parts.hostname}:{parts.port or 5672}"
    return urlunsplit(parts._replace(netloc=netloc))


class Publisher:
    """A blocking pika publisher with publisher confirms, for feeding the tests."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.path == "//":  # kombu's default-vhost spelling; pika reads it as ""
            url = urlunsplit(parts._replace(path="/%2F"))
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    def publish(self, exchange: str, routing_key: str, body: bytes, **properties: Any) -> None:
        properties.setdefault("delivery_mode", 2)
        self.channel.basic_publish(
            exchange, routing_key, body, pika.BasicProperties(**properties), mandatory=True
        )

    def queue_counts(self, queue: str) -> tuple[int, int]:
        """(ready messages, consumers) of ``queue``."""
        ok = self.channel.queue_declare(queue, passive=True)
        return ok.method.message_count, ok.method.consumer_count

    def delete(self, *, queues: list[str] = (), exchanges: list[str] = ()) -> None:  # type: ignore[assignment]
        for q in queues:
            self.channel.queue_delete(q)
        for e in exchanges:
            self.channel.exchange_delete(e)

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


@pytest.fixture
def publisher(rabbitmq_url: str) -> Iterator[Publisher]:
    pub = Publisher(rabbitmq_url)
    yield pub
    pub.close()


# moto's SQS server, for the SQS source tests
REGION = "eu-west-2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def sqs(moto_endpoint: str) -> Any:
    return boto3.client("sqs", region_name=REGION, endpoint_url=moto_endpoint)


@pytest.fixture
def queue_url(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName=unique_name("canvas-live-events"))["QueueUrl"])
