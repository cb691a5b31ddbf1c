"""Several processes opening a fresh PostgreSQL ledger at once (``consume``, workers and the
API started together): one migrates, the others wait for it and find the schema in place."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from canvasbridge.engine.ledger import Ledger
from tests.engine.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 6

# Each process imports everything first, says so, then waits for the "go" file, so that all
# of them reach the migration within a few milliseconds of each other.
OPENING = """
import os, sys, time
from pathlib import Path
from canvasbridge.engine.ledger import Ledger
from tests.engine.helpers import wait_for
go = Path(sys.argv[2])
(go.parent / f"ready-{os.getpid()}").touch()
while not go.exists():
    time.sleep(0.001)
Ledger.open(sys.argv[1]).close()
"""


def test_migrations_started_at_once_on_a_fresh_database_all_succeed(
    postgres_url: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", OPENING, postgres_url, str(go)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == PROCESSES, timeout=120, what="the imports")
    go.touch()
    outcomes = [
        (process.wait(timeout=120), process.stderr.read() if process.stderr else "") for process in processes
    ]
    assert [code for code, _ in outcomes] == [0] * PROCESSES, "\n".join(err for _, err in outcomes)[-4000:]
    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    ledger = Ledger.open(postgres_url)
    try:
        assert ledger.count() == 0
    finally:
        ledger.close()
    assert len(versions) == 1
