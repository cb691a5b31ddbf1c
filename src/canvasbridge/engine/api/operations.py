"""What an operator can do, shared by the HTTP API and the ``canvasbridge`` CLI.

Every action works on the ledger and the queue of one :class:`Runtime`; the HTTP routes
and the CLI commands are thin wrappers that translate the errors below into a status
code or an exit code:

* :class:`UnknownCall` / :class:`UnknownParked` / :class:`UnknownKind` - nothing by that
  id or sync kind (404);
* :class:`InvalidState` - the call's state does not allow the action (409);
* :class:`QueueUnavailable` - the broker did not take the new call (503).

Nothing here imports code chosen by a caller: a sync kind is looked up in the configured
tasks, and a requeue reuses the task name recorded in the ledger, which came from config.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import RouteSpec, UnmatchedConfig
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.health import probe_broker
from canvasbridge.engine.ledger import AttemptRecord, CallFilter, CallRecord, CallState, ParkedRecord
from canvasbridge.engine.runtime import Runtime

from . import queries

log = logging.getLogger(__name__)

ADMIN_SOURCE = "admin"  # origin source of calls queued by an operator
REQUEUEABLE_STATES = (CallState.DEAD, CallState.DISCARDED)
DISCARDABLE_STATES = (CallState.QUEUED, CallState.RETRYING, CallState.RUNNING, CallState.DEAD)
BULK_REQUEUE_MAX = 10_000  # calls one bulk requeue may touch
QUEUE_DEPTH_TIMEOUT_S = 1.0  # /stats gives up on the queue depth after this long


class OperationError(Exception):
    """Base of the errors an operator action can end with."""


class UnknownCall(OperationError):
    def __init__(self, call_id: int) -> None:
        super().__init__(f"no task call with id {call_id}")
        self.call_id = call_id


class UnknownParked(OperationError):
    def __init__(self, parked_id: int) -> None:
        super().__init__(f"no parked message with id {parked_id}")
        self.parked_id = parked_id


class UnknownKind(OperationError):
    def __init__(self, kind: str, known: Sequence[str]) -> None:
        super().__init__(f"no task declares sync kind {kind!r} (configured kinds: {sorted(known)})")
        self.kind = kind


class InvalidState(OperationError):
    pass


class QueueUnavailable(OperationError):
    pass


@dataclass(frozen=True)
class CallPage:
    items: list[CallRecord]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class CallDetail:
    record: CallRecord
    attempts: list[AttemptRecord]


@dataclass(frozen=True)
class Requeued:
    requeued_from: int
    id: int
    folded: bool


@dataclass
class BulkRequeue:
    dry_run: bool
    matched: int = 0
    already_requeued: int = 0
    requeued: list[Requeued] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    not_attempted: int = 0


@dataclass(frozen=True)
class ParkedRequeue:
    """What dispatching a parked message again came to; it is no longer parked under ``id``."""

    id: int
    outcome: str  # a dispatch outcome: queued, nothing, unmatched or parked (again)
    calls: list[int]
    parked_again_as: int | None
    reason: str


@dataclass(frozen=True)
class Queued:
    kind: str
    key: str
    task: str
    id: int
    folded: bool


@dataclass(frozen=True)
class Freshness:
    task: str
    last_success_at: datetime | None
    seconds_since: float | None


@dataclass(frozen=True)
class Stats:
    by_state: dict[str, int]
    by_task: dict[str, dict[str, int]]
    folded: int
    parked: int
    oldest_pending_at: datetime | None
    oldest_pending_age_s: float | None
    queue_depth: int | None
    freshness: list[Freshness]


@dataclass(frozen=True)
class RoutingTable:
    routes: list[RouteSpec]
    unmatched: UnmatchedConfig


class Operations:
    """Operator actions on ``runtime``. ``actor`` names who asked (a token name, a user)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    # -- reading ---------------------------------------------------------------------

    def list_calls(
        self, where: CallFilter, *, limit: int, offset: int, params: Mapping[str, str] | None = None
    ) -> CallPage:
        """Calls ``where`` selects, newest first; ``params`` also match parameter values
        (``{"username": "olan"}``)."""
        ledger = self.runtime.ledger()
        if params:
            items, total = queries.list_calls(ledger, where, params, limit=limit, offset=offset)
            return CallPage(items, total, limit, offset)
        return CallPage(ledger.calls(where, limit=limit, offset=offset), ledger.count(where), limit, offset)

    def show(self, call_id: int) -> CallDetail:
        ledger = self.runtime.ledger()
        record = ledger.get(call_id)
        if record is None:
            raise UnknownCall(call_id)
        return CallDetail(record, ledger.attempts(call_id))

    def parked(self, *, limit: int, offset: int) -> tuple[list[ParkedRecord], int]:
        ledger = self.runtime.ledger()
        return ledger.parked(limit=limit, offset=offset), queries.parked_count(ledger)

    def parked_message(self, parked_id: int) -> ParkedRecord:
        record = self.runtime.ledger().parked_message(parked_id)
        if record is None:
            raise UnknownParked(parked_id)
        return record

    def requeue_parked(self, parked_id: int, *, actor: str) -> ParkedRequeue:
        """Dispatch a parked message again (after its route or parser was fixed).

        It goes through the routes and parsers as if it had just arrived; its calls name it
        as their origin. It then leaves this id: its calls were queued, no work was needed,
        or it was parked again under a new id with the new reason.
        """
        record = self.parked_message(parked_id)
        envelope = Envelope(
            body=record.body,
            source=record.source,
            message_id=record.raw_message_id,  # as received, not the printable copy
            routing_key=record.raw_routing_key,
            attributes=record.attributes,
        )
        try:
            result = self.runtime.dispatcher()(envelope)
        except Exception as exc:
            raise QueueUnavailable(f"the task queue did not accept the calls: {type(exc).__name__}") from exc
        self.runtime.ledger().unpark(parked_id)
        done = ParkedRequeue(
            parked_id, result.outcome.value, [c.id for c in result.calls], result.parked_id, result.reason
        )
        log.info(
            "%s requeued parked message %d (%s %s): %s%s",
            actor,
            parked_id,
            record.source,
            record.message_id,
            done.outcome,
            f" as {done.parked_again_as}" if done.parked_again_as else "",
        )
        return done

    def discard_parked(self, parked_id: int, *, actor: str) -> ParkedRecord:
        """Remove a parked message that needs no work; the log keeps who did it and what it was."""
        record = self.parked_message(parked_id)
        if not self.runtime.ledger().unpark(parked_id):
            raise UnknownParked(parked_id)
        log.info(
            "%s discarded parked message %d (%s %s, parked for: %s)",
            actor,
            parked_id,
            record.source,
            record.message_id,
            record.reason,
        )
        return record

    def routing_table(self) -> RoutingTable:
        return RoutingTable(list(self.runtime.config.routes), self.runtime.config.unmatched)

    def sync_kinds(self) -> dict[str, tuple[str, str]]:
        return self.runtime.registry.by_sync_kind()

    def stats(self, *, queue_depth: bool = True) -> Stats:
        raw = self.runtime.ledger().stats()
        now = datetime.now(UTC)
        oldest: datetime | None = raw["oldest_pending_at"]
        last: dict[str, datetime | None] = raw["last_success"]
        tasks = sorted(set(self.runtime.registry.names) | set(last))
        freshness = [
            Freshness(task, last.get(task), _age(now, last.get(task)) if last.get(task) is not None else None)
            for task in tasks
        ]
        depth = None
        if queue_depth:
            depth = probe_broker(
                self.runtime.celery, self.runtime.config.backends.queue, timeout_s=QUEUE_DEPTH_TIMEOUT_S
            ).depth
        return Stats(
            by_state=raw["by_state"],
            by_task=raw["by_task"],
            folded=raw["folded"],
            parked=raw["parked"],
            oldest_pending_at=oldest,
            oldest_pending_age_s=_age(now, oldest) if oldest is not None else None,
            queue_depth=depth,
            freshness=freshness,
        )

    # -- acting ----------------------------------------------------------------------

    def requeue(self, call_id: int, *, actor: str) -> Requeued:
        """Queue a dead or discarded call again as a new call that points back to it."""
        record = self.runtime.ledger().get(call_id)
        if record is None:
            raise UnknownCall(call_id)
        if record.state not in REQUEUEABLE_STATES:
            raise InvalidState(
                f"call {call_id} is {record.state.value}; only dead or discarded calls can be requeued"
            )
        try:
            recorded = self.runtime.requeue(call_id)
        except (KeyError, ValueError) as exc:  # it changed under us
            raise InvalidState(f"call {call_id} cannot be requeued now: {exc}") from exc
        except Exception as exc:
            raise QueueUnavailable(f"the task queue did not accept the call: {type(exc).__name__}") from exc
        log.info("%s requeued call %d as %d%s", actor, call_id, recorded.id, " (folded)" * recorded.folded)
        return Requeued(call_id, recorded.id, recorded.folded)

    def discard(self, call_id: int, *, actor: str) -> CallRecord:
        """Mark a call as needing no further work (a queued one will then not run)."""
        ledger = self.runtime.ledger()
        record = ledger.get(call_id)
        if record is None:
            raise UnknownCall(call_id)
        if record.state not in DISCARDABLE_STATES:
            raise InvalidState(f"call {call_id} is {record.state.value}; there is nothing to discard")
        try:
            ledger.discard(call_id)
        except KeyError as exc:
            raise InvalidState(f"call {call_id} cannot be discarded now") from exc
        log.info("%s discarded call %d (%s, was %s)", actor, call_id, record.task, record.state.value)
        updated = ledger.get(call_id)
        assert updated is not None
        return updated

    def bulk_requeue(
        self, where: CallFilter, *, dry_run: bool, limit: int = BULK_REQUEUE_MAX, actor: str
    ) -> BulkRequeue:
        """Requeue every dead (or discarded) call ``where`` selects, at most ``limit``.

        Calls that were requeued before are in state ``requeued``, not selected, so running
        the same bulk requeue twice does not run their work twice; they are counted. ``where.states`` defaults to dead only and may
        name only dead and discarded. Stops at the first call the queue refuses.
        """
        states = tuple(CallState(s) for s in where.states) or (CallState.DEAD,)
        bad = [s.value for s in states if s not in REQUEUEABLE_STATES]
        if bad:
            raise InvalidState(f"state: only dead or discarded calls can be requeued, not {bad}")
        where = CallFilter(
            states=states, task=where.task, origin=where.origin, since=where.since, until=where.until
        )
        ledger = self.runtime.ledger()
        fresh = ledger.ids(where)
        before = ledger.count(replace(where, states=(CallState.REQUEUED,)))
        outcome = BulkRequeue(dry_run=dry_run, matched=len(fresh), already_requeued=before)
        if dry_run:
            return outcome
        chosen = fresh[:limit]
        outcome.not_attempted = len(fresh) - len(chosen)
        for index, call_id in enumerate(chosen):
            try:
                outcome.requeued.append(self.requeue(call_id, actor=actor))
            except QueueUnavailable as exc:
                outcome.failed[call_id] = str(exc)
                outcome.not_attempted += len(chosen) - index - 1
                break
            except OperationError as exc:
                outcome.failed[call_id] = str(exc)
        log.info("%s bulk-requeued %d call(s), %d failed", actor, len(outcome.requeued), len(outcome.failed))
        return outcome

    def sync(self, kind: str, key: str, *, actor: str) -> Queued:
        """Queue the task configured for ``kind`` with ``{key parameter: key}``."""
        kinds = self.sync_kinds()
        if kind not in kinds:
            raise UnknownKind(kind, list(kinds))
        task, parameter = kinds[kind]
        origin = Envelope(
            body=json.dumps({"action": "sync", "kind": kind, "key": key, "requested_by": actor}).encode(),
            source=ADMIN_SOURCE,
            message_id=f"admin-{uuid.uuid4().hex}",
            attributes={"requested_by": actor},
        )
        try:
            recorded = self.runtime.enqueue([TaskCall(task, {parameter: key})], origin=origin)[0]
        except Exception as exc:
            raise QueueUnavailable(f"the task queue did not accept the call: {type(exc).__name__}") from exc
        log.info("%s queued %s sync of %r as call %d", actor, kind, key, recorded.id)
        return Queued(kind, key, task, recorded.id, recorded.folded)


def _age(now: datetime, then: datetime | None) -> float:
    assert then is not None
    return round(max(0.0, (now - then).total_seconds()), 3)


def describe_params(params: dict[str, Any]) -> str:
    """Parameters as one short line for tables and logs."""
    return ", ".join(f"{k}={v}" for k, v in params.items())
