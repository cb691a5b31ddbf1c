"""What the ledger hands back: recorded calls, claims, call and attempt records, parked
messages, and the filter that selects calls; with the row → record conversions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.ledger.schema import CallState, task_calls


def utc_now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class RecordedCall:
    """The outcome of recording one call: a new row, or folded into a pending one."""

    id: int
    task: str
    params: dict[str, Any]
    folded: bool
    state: CallState = CallState.QUEUED  # of the call folded into: queued or retrying


@dataclass(frozen=True)
class Recording:
    """Calls to record for one message: what it asked for, and where it came from."""

    calls: Sequence[TaskCall]
    origin: Envelope | None = None
    correlation_id: str | None = None


@dataclass(frozen=True)
class Claim:
    """A worker's right to run a call now. ``proceed`` is False when it must not run."""

    call_id: int
    attempt: int
    proceed: bool
    reason: str = ""
    wait: bool = False  # an identical call is running: try this one again shortly
    alone: bool = False  # its last run was lost with its process: run it with no other call


@dataclass(frozen=True)
class CallRecord:
    id: int
    task: str
    params: dict[str, Any]
    state: CallState
    attempts: int
    folded: int
    correlation_id: str | None
    origin_source: str | None
    origin_message_id: str | None
    origin_routing_key: str | None
    origin_message: dict[str, Any] | None
    requeued_from: int | None
    last_error: str | None
    last_traceback: str | None
    result: Any
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime | None
    requeued_to: int | None = None  # set once requeued: the call that took over


@dataclass(frozen=True)
class AttemptRecord:
    number: int
    outcome: str
    error: str | None
    traceback: str | None
    started_at: datetime | None
    finished_at: datetime


@dataclass(frozen=True)
class ParkedRecord:
    """A parked message. ``message_id`` and ``routing_key`` are printable (NUL and bytes that
    are not UTF-8 escaped, shortened to their columns); ``raw_message_id`` and
    ``raw_routing_key`` are exactly as received (``admission.as_bytes`` gives their bytes)."""

    id: int
    source: str
    message_id: str
    routing_key: str | None
    attributes: dict[str, str]
    body: bytes
    route: str | None
    reason: str
    created_at: datetime
    raw_message_id: str
    raw_routing_key: str | None


@dataclass
class CallFilter:
    """Selects calls; every field that is set must match."""

    states: Sequence[CallState] = field(default_factory=tuple)
    task: str | None = None
    origin: str | None = None  # a source name or a message id
    since: datetime | None = None
    until: datetime | None = None


def parked_record(row: Any) -> ParkedRecord:
    raw = json.loads(row.raw_fields) if row.raw_fields else {}
    return ParkedRecord(
        id=row.id,
        source=row.source,
        message_id=row.message_id,
        routing_key=row.routing_key,
        attributes=json.loads(row.attributes),
        body=bytes(row.body),
        route=row.route,
        reason=row.reason,
        created_at=aware(row.created_at) or utc_now(),
        raw_message_id=raw.get("message_id", row.message_id),
        raw_routing_key=raw.get("routing_key", row.routing_key),
    )


def filtered(query: Any, where: CallFilter | None) -> Any:
    if where is None:
        return query
    if where.states:
        query = query.where(task_calls.c.state.in_([CallState(s).value for s in where.states]))
    if where.task:
        query = query.where(task_calls.c.task == where.task)
    if where.origin:
        query = query.where(
            sa.or_(task_calls.c.origin_source == where.origin, task_calls.c.origin_message_id == where.origin)
        )
    if where.since:
        query = query.where(task_calls.c.created_at >= where.since)
    if where.until:
        query = query.where(task_calls.c.created_at < where.until)
    return query


def call_record(row: Any) -> CallRecord:
    origin = None
    if row.origin_message:
        try:
            origin = json.loads(row.origin_message)
        except json.JSONDecodeError:
            origin = {"body": row.origin_message}
    return CallRecord(
        id=int(row.id),
        task=row.task,
        params=json.loads(row.params),
        state=CallState(row.state),
        attempts=int(row.attempts),
        folded=int(row.folded),
        correlation_id=row.correlation_id,
        origin_source=row.origin_source,
        origin_message_id=row.origin_message_id,
        origin_routing_key=row.origin_routing_key,
        origin_message=origin,
        requeued_from=row.requeued_from,
        requeued_to=row.requeued_to,
        last_error=row.last_error,
        last_traceback=row.last_traceback,
        result=json.loads(row.result) if row.result else None,
        created_at=aware(row.created_at) or utc_now(),
        updated_at=aware(row.updated_at) or utc_now(),
        started_at=aware(row.started_at),
        finished_at=aware(row.finished_at),
        next_attempt_at=aware(row.next_attempt_at),
    )
