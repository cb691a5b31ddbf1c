"""Putting task calls into a ledger in a chosen state, without running a worker."""

from __future__ import annotations

from typing import Any

from canvasbridge.engine import Envelope, TaskCall
from canvasbridge.engine.ledger import Ledger


def message(source: str = "uio", message_id: str = "msg-1", routing_key: str = "task.user") -> Envelope:
    return Envelope(
        body=b'{"task": "record", "params": {"key": "olan"}}',
        source=source,
        message_id=message_id,
        routing_key=routing_key,
    )


def queued(ledger: Ledger, task: str, origin: Envelope | None = None, **params: Any) -> int:
    return ledger.record([TaskCall(task, params)], origin=origin)[0].id


def dead(
    ledger: Ledger,
    task: str,
    origin: Envelope | None = None,
    error: str = "PermanentError: gone",
    **params: Any,
) -> int:
    call_id = queued(ledger, task, origin, **params)
    claim = ledger.claim(call_id, max_attempts=5)
    ledger.fail_attempt(call_id, attempt=claim.attempt, error=error, traceback="Traceback: …", retry_in=None)
    return call_id


def succeeded(ledger: Ledger, task: str, origin: Envelope | None = None, **params: Any) -> int:
    call_id = queued(ledger, task, origin, **params)
    ledger.claim(call_id, max_attempts=5)
    ledger.succeed(call_id, {"ok": True})
    return call_id
