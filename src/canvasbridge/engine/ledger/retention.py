"""Retention: finished calls leave the ledger some days after they finished.

Without it the ledger grows by every call ever made. What goes: calls that need nothing more
(``succeeded``, ``discarded``, ``requeued``) whose ``finished_at`` is older than the cut-off,
with their attempts, and holds left by calls no longer running. What stays: calls still to run
or running, dead letters, and parked messages — those wait for an operator, however old.
Deletes go in batches by id, each its own short transaction, so pruning a large backlog never
holds long locks, and two processes pruning at once only find less to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa

from canvasbridge.engine.ledger.schema import CallState, object_holds, task_attempts, task_calls

FINISHED_STATES = (CallState.SUCCEEDED, CallState.DISCARDED, CallState.REQUEUED)
DEFAULT_BATCH = 5_000


def _finished_before(before: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        # created_at first: its index narrows the scan; a call finishes after it was created
        task_calls.c.created_at < before,
        task_calls.c.state.in_([state.value for state in FINISHED_STATES]),
        task_calls.c.finished_at < before,
    )


def count_finished(engine: sa.Engine, before: datetime) -> int:
    """How many calls :func:`prune_finished` would delete now."""
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count()).select_from(task_calls).where(_finished_before(before))
            ).scalar_one()
        )


def prune_finished(engine: sa.Engine, before: datetime, *, batch: int = DEFAULT_BATCH) -> Iterator[int]:
    """Delete calls finished before ``before`` with their attempts, one batch at a time;
    yields the number of calls each batch deleted. Then the holds of calls that stopped."""
    while True:
        with engine.begin() as connection:
            chosen = sa.select(task_calls.c.id).where(_finished_before(before)).limit(batch)
            ids = list(
                connection.execute(
                    sa.delete(task_calls)
                    .where(task_calls.c.id.in_(chosen.scalar_subquery()), _finished_before(before))
                    .returning(task_calls.c.id)
                ).scalars()
            )
            if not ids:
                break
            connection.execute(sa.delete(task_attempts).where(task_attempts.c.call_id.in_(ids)))
        yield len(ids)
    with engine.begin() as connection:
        running = sa.select(task_calls.c.id).where(
            task_calls.c.id == object_holds.c.call_id, task_calls.c.state == CallState.RUNNING.value
        )
        connection.execute(
            sa.delete(object_holds).where(object_holds.c.acquired_at < before, ~sa.exists(running))
        )
