"""``canvasbridge ledger prune``: counts, deletes what is past retention, refuses without one."""

from __future__ import annotations

from pathlib import Path

import yaml

from canvasbridge.engine.ledger import CallState, Ledger
from tests.cli.conftest import document, invoke
from tests.engine.test_retention import age, call_in_state


def test_a_dry_run_counts_then_prune_deletes_only_what_is_past_retention(
    config_file: Path, ledger: Ledger
) -> None:
    old = call_in_state(ledger, CallState.SUCCEEDED, "old")
    age(ledger, old, 45)
    week_old = call_in_state(ledger, CallState.SUCCEEDED, "week")
    age(ledger, week_old, 8)
    dead = call_in_state(ledger, CallState.DEAD, "dead")
    age(ledger, dead, 45)

    counted = invoke("ledger", "prune", "--config", str(config_file), "--dry-run")
    assert counted.exit_code == 0 and "1 finished calls are older than 30 days" in counted.stdout
    assert ledger.get(old) is not None

    pruned = invoke("ledger", "prune", "--config", str(config_file))
    assert pruned.exit_code == 0 and "deleted 1 finished calls older than 30 days" in pruned.stdout
    assert ledger.get(old) is None and ledger.get(week_old) is not None and ledger.get(dead) is not None

    shorter = invoke("ledger", "prune", "--config", str(config_file), "--older-than", "7")
    assert "deleted 1 finished calls older than 7 days" in shorter.stdout
    assert ledger.get(week_old) is None and ledger.get(dead) is not None  # dead letters stay


def test_with_retention_turned_off_it_asks_for_older_than(tmp_path: Path) -> None:
    doc = document(tmp_path)
    doc["backends"]["keep_finished_days"] = None
    path = tmp_path / "no-retention.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = invoke("ledger", "prune", "--config", str(path))
    assert result.exit_code == 2 and "backends.keep_finished_days is null" in result.stderr
