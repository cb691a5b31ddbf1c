"""A parked message keeps its id and routing key exactly as received when the columns cannot.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("parked_messages", sa.Column("raw_fields", sa.Text))


def downgrade() -> None:
    op.drop_column("parked_messages", "raw_fields")
