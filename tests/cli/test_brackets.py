"""Data with square brackets (JSON lists, route regexes, ``[Errno 111]``) prints as it is:
never read as rich markup and silently dropped from what the operator sees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from canvasbridge.engine import Envelope
from canvasbridge.engine.ledger import Ledger
from tests.cli.conftest import document, invoke
from tests.engine.api import seeding

CHANGES = {"name": [None, "Ada Walk"], "login_id": [None, "adaw"]}
ERROR = "TransientError: [Errno 111] Connection refused [bold]"


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")


def test_tasks_show_and_list_print_results_params_and_errors_with_their_brackets(
    config_file: Path, ledger: Ledger
) -> None:
    done = seeding.queued(ledger, "record", key="adaw", tags=["a", "b"])
    ledger.claim(done, max_attempts=5)
    ledger.succeed(done, {"changes": CHANGES})
    dead = seeding.dead(ledger, "broken", error=ERROR, key="olan")
    shown = invoke("tasks", "show", str(done), "-c", str(config_file))
    assert shown.exit_code == 0
    assert json.dumps({"changes": CHANGES}) in shown.stdout
    assert '"tags": ["a", "b"]' in shown.stdout
    shown_dead = invoke("tasks", "show", str(dead), "-c", str(config_file))
    assert shown_dead.stdout.count(ERROR) == 2  # last error, and the attempt's error
    listed = invoke("tasks", "list", "-c", str(config_file))
    assert "[Errno 111]" in listed.stdout
    assert 'key=adaw, tags=["a", "b"]' in listed.stdout  # JSON, not Python's repr


def test_parked_list_and_show_print_the_reason_with_its_brackets(config_file: Path, ledger: Ledger) -> None:
    envelope = Envelope(b'{"ids": [1, 2]}', "replay", "m-1", "elsewhere.a")
    parked = ledger.park(envelope, reason="parser rejected the message: MessageError: [data] is not a list")
    listed = invoke("parked", "list", "-c", str(config_file))
    assert "MessageError: [data] is not a list" in listed.stdout
    shown = invoke("parked", "show", str(parked), "-c", str(config_file))
    assert "MessageError: [data] is not a list" in shown.stdout and '{"ids": [1, 2]}' in shown.stdout


def test_routes_and_config_check_print_a_regex_class_as_written(tmp_path: Path) -> None:
    route = {
        "name": "json",
        "source": "replay",
        "match": {"routing_key": r"^task\.[a-z]+$"},
        "parser": "tests.engine.sample_tasks:parse_json",
    }
    doc = document(tmp_path, routes=[route])
    path = tmp_path / "brackets.yaml"
    path.write_text(yaml.safe_dump(doc))
    routes = invoke("routes", "-c", str(path))
    assert r"^task\.[a-z]+$" in routes.stdout
    checked = invoke("config", "check", str(path))
    assert checked.exit_code == 0, checked.output
    assert r"routing_key~^task\.[a-z]+$" in checked.stdout
