"""An index on the coalesce key of running calls: a claim checks that no identical call runs.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RUNNING = sa.text("state = 'running'")


def upgrade() -> None:
    op.create_index(
        "ix_task_calls_running_key",
        "task_calls",
        ["coalesce_key"],
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )


def downgrade() -> None:
    op.drop_index("ix_task_calls_running_key", table_name="task_calls")
