"""Gathering: a running call takes over pending calls of its task, to do their work at once.

A task facing a burst (many pending calls of its own task, e.g. one per course section
at term start) can do them all in one go, through :class:`~canvasbridge.engine.TaskContext`:

1. :meth:`Gathering.pending` - the other calls of the task waiting to run, oldest first;
2. :meth:`Gathering.gather` - take over those it holds the objects of: each becomes
   ``requeued`` with ``requeued_to`` naming the gathering call, so no new call folds into it
   any more (a notification arriving now is a new call, run after) and its own queue
   message, when a worker gets it, is skipped ("already requeued");
3. :meth:`Gathering.settle` - the outcome of each: ``succeeded`` with its summary, or
   ``dead`` with its own error (a dead letter of that one call, requeueable alone).

A gathered call carries a marker naming the gathering call as its result until it is settled, so
a gathering call whose run was lost finds its calls again (:meth:`Gathering.gathered`) when
it runs again (found by state and task: the index on both keeps this cheap). Calls requeued as dead letters never carry it.

A gathering call that fails *transiently* after gathering may leave its calls gathered: its
retry finds them with :meth:`Gathering.gathered` and does their work then, after its backoff
(putting them back on the queue instead would start a new burst per call at once, against
the system that just failed). So that none is left behind, a call holding gathered calls is
never gathered itself (it runs on its own retry), and when it ends without running again (a
dead letter, or handed over to an identical call) the worker settles them as dead letters
with its error (:meth:`Gathering.release`); when the ledger gives it up because its runs
were lost with their workers, the ledger does so in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from canvasbridge.engine import metrics
from canvasbridge.engine.ledger.records import utc_now
from canvasbridge.engine.ledger.schema import PENDING_STATES, CallState, task_attempts, task_calls


def _marker(into: int) -> str:
    """The result a call gathered by ``into`` carries until it is settled."""
    return json.dumps({"gathered_by": into})


def _gathered_by(into: int) -> sa.ColumnElement[bool]:
    """The calls ``into`` gathered and has not settled yet."""
    return sa.and_(
        task_calls.c.state == CallState.REQUEUED.value,
        task_calls.c.requeued_to == into,
        task_calls.c.result == _marker(into),
    )


def _holding_gathered_calls(connection: sa.Connection, into: int, call_ids: list[int]) -> set[int]:
    """Those of ``call_ids`` holding calls they gathered and did not settle (one pass over the
    requeued calls of the task, as :meth:`Gathering.gathered` makes)."""
    task = sa.select(task_calls.c.task).where(task_calls.c.id == into).scalar_subquery()
    marker = sa.literal('{"gathered_by": ') + sa.cast(task_calls.c.requeued_to, sa.String) + sa.literal("}")
    rows = connection.execute(
        sa.select(task_calls.c.requeued_to)
        .where(
            task_calls.c.state == CallState.REQUEUED.value,
            task_calls.c.task == task,
            task_calls.c.requeued_to.in_(call_ids),
            task_calls.c.result == marker,
        )
        .distinct()
    ).scalars()
    return {int(r) for r in rows}


@dataclass(frozen=True)
class PendingCall:
    """A call of the same task waiting to run (or gathered): its id and parameters."""

    id: int
    params: dict[str, Any]


class Gathering:
    """Gathering pending calls into a running one (a part of :class:`Ledger`)."""

    engine: sa.Engine

    def pending(self, task: str, *, exclude: int, limit: int) -> list[PendingCall]:
        """Up to ``limit`` calls of ``task`` waiting to run (queued or retrying), oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(task_calls.c.id, task_calls.c.params)
                .where(
                    task_calls.c.state.in_([s.value for s in PENDING_STATES]),
                    task_calls.c.task == task,
                    task_calls.c.id != exclude,
                )
                .order_by(task_calls.c.id)
                .limit(limit)
            ).all()
        return [PendingCall(int(row.id), json.loads(row.params)) for row in rows]

    def gather(self, into: int, call_ids: Sequence[int]) -> list[PendingCall]:
        """Take over those of ``call_ids`` still pending; the calls taken."""
        if not call_ids:
            return []
        now = utc_now()
        with self.engine.begin() as connection:
            # one holding gathered calls runs on its own retry: taken, it would leave them behind
            held = _holding_gathered_calls(connection, into, list(call_ids))
            rows = connection.execute(
                sa.update(task_calls)
                .where(
                    task_calls.c.id.in_([c for c in call_ids if c not in held]),
                    task_calls.c.state.in_([s.value for s in PENDING_STATES]),
                )
                .values(
                    state=CallState.REQUEUED.value,
                    requeued_to=into,
                    result=_marker(into),
                    updated_at=now,
                )
                .returning(task_calls.c.id, task_calls.c.params)
            ).all()
        return sorted((PendingCall(int(row.id), json.loads(row.params)) for row in rows), key=lambda c: c.id)

    def gathered(self, task: str, into: int) -> list[PendingCall]:
        """The calls of ``task`` that ``into`` gathered and has not settled yet."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(task_calls.c.id, task_calls.c.params)
                .where(task_calls.c.task == task, _gathered_by(into))
                .order_by(task_calls.c.id)
            ).all()
        return [PendingCall(int(row.id), json.loads(row.params)) for row in rows]

    def release(self, into: int, error: str) -> int:
        """``into`` ended without running again: each call it gathered and did not settle
        becomes a dead letter naming ``error``; how many."""
        with self.engine.begin() as connection:
            return release_gathered(connection, into, error)

    def settle(self, into: int, *, succeeded: Mapping[int, Any], failed: Mapping[int, str]) -> None:
        """Record the outcome of calls ``into`` gathered: a JSON summary for each that
        succeeded, an error for each that failed (a dead letter). Others are left alone."""
        with self.engine.begin() as connection:
            dead = settle_gathered(connection, into, succeeded=succeeded, failed=failed)
        if dead:
            metrics.TASKS_DEAD.labels(dead[0].task).inc(len(dead))


def release_gathered(connection: sa.Connection, into: int, error: str) -> int:
    """In ``connection``'s transaction: every call ``into`` gathered and did not settle becomes
    a dead letter naming ``error`` (``into`` itself was given up); how many."""
    left = connection.execute(sa.select(task_calls.c.id).where(_gathered_by(into))).scalars().all()
    reason = f"gathered by call #{into}, which ended without applying it: {error}"
    dead = settle_gathered(
        connection, into, succeeded={}, failed=dict.fromkeys((int(i) for i in left), reason)
    )
    if dead:
        metrics.TASKS_DEAD.labels(dead[0].task).inc(len(dead))
    return len(dead)


def settle_gathered(
    connection: sa.Connection, into: int, *, succeeded: Mapping[int, Any], failed: Mapping[int, str]
) -> Sequence[Any]:
    """:meth:`Gathering.settle` in ``connection``'s transaction; the rows (id, attempts, task)
    of the calls that became dead letters (their metric is the caller's to count)."""
    now = utc_now()
    by_id = task_calls.c.id == sa.bindparam("call_id")
    gathered = _gathered_by(into)
    ended = {
        "attempts": task_calls.c.attempts + 1,
        "started_at": sa.func.coalesce(task_calls.c.started_at, now),
        "finished_at": now,
        "updated_at": now,
        "next_attempt_at": None,
    }
    dead: Sequence[Any] = []
    if failed:  # only ``into`` settles its calls: nothing else changes them meanwhile
        dead = connection.execute(
            sa.select(task_calls.c.id, task_calls.c.attempts, task_calls.c.task).where(
                task_calls.c.id.in_(list(failed)), gathered
            )
        ).all()
    if succeeded:
        connection.execute(
            sa.update(task_calls)
            .where(by_id, gathered)
            .values(state=CallState.SUCCEEDED.value, result=sa.bindparam("summary"), **ended),
            [
                {"call_id": call_id, "summary": json.dumps(summary, default=str)}
                for call_id, summary in succeeded.items()
            ],
        )
    if dead:
        connection.execute(
            sa.update(task_calls)
            .where(by_id, gathered)
            .values(state=CallState.DEAD.value, result=None, last_error=sa.bindparam("error"), **ended),
            [{"call_id": row.id, "error": failed[int(row.id)]} for row in dead],
        )
        connection.execute(
            sa.insert(task_attempts),
            [
                {
                    "call_id": row.id,
                    "number": row.attempts + 1,
                    "outcome": "dead",
                    "error": failed[int(row.id)],
                    "started_at": now,
                    "finished_at": now,
                }
                for row in dead
            ],
        )
    return dead
