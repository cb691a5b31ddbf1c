"""Tables of the ledger (SQLAlchemy Core). Change them only together with a migration."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa

metadata = sa.MetaData()


class CallState(StrEnum):
    QUEUED = "queued"  # recorded and on the queue, not started
    RUNNING = "running"  # a worker claimed it
    RETRYING = "retrying"  # failed transiently, waiting for its next attempt
    SUCCEEDED = "succeeded"
    DEAD = "dead"  # a dead letter: gave up; requeue makes a new call
    DISCARDED = "discarded"  # an operator decided it needs no further work
    REQUEUED = "requeued"  # was dead or discarded; ``requeued_to`` names the call that took over


PENDING_STATES = (CallState.QUEUED, CallState.RETRYING)

task_calls = sa.Table(
    "task_calls",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("task", sa.String(200), nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("coalesce_key", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("folded", sa.Integer, nullable=False, server_default="0"),
    sa.Column("correlation_id", sa.String(200)),
    sa.Column("origin_source", sa.String(200)),
    sa.Column("origin_message_id", sa.String(200)),
    sa.Column("origin_routing_key", sa.String(500)),
    sa.Column("origin_message", sa.Text),
    sa.Column("requeued_from", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
    sa.Column("requeued_to", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
    sa.Column("last_error", sa.Text),
    sa.Column("last_traceback", sa.Text),
    sa.Column("result", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
)

sa.Index(
    "ux_task_calls_pending_key",
    task_calls.c.coalesce_key,
    unique=True,
    sqlite_where=task_calls.c.state.in_(["queued", "retrying"]),
    postgresql_where=task_calls.c.state.in_(["queued", "retrying"]),
)
# a claim looks here for an identical call still running (see hot.py)
sa.Index(
    "ix_task_calls_running_key",
    task_calls.c.coalesce_key,
    sqlite_where=task_calls.c.state == "running",
    postgresql_where=task_calls.c.state == "running",
)
sa.Index("ix_task_calls_state_task", task_calls.c.state, task_calls.c.task)
sa.Index("ix_task_calls_created_at", task_calls.c.created_at)
sa.Index("ix_task_calls_origin_message_id", task_calls.c.origin_message_id)
# few calls are requeued: a partial index costs the hot insert nothing
sa.Index(
    "ix_task_calls_requeued_from",
    task_calls.c.requeued_from,
    sqlite_where=task_calls.c.requeued_from.is_not(None),
    postgresql_where=task_calls.c.requeued_from.is_not(None),
)

task_attempts = sa.Table(
    "task_attempts",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("call_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, index=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("traceback", sa.Text),
    sa.Column("started_at", sa.DateTime(timezone=True)),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
)

parked_messages = sa.Table(
    "parked_messages",
    metadata,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("message_id", sa.String(200), nullable=False),
    sa.Column("routing_key", sa.String(500)),
    sa.Column("attributes", sa.Text, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("route", sa.String(200)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    # JSON of message_id and routing_key as received, when the columns above hold an escaped
    # or shortened copy (too long, NUL, not UTF-8); NULL when they are exact
    sa.Column("raw_fields", sa.Text),
)

# One writer per object: which running call holds the object a task changes (see holds.py).
object_holds = sa.Table(
    "object_holds",
    metadata,
    sa.Column("key", sa.String(500), primary_key=True),
    sa.Column("call_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
)
