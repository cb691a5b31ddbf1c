"""Reads the operators need that the ledger does not offer itself.

Kept here, next to their only users, so the ledger's public API stays what the engine
needs to run. Both work on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from canvasbridge.engine.ledger import Ledger
from canvasbridge.engine.ledger.schema import parked_messages, task_calls


def successors(ledger: Ledger, call_ids: Iterable[int]) -> dict[int, list[int]]:
    """``call id → ids of the calls requeued from it`` (oldest first), for the given ids."""
    ids = list(call_ids)
    found: dict[int, list[int]] = {}
    if not ids:
        return found
    with ledger.engine.connect() as connection:
        for start in range(0, len(ids), 1000):  # bounded IN lists
            rows = connection.execute(
                sa.select(task_calls.c.requeued_from, task_calls.c.id)
                .where(task_calls.c.requeued_from.in_(ids[start : start + 1000]))
                .order_by(task_calls.c.id)
            ).all()
            for parent, child in rows:
                found.setdefault(int(parent), []).append(int(child))
    return found


def parked_count(ledger: Ledger) -> int:
    with ledger.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(parked_messages)).scalar_one())
