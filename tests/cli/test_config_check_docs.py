"""docs/configuration.md shows ``config check`` on a file with several mistakes: the output
there is what the command prints for that file, every problem at once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.conftest import REPO, invoke

DOC = REPO / "docs" / "configuration.md"


def example(marker: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- config-check-example:{marker}\b.*?-->\n```\w*\n(.*?)```", text, re.S)
    assert found, f"docs/configuration.md has no config-check-example:{marker} block"
    return found.group(1)


def test_the_documented_output_is_what_config_check_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "canvasbridge.yaml").write_text(example("file"), encoding="utf-8")
    prompt, *printed = example("output").splitlines()
    assert prompt == "$ canvasbridge config check canvasbridge.yaml"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    result = invoke("config", "check", "canvasbridge.yaml")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == printed
    assert len(printed) == 5  # the header and all four problems of the file


def test_problems_in_engine_flow_and_import_checks_come_out_together(tmp_path: Path) -> None:
    file = tmp_path / "two.yaml"
    file.write_text("worker: {concurrency: 0}\nlive_events: {timezone: Mars/Olympus}\n")
    result = invoke("config", "check", str(file))
    assert result.exit_code == 2
    assert "invalid configuration (2 problem(s))" in result.stderr
    assert "worker.concurrency: Input should be greater than or equal to 1" in result.stderr
    assert "live_events.timezone: Value error, unknown time zone 'Mars/Olympus'" in result.stderr


def test_the_documented_override_error_is_what_config_check_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = "$ CANVASBRIDGE__WORKER__CONCURRENCY=many canvasbridge config check canvasbridge.yaml"
    text = DOC.read_text(encoding="utf-8")
    documented = text.split(command + "\n", 1)[1].split("```", 1)[0].splitlines()
    (tmp_path / "canvasbridge.yaml").write_text("worker: {concurrency: 2}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CANVASBRIDGE__WORKER__CONCURRENCY", "many")
    result = invoke("config", "check", "canvasbridge.yaml")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == documented


def test_config_check_applies_overrides_as_the_processes_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "c.yaml").write_text("worker: {concurrency: 2}\n", encoding="utf-8")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("CANVASBRIDGE__WORKER__POOL", "threads")
    monkeypatch.setenv("CANVASBRIDGE__WORKER__CONCURRENCY", "16")
    result = invoke("config", "check", str(tmp_path / "c.yaml"))
    assert result.exit_code == 0, result.output
    assert "threads pool, concurrency 16" in result.stdout
