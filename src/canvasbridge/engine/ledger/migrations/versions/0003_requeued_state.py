"""Requeues you can follow: a requeued call leaves ``dead`` for ``requeued`` and points forward.

Adds ``requeued_to`` (the call that took over) and an index on ``requeued_from``, then
moves every dead or discarded call that already has a requeued successor to ``requeued``,
pointing at its newest successor, so old dead letters stop counting as dead too.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REQUEUED_FROM_SET = sa.text("requeued_from IS NOT NULL")
BACKFILL = sa.text(
    "UPDATE task_calls SET state = 'requeued', requeued_to = "
    "(SELECT MAX(c.id) FROM task_calls c WHERE c.requeued_from = task_calls.id) "
    "WHERE state IN ('dead', 'discarded') "
    "AND EXISTS (SELECT 1 FROM task_calls c WHERE c.requeued_from = task_calls.id)"
)
UNDO = sa.text("UPDATE task_calls SET state = 'dead' WHERE state = 'requeued'")


def upgrade() -> None:
    op.add_column("task_calls", sa.Column("requeued_to", ID))
    op.create_index(
        "ix_task_calls_requeued_from",
        "task_calls",
        ["requeued_from"],
        sqlite_where=REQUEUED_FROM_SET,
        postgresql_where=REQUEUED_FROM_SET,
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.execute(UNDO)
    op.drop_index("ix_task_calls_requeued_from", table_name="task_calls")
    op.drop_column("task_calls", "requeued_to")  # SQLite >= 3.35 drops columns in place
