"""A third flow, installed from tests/fixtures/flow_plugin, runs end to end through the
``canvasbridge`` command with no change to the engine or the CLI.

The fixture directory holds a package and its ``*.dist-info`` (with ``entry_points.txt``);
on a subprocess's PYTHONPATH, importlib.metadata finds it as an installed distribution.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from canvasbridge.engine.ledger import CallState, Ledger
from tests.cli.conftest import EXECUTABLE, REPO, child_env
from tests.engine.helpers import wait_for

PLUGIN = REPO / "tests" / "fixtures" / "flow_plugin"


def canvasbridge(*args: str, plugin: bool = True, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    env = child_env()
    if plugin:
        env["PYTHONPATH"] = os.pathsep.join([str(PLUGIN), env["PYTHONPATH"]])
    return subprocess.run(
        [str(EXECUTABLE), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO
    )


def attendance_config(tmp_path: Path, **section: Any) -> Path:
    document = {
        "backends": {"data_dir": str(tmp_path / "data")},
        "log": {"level": "WARNING"},
        "sources": [{"type": "file", "name": "scans", "path": str(tmp_path / "scans.jsonl")}],
        "routes": [{"name": "badges", "source": "scans", "parser": "attendance_flow.parser:parse"}],
        "tasks": {"record_visit": {"retry": {"max_attempts": 2}}},  # path: the flow's default
        "attendance": {"room_prefix": "Room ", "ledger_file": str(tmp_path / "visits.log"), **section},
    }
    path = tmp_path / "attendance.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.slow
def test_a_flow_installed_from_an_entry_point_runs_end_to_end(tmp_path: Path) -> None:
    config = attendance_config(tmp_path)
    (tmp_path / "scans.jsonl").write_text(
        json.dumps({"body": {"badge": "b-17", "room": "101"}})
        + "\n"
        + json.dumps({"body": {"badge": "b-17"}})
        + "\n"
    )
    checked = canvasbridge("config", "check", str(config))
    assert checked.returncode == 0, checked.stderr
    assert "attendance_flow.tasks:record_visit" in checked.stdout  # the flow's default task spec

    consumed = canvasbridge("consume", "--config", str(config))
    assert consumed.returncode == 0, consumed.stderr
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'data' / 'ledger.db'}")  # this process has no such flow
    [call] = ledger.calls()
    assert (call.task, call.params) == ("record_visit", {"badge": "b-17", "room": "Room 101"})
    [parked] = ledger.parked()
    assert "a scan needs 'badge' and 'room'" in parked.reason

    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(PLUGIN), env["PYTHONPATH"]])
    worker = subprocess.Popen(
        [str(EXECUTABLE), "worker", "--config", str(config), "--concurrency", "1", "--pool", "solo"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        record = wait_for(
            lambda: (
                (r := ledger.get(call.id)) is not None
                and r.state in (CallState.SUCCEEDED, CallState.DEAD)
                and r
            ),
            timeout=90,
            what="the visit to be recorded",
        )
    finally:
        worker.terminate()
        _, worker_stderr = worker.communicate(timeout=30)
    assert record.state is CallState.SUCCEEDED, worker_stderr
    assert record.result == {"badge": "b-17", "room": "Room 101"}
    assert (tmp_path / "visits.log").read_text() == "b-17 Room 101\n"

    report = canvasbridge("visits", "--config", str(config))  # the flow's own command
    assert report.returncode == 0, report.stderr
    assert report.stdout == "b-17 Room 101\n"


def test_the_flows_section_is_checked_by_its_model_and_unknown_without_the_flow(tmp_path: Path) -> None:
    config = attendance_config(tmp_path, room_prefx="x")
    checked = canvasbridge("config", "check", str(config))
    assert checked.returncode == 2
    assert "attendance.room_prefx: unknown key" in checked.stderr
    assert "Traceback" not in checked.stderr

    without = canvasbridge("config", "check", str(attendance_config(tmp_path)), plugin=False)
    assert without.returncode == 2
    assert "attendance: unknown key" in without.stderr
    assert "tasks.record_visit.path: Field required" in without.stderr
