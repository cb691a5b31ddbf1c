"""The ledger's write path: record calls, claim them, record outcomes, requeue and discard.

One :class:`Ledger` per process (it owns the connection pools and the group commits). Its
queries (:mod:`.queries`), parking (:mod:`.parking`), object holds (:mod:`.holds`) and
gathering (:mod:`.gathering`) live in modules of their own; the records it hands back are
in :mod:`.records`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from canvasbridge.engine import metrics
from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.ledger import retention
from canvasbridge.engine.ledger.batching import GroupCommit
from canvasbridge.engine.ledger.gathering import Gathering, release_gathered
from canvasbridge.engine.ledger.handover import back_to_waiting
from canvasbridge.engine.ledger.holds import Holds
from canvasbridge.engine.ledger.hot import HotStatements, Row
from canvasbridge.engine.ledger.parking import Parking
from canvasbridge.engine.ledger.queries import Queries
from canvasbridge.engine.ledger.records import (
    Claim,
    RecordedCall,
    Recording,
    utc_now,
)
from canvasbridge.engine.ledger.schema import (
    PENDING_STATES,
    CallState,
    task_attempts,
    task_calls,
)

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x63625F6D69677261  # PostgreSQL advisory lock key held while migrating ("cb_migra")
SQLITE_BUSY_TIMEOUT_MS = 30_000  # writers wait this long for each other instead of failing
MAX_ORIGIN_CHARS = 65_536  # the originating message is kept up to this size per call
DEFAULT_PRESUME_LOST_AFTER_S = 900.0  # a run this old no longer holds back an identical call
REQUEUEABLE_STATES = (CallState.DEAD, CallState.DISCARDED)
RAN_ALONE = "alone"  # attempt log: a run started with no other call in its process


@dataclass(frozen=True)
class _ClaimRequest:
    call_id: int
    max_attempts: int
    recover: TaskCall | None
    correlation_id: str | None
    duplicate_if_running: bool
    shares_process: bool = False


@dataclass(frozen=True)
class _Success:
    call_id: int
    result: str | None  # JSON


class Ledger(Parking, Queries, Gathering):
    """The task ledger on SQLite or PostgreSQL. Create with :meth:`open`, which migrates."""

    def __init__(self, url: str, *, presume_lost_after_s: float = DEFAULT_PRESUME_LOST_AFTER_S) -> None:
        self.url = url
        self.presume_lost_after = timedelta(seconds=presume_lost_after_s)
        self._pid = os.getpid()
        self.engine = _create_engine(url)
        # its own pool: switching a pooled connection to autocommit and back costs more than
        # the statements it then runs
        self._autocommit = _create_engine(url, isolation_level="AUTOCOMMIT")
        self._statements = HotStatements(self.engine.dialect)
        self.holds = Holds(self.engine, presume_lost_after=self.presume_lost_after)
        # Each group commit writes one batch at a time: on PostgreSQL it keeps a connection
        # of its own for that (a pool checkout and check-in cost more than a small statement).
        # The consumer's records wait for the WAL flush: their source messages are acked
        # next, so a database crash must not lose them (one flush serves the whole batch).
        self._held = {
            "records": _HeldConnection(self._autocommit, durable=True),
            "worker": _HeldConnection(self._autocommit),
        }
        self._records: GroupCommit[list[dict[str, Any]], list[Row]] = GroupCommit(
            self._record_batch, name="records"
        )
        # a worker's claims and successes: written together, one statement per batch
        self._worker_writes: GroupCommit[_ClaimRequest | _Success, Claim | None] = GroupCommit(
            self._worker_batch, name="worker"
        )

    @classmethod
    def open(cls, url: str, *, presume_lost_after_s: float = DEFAULT_PRESUME_LOST_AFTER_S) -> Ledger:
        ledger = cls(url, presume_lost_after_s=presume_lost_after_s)
        ledger.migrate()
        return ledger

    def migrate(self) -> None:
        """Bring the schema up to the newest migration.

        On PostgreSQL one process at a time: processes started together on a fresh database
        would otherwise each create the tables, and all but one fail. The lock is held until
        the migration's transaction ends; the next process then finds the schema current."""
        alembic_config = AlembicConfig()
        alembic_config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            alembic_config.attributes["connection"] = connection
            command.upgrade(alembic_config, "head")

    def close(self) -> None:
        for held in self._held.values():
            held.close()
        self.engine.dispose()
        self._autocommit.dispose()

    def _writer(self, name: str) -> contextlib.AbstractContextManager[sa.Connection]:
        """The connection a group commit writes its batch on (see :meth:`_relaxed_transaction`)."""
        if self.engine.dialect.name == "postgresql":
            return self._held[name].connection()
        return self._relaxed_transaction()

    @contextlib.contextmanager
    def _relaxed_transaction(self) -> Iterator[sa.Connection]:
        """A connection for bookkeeping that the broker backs up (calls, claims, outcomes).

        Each statement commits on its own (one round trip each), and on PostgreSQL without
        waiting for the WAL flush (the connections are opened with ``synchronous_commit=off``),
        sparing a disk flush per write. A database crash may then lose the last milliseconds
        of bookkeeping: a lost claim or outcome makes a call run again or show a stale state.
        No work is lost. Two kinds of write stay fully durable: parking (for a parked
        message the ledger is the only copy) and the consumer's records of new calls (their
        source messages are acknowledged right after, and the record keeps the origin).
        """
        with self._autocommit.connect() as connection:
            yield connection

    # -- recording -----------------------------------------------------------------

    def record(
        self,
        calls: Iterable[TaskCall],
        *,
        origin: Envelope | None = None,
        correlation_id: str | None = None,
    ) -> list[RecordedCall]:
        """Record calls, folding each into an identical pending call if any."""
        return self.record_many([Recording(list(calls), origin, correlation_id)])[0]

    def record_many(self, recordings: Sequence[Recording]) -> list[list[RecordedCall]]:
        """Record the calls of many messages in one statement batch; the recorded calls of each.

        Records from many threads are written together too (see :mod:`.batching`).
        """
        now = utc_now()
        rows: list[dict[str, Any]] = []
        for recording in recordings:
            origin_fields = _origin_fields(recording.origin)
            rows += [
                _record_row(call, recording.correlation_id, now, origin_fields) for call in recording.calls
            ]
        written = iter(self._records(rows) if rows else [])
        return [
            [
                RecordedCall(
                    int(call_id), call.task, dict(call.params), folded=folded > 0, state=CallState(state)
                )
                for call, (call_id, folded, state) in zip(recording.calls, written, strict=False)
            ]
            for recording in recordings
        ]

    def _record_batch(self, items: Sequence[list[dict[str, Any]]]) -> list[list[Row]]:
        with self._writer("records") as connection:
            rows = self._statements.record(connection, [values for item in items for values in item])
        written = iter(rows)
        return [list(itertools.islice(written, len(item))) for item in items]

    def record_dead(
        self,
        call: TaskCall,
        *,
        error: str,
        origin_source: str,
        correlation_id: str | None = None,
        origin_message_id: str | None = None,
        origin_routing_key: str | None = None,
    ) -> int:
        """Record a call that failed outside any worker (e.g. a bulk import's row, a batch
        call's item) as a dead letter.

        It can be requeued like any other dead letter; ``origin_source`` says where it failed
        (and ``origin_message_id`` / ``origin_routing_key`` which message it came from).
        """
        now = utc_now()
        with self.engine.begin() as connection:
            call_id = _insert_call(
                connection,
                call,
                CallState.DEAD,
                now,
                correlation_id=correlation_id,
                origin_source=origin_source,
                origin_message_id=origin_message_id,
                origin_routing_key=origin_routing_key,
                last_error=error,
                finished_at=now,
            )
            self._log_attempt(connection, call_id, 1, "dead", error, None, None, now)
        metrics.TASKS_DEAD.labels(call.task).inc()
        return call_id

    def forget(self, call_ids: Iterable[int]) -> list[int]:
        """Remove freshly recorded calls whose publishing failed, so nothing folds into them.

        A call that another message already folded into is kept (that message was
        acknowledged); its id is returned so the caller can publish it again.
        """
        ids = list(call_ids)
        if not ids:
            return []
        with self.engine.begin() as connection:
            connection.execute(
                sa.delete(task_calls).where(
                    task_calls.c.id.in_(ids),
                    task_calls.c.state == CallState.QUEUED.value,
                    task_calls.c.folded == 0,
                )
            )
            kept = connection.execute(
                sa.select(task_calls.c.id).where(
                    task_calls.c.id.in_(ids), task_calls.c.state == CallState.QUEUED.value
                )
            ).scalars()
            return [int(value) for value in kept]

    # -- execution -----------------------------------------------------------------

    def claim(
        self,
        call_id: int,
        *,
        max_attempts: int,
        recover: TaskCall | None = None,
        correlation_id: str | None = None,
        duplicate_if_running: bool = False,
        shares_process: bool = False,
    ) -> Claim:
        """Mark a call running and count the attempt, unless it is final or out of attempts.

        A call found ``running`` was started by a worker that died; claiming it again
        counts another attempt, which is what bounds a task that kills its worker. When the
        broker says this delivery is a first one (``duplicate_if_running``), a running call
        is left alone instead: the message is a duplicate, not the redelivery of a lost run.
        A call the ledger does not know (its record was lost) is recorded again from
        ``recover``, the call its queue message carries, under a new id.

        A worker whose process runs several calls at once (``shares_process``: the thread
        pool) cannot tell which of them killed it. There a lost run counts only if the call
        ran alone (see :mod:`canvasbridge.engine.run_gate`); a run lost beside others, or
        claimed and never started, is not counted, and the claim says to run the call alone.
        Claims and successes from many threads are written together (see :mod:`.batching`).
        """
        claim = self._worker_writes(
            _ClaimRequest(
                call_id, max_attempts, recover, correlation_id, duplicate_if_running, shares_process
            )
        )
        assert claim is not None
        return claim

    def _worker_batch(self, items: Sequence[_ClaimRequest | _Success]) -> list[Claim | None]:
        now = utc_now()
        requests = [item for item in items if isinstance(item, _ClaimRequest)]
        successes = [(item.call_id, item.result) for item in items if isinstance(item, _Success)]
        waiting = {r.call_id for r in requests if r.duplicate_if_running}
        running = {r.call_id for r in requests} - waiting
        with self._writer("worker") as connection:
            rows = self._statements.succeed_and_claim(
                connection, successes, sorted(waiting), sorted(running), now, now - self.presume_lost_after
            )
            attempts = {int(call_id): int(attempt) for call_id, attempt in rows}
            claims: list[Claim] = []
            seen: set[int] = set()
            for request in requests:
                attempt = attempts.get(request.call_id)
                if attempt is None:
                    claims.append(self._unclaimable(connection, request, now))
                elif request.call_id in seen:
                    claims.append(
                        Claim(request.call_id, attempt, proceed=False, reason="delivered twice at once")
                    )
                else:
                    alone = False
                    if request.shares_process and attempt > 1:  # rare: a retry or a lost run
                        attempt, alone = self._after_lost_run(connection, request.call_id, attempt, now)
                    if attempt > request.max_attempts:
                        claims.append(self._give_up(connection, request, attempt, now))
                    else:
                        claims.append(Claim(request.call_id, attempt, proceed=True, alone=alone))
                seen.add(request.call_id)
        in_order = iter(claims)
        return [next(in_order) if isinstance(item, _ClaimRequest) else None for item in items]

    def _after_lost_run(
        self, connection: sa.Connection, call_id: int, attempt: int, now: datetime
    ) -> tuple[int, bool]:
        """The attempt number a call claimed again in a shared process runs as, and whether
        it must run alone, read from its attempt log: the runs counted so far are those that
        ended (logged) or died alone; a run lost beside others, or claimed and never started,
        has no entry and is not counted (its claim's count is taken back here)."""
        last = connection.execute(
            sa.select(task_attempts.c.number, task_attempts.c.outcome)
            .where(task_attempts.c.call_id == call_id)
            .order_by(task_attempts.c.id.desc())
            .limit(1)
        ).one_or_none()
        counted = 0 if last is None else int(last.number)
        alone = False
        if last is not None and last.outcome == RAN_ALONE:  # the process died while it ran alone
            error = "the worker process died while this call ran alone in it"
            self._log_attempt(connection, call_id, counted, "lost", error, None, None, now)
            alone = True
        if attempt != counted + 1:  # runs were lost beside other calls: not counted
            connection.execute(
                sa.update(task_calls)
                .where(task_calls.c.id == call_id, task_calls.c.attempts == attempt)
                .values(attempts=counted + 1)
            )
            alone = True
        return counted + 1, alone

    def mark_alone(self, call_id: int, attempt: int) -> None:
        """Note that run ``attempt`` of a call has started alone in its process (see :meth:`claim`)."""
        now = utc_now()
        with self._relaxed_transaction() as connection:
            error = "runs alone: its previous run was lost with its worker process"
            self._log_attempt(connection, call_id, attempt, RAN_ALONE, error, None, now, now)

    def _unclaimable(self, connection: sa.Connection, request: _ClaimRequest, now: datetime) -> Claim:
        state = connection.execute(
            sa.select(task_calls.c.state).where(task_calls.c.id == request.call_id)
        ).scalar_one_or_none()
        if state is None and request.recover is not None:
            new_id = self._recreate(connection, request.recover, request.correlation_id, now)
            return Claim(new_id, 1, proceed=True, reason=f"recreated lost call {request.call_id}")
        if state in PENDING_STATES or (state == CallState.RUNNING and not request.duplicate_if_running):
            # startable but for an identical call running now
            return Claim(request.call_id, 0, proceed=False, reason="an identical call is running", wait=True)
        reason = "unknown call" if state is None else f"call is already {state}"
        return Claim(request.call_id, 0, proceed=False, reason=reason)

    def _give_up(
        self, connection: sa.Connection, request: _ClaimRequest, attempt: int, now: datetime
    ) -> Claim:
        error = (
            f"gave up: attempt {attempt} would exceed the limit of {request.max_attempts}; "
            "the previous attempt never finished (did its worker die?)"
        )
        self._finish(connection, request.call_id, CallState.DEAD, now, last_error=error)
        self._log_attempt(connection, request.call_id, attempt, "lost", error, None, None, now)
        release_gathered(connection, request.call_id, error)  # none of them would run
        return Claim(request.call_id, attempt, proceed=False, reason=error)

    @staticmethod
    def _recreate(
        connection: sa.Connection, call: TaskCall, correlation_id: str | None, now: datetime
    ) -> int:
        return _insert_call(
            connection,
            call,
            CallState.RUNNING,
            now,
            correlation_id=correlation_id,
            origin_source="(recreated from its queue message)",
            started_at=now,
        )

    def succeed(self, call_id: int, result: Any = None) -> None:
        """Mark a call succeeded, with a small JSON summary; written together with others'."""
        self._worker_writes(_Success(call_id, None if result is None else json.dumps(result, default=str)))

    def fail_attempt(
        self,
        call_id: int,
        *,
        attempt: int,
        error: str,
        traceback: str | None,
        retry_in: float | None,
        started_at: datetime | None = None,
    ) -> CallState:
        """Record a failed attempt; retrying when ``retry_in`` seconds are given, else dead.

        A call to retry while an identical one waits is handed over to that one instead
        (state ``requeued``, see :mod:`.handover`): then the state returned is ``REQUEUED``
        and the caller must not schedule a retry of its own.
        """
        now = utc_now()
        outcome = "retry" if retry_in is not None else "dead"
        with self._relaxed_transaction() as connection:
            self._log_attempt(connection, call_id, attempt, outcome, error, traceback, started_at, now)
            if retry_in is None:
                self._finish(
                    connection, call_id, CallState.DEAD, now, last_error=error, last_traceback=traceback
                )
                return CallState.DEAD
        with self.engine.begin() as connection:
            twin = back_to_waiting(
                connection,
                call_id,
                {
                    "state": CallState.RETRYING.value,
                    "last_error": error,
                    "last_traceback": traceback,
                    "updated_at": now,
                    "next_attempt_at": now + timedelta(seconds=retry_in),
                },
                now,
            )
        return CallState.RETRYING if twin is None else CallState.REQUEUED

    def prunable(self, before: datetime) -> int:
        """Calls :meth:`prune` would delete now (see :mod:`.retention`)."""
        return retention.count_finished(self.engine, before)

    def prune(self, before: datetime, *, batch: int = retention.DEFAULT_BATCH) -> Iterator[int]:
        """Delete calls that finished before ``before``, with their attempts; dead letters and
        parked messages stay. Yields the calls deleted per batch (see :mod:`.retention`)."""
        return retention.prune_finished(self.engine, before, batch=batch)

    def requeue(self, call_id: int) -> RecordedCall:
        """Start a new attempt chain for a dead or discarded call.

        In one transaction the old call becomes ``requeued`` with ``requeued_to`` naming the
        new call (or the identical pending call it was folded into), so it stops counting
        as dead and a second requeue of it is refused. Undo with :meth:`undo_requeue`.
        """
        record = self.get(call_id)
        if record is None:
            raise KeyError(call_id)
        if record.state not in REQUEUEABLE_STATES:
            raise ValueError(
                f"call {call_id} is {record.state}; only dead or discarded calls can be requeued"
            )
        now = utc_now()
        origin_fields = {
            "origin_source": record.origin_source,
            "origin_message_id": record.origin_message_id,
            "origin_routing_key": record.origin_routing_key,
            "origin_message": json.dumps(record.origin_message) if record.origin_message else None,
            "requeued_from": call_id,
        }
        values = _record_row(TaskCall(record.task, record.params), record.correlation_id, now, origin_fields)
        with self.engine.begin() as connection:
            # the state check and the change in one statement: of two requeues at once, one wins
            taken = connection.execute(
                sa.update(task_calls)
                .where(
                    task_calls.c.id == call_id, task_calls.c.state.in_([s.value for s in REQUEUEABLE_STATES])
                )
                .values(state=CallState.REQUEUED.value, updated_at=now)
            ).rowcount
            if not taken:
                raise ValueError(f"call {call_id} was changed by someone else; it is no longer requeueable")
            row = connection.execute(self._statements.record_statement, values).one()
            connection.execute(
                sa.update(task_calls).where(task_calls.c.id == call_id).values(requeued_to=int(row.id))
            )
        return RecordedCall(int(row.id), record.task, record.params, folded=row.folded > 0)

    def undo_requeue(self, call_id: int, new_id: int, state: CallState) -> None:
        """Put a requeued call back in ``state`` (dead or discarded) when its new call could
        not be queued, so it can be requeued again later. Forget the new call first."""
        with self.engine.begin() as connection:
            connection.execute(
                sa.update(task_calls)
                .where(
                    task_calls.c.id == call_id,
                    task_calls.c.state == CallState.REQUEUED.value,
                    task_calls.c.requeued_to == new_id,
                )
                .values(state=state.value, requeued_to=None, updated_at=utc_now())
            )

    def discard(self, call_id: int) -> None:
        """Mark a dead (or pending) call as needing no further work."""
        now = utc_now()
        final = [CallState.SUCCEEDED.value, CallState.REQUEUED.value]
        with self.engine.begin() as connection:
            updated = connection.execute(
                sa.update(task_calls)
                .where(task_calls.c.id == call_id, task_calls.c.state.not_in(final))
                .values(state=CallState.DISCARDED.value, updated_at=now, finished_at=now)
            ).rowcount
        if not updated:
            raise KeyError(call_id)

    def _finish(
        self, connection: sa.Connection, call_id: int, state: CallState, now: datetime, **values: Any
    ) -> None:
        connection.execute(
            sa.update(task_calls)
            .where(task_calls.c.id == call_id)
            .values(state=state.value, updated_at=now, finished_at=now, next_attempt_at=None, **values)
        )

    @staticmethod
    def _log_attempt(
        connection: sa.Connection,
        call_id: int,
        number: int,
        outcome: str,
        error: str | None,
        traceback: str | None,
        started_at: datetime | None,
        finished_at: datetime,
    ) -> None:
        connection.execute(
            sa.insert(task_attempts).values(
                call_id=call_id,
                number=number,
                outcome=outcome,
                error=error,
                traceback=traceback,
                started_at=started_at,
                finished_at=finished_at,
            )
        )


class _HeldConnection:
    """One autocommit connection kept open across batches; used by one writer at a time.

    After a failed batch it is dropped (the failure may have been the connection's), and the
    next batch opens a new one. A forked process opens its own.
    """

    def __init__(self, engine: sa.Engine, *, durable: bool = False) -> None:
        self._engine = engine
        self._durable = durable  # commits wait for the WAL flush (synchronous_commit on)
        self._connection: sa.Connection | None = None
        self._pid = 0

    @contextlib.contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        if self._connection is None or self._pid != os.getpid():
            connection = self._engine.connect()
            if self._durable:  # for this session only: a held connection is never pooled again
                try:
                    connection.exec_driver_sql("SET synchronous_commit = on")
                except BaseException:
                    connection.invalidate()
                    connection.close()
                    raise
            self._connection, self._pid = connection, os.getpid()
        try:
            yield self._connection
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):
                connection.invalidate()
                connection.close()


def _insert_call(
    connection: sa.Connection, call: TaskCall, state: CallState, now: datetime, **values: Any
) -> int:
    """Insert a call that has been tried once already (recreated, or dead on arrival)."""
    row = connection.execute(
        sa.insert(task_calls)
        .values(
            task=call.task,
            params=call.canonical_params(),
            coalesce_key=call.coalesce_key(),
            state=state.value,
            attempts=1,
            folded=0,
            created_at=now,
            updated_at=now,
            **values,
        )
        .returning(task_calls.c.id)
    ).one()
    return int(row.id)


def _create_engine(url: str, **options: Any) -> sa.Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **options)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()

        return engine
    # Every connection commits asynchronously unless a transaction asks otherwise (parking
    # does); see Ledger._relaxed_transaction. No pre-ping: a dropped connection fails one
    # statement, the pool is invalidated, and the worker re-queues what it was doing.
    # Custom plans always: psycopg prepares a statement after five runs, and PostgreSQL's
    # generic plan for the hot statements (ids given as arrays, the partial index's
    # predicate) may scan the table instead of using the index.
    return sa.create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_recycle=1800,
        connect_args={"options": "-c synchronous_commit=off -c plan_cache_mode=force_custom_plan"},
        **options,
    )


def _record_row(
    call: TaskCall, correlation_id: str | None, now: datetime, origin_fields: dict[str, Any]
) -> dict[str, Any]:
    """The values of the record statement for one call."""
    return {
        "task": call.task,
        "params": call.canonical_params(),
        "coalesce_key": call.coalesce_key(),
        "correlation_id": correlation_id,
        "now": now,
        **origin_fields,
    }


def _origin_fields(origin: Envelope | None) -> dict[str, Any]:
    if origin is None:
        return {}
    message = json.dumps(origin.describe(), default=str)[:MAX_ORIGIN_CHARS]
    return {
        "origin_source": origin.source,
        "origin_message_id": origin.message_id,
        "origin_routing_key": origin.routing_key,
        "origin_message": message,
    }
