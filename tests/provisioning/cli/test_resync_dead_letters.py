"""``canvasbridge resync`` records what failed as dead letters and says how to find them."""

from __future__ import annotations

import json
import re

import yaml
from typer.testing import CliRunner

from canvasbridge.cli.main import app
from canvasbridge.provisioning.tasks.operations import TASK_PATH

runner = CliRunner()


def config_file(stack, tmp_path, *, with_task: bool) -> str:
    document = {"backends": {"data_dir": str(tmp_path)}, "log": {"level": "WARNING"}, **stack.sections()}
    if with_task:
        document["tasks"] = {"apply_operation": {"path": TASK_PATH}}
    path = tmp_path / "canvasbridge.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_failed_changes_are_dead_letters_the_tasks_command_lists(stack, tmp_path):
    path = config_file(stack, tmp_path, with_task=True)
    # no sub-accounts in Canvas: the courses cannot be created yet
    result = runner.invoke(app, ["resync", "courses", "--config", path])
    assert result.exit_code == 1, result.output
    found = re.search(r"(\d+) dead letter\(s\) recorded, origin (resync:\S+):", result.output)
    assert found, result.output
    count, origin = int(found[1]), found[2]
    assert f"canvasbridge tasks list --state dead --origin {origin}" in result.output
    assert f"canvasbridge tasks requeue --origin {origin}" in result.output

    listed = runner.invoke(
        app, ["tasks", "list", "--state", "dead", "--origin", origin, "--json", "--config", path]
    )
    assert listed.exit_code == 0, listed.output
    page = json.loads(listed.output)
    assert page["total"] == count > 0
    assert {item["task"] for item in page["items"]} == {"apply_operation"}


def test_without_apply_operation_configured_the_failures_are_only_reported(stack, tmp_path):
    path = config_file(stack, tmp_path, with_task=False)
    result = runner.invoke(app, ["resync", "courses", "--config", path])
    assert result.exit_code == 1, result.output
    assert "no dead letters recorded" in result.output and TASK_PATH in result.output
    assert not (tmp_path / "ledger.db").exists()
