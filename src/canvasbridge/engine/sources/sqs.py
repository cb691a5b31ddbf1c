"""SQS source: long-poll one queue with boto3 and delete only what was dispatched.

The loop: ``ReceiveMessage`` (long polling for ``wait_time_seconds``, up to
``batch_size`` ≤ 10 messages, every message attribute and ``ApproximateReceiveCount``
requested), dispatch the batch, then ``DeleteMessageBatch`` the messages whose dispatch
returned. A dispatcher that takes batches (a :class:`~canvasbridge.engine.sources.base.BatchDispatch`, the engine's) gets
the received messages as one batch, on one of the ``workers`` threads: one ledger write and
one wait for the broker's confirms for up to ten messages; if that raises, none of them is
deleted. Otherwise each message is dispatched on its own thread. A message whose dispatch
raised is left alone: SQS shows it again after ``visibility_timeout`` seconds (and moves it
to the dead-letter queue after the redrive policy's ``maxReceiveCount``, if the queue has
one: see docs/operations.md).

``DeleteMessageBatch`` answers per entry. An entry that failed on SQS's side
(``SenderFault: false``), or a whole call that failed, is tried again, up to
``DELETE_ATTEMPTS`` times; an entry SQS refused (``SenderFault: true``, such as a receipt
handle that expired because the message was received again) is logged and left: the
message will be delivered again, and the tasks it queues are idempotent.

``pollers`` receive loops run side by side (each waits for its own batch to finish
before polling again) and share the ``workers`` dispatch threads; raise it when one
loop's receive-dispatch-delete round trip limits throughput.

A slow batch keeps its messages hidden: while it runs, every ``visibility_timeout / 2``
seconds the unfinished messages get ``ChangeMessageVisibilityBatch`` to
``visibility_timeout`` again (turn off with ``extend_visibility: false``).

Envelope fields: ``message_id`` is the SQS ``MessageId``; ``attributes`` are the message
attributes' ``StringValue`` (``BinaryValue`` as base64); ``delivery_count`` is
``ApproximateReceiveCount``; ``routing_key`` is ``None``. Credentials come from the
standard AWS chain (environment, profile, instance role).

Stopping: the poll in progress ends (at most ``wait_time_seconds`` later), the batch in
hand is dispatched and deleted, then :meth:`SqsSource.run` returns. Errors talking to SQS
are retried with exponential backoff; a queue that does not exist is a
:class:`~canvasbridge.errors.ConfigError`.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.sources.base import BatchDispatch, Dispatch, backoff_delay
from canvasbridge.engine.sources.config import SqsSourceConfig
from canvasbridge.errors import ConfigError

log = logging.getLogger(__name__)

SYSTEM_ATTRIBUTES = ["ApproximateReceiveCount", "SentTimestamp", "ApproximateFirstReceiveTimestamp"]
DELETE_ATTEMPTS = 3  # tries of a DeleteMessageBatch entry that failed on SQS's side
DELETE_RETRY_PAUSE_S = 0.2  # before the second try, doubled for the third, seconds
MISSING_QUEUE_CODES = frozenset(
    {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "InvalidAddress"}
)


class SqsSource:
    """A :class:`~canvasbridge.engine.sources.base.Source` reading one SQS queue.

    ``client`` replaces the boto3 SQS client (tests hook into it); ``polling`` is set
    once a receive succeeded; ``dispatched``, ``failed`` and ``deleted`` count messages.
    """

    def __init__(self, config: SqsSourceConfig, dispatch: Dispatch, *, client: Any = None) -> None:
        self.config = config
        self._dispatch = dispatch
        self._dispatch_many = dispatch.dispatch_many if isinstance(dispatch, BatchDispatch) else None
        self._client = client
        self.polling = threading.Event()
        self.dispatched = 0
        self.failed = 0
        self.deleted = 0
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.config.name

    def _make_client(self) -> Any:
        # a connection for each poller's long poll and each dispatch thread's deletes (botocore
        # keeps 10: with more pollers, urllib3 warns "pool is full" and reconnects)
        connections = max(10, self.config.pollers + max(self.config.workers, self.config.pollers))
        return boto3.client(
            "sqs",
            region_name=self.config.region,
            endpoint_url=self.config.endpoint_url,
            config=BotoConfig(max_pool_connections=connections),
        )

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set; the batch in hand is finished before returning."""
        client = self._client if self._client is not None else self._make_client()
        cfg = self.config
        halt = threading.Event()  # set when one poller hits a configuration error
        errors: list[BaseException] = []

        def poll_guarded(pool: ThreadPoolExecutor) -> None:
            try:
                self._poll(client, pool, stop, halt)
            except BaseException as exc:
                errors.append(exc)
                halt.set()

        workers = max(cfg.workers, cfg.pollers)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"sqs-{self.name}") as pool:
            extra = [
                threading.Thread(
                    target=poll_guarded, args=(pool,), name=f"sqs-{self.name}-poll-{i}", daemon=True
                )
                for i in range(1, cfg.pollers)
            ]
            for thread in extra:
                thread.start()
            poll_guarded(pool)
            for thread in extra:
                thread.join()
        self.polling.clear()
        if errors:
            raise errors[0]

    def _poll(
        self, client: Any, pool: ThreadPoolExecutor, stop: threading.Event, halt: threading.Event
    ) -> None:
        """One receive loop; several may share the client and the dispatch pool."""
        cfg = self.config
        attempt = 0
        while not (stop.is_set() or halt.is_set()):
            try:
                response = client.receive_message(
                    QueueUrl=cfg.queue_url,
                    MaxNumberOfMessages=cfg.batch_size,
                    WaitTimeSeconds=cfg.wait_time_seconds,
                    VisibilityTimeout=cfg.visibility_timeout,
                    MessageAttributeNames=["All"],
                    MessageSystemAttributeNames=SYSTEM_ATTRIBUTES,
                )
            except ClientError as exc:
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if code in MISSING_QUEUE_CODES:
                    raise ConfigError(
                        f"sources.{self.name}.queue_url: no such queue {cfg.queue_url} ({code})"
                    ) from exc
                attempt = self._pause_after_error(stop, attempt, exc)
                continue
            except BotoCoreError as exc:
                attempt = self._pause_after_error(stop, attempt, exc)
                continue
            attempt = 0
            self.polling.set()
            messages: list[dict[str, Any]] = response.get("Messages", [])
            if messages:
                self._process(client, pool, messages)

    def _pause_after_error(self, stop: threading.Event, attempt: int, exc: Exception) -> int:
        delay = backoff_delay(attempt, self.config.error_backoff_base_s, self.config.error_backoff_cap_s)
        log.warning("sqs source %s: receive failed (%s); retrying in %.1f s", self.name, exc, delay)
        stop.wait(delay)
        return attempt + 1

    # ------------------------------------------------------------------ one batch

    def _process(self, client: Any, pool: ThreadPoolExecutor, messages: list[dict[str, Any]]) -> None:
        unfinished = {m["ReceiptHandle"] for m in messages}
        done = threading.Event()
        extender: threading.Thread | None = None
        if self.config.extend_visibility:
            extender = threading.Thread(
                target=self._keep_hidden,
                args=(client, unfinished, done),
                name=f"sqs-{self.name}-visibility",
                daemon=True,
            )
            extender.start()
        try:
            succeeded: list[dict[str, Any]] = []
            if (dispatch_many := self._dispatch_many) is not None:
                if pool.submit(self._dispatch_batch, dispatch_many, messages).result():
                    succeeded = messages
            else:
                futures = [(m, pool.submit(self._dispatch_one, m)) for m in messages]
                for message, future in futures:
                    if future.result():
                        succeeded.append(message)
                    with self._lock:
                        unfinished.discard(message["ReceiptHandle"])
        finally:
            done.set()
            if extender is not None:
                extender.join()
        if succeeded:
            self._delete(client, succeeded)

    def _dispatch_batch(
        self, dispatch_many: Callable[[Sequence[Envelope]], object], messages: list[dict[str, Any]]
    ) -> bool:
        """All of ``messages`` in one ``dispatch_many``; False (none dispatched) if it raised."""
        envelopes = [self._envelope(m) for m in messages]
        try:
            dispatch_many(envelopes)
        except Exception:
            with self._lock:
                self.failed += len(envelopes)
            log.warning(
                "sqs source %s: dispatch of a batch of %d (first %s) failed; they reappear after %d s",
                self.name,
                len(envelopes),
                envelopes[0].message_id,
                self.config.visibility_timeout,
                exc_info=True,
            )
            return False
        with self._lock:
            self.dispatched += len(envelopes)
        return True

    def _dispatch_one(self, message: dict[str, Any]) -> bool:
        envelope = self._envelope(message)
        try:
            self._dispatch(envelope)
        except Exception:
            with self._lock:
                self.failed += 1
            log.warning(
                "sqs source %s: dispatch of %s failed; it reappears after %d s",
                self.name,
                envelope.message_id,
                self.config.visibility_timeout,
                exc_info=True,
            )
            return False
        with self._lock:
            self.dispatched += 1
        return True

    def _envelope(self, message: dict[str, Any]) -> Envelope:
        attributes: dict[str, str] = {}
        for key, value in (message.get("MessageAttributes") or {}).items():
            if "StringValue" in value:
                attributes[key] = str(value["StringValue"])
            elif "BinaryValue" in value:
                attributes[key] = base64.b64encode(value["BinaryValue"]).decode("ascii")
        system = message.get("Attributes") or {}
        try:
            delivery_count = max(1, int(system.get("ApproximateReceiveCount", 1)))
        except (TypeError, ValueError):
            delivery_count = 1
        return Envelope(
            body=str(message.get("Body", "")).encode("utf-8"),
            source=self.name,
            message_id=str(message["MessageId"]),
            attributes=attributes,
            delivery_count=delivery_count,
        )

    def _keep_hidden(self, client: Any, unfinished: set[str], done: threading.Event) -> None:
        """While the batch runs, push the visibility of unfinished messages forward."""
        timeout = self.config.visibility_timeout
        while not done.wait(timeout / 2):
            with self._lock:
                handles = sorted(unfinished)
            if not handles:
                continue
            try:
                response = client.change_message_visibility_batch(
                    QueueUrl=self.config.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": timeout}
                        for i, h in enumerate(handles)
                    ],
                )
                failed = response.get("Failed") or []
                log.info(
                    "sqs source %s: extended visibility of %d slow messages%s",
                    self.name,
                    len(handles) - len(failed),
                    f"; {len(failed)} refused ({failed[0].get('Code')}): they may be delivered twice"
                    if failed
                    else "",
                )
            except (BotoCoreError, ClientError) as exc:
                log.warning("sqs source %s: cannot extend visibility: %s", self.name, exc)

    def _delete(self, client: Any, messages: list[dict[str, Any]]) -> None:
        """``DeleteMessageBatch``, trying again what failed on SQS's side (module docstring)."""
        pending = {str(i): m["ReceiptHandle"] for i, m in enumerate(messages)}
        for attempt in range(DELETE_ATTEMPTS):
            if attempt:
                time.sleep(DELETE_RETRY_PAUSE_S * 2 ** (attempt - 1))
            entries = [{"Id": entry_id, "ReceiptHandle": handle} for entry_id, handle in pending.items()]
            try:
                response = client.delete_message_batch(QueueUrl=self.config.queue_url, Entries=entries)
            except (BotoCoreError, ClientError) as exc:
                log.warning(
                    "sqs source %s: delete of %d dispatched messages failed (%s)%s",
                    self.name,
                    len(entries),
                    exc,
                    "; trying again" if attempt + 1 < DELETE_ATTEMPTS else "; they will be redelivered",
                )
                continue
            deleted = {str(entry["Id"]) for entry in response.get("Successful") or []}
            retry: dict[str, str] = {}
            for failure in response.get("Failed") or []:
                entry_id = str(failure.get("Id"))
                deleted.discard(entry_id)
                again = not failure.get("SenderFault", False) and attempt + 1 < DELETE_ATTEMPTS
                if again and entry_id in pending:
                    retry[entry_id] = pending[entry_id]
                log.warning(
                    "sqs source %s: delete failed for entry %s: %s%s",
                    self.name,
                    entry_id,
                    failure.get("Message") or failure.get("Code"),
                    "; trying again" if again else "; it will be redelivered",
                )
            with self._lock:
                self.deleted += len(deleted & pending.keys())
            pending = retry
            if not pending:
                return
