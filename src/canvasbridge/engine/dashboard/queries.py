"""The ledger reads the dashboard needs beyond :meth:`Operations.stats`.

* :func:`activity` - calls created per time bucket over the last hour, by their state now;
  one grouped query on the ``created_at`` index, on SQLite and PostgreSQL alike.
* :func:`source_freshness` - when a call from each source last succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from canvasbridge.engine.ledger import CallState, Ledger
from canvasbridge.engine.ledger.schema import task_calls

WINDOW = timedelta(hours=1)  # the activity chart covers this much time
BUCKET_S = 120  # one bar per this many seconds


@dataclass(frozen=True)
class Bucket:
    start: datetime
    by_state: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_state.values())


def _epoch(dialect: str) -> sa.ColumnElement[Any]:
    """``created_at`` as seconds since 1970 in SQL (SQLite keeps it as ISO text in UTC)."""
    if dialect == "sqlite":
        return sa.cast(sa.func.strftime("%s", sa.func.substr(task_calls.c.created_at, 1, 19)), sa.Float)
    return sa.extract("epoch", task_calls.c.created_at)


def activity(ledger: Ledger, *, now: datetime | None = None) -> list[Bucket]:
    """Calls created in each :data:`BUCKET_S` over the last :data:`WINDOW`, oldest first."""
    now = now or datetime.now(UTC)
    end = int(now.timestamp()) // BUCKET_S * BUCKET_S + BUCKET_S
    start = end - int(WINDOW.total_seconds())
    bucket = sa.func.floor(_epoch(ledger.engine.dialect.name) / BUCKET_S).label("bucket")
    query = (
        sa.select(bucket, task_calls.c.state, sa.func.count())
        .where(task_calls.c.created_at >= datetime.fromtimestamp(start, UTC))
        .group_by(bucket, task_calls.c.state)
    )
    with ledger.engine.connect() as connection:
        rows = connection.execute(query).all()
    counts: dict[int, dict[str, int]] = {}
    for number, state, count in rows:
        counts.setdefault(int(number), {})[state] = int(count)
    return [
        Bucket(datetime.fromtimestamp(edge, UTC), counts.get(edge // BUCKET_S, {}))
        for edge in range(start, end, BUCKET_S)
    ]


@dataclass(frozen=True)
class SourceFreshness:
    source: str
    last_success_at: datetime | None
    last_call_at: datetime | None


def source_freshness(ledger: Ledger) -> list[SourceFreshness]:
    """Per origin source: when one of its calls last succeeded, and when it last produced one."""
    succeeded = sa.case((task_calls.c.state == CallState.SUCCEEDED.value, task_calls.c.finished_at))
    query = (
        sa.select(task_calls.c.origin_source, sa.func.max(succeeded), sa.func.max(task_calls.c.created_at))
        .where(task_calls.c.origin_source.is_not(None))
        .group_by(task_calls.c.origin_source)
        .order_by(task_calls.c.origin_source)
    )
    with ledger.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [SourceFreshness(str(source), _utc(success), _utc(created)) for source, success, created in rows]


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
