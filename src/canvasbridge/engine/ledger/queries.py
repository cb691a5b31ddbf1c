"""Reading calls from the ledger: one call, its attempts, calls by filter, and counts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from canvasbridge.engine.ledger.records import (
    AttemptRecord,
    CallFilter,
    CallRecord,
    aware,
    call_record,
    filtered,
    utc_now,
)
from canvasbridge.engine.ledger.schema import (
    PENDING_STATES,
    CallState,
    parked_messages,
    task_attempts,
    task_calls,
)


class Queries:
    """Read-only questions to the ledger (a part of :class:`Ledger`)."""

    engine: sa.Engine

    def get(self, call_id: int) -> CallRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(task_calls).where(task_calls.c.id == call_id)).one_or_none()
        return None if row is None else call_record(row)

    def attempts(self, call_id: int) -> list[AttemptRecord]:
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(task_attempts)
                .where(task_attempts.c.call_id == call_id)
                .order_by(task_attempts.c.id)
            ).all()
        return [
            AttemptRecord(
                number=row.number,
                outcome=row.outcome,
                error=row.error,
                traceback=row.traceback,
                started_at=aware(row.started_at),
                finished_at=aware(row.finished_at) or utc_now(),
            )
            for row in rows
        ]

    def calls(self, where: CallFilter | None = None, *, limit: int = 50, offset: int = 0) -> list[CallRecord]:
        """Calls a filter selects, newest first."""
        query = (
            filtered(sa.select(task_calls), where)
            .order_by(task_calls.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        with self.engine.connect() as connection:
            return [call_record(row) for row in connection.execute(query).all()]

    def count(self, where: CallFilter | None = None) -> int:
        query = filtered(sa.select(sa.func.count()).select_from(task_calls), where)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def ids(self, where: CallFilter | None = None) -> list[int]:
        query = filtered(sa.select(task_calls.c.id), where).order_by(task_calls.c.id)
        with self.engine.connect() as connection:
            return [int(value) for value in connection.execute(query).scalars()]

    def stats(self) -> dict[str, Any]:
        """Counts per state and task, the oldest pending call, and the last success per task."""
        with self.engine.connect() as connection:
            counts = connection.execute(
                sa.select(
                    task_calls.c.task, task_calls.c.state, sa.func.count(), sa.func.sum(task_calls.c.folded)
                ).group_by(task_calls.c.task, task_calls.c.state)
            ).all()
            oldest = connection.execute(
                sa.select(sa.func.min(task_calls.c.created_at)).where(
                    task_calls.c.state.in_([s.value for s in PENDING_STATES])
                )
            ).scalar_one_or_none()
            last_success = connection.execute(
                sa.select(task_calls.c.task, sa.func.max(task_calls.c.finished_at))
                .where(task_calls.c.state == CallState.SUCCEEDED.value)
                .group_by(task_calls.c.task)
            ).all()
            parked = connection.execute(sa.select(sa.func.count()).select_from(parked_messages)).scalar_one()
        by_state: dict[str, int] = {state.value: 0 for state in CallState}
        by_task: dict[str, dict[str, int]] = {}
        folded_total = 0
        for task, state, number, folded in counts:
            by_state[state] = by_state.get(state, 0) + int(number)
            by_task.setdefault(task, {})[state] = int(number)
            folded_total += int(folded or 0)
        return {
            "by_state": by_state,
            "by_task": by_task,
            "folded": folded_total,
            "oldest_pending_at": aware(oldest),
            "last_success": {task: aware(when) for task, when in last_success},
            "parked": int(parked),
        }
