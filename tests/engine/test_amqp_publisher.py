"""Publishing Celery messages with asynchronous confirms, against the real RabbitMQ."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import threading

import pika
import pytest
from celery import Celery

from canvasbridge.engine.amqp_publisher import AmqpPublisher
from tests.engine.helpers import wait_for
from tests.services import unique_name


def celery_build(task_id, args, kwargs):
    app = Celery("t", set_as_current=False)
    headers, properties, body, _ = app.amqp.as_task_v2(
        task_id, "canvasbridge.execute", args=args, kwargs=kwargs
    )
    return headers, properties, body


@pytest.fixture
def queue(rabbitmq_url):
    name = unique_name("cb-pub")
    yield name
    connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
    connection.channel().queue_delete(name)
    connection.close()


@pytest.fixture
def publishers():
    """Makes publishers and closes them after the test."""
    made: list[AmqpPublisher] = []

    def make(url: str, queue: str, **options) -> AmqpPublisher:
        options.setdefault("queue_arguments", None)
        made.append(AmqpPublisher(url, queue, build=celery_build, **options))
        return made[-1]

    yield make
    for publisher in made:
        publisher.close()


def drain(queue: str) -> list[tuple[dict, list]]:
    """Every message in the queue: (headers, decoded body)."""
    connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
    channel = connection.channel()
    found = []
    while True:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            break
        assert properties.content_type == "application/json" and properties.delivery_mode == 2
        found.append((properties.headers, json.loads(body)))
    connection.close()
    return found


def test_messages_from_many_threads_are_confirmed_and_read_as_celery_task_messages(
    rabbitmq_url, queue, publishers
):
    publisher = publishers(rabbitmq_url, queue)

    def send(n: int) -> None:
        publisher.publish(
            [publisher.message([n * 10 + k, "noop", {}], {"correlation_id": f"m{n}"}) for k in range(3)]
        )

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    messages = drain(queue)  # publish returned, so every message is on the queue already
    assert sorted(body[0][0] for _, body in messages) == sorted(
        n * 10 + k for n in range(8) for k in range(3)
    )
    headers, (args, kwargs, _embed) = messages[0]
    assert headers["task"] == "canvasbridge.execute" and headers["id"]
    assert args[1] == "noop" and kwargs["correlation_id"].startswith("m")


def test_a_quorum_queue_is_declared_as_the_worker_declares_it(rabbitmq_url, queue, publishers):
    publisher = publishers(rabbitmq_url, queue, queue_arguments={"x-queue-type": "quorum"})
    publisher.publish([publisher.message([1, "noop", {}], {})])
    connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
    # an equal passive-free redeclaration succeeds only if the arguments match
    connection.channel().queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    connection.close()
    assert len(drain(queue)) == 1


def test_an_unreachable_broker_fails_the_publish_with_a_clear_error():
    publisher = AmqpPublisher(
        "amqp://guest:guest@127.0.0.1:1//",
        "nowhere",
        queue_arguments=None,
        build=celery_build,
        connect_timeout_s=1,
    )
    with pytest.raises(ConnectionError, match="cannot reach RabbitMQ"):
        publisher.publish([publisher.message([1, "noop", {}], {})])


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl to close a connection")
def test_a_lost_connection_is_opened_again_for_the_next_publish(rabbitmq_url, queue, publishers):
    publisher = publishers(rabbitmq_url, queue)
    publisher.publish([publisher.message([1, "noop", {}], {})])
    name = f"canvasbridge publisher (pid {os.getpid()})"
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_connections", "pid", "client_properties"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pids = [line.split("\t", 1)[0] for line in listed.splitlines() if name in line]
    assert pids, listed
    for pid in pids:
        subprocess.run(["rabbitmqctl", "-q", "close_connection", pid, "test"], check=True)

    def publish_again() -> bool:
        try:
            publisher.publish([publisher.message([2, "noop", {}], {})])
        except ConnectionError:
            return False  # the loss was noticed by this publish; the next one reconnects
        return True

    wait_for(publish_again, timeout=30, what="a publish after the connection was closed")
    assert sorted(body[0][0] for _, body in drain(queue)) == [1, 2]


def test_with_several_nodes_a_node_that_refuses_is_failed_over_to_the_next(rabbitmq_url, queue, publishers):
    down = "amqp://guest:guest@127.0.0.1:35699//"  # nothing listens there (this helper's port range)
    publisher = publishers(f"{down};{rabbitmq_url}", queue, connect_timeout_s=5)
    publisher.publish([publisher.message([1, "noop", {}], {})])  # tried on the first node, then the next
    publisher.publish([publisher.message([2, "noop", {}], {})])
    assert [body[0][0] for _, body in drain(queue)] == [1, 2]


class _Records(logging.Handler):
    """Records of one logger, whatever other tests did to propagation and handlers."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_refused_message_fails_its_publish_and_the_next_publish_goes_on_a_new_connection(
    rabbitmq_url, queue, publishers
):
    # a queue that refuses what does not fit: the broker nacks the second message
    publisher = publishers(
        rabbitmq_url, queue, queue_arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
    )
    logger = logging.getLogger("canvasbridge.engine.amqp_publisher")
    records, level = _Records(), logger.level
    logger.addHandler(records)
    logger.setLevel(logging.WARNING)
    try:
        publisher.publish([publisher.message([1, "noop", {}], {})])
        with pytest.raises(ConnectionError, match="RabbitMQ refused a message"):
            publisher.publish([publisher.message([2, "noop", {}], {})])
        # the publisher's I/O thread reconnects just after it failed the publish
        wait_for(
            lambda: "amqp publisher: RabbitMQ refused a message; reconnecting" in records.messages,
            timeout=10,
            what="the publisher to reconnect after the refusal",
        )
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    assert [body[0][0] for _, body in drain(queue)] == [1]
    publisher.publish([publisher.message([3, "noop", {}], {})])
    assert [body[0][0] for _, body in drain(queue)] == [3]
