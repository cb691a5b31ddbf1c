"""The initial ledger: task calls, their failed attempts, parked messages.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PENDING = sa.text("state IN ('queued', 'retrying')")


def upgrade() -> None:
    op.create_table(
        "task_calls",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
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
        sa.Column("requeued_from", ID),
        sa.Column("last_error", sa.Text),
        sa.Column("last_traceback", sa.Text),
        sa.Column("result", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "ux_task_calls_pending_key",
        "task_calls",
        ["coalesce_key"],
        unique=True,
        sqlite_where=PENDING,
        postgresql_where=PENDING,
    )
    op.create_index("ix_task_calls_state_task", "task_calls", ["state", "task"])
    op.create_index("ix_task_calls_created_at", "task_calls", ["created_at"])
    op.create_index("ix_task_calls_origin_message_id", "task_calls", ["origin_message_id"])
    op.create_table(
        "task_attempts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("call_id", ID, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("traceback", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_task_attempts_call_id", "task_attempts", ["call_id"])
    op.create_table(
        "parked_messages",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("message_id", sa.String(200), nullable=False),
        sa.Column("routing_key", sa.String(500)),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("route", sa.String(200)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_parked_messages_created_at", "parked_messages", ["created_at"])


def downgrade() -> None:
    op.drop_table("parked_messages")
    op.drop_table("task_attempts")
    op.drop_table("task_calls")
