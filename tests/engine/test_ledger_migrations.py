"""Ledger migrations carry existing rows forward, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from canvasbridge.engine.ledger import CallFilter, CallState, Ledger
from canvasbridge.engine.ledger.store import MIGRATIONS


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return request.getfixturevalue("postgres_url")


def _upgrade(url: str, revision: str) -> None:
    engine = sa.create_engine(url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def test_0003_moves_dead_letters_requeued_before_to_requeued_pointing_at_the_newest_call(url):
    _upgrade(url, "0002")
    engine = sa.create_engine(url)
    now = datetime.now(UTC)
    rows = [  # id, state, requeued_from
        (1, "dead", None),  # requeued twice under the old rules
        (2, "dead", 1),
        (3, "succeeded", 1),
        (4, "dead", None),  # never requeued: stays dead
        (5, "discarded", None),
        (6, "queued", 5),
    ]
    with engine.begin() as connection:
        for call_id, state, parent in rows:
            connection.execute(
                sa.text(
                    "INSERT INTO task_calls (id, task, params, coalesce_key, state, requeued_from,"
                    " created_at, updated_at) VALUES (:id, 't', '{}', :key, :state, :parent, :now, :now)"
                ),
                {"id": call_id, "key": f"k{call_id}", "state": state, "parent": parent, "now": now},
            )
    engine.dispose()

    ledger = Ledger.open(url)  # migrates to the newest revision
    try:
        found = {r.id: (r.state, r.requeued_to) for r in ledger.calls()}
        assert found == {
            1: (CallState.REQUEUED, 3),
            2: (CallState.DEAD, None),
            3: (CallState.SUCCEEDED, None),
            4: (CallState.DEAD, None),
            5: (CallState.REQUEUED, 6),
            6: (CallState.QUEUED, None),
        }
        assert ledger.count(CallFilter(states=(CallState.DEAD,))) == 2
    finally:
        ledger.close()


def test_the_migrations_form_one_chain_with_one_head():
    """Two migrations on one parent (two branches of work numbering theirs alike) would make
    `upgrade head` fail on every open of the ledger."""
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert len(scripts.get_heads()) == 1
    revisions = [script.revision for script in scripts.walk_revisions()]
    assert len(revisions) == len(set(revisions))
