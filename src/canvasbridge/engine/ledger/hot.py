"""The three statements the ledger runs for every call: record, claim, succeed.

They are built once with SQLAlchemy (building a statement costs more than running it on a
local database) and run for a whole group-commit batch at a time. On PostgreSQL they go
straight to psycopg's cursor as one pipelined ``executemany``: SQLAlchemy's work around
each execution costs about twice the statement itself, and it is most of the engine's
overhead per message. On SQLite (the embedded default) they run through SQLAlchemy.
Values are always bound parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from canvasbridge.engine.ledger.schema import PENDING_STATES, CallState, task_calls

# The partial index's predicate as literals: PostgreSQL cannot match ON CONFLICT to the
# partial unique index when the predicate holds bind parameters and the statement runs on
# a generic plan (psycopg prepares statements after 5 uses), failing every later insert.
PENDING_PREDICATE = sa.text("state IN (" + ", ".join(f"'{s.value}'" for s in PENDING_STATES) + ")")
# 'running' as a literal for the same reason: the partial index on running calls' keys
# then serves the claim's look for an identical running call.
RUNNING: sa.ColumnElement[str] = sa.literal_column(f"'{CallState.RUNNING.value}'")
Row = tuple[Any, ...]


def record_statement(dialect_name: str) -> Any:
    """Insert a queued call, or count it as folded into the identical pending one."""
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    now: sa.BindParameter[datetime] = sa.bindparam("now")
    return (
        insert(task_calls)
        .values(
            task=sa.bindparam("task"),
            params=sa.bindparam("params"),
            coalesce_key=sa.bindparam("coalesce_key"),
            state=CallState.QUEUED.value,
            attempts=0,
            folded=0,
            correlation_id=sa.bindparam("correlation_id"),
            origin_source=sa.bindparam("origin_source", value=None),
            origin_message_id=sa.bindparam("origin_message_id", value=None),
            origin_routing_key=sa.bindparam("origin_routing_key", value=None),
            origin_message=sa.bindparam("origin_message", value=None),
            requeued_from=sa.bindparam("requeued_from", value=None),
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=[task_calls.c.coalesce_key],
            index_where=PENDING_PREDICATE,
            set_={"folded": task_calls.c.folded + 1, "updated_at": now},
        )
        .returning(task_calls.c.id, task_calls.c.folded, task_calls.c.state)
    )


def _claim_statement(claim_ids: Any, running_ids: Any) -> Any:
    """Start the calls in ``claim_ids`` that are pending (queued or retrying), and those also
    in ``running_ids`` if running (their worker died, so starting them again counts another
    attempt). The ids come first so the primary key finds the rows.

    None starts while an identical call (same coalesce key) that started after
    ``running_since`` is still running: two runs of one "ensure" task at once could each
    write from a different read of the sources, the older undoing the newer.
    """
    sibling = task_calls.alias("sibling")
    identical_running = (
        sa.select(sibling.c.id)
        .where(
            sibling.c.coalesce_key == task_calls.c.coalesce_key,
            sibling.c.state == RUNNING,
            sibling.c.id != task_calls.c.id,
            sibling.c.started_at > sa.bindparam("running_since"),
        )
        .exists()
    )
    return (
        sa.update(task_calls)
        .where(
            claim_ids,
            sa.or_(PENDING_PREDICATE, sa.and_(task_calls.c.state == RUNNING, running_ids)),
            ~identical_running,
        )
        .values(
            state=CallState.RUNNING.value,
            attempts=task_calls.c.attempts + 1,
            started_at=sa.bindparam("now"),
            updated_at=sa.bindparam("now"),
            next_attempt_at=None,
        )
        .returning(task_calls.c.id, task_calls.c.attempts)
    )


def _succeed_values(result: Any) -> dict[str, Any]:
    now: sa.BindParameter[datetime] = sa.bindparam("now")
    return {
        "state": CallState.SUCCEEDED.value,
        "updated_at": now,
        "finished_at": now,
        "next_attempt_at": None,
        "result": result,
        "last_error": None,
        "last_traceback": None,
    }


def _succeed_each_statement() -> Any:
    """One call succeeded (run once per call, on SQLite)."""
    return (
        sa.update(task_calls)
        .where(task_calls.c.id == sa.bindparam("call_id"))
        .values(**_succeed_values(sa.bindparam("result")))
    )


def _succeed_all_statement() -> Any:
    """Every call in ``done_ids`` succeeded, with the result at the same place in ``done_results``."""
    done = (
        sa.func.unnest(
            sa.bindparam("done_ids", type_=postgresql.ARRAY(sa.BigInteger)),
            sa.bindparam("done_results", type_=postgresql.ARRAY(sa.Text)),
        )
        .table_valued(sa.column("id", sa.BigInteger), sa.column("result", sa.Text))
        .render_derived(name="done")
    )
    return sa.update(task_calls).where(task_calls.c.id == done.c.id).values(**_succeed_values(done.c.result))


class HotStatements:
    """Runs record, and the worker's claims and successes, for many calls on one connection.

    On PostgreSQL a batch's successes and claims go as one statement (the successes as a
    data-modifying CTE): one execution and one transaction for the batch instead of two. Its
    claims do not see its successes (one snapshot), so a call whose twin succeeds in the same
    batch waits its short turn once more.
    """

    def __init__(self, dialect: sa.Dialect) -> None:
        self.record_statement = record_statement(dialect.name)
        self._native = dialect.name == "postgresql"
        if self._native:
            array = postgresql.ARRAY(sa.BigInteger)
            claim = _claim_statement(
                task_calls.c.id == sa.any_(sa.bindparam("claim_ids", type_=array)),
                task_calls.c.id == sa.any_(sa.bindparam("running_ids", type_=array)),
            )
            succeed = _succeed_all_statement()
            self._record = _Compiled(self.record_statement, dialect)
            self._claim = _Compiled(claim, dialect)
            self._succeed = _Compiled(succeed, dialect)
            self._succeed_and_claim = _Compiled(claim.add_cte(succeed.cte("succeeded")), dialect)
        else:
            self._claim_statement = _claim_statement(
                task_calls.c.id.in_(sa.bindparam("claim_ids", expanding=True)),
                task_calls.c.id.in_(sa.bindparam("running_ids", expanding=True)),
            )
            self._succeed_statement = _succeed_each_statement()

    def record(self, connection: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> list[Row]:
        """One ``(id, folded, state)`` per row, in order."""
        if self._native:
            return self._record.run_many(connection, rows)
        return [tuple(connection.execute(self.record_statement, dict(row)).one()) for row in rows]

    def succeed_and_claim(
        self,
        connection: sa.Connection,
        successes: Sequence[tuple[int, str | None]],
        waiting_ids: Sequence[int],
        running_ids: Sequence[int],
        now: datetime,
        running_since: datetime,
    ) -> list[Row]:
        """Mark ``(call id, result)`` pairs succeeded, then start calls (see
        :func:`_claim_statement`); ``(id, attempts)`` of each call now running."""
        claiming = bool(waiting_ids or running_ids)
        ids: Callable[[Iterable[int]], Any] = _bigint_array if self._native else list
        claim_values = {
            "claim_ids": ids([*waiting_ids, *running_ids]),
            "running_ids": ids(running_ids),
            "now": now,
            "running_since": running_since,
        }
        if not self._native:
            if successes:
                rows = [{"call_id": call_id, "now": now, "result": result} for call_id, result in successes]
                connection.execute(self._succeed_statement, rows)
            if not claiming:
                return []
            return [tuple(row) for row in connection.execute(self._claim_statement, claim_values)]
        succeed_values = {
            "done_ids": ids(call_id for call_id, _ in successes),
            "done_results": [result for _, result in successes],
            "now": now,
        }
        if not successes:
            return self._claim.run_one(connection, claim_values)
        if not claiming:
            return self._succeed.run_one(connection, succeed_values)
        return self._succeed_and_claim.run_one(connection, {**succeed_values, **claim_values})


class _Compiled:
    """A statement compiled for psycopg, with the values SQLAlchemy bound at build time."""

    def __init__(self, statement: Any, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.defaults = dict(compiled.params)
        self.returns = bool(compiled.effective_returning)

    def run_one(self, connection: sa.Connection, values: Mapping[str, Any]) -> list[Row]:
        cursor = _cursor(connection)
        cursor.execute(self.sql, {**self.defaults, **values})
        return list(cursor.fetchall()) if self.returns else []

    def run_many(self, connection: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> list[Row]:
        if len(rows) == 1:  # a pipeline costs more than it saves for one statement
            return self.run_one(connection, rows[0])
        params = [{**self.defaults, **row} for row in rows]
        cursor = _cursor(connection)
        cursor.executemany(self.sql, params, returning=self.returns)
        if not self.returns:
            return []
        results: list[Row] = []
        while True:
            results.append(cursor.fetchone())
            if not cursor.nextset():
                return results


def _cursor(connection: sa.Connection) -> Any:
    """The psycopg connection's one cursor, kept in the pool's record of the connection (and
    dropped with it): making a cursor per statement showed in profiles. A held connection
    serves one writer at a time (see store.py)."""
    pooled = connection.connection
    cursor = pooled.info.get("canvasbridge.cursor")
    if cursor is None or cursor.closed:
        cursor = pooled.info["canvasbridge.cursor"] = pooled.driver_connection.cursor()  # type: ignore[union-attr]
    return cursor


def _bigint_array(ids: Iterable[int]) -> str:
    """Ids as a PostgreSQL array literal (``{1,2,3}``): psycopg adapts a list element by
    element, which cost more than the statement. Only integers go in, so nothing needs quoting."""
    return "{" + ",".join(str(int(call_id)) for call_id in ids) + "}"
