"""Holds: one writer per object, across tasks and across the parameters that name it.

Identical calls (same task and parameters) never run at once: the claim sees to that. Two
*different* calls may still change one object: ``ensure_user(person_id=…)`` and
``ensure_user(username=…)`` for one person, or ``ensure_course`` and ``ensure_enrollments``
on one section. A task that knows which object it is about to change holds it first
(:meth:`TaskContext.hold`, e.g. ``user:olan``, ``section:UE_185_INF1000_1_2026_HØST``); while
another running call holds it, the task gives way (:class:`canvasbridge.errors.ObjectBusy`)
and the worker tries it again later, without charging an attempt.

A hold belongs to a call while that call runs. It needs no release: once its call is no
longer running (finished, waiting for a retry, a dead letter) or has run longer than
``worker.presume_lost_after_s`` (its worker presumed lost), the next call to ask takes it
over. Holding is re-entrant: a call may hold one key many times (a task that calls another).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from canvasbridge.engine.ledger.handover import back_to_waiting
from canvasbridge.engine.ledger.schema import CallState, object_holds, task_calls

MAX_KEY_CHARS = 500  # the column's length; a longer key is refused, not cut (two could collide)


class Holds:
    """Object holds in the ledger's database (SQLite or PostgreSQL)."""

    def __init__(self, engine: sa.Engine, *, presume_lost_after: timedelta) -> None:
        self._engine = engine
        self._presume_lost_after = presume_lost_after
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._insert = insert(object_holds).on_conflict_do_nothing(index_elements=[object_holds.c.key])

    def acquire(self, key: str, call_id: int) -> int | None:
        """Hold ``key`` for ``call_id``; ``None`` when held, else the call that holds it now."""
        if not key or len(key) > MAX_KEY_CHARS:
            raise ValueError(f"a hold's key must have 1 to {MAX_KEY_CHARS} characters, got {len(key)}")
        now = datetime.now(UTC)
        with self._engine.begin() as connection:
            for _ in range(3):  # a hold released between our statements: look again
                inserted = connection.execute(
                    self._insert, {"key": key, "call_id": call_id, "acquired_at": now}
                )
                if inserted.rowcount == 1:
                    return None
                holder = connection.execute(
                    sa.select(object_holds.c.call_id, task_calls.c.state, task_calls.c.started_at)
                    .select_from(
                        object_holds.outerjoin(task_calls, task_calls.c.id == object_holds.c.call_id)
                    )
                    .where(object_holds.c.key == key)
                ).first()
                if holder is None:
                    continue
                holder_id, state, started_at = holder
                if holder_id == call_id:
                    return None
                if state == CallState.RUNNING.value and not self._lost(started_at, now):
                    return int(holder_id)
                taken = connection.execute(
                    sa.update(object_holds)
                    .where(object_holds.c.key == key, object_holds.c.call_id == holder_id)
                    .values(call_id=call_id, acquired_at=now)
                )
                if taken.rowcount == 1:
                    return None
            raise RuntimeError(f"could not settle the hold on {key!r}: it changed hands three times")

    def give_way(self, call_id: int) -> int | None:
        """The running call ``call_id`` found its object held: it goes back to ``queued`` with
        the attempt it was charged for taken back (waiting is not an attempt); ``None``. If an
        identical call was recorded meanwhile and is pending, that one will do the same work:
        this one is handed over to it (see :mod:`.handover`) and its id is returned."""
        now = datetime.now(UTC)
        attempts_back = (
            sa.func.max(task_calls.c.attempts - 1, 0)
            if self._engine.dialect.name == "sqlite"
            else sa.func.greatest(task_calls.c.attempts - 1, 0)
        )
        with self._engine.begin() as connection:
            return back_to_waiting(
                connection,
                call_id,
                {"state": CallState.QUEUED.value, "attempts": attempts_back, "updated_at": now},
                now,
                task_calls.c.state == CallState.RUNNING.value,
            )

    def holder(self, key: str) -> int | None:
        """The call that last held ``key`` (running or not), for operators and tests."""
        with self._engine.connect() as connection:
            value = connection.execute(
                sa.select(object_holds.c.call_id).where(object_holds.c.key == key)
            ).scalar()
        return None if value is None else int(value)

    def _lost(self, started_at: datetime | None, now: datetime) -> bool:
        if started_at is None:
            return False
        if started_at.tzinfo is None:
            started_at = started_at.replace(tzinfo=UTC)
        return now - started_at > self._presume_lost_after
