"""The contract between a source and the rest of the engine.

A *source* reads messages from somewhere (an AMQP queue, an SQS queue, HTTP POSTs, a
JSONL file), turns each into an :class:`~canvasbridge.engine.envelope.Envelope` and
hands it to a :data:`Dispatch` callable. The engine supplies ``dispatch``; the source
only decides when a message may be forgotten:

* ``dispatch(envelope)`` **returns** once the message is fully handled: its tasks are
  durably queued (publisher-confirmed), or it was parked, or it was counted as
  unmatched. The source may then ack (AMQP), delete (SQS) or answer 202 (HTTP).
* ``dispatch(envelope)`` **raises** when the message was *not* made durable. The source
  must not ack: AMQP nacks with requeue after a short pause (so a broker that is down is
  not hammered), SQS leaves the message to reappear after its visibility timeout, HTTP
  answers 503 so the sender retries, file replay retries the same line with backoff.

``dispatch`` is thread-safe and blocking (milliseconds, usually); sources call it from a
small pool of worker threads, never from an event loop.

A dispatch may also take a whole batch (:class:`BatchDispatch`, as the engine's dispatcher
does): ``dispatch.dispatch_many(envelopes)`` returns once every message of the batch is
handled (each queued, parked or counted on its own) and raises when none of them was made
durable, so the source redelivers them all. A source that receives messages in batches
(AMQP) hands them over whole when the dispatch is a :class:`BatchDispatch`, and one by one
otherwise.

A :class:`Source` runs until its ``stop`` event is set, then finishes the messages it has
started, acknowledges them, and returns without losing any. The caller owns signals:
on SIGTERM it sets the event.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from canvasbridge.backoff import backoff_s
from canvasbridge.engine.envelope import Envelope

Dispatch = Callable[[Envelope], object]
"""Hand one envelope to the engine; returns when it is safe to ack, raises when it is not."""


@runtime_checkable
class BatchDispatch(Protocol):
    """A :data:`Dispatch` that also takes a batch of envelopes at once."""

    def __call__(self, envelope: Envelope) -> object:
        """Handle one envelope; returns when it is safe to ack, raises when it is not."""
        ...

    def dispatch_many(self, envelopes: Sequence[Envelope]) -> Sequence[object]:
        """Handle a batch; one result per envelope, in order. Raises when none was made durable."""
        ...


Progress = Callable[[int], None]
"""Called with the number of messages dispatched so far (used by file replay)."""


@runtime_checkable
class Source(Protocol):
    """Something that feeds envelopes to a :data:`Dispatch` until told to stop."""

    @property
    def name(self) -> str:
        """The source's name from config; it becomes :attr:`Envelope.source`."""
        ...

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, finish in-flight messages, then return."""
        ...


def backoff_delay(attempt: int, base_s: float, cap_s: float, *, jitter: bool = True) -> float:
    """Exponential backoff in seconds for retry number ``attempt`` (0-based), capped.

    The shared computation of :func:`canvasbridge.backoff.backoff_s`; with ``jitter`` the
    delay is drawn from [delay/2, delay] so that many consumers that lost the same broker do
    not reconnect in lockstep.
    """
    return backoff_s(attempt + 1, base_s, cap_s, jitter=jitter)


def stringify_attribute(value: object) -> str:
    """An attribute value (AMQP header, SQS attribute, HTTP header) as text.

    Bytes are decoded as UTF-8 with ``surrogateescape``: bytes that are not UTF-8 stay
    recoverable, and the dispatcher parks the message naming them (see ``admission``).
    """
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="surrogateescape")
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str, sort_keys=True, ensure_ascii=False)
    return str(value)
