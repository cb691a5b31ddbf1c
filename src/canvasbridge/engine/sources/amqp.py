"""AMQP source: consume RabbitMQ queues with pika's asynchronous ``SelectConnection``.

What it does, in order, on every (re)connection:

1. declares the configured exchanges, queues (``x-queue-type: quorum`` and
   ``x-delivery-limit`` when asked) and bindings - all idempotent;
2. sets ``basic_qos(prefetch_count=prefetch)`` and starts one consumer per queue with
   manual acks;
3. hands deliveries in batches to a small pool of worker threads (``workers``): each free
   thread takes everything that arrived while the others were busy (up to
   ``MAX_BATCH``), so under load one ledger write and one wait for the Celery broker's
   confirms serve many messages, and a lone message goes at once. A dispatcher that can
   take a batch (a :class:`~canvasbridge.engine.sources.base.BatchDispatch`) gets it whole; otherwise each message is
   dispatched on its own. The IO loop never blocks, so heartbeats keep flowing;
4. acks a delivery only after its dispatch returned, through
   ``ioloop.add_callback_threadsafe``; when dispatch raised, nacks it with
   ``requeue=True`` after ``nack_delay_s`` (doubling per consecutive failure up to
   ``nack_delay_cap_s``), so a broker that is down is not hammered.

When the broker goes away the unacked deliveries return to the queue on the broker's
side; deliveries of the lost channel that have not started are skipped (no double work),
and the source reconnects with exponential backoff and jitter
(``reconnect_backoff_base_s`` doubling up to ``reconnect_backoff_cap_s``). Given a
cluster's nodes (``url`` with several URLs separated by ``;``), each reconnect tries the
next node in turn, so a lost node is failed over from at the first retry.

Stopping (the ``stop`` event; the caller sets it on SIGTERM): cancel the consumers
(``basic_cancel``; pika itself rejects anything that arrives after), let started
dispatches finish and ack them, skip the prefetched deliveries that had not started, then
close the channel and connection cleanly (which returns the skipped ones to the queue). Nothing is lost: whatever is not acked stays
in the queue.

Envelope fields: ``routing_key`` from the delivery, ``attributes`` from the AMQP headers
(as text) plus the properties ``content_type``, ``content_encoding``, ``message_id``,
``correlation_id``, ``type`` and ``app_id`` when set; ``delivery_count`` is 1 + the
quorum queue's ``x-delivery-count`` header when present (at least 2 for a delivery
flagged ``redelivered``; classic queues only have that flag); ``message_id`` is the AMQP ``message_id`` property or,
when the publisher set none, a random UUID. Text that is not UTF-8 is decoded with
``surrogateescape`` (nothing lost); the dispatcher parks such a message on its first
delivery, as it does one whose id or routing key is too long or holds a NUL.

Errors while declaring that mean the configuration is wrong (403 access refused,
404 not found, 406 precondition failed - e.g. the queue exists with other arguments)
make :meth:`AmqpSource.run` raise :class:`~canvasbridge.errors.ConfigError` instead of
retrying forever.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

import pika
from pika.adapters.select_connection import IOLoop
from pika.exceptions import ChannelClosedByBroker

from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.sources.base import BatchDispatch, Dispatch, backoff_delay, stringify_attribute
from canvasbridge.engine.sources.config import AmqpSourceConfig
from canvasbridge.errors import ConfigError

log = logging.getLogger(__name__)

_Step = Callable[..., None]  # a pika call that takes ``callback=`` and completes later

STOP_POLL_INTERVAL_S = 0.2  # how often the IO loop looks at the stop event, seconds
CONFIG_REPLY_CODES = frozenset({403, 404, 406})  # channel errors that mean "fix the config"
MAX_BATCH = 200  # deliveries one worker thread dispatches together at most
PROPERTY_ATTRIBUTES = ("content_type", "content_encoding", "message_id", "correlation_id", "type", "app_id")


def pika_url(url: str) -> str:
    """A kombu-style AMQP URL as pika reads it: ``pyamqp`` is ``amqp``, and kombu's ``//``
    for the default vhost "/" is ``/%2F`` (pika would read "")."""
    parts = urlsplit(url)
    scheme = "amqp" if parts.scheme == "pyamqp" else parts.scheme
    path = "/%2F" if parts.path == "//" else parts.path
    return urlunsplit(parts._replace(scheme=scheme, path=path))


@dataclass
class _Delivery:
    """One message in flight: which channel it came on, and what to ack."""

    generation: int
    channel: Any
    delivery_tag: int
    envelope: Envelope


class AmqpSource:
    """A :class:`~canvasbridge.engine.sources.base.Source` reading RabbitMQ queues.

    ``consuming`` is set while consumers are active (cleared while reconnecting);
    ``dispatched`` and ``failed`` count dispatch outcomes, ``sessions`` how often
    consuming started (more than 1 after a reconnect).
    """

    def __init__(self, config: AmqpSourceConfig, dispatch: Dispatch) -> None:
        self.config = config
        self._dispatch = dispatch
        self._dispatch_many = dispatch.dispatch_many if isinstance(dispatch, BatchDispatch) else None
        self.consuming = threading.Event()
        self.dispatched = 0
        self.failed = 0
        self.sessions = 0
        self._lock = threading.Lock()
        self._consecutive_failures = 0
        # Everything below is touched only from the IO loop thread (except reads of
        # ``_generation`` and ``_stopping``, which are atomic).
        self._ioloop: Any = None
        self._executor: ThreadPoolExecutor | None = None
        self._stop: threading.Event = threading.Event()
        self._stopping = threading.Event()
        self._connection: Any = None
        self._channel: Any = None
        self._generation = 0
        self._inflight = 0
        self._waiting: list[_Delivery] = []  # received, not yet handed to a worker thread
        self._batches_running = 0
        self._consumer_tags: list[str] = []
        self._cancels_pending = 0
        self._setup_done = False
        self._closing = False
        self._reconnect_attempt = 0
        self._reconnect_timer: Any = None
        self._node = 0  # index of the node URL to connect to next
        self._pending_nacks: dict[int, tuple[Any, _Delivery]] = {}
        self._fatal: Exception | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def connection_name(self) -> str:
        """How the connection is labelled in RabbitMQ's management UI and ``rabbitmqctl``."""
        return f"canvasbridge source {self.name} (pid {os.getpid()})"

    # ------------------------------------------------------------------ lifecycle

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set; then finish in-flight messages and return."""
        self._stop = stop
        self._ioloop = IOLoop()
        self._executor = ThreadPoolExecutor(
            max_workers=self.config.workers, thread_name_prefix=f"amqp-{self.name}"
        )
        self._ioloop.add_callback_threadsafe(self._connect)
        self._ioloop.call_later(STOP_POLL_INTERVAL_S, self._poll_stop)
        try:
            self._ioloop.start()
        finally:
            self.consuming.clear()
            # Dispatches of a lost channel may still be running: let them end.
            self._executor.shutdown(wait=True)
            self._ioloop.close()
        if self._fatal is not None:
            raise self._fatal

    def _poll_stop(self) -> None:
        if self._stop.is_set():
            self._begin_stop()
        else:
            self._ioloop.call_later(STOP_POLL_INTERVAL_S, self._poll_stop)

    def _begin_stop(self) -> None:
        if self._stopping.is_set():
            return
        log.info("amqp source %s stopping", self.name)
        self._stopping.set()
        if self._reconnect_timer is not None:
            self._ioloop.remove_timeout(self._reconnect_timer)
            self._reconnect_timer = None
            self._ioloop.stop()
            return
        channel = self._channel
        if channel is not None and channel.is_open and self._consumer_tags:
            self._cancels_pending = len(self._consumer_tags)
            for tag in self._consumer_tags:
                channel.basic_cancel(consumer_tag=tag, callback=self._on_cancel_ok)
            self._consumer_tags = []
        # Prefetched deliveries that had not started go back to the queue.
        waiting, self._waiting = self._waiting, []
        self._release(waiting)
        # Failed deliveries waiting out their pause go back to the queue now.
        for timer, delivery in list(self._pending_nacks.values()):
            self._ioloop.remove_timeout(timer)
            self._settle(delivery, "nack")
        self._maybe_finish_stop()

    def _on_cancel_ok(self, _frame: Any) -> None:
        self._cancels_pending -= 1
        self._maybe_finish_stop()

    def _maybe_finish_stop(self) -> None:
        if self._cancels_pending == 0 and self._inflight == 0:
            self._close()

    def _close(self) -> None:
        self._closing = True
        self.consuming.clear()
        connection = self._connection
        if connection is not None and not (connection.is_closing or connection.is_closed):
            connection.close()
        elif connection is None or connection.is_closed:
            self._ioloop.stop()
        # else: closing already; _on_connection_closed stops the loop

    # ------------------------------------------------------------------ connection

    def _parameters(self) -> Any:
        nodes = self.config.urls()
        parts = urlsplit(nodes[self._node % len(nodes)])
        netloc = parts.hostname or "localhost"
        if ":" in netloc:
            netloc = f"[{netloc}]"
        if parts.port is not None:
            netloc = f"{netloc}:{parts.port}"
        params = pika.URLParameters(pika_url(urlunsplit(parts._replace(netloc=netloc))))
        params.client_properties = {"connection_name": self.connection_name}
        if parts.username is not None:
            password = self.config.password.resolve().get_secret_value() if self.config.password else ""
            params.credentials = pika.PlainCredentials(unquote(parts.username), password)
        return params

    def _connect(self) -> None:
        self._reconnect_timer = None
        if self._stopping.is_set():
            self._ioloop.stop()
            return
        self._closing = False
        self._setup_done = False
        log.debug("amqp source %s connecting", self.name)
        try:
            parameters = self._parameters()
        except LookupError as exc:
            self._fatal = ConfigError(f"sources.{self.name}.password: {exc}")
            self._ioloop.stop()
            return
        self._connection = pika.SelectConnection(
            parameters,
            on_open_callback=self._on_connection_open,
            on_open_error_callback=self._on_connection_open_error,
            on_close_callback=self._on_connection_closed,
            custom_ioloop=self._ioloop,
        )

    def _on_connection_open(self, connection: Any) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_open_error(self, connection: Any, error: BaseException) -> None:
        if connection is not self._connection:
            return
        if self._closing or self._stopping.is_set():
            self._ioloop.stop()
            return
        log.warning("amqp source %s cannot connect: %s", self.name, error)
        self._schedule_reconnect()

    def _on_connection_closed(self, connection: Any, reason: BaseException) -> None:
        if connection is not self._connection:
            return
        self._channel = None
        if self._closing:
            log.info("amqp source %s closed", self.name)
            self._ioloop.stop()
            return
        log.warning("amqp source %s lost its connection: %s", self.name, reason)
        self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        # Deliveries of the old channel are void: the broker has requeued them.
        self._generation += 1
        self._inflight = 0
        self._waiting = []
        self._consumer_tags = []
        self._cancels_pending = 0
        self._pending_nacks.clear()
        self.consuming.clear()
        if self._stopping.is_set():
            self._ioloop.stop()
            return
        self._node += 1  # failover: the next attempt goes to the next node
        delay = backoff_delay(
            self._reconnect_attempt, self.config.reconnect_backoff_base_s, self.config.reconnect_backoff_cap_s
        )
        self._reconnect_attempt += 1
        log.info("amqp source %s reconnecting in %.1f s", self.name, delay)
        self._reconnect_timer = self._ioloop.call_later(delay, self._connect)

    # ------------------------------------------------------------------ channel setup

    def _on_channel_open(self, channel: Any) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_cancel_callback(self._on_broker_cancel)
        self._run_steps(iter(self._setup_steps(channel)))

    def _setup_steps(self, channel: Any) -> list[_Step]:
        cfg = self.config
        steps: list[_Step] = []
        for ex in cfg.exchanges:
            if ex.declare:
                steps.append(
                    functools.partial(
                        channel.exchange_declare, exchange=ex.name, exchange_type=ex.type, durable=ex.durable
                    )
                )
        for queue in cfg.queues:
            if queue.declare:
                steps.append(
                    functools.partial(
                        channel.queue_declare,
                        queue=queue.name,
                        durable=queue.durable,
                        arguments=queue.declare_arguments() or None,
                    )
                )
            for binding in queue.bindings:
                for key in binding.routing_keys:
                    steps.append(
                        functools.partial(
                            channel.queue_bind, queue=queue.name, exchange=binding.exchange, routing_key=key
                        )
                    )
        steps.append(functools.partial(channel.basic_qos, prefetch_count=cfg.prefetch))
        return steps

    def _run_steps(self, steps: Iterator[_Step]) -> None:
        if self._stopping.is_set():
            self._maybe_finish_stop()
            return
        step = next(steps, None)
        if step is None:
            self._start_consuming()
            return
        step(callback=lambda _frame: self._run_steps(steps))

    def _start_consuming(self) -> None:
        channel = self._channel
        self._setup_done = True
        prefix = self.config.consumer_tag
        for queue in self.config.queues:
            tag = channel.basic_consume(
                queue=queue.name,
                on_message_callback=self._on_message,
                auto_ack=False,
                consumer_tag=f"{prefix}.{queue.name}" if prefix else None,
            )
            self._consumer_tags.append(tag)
        self._reconnect_attempt = 0
        self.sessions += 1
        self.consuming.set()
        log.info(
            "amqp source %s consuming %s (prefetch %d)",
            self.name,
            ", ".join(q.name for q in self.config.queues),
            self.config.prefetch,
        )

    def _on_channel_closed(self, channel: Any, reason: BaseException) -> None:
        if channel is not self._channel:
            return
        self._channel = None
        connection = self._connection
        if self._closing or connection is None or connection.is_closing or connection.is_closed:
            return
        if (
            not self._setup_done
            and isinstance(reason, ChannelClosedByBroker)
            and reason.reply_code in CONFIG_REPLY_CODES
        ):
            self._fatal = ConfigError(
                f"sources.{self.name}: RabbitMQ refused the declared topology: "
                f"{reason.reply_code} {reason.reply_text}"
            )
            log.error("%s", self._fatal)
            self._close()
            return
        log.warning("amqp source %s: channel closed: %s; reconnecting", self.name, reason)
        connection.close()  # _on_connection_closed schedules the reconnect

    def _on_broker_cancel(self, frame: Any) -> None:
        log.warning("amqp source %s: the broker cancelled consumer %s", self.name, frame.method.consumer_tag)
        channel = self._channel
        if channel is not None and channel.is_open and not self._stopping.is_set():
            channel.close()

    # ------------------------------------------------------------------ messages

    def _on_message(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        delivery = _Delivery(
            self._generation, channel, method.delivery_tag, self._envelope(method, properties, body)
        )
        self._inflight += 1
        self._waiting.append(delivery)
        self._hand_out()

    def _hand_out(self) -> None:
        """IO loop: give waiting deliveries to the worker threads that are free."""
        assert self._executor is not None
        while self._waiting and self._batches_running < self.config.workers:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            self._batches_running += 1
            self._executor.submit(self._handle, batch)

    def _envelope(self, method: Any, properties: Any, body: bytes) -> Envelope:
        headers: dict[str, Any] = dict(properties.headers or {})
        attributes = {stringify_attribute(key): stringify_attribute(value) for key, value in headers.items()}
        for name in PROPERTY_ATTRIBUTES:
            value = getattr(properties, name, None)
            if value is not None:
                attributes[name] = stringify_attribute(value)
        delivery_count = 2 if method.redelivered else 1
        count = headers.get("x-delivery-count")
        if isinstance(count, int) and not isinstance(count, bool):
            delivery_count = max(delivery_count, count + 1)
        return Envelope(
            body=bytes(body),
            source=self.name,
            # pika hands over bytes where a short string is not UTF-8
            message_id=stringify_attribute(properties.message_id or str(uuid.uuid4())),
            routing_key=stringify_attribute(method.routing_key),
            attributes=attributes,
            delivery_count=delivery_count,
        )

    def _handle(self, batch: list[_Delivery]) -> None:
        """Worker thread: dispatch a batch, then ask the IO loop to ack or nack each delivery."""
        settle: list[tuple[_Delivery, float | None]] = []  # None: ack; seconds: nack after
        try:
            # Deliveries of a lost channel are void: the broker has requeued them.
            live = [d for d in batch if d.generation == self._generation]
            if live and self._stopping.is_set():
                # Not started: leave them unacked; closing the channel returns them to the
                # queue (without counting a failed delivery, unlike a nack on RabbitMQ 4).
                self._in_loop(functools.partial(self._release, live))
                return
            errors = self._dispatch_all([d.envelope for d in live])
            failed = [(d, e) for d, e in zip(live, errors, strict=True) if e is not None]
            delay = self._failed(failed) if failed else 0.0
            settle = [(d, None if e is None else delay) for d, e in zip(live, errors, strict=True)]
        finally:
            self._in_loop(functools.partial(self._batch_done, settle))

    def _dispatch_all(self, envelopes: list[Envelope]) -> list[Exception | None]:
        """The error of each envelope's dispatch, or None where it succeeded."""
        if not envelopes:
            return []
        if self._dispatch_many is not None:
            try:
                self._dispatch_many(envelopes)
            except Exception as exc:
                return [exc] * len(envelopes)
            return [None] * len(envelopes)
        errors: list[Exception | None] = []
        for envelope in envelopes:
            try:
                self._dispatch(envelope)
            except Exception as exc:
                errors.append(exc)
            else:
                errors.append(None)
        return errors

    def _failed(self, failed: list[tuple[_Delivery, Exception]]) -> float:
        """Count a batch's failed dispatches, logged once; how long to wait before handing
        the messages back."""
        with self._lock:
            self.failed += len(failed)
            self._consecutive_failures += len(failed)
            failures = self._consecutive_failures
        delay = backoff_delay(
            failures - 1, self.config.nack_delay_s, self.config.nack_delay_cap_s, jitter=False
        )
        (first, error), more = failed[0], len(failed) - 1
        log.warning(
            "amqp source %s: dispatch of %s%s failed; requeueing in %.1f s",
            self.name,
            first.envelope.message_id,
            f" and {more} more" if more else "",
            delay,
            exc_info=error,
        )
        return delay

    def _batch_done(self, settle: list[tuple[_Delivery, float | None]]) -> None:
        """IO loop: settle a finished batch's deliveries and hand out more work."""
        succeeded = sum(1 for _, delay in settle if delay is None)
        if succeeded:
            with self._lock:
                self.dispatched += succeeded
                self._consecutive_failures = 0
        for delivery, delay in settle:
            if delay is None:
                self._settle(delivery, "ack")
            else:
                self._nack_later(delivery, delay)
        self._batches_running -= 1
        if not self._stopping.is_set():
            self._hand_out()

    def _release(self, deliveries: list[_Delivery]) -> None:
        for delivery in deliveries:
            self._settle(delivery, "release")

    def _in_loop(self, callback: Callable[[], None]) -> None:
        try:
            self._ioloop.add_callback_threadsafe(callback)
        except Exception:  # the loop is closed: the channel is gone, the broker requeues
            log.debug("amqp source %s: IO loop closed, dropping callback", self.name)

    def _nack_later(self, delivery: _Delivery, delay: float) -> None:
        if delay <= 0 or self._stopping.is_set():
            self._settle(delivery, "nack")
            return
        key = id(delivery)
        timer = self._ioloop.call_later(delay, functools.partial(self._settle, delivery, "nack"))
        self._pending_nacks[key] = (timer, delivery)

    def _settle(self, delivery: _Delivery, outcome: Literal["ack", "nack", "release"]) -> None:
        """IO loop: ack, nack (requeue) or just let go of one delivery."""
        self._pending_nacks.pop(id(delivery), None)
        if delivery.generation != self._generation:
            return  # its channel is gone and the broker has requeued it
        channel = delivery.channel
        if channel.is_open:
            if outcome == "ack":
                channel.basic_ack(delivery_tag=delivery.delivery_tag)
            elif outcome == "nack":
                channel.basic_nack(delivery_tag=delivery.delivery_tag, requeue=True)
        self._inflight -= 1
        if self._stopping.is_set():
            self._maybe_finish_stop()
