"""``canvasbridge tasks …`` and ``routes`` through typer's runner, exit codes included."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from canvasbridge.engine.ledger import CallFilter, CallState, Ledger
from tests.cli.conftest import document, invoke
from tests.engine.api import seeding


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def test_list_shows_calls_and_filters_by_state(config_file: Path, ledger: Ledger) -> None:
    dead = seeding.dead(
        ledger, "broken", seeding.message("replay", "m-1"), key="olan", error="PermanentError: gone"
    )
    seeding.succeeded(ledger, "record", key="kari")
    everything = invoke("tasks", "list", "--config", str(config_file))
    assert everything.exit_code == 0
    assert "task calls 1-2 of 2" in everything.stdout
    assert "key=olan" in everything.stdout and "PermanentError: gone" in everything.stdout
    only_dead = invoke("tasks", "list", "-c", str(config_file), "--state", "dead", "--json")
    assert only_dead.exit_code == 0
    body = json.loads(only_dead.stdout)
    assert body["total"] == 1 and body["items"][0]["id"] == dead
    by_param = json.loads(
        invoke("tasks", "list", "-c", str(config_file), "--param", "key=kari", "--json").stdout
    )
    assert [item["params"]["key"] for item in by_param["items"]] == ["kari"]
    assert invoke("tasks", "list", "-c", str(config_file), "--param", "kari").exit_code == 2


def test_config_comes_from_the_environment_variable(
    config_file: Path, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeding.queued(ledger, "record", key="a")
    monkeypatch.setenv("CANVASBRIDGE_CONFIG", str(config_file))
    result = invoke("tasks", "list", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["total"] == 1


def test_show_prints_attempts_error_and_origin(config_file: Path, ledger: Ledger) -> None:
    dead = seeding.dead(
        ledger, "broken", seeding.message("replay", "m-77"), key="olan", error="PermanentError: gone"
    )
    result = invoke("tasks", "show", str(dead), "-c", str(config_file))
    assert result.exit_code == 0
    for text in (
        "broken",
        '"key": "olan"',
        "dead after 1 attempt(s)",
        "PermanentError: gone",
        "m-77",
        "attempts",
    ):
        assert text in result.stdout, text
    as_json = json.loads(invoke("tasks", "show", str(dead), "-c", str(config_file), "--json").stdout)
    assert as_json["attempt_log"][0]["outcome"] == "dead"


def test_show_of_an_unknown_id_exits_1(config_file: Path, ledger: Ledger) -> None:
    result = invoke("tasks", "show", "999", "-c", str(config_file))
    assert result.exit_code == 1
    assert "no task call with id 999" in result.stderr


def test_requeue_by_id_makes_a_new_call_and_exits_1_when_one_is_refused(
    config_file: Path, ledger: Ledger
) -> None:
    dead = seeding.dead(ledger, "record", key="a", effects_dir="x")
    done = seeding.succeeded(ledger, "record", key="b", effects_dir="x")
    result = invoke("tasks", "requeue", str(dead), str(done), "-c", str(config_file))
    assert result.exit_code == 1
    assert f"{dead}: requeued as" in result.stdout
    assert f"{done}: call {done} is succeeded" in result.stderr
    [new] = [r for r in ledger.calls() if r.requeued_from == dead]
    assert new.state is CallState.QUEUED


def test_a_requeued_dead_letter_shows_where_it_went_and_is_no_longer_dead(
    config_file: Path, ledger: Ledger
) -> None:
    dead = seeding.dead(ledger, "record", key="a", effects_dir="x")
    assert invoke("tasks", "requeue", str(dead), "-c", str(config_file)).exit_code == 0
    [new] = [r for r in ledger.calls() if r.requeued_from == dead]
    listed = invoke("tasks", "list", "-c", str(config_file))
    assert f"requeued → #{new.id}" in listed.stdout
    shown = invoke("tasks", "show", str(dead), "-c", str(config_file))
    assert f"requeued → #{new.id} after 1 attempt(s)" in shown.stdout
    only_dead = json.loads(
        invoke("tasks", "list", "-c", str(config_file), "--state", "dead", "--json").stdout
    )
    assert only_dead["total"] == 0
    requeued = json.loads(
        invoke("tasks", "list", "-c", str(config_file), "--state", "requeued", "--json").stdout
    )
    assert [(i["id"], i["requeued_to"]) for i in requeued["items"]] == [(dead, new.id)]
    again = invoke("tasks", "requeue", str(dead), "-c", str(config_file))
    assert again.exit_code == 1 and f"call {dead} is requeued" in again.stderr


def test_bulk_requeue_needs_a_filter_or_all_and_dry_run_changes_nothing(
    config_file: Path, ledger: Ledger
) -> None:
    for key in ("a", "b"):
        seeding.dead(ledger, "record", key=key, effects_dir="x")
    nothing_chosen = invoke("tasks", "requeue", "-c", str(config_file))
    assert nothing_chosen.exit_code == 2
    assert "--all" in nothing_chosen.stderr
    dry = invoke("tasks", "requeue", "--all", "--dry-run", "-c", str(config_file))
    assert dry.exit_code == 0
    assert "dry run" in dry.stdout
    assert re.search(r"matching, requeueable\s*│\s*2\s*│", dry.stdout)
    assert ledger.count() == 2
    later = invoke("tasks", "requeue", "--since", "2999-01-01T00:00+01:00", "-c", str(config_file))
    assert later.exit_code == 0 and re.search(r"matching, requeueable\s*│\s*0\s*│", later.stdout)
    real = invoke(
        "tasks", "requeue", "--task", "record", "--since", "2000-01-01T00:00", "-c", str(config_file)
    )
    assert real.exit_code == 0
    assert ledger.count(CallFilter(states=(CallState.QUEUED,))) == 2


def test_usage_errors_exit_2(config_file: Path, ledger: Ledger) -> None:
    bad_state = invoke("tasks", "list", "--state", "gone", "-c", str(config_file))
    assert bad_state.exit_code == 2
    assert "--state: unknown state(s) ['gone']" in bad_state.stderr
    bad_bulk = invoke("tasks", "requeue", "--state", "succeeded", "-c", str(config_file))
    assert bad_bulk.exit_code == 2
    assert invoke("tasks", "show", "not-a-number", "-c", str(config_file)).exit_code == 2
    bad_time = invoke("tasks", "list", "--since", "last tuesday", "-c", str(config_file))
    assert bad_time.exit_code == 2
    assert bad_time.stderr.startswith("--since: not an ISO 8601 time")
    assert invoke("tasks", "requeue", "1", "--all", "-c", str(config_file)).exit_code == 2


def test_discard(config_file: Path, ledger: Ledger) -> None:
    dead = seeding.dead(ledger, "record", key="a")
    assert invoke("tasks", "discard", str(dead), "-c", str(config_file)).exit_code == 0
    assert ledger.get(dead).state is CallState.DISCARDED  # type: ignore[union-attr]
    again = invoke("tasks", "discard", str(dead), "999", "-c", str(config_file))
    assert again.exit_code == 1
    assert "999: no task call with id 999" in again.stderr


def test_routes_prints_the_routing_table(config_file: Path) -> None:
    result = invoke("routes", "-c", str(config_file))
    assert result.exit_code == 0
    assert "json" in result.stdout and r"^task\." in result.stdout and "parse_json" in result.stdout
    assert "unmatched messages: park" in result.stdout
    assert json.loads(invoke("routes", "-c", str(config_file), "--json").stdout)[0]["name"] == "json"


def test_a_missing_config_file_exits_2_without_a_traceback(tmp_path: Path) -> None:
    result = invoke("tasks", "list", "-c", str(tmp_path / "absent.yaml"))
    assert result.exit_code == 2
    assert "cannot read configuration file" in result.stderr
    assert "Traceback" not in result.output


def test_an_unreachable_ledger_is_one_line_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "down.yaml"
    path.write_text(
        yaml.safe_dump(
            document(tmp_path, backends={"ledger_url": "postgresql+psycopg://nobody@127.0.0.1:9/none"})
        )
    )
    result = invoke("tasks", "list", "-c", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("the ledger database is unavailable:")
    assert "Traceback" not in result.output
