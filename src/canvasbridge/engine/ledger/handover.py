"""Putting a running call back in the queue, or handing it to an identical waiting call.

A running call goes back to waiting when it gives way to another writer (``queued``) or fails
and will retry (``retrying``). The ledger keeps at most one waiting call per key
(``ux_task_calls_pending_key``), and an identical call may have been recorded while this one
ran (a started call absorbs nothing). That call will do the same work, so this one is handed
over to it instead: state ``requeued``, ``requeued_to`` naming it, counted in its ``folded``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from canvasbridge.engine.ledger.schema import PENDING_STATES, CallState, task_calls


def back_to_waiting(
    connection: sa.Connection,
    call_id: int,
    values: Mapping[str, Any],
    now: datetime,
    *conditions: sa.ColumnElement[bool],
) -> int | None:
    """Update call ``call_id`` with ``values`` (a waiting state among them) where
    ``conditions`` hold; ``None``. If an identical call is waiting, hand this one over to it
    and return its id. Runs inside the caller's transaction."""
    key = connection.execute(
        sa.select(task_calls.c.coalesce_key).where(task_calls.c.id == call_id)
    ).scalar_one()
    for _ in range(3):  # a twin recorded, or claimed, between our statements: look again
        twin = _waiting_twin(connection, key, call_id)
        if twin is None:
            try:
                with connection.begin_nested():
                    connection.execute(
                        sa.update(task_calls).where(task_calls.c.id == call_id, *conditions).values(**values)
                    )
                return None
            except sa.exc.IntegrityError:  # an identical call was recorded just now
                continue
        handed = connection.execute(
            sa.update(task_calls)
            .where(task_calls.c.id == twin, task_calls.c.state.in_(_waiting_state_values()))
            .values(folded=task_calls.c.folded + 1, updated_at=now)
        )
        if handed.rowcount == 1:
            connection.execute(
                sa.update(task_calls)
                .where(task_calls.c.id == call_id)
                .values(state=CallState.REQUEUED.value, requeued_to=twin, updated_at=now, finished_at=now)
            )
            return twin
    raise RuntimeError(f"call {call_id}: could not go back to waiting, its twin changed three times")


def _waiting_twin(connection: sa.Connection, key: str, call_id: int) -> int | None:
    twin = connection.execute(
        sa.select(task_calls.c.id)
        .where(
            task_calls.c.coalesce_key == key,
            task_calls.c.state.in_(_waiting_state_values()),
            task_calls.c.id != call_id,
        )
        .with_for_update()
    ).scalar()
    return None if twin is None else int(twin)


def _waiting_state_values() -> list[str]:
    return [state.value for state in PENDING_STATES]
