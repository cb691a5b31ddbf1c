"""Alembic environment for the ledger; run through :func:`canvasbridge.engine.ledger.migrate`."""

from __future__ import annotations

from alembic import context

from canvasbridge.engine.ledger.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
