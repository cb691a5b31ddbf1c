"""Publishing Celery messages to RabbitMQ with asynchronous publisher confirms.

Celery's ``send_task`` on py-amqp waits for the broker's confirm of each message before the
next one: a round trip and a good share of the engine's CPU per call. This publisher owns
one pika ``SelectConnection`` on a thread of its own. Callers hand it their calls and wait
for the confirms; meanwhile the connection keeps publishing for other callers, and RabbitMQ
confirms many messages with one ``basic.ack(multiple)``. The messages themselves are built
by Celery (``app.amqp.as_task_v2``), so the worker sees exactly what ``send_task`` sends.

A publish fails (the caller's source message is then redelivered) when the broker nacks a
message, the connection is lost before the confirm, or no confirm arrives in time. The
connection is opened on first use and again after a loss, once per process (a forked worker
opens its own). Given a cluster's nodes (URLs separated by ``;``), it connects to one and,
when that connection is lost or cannot be opened, tries the next in turn.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import pika
from pika.adapters.select_connection import IOLoop

from canvasbridge.engine.sources.amqp import pika_url

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT_S = 30.0  # a publish not confirmed by then fails (the source redelivers)
CONNECT_TIMEOUT_S = 10.0  # a publish that finds no connection waits this long for one
RETRY_CONNECT_S = 1.0  # pause between connection attempts while publishes wait


@dataclass(frozen=True)
class CeleryMessage:
    """One Celery task message, ready for ``basic_publish``."""

    body: bytes
    properties: pika.BasicProperties


class _Batch:
    """The messages of one ``publish`` call: done when every one is confirmed."""

    def __init__(self, messages: Sequence[CeleryMessage]) -> None:
        self.messages = messages
        self.unconfirmed = len(messages)
        self.future: Future[None] = Future()

    def fail(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class AmqpPublisher:
    def __init__(
        self,
        url: str,
        queue: str,
        *,
        queue_arguments: dict[str, Any] | None,
        build: Callable[[str, list[Any], dict[str, Any]], tuple[dict[str, Any], dict[str, Any], Any]],
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        confirm_timeout_s: float = CONFIRM_TIMEOUT_S,
    ) -> None:
        """``build(task_id, args, kwargs)`` gives Celery's ``(headers, properties, body)``;
        ``url`` is one node's, or several separated by ``;``."""
        self._nodes = [pika.URLParameters(pika_url(part)) for part in url.split(";") if part.strip()]
        for parameters in self._nodes:
            parameters.client_properties = {"connection_name": f"canvasbridge publisher (pid {os.getpid()})"}
        self._node = 0  # index of the node to connect to next
        self.queue = queue
        self._queue_arguments = queue_arguments
        self._build = build
        self._connect_timeout_s = connect_timeout_s
        self._confirm_timeout_s = confirm_timeout_s
        self._lock = threading.Lock()
        self._pid = 0
        self._ioloop: Any = None
        self._connection: Any = None
        self._channel: Any = None
        self._closing = False
        self._waiting: list[_Batch] = []  # handed over before the channel was ready
        self._unconfirmed: dict[int, _Batch] = {}  # delivery tag → its batch
        self._tags = itertools.count(1)

    # -- callers' side -----------------------------------------------------------------

    def message(self, args: list[Any], kwargs: dict[str, Any]) -> CeleryMessage:
        task_id = str(uuid.uuid4())
        headers, properties, body = self._build(task_id, args, kwargs)
        return CeleryMessage(
            json.dumps(body).encode(),
            pika.BasicProperties(
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                priority=0,
                headers=headers,
                correlation_id=properties.get("correlation_id", task_id),
                reply_to=properties.get("reply_to") or None,
            ),
        )

    def publish(self, messages: Sequence[CeleryMessage]) -> None:
        """Return once RabbitMQ confirmed every message; raise if it did not."""
        if not messages:
            return
        self._ensure_thread()
        batch = _Batch(messages)
        self._ioloop.add_callback_threadsafe(lambda: self._send(batch))
        batch.future.result(timeout=self._confirm_timeout_s + self._connect_timeout_s)

    def _ensure_thread(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._ioloop = IOLoop()
            self._waiting, self._unconfirmed, self._connection, self._channel = [], {}, None, None
            self._closing = False
            thread = threading.Thread(target=self._run, name="amqp-publisher", daemon=True)
            thread.start()
            self._pid = os.getpid()

    def close(self) -> None:
        """Close the connection and end its thread (a later publish opens them again)."""
        with self._lock:
            if self._pid != os.getpid() or self._ioloop is None:
                return
            ioloop, self._pid = self._ioloop, 0
        ioloop.add_callback_threadsafe(lambda: self._shut(ioloop))

    # -- the IO loop's side ------------------------------------------------------------
    # Connects only while there is something to publish: an idle process keeps no retry
    # loop (nor its log lines) going while the broker is away.

    def _run(self) -> None:
        self._ioloop.start()

    def _connect_if_idle(self) -> None:
        if self._connection is not None:
            return
        self._connection = pika.SelectConnection(
            self._nodes[self._node % len(self._nodes)],
            on_open_callback=lambda connection: connection.channel(on_open_callback=self._on_channel),
            on_open_error_callback=self._on_lost,
            on_close_callback=self._on_lost,
            custom_ioloop=self._ioloop,
        )
        self._ioloop.call_later(self._connect_timeout_s, self._fail_waiting_if_unready)

    def _on_channel(self, channel: Any) -> None:
        channel.add_on_close_callback(self._on_channel_closed)
        channel.confirm_delivery(self._on_confirm)
        # Declared as the Celery worker declares it (an equal declaration is a no-op), so a
        # message published before any worker ran is kept; published through the default
        # exchange straight to the queue.
        channel.queue_declare(
            self.queue,
            durable=True,
            arguments=self._queue_arguments,
            callback=lambda _frame: self._on_ready(channel),
        )

    def _on_channel_closed(self, channel: Any, reason: Any) -> None:
        log.warning("amqp publisher: channel closed: %s", _describe(reason))
        if channel.connection.is_open:
            channel.connection.close()  # its close callback fails what is unconfirmed

    def _on_ready(self, channel: Any) -> None:
        self._channel = channel
        self._tags = itertools.count(1)
        waiting, self._waiting = self._waiting, []
        for batch in waiting:
            self._send(batch)

    def _send(self, batch: _Batch) -> None:
        channel = self._channel
        if channel is None or not channel.is_open:
            self._waiting.append(batch)
            self._connect_if_idle()
            return
        for message in batch.messages:
            channel.basic_publish("", self.queue, message.body, message.properties)
            self._unconfirmed[next(self._tags)] = batch

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        acked = isinstance(method, pika.spec.Basic.Ack)
        tags = [method.delivery_tag]
        if method.multiple:  # every tag up to this one; tags are kept in publishing order
            tags = list(itertools.takewhile(lambda tag: tag <= method.delivery_tag, self._unconfirmed))
        for tag in tags:
            batch = self._unconfirmed.pop(tag, None)
            if batch is None:
                continue
            if not acked:
                batch.fail(ConnectionError(f"RabbitMQ refused a message for queue {self.queue!r}"))
                continue
            batch.unconfirmed -= 1
            if batch.unconfirmed == 0 and not batch.future.done():
                batch.future.set_result(None)
        if not acked:
            self._reconnect_after_refusal()

    def _reconnect_after_refusal(self) -> None:
        """After a nack, publish on a new connection (to the next node): a channel that
        published to a quorum queue while its leader was lost can go on refusing every
        message after a new leader took over (seen on RabbitMQ 3.10 after a node's SIGKILL),
        while a new channel publishes at once."""
        connection = self._connection
        if connection is not None and not (connection.is_closing or connection.is_closed):
            log.warning("amqp publisher: RabbitMQ refused a message; reconnecting")
            connection.close()  # _on_lost fails what is unconfirmed and moves to the next node

    def _on_lost(self, _connection: Any, reason: Any) -> None:
        self._connection, self._channel = None, None
        self._node += 1  # the next connection goes to the next node (failover)
        error = ConnectionError(f"lost the connection to RabbitMQ before it confirmed: {_describe(reason)}")
        for batch in {id(b): b for b in self._unconfirmed.values()}.values():
            batch.fail(error)
        self._unconfirmed.clear()
        if self._closing:
            self._ioloop.stop()
            return
        log.warning("amqp publisher: %s", _describe(reason))
        if self._waiting:  # try again for them until their connect timeout fails them
            self._ioloop.call_later(RETRY_CONNECT_S, self._connect_if_idle)

    def _fail_waiting_if_unready(self) -> None:
        if self._channel is None and self._waiting:
            waiting, self._waiting = self._waiting, []
            for batch in waiting:
                batch.fail(ConnectionError(f"cannot reach RabbitMQ within {self._connect_timeout_s:.0f} s"))

    def _shut(self, ioloop: Any) -> None:
        self._closing = True
        connection = self._connection
        if connection is not None and not (connection.is_closing or connection.is_closed):
            connection.close()  # _on_lost stops the loop
        else:
            ioloop.stop()


def _describe(reason: Any) -> str:
    return f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
