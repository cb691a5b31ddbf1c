"""A configuration file on the embedded backends for the CLI tests, and ways to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from canvasbridge.cli.main import app
from canvasbridge.engine.config import load_config
from canvasbridge.engine.ledger import Ledger

REPO = Path(__file__).resolve().parents[2]
EXECUTABLE = Path(sys.executable).with_name("canvasbridge")
SAMPLE = "tests.engine.sample_tasks"


def document(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "backends": {"data_dir": str(tmp_path / "data")},
        "worker": {"pool": "threads", "concurrency": 1},
        "log": {"level": "WARNING"},
        "admin": {"tokens": [{"name": "ops", "role": "operate", "token": {"env": "CB_CLI_TEST_TOKEN"}}]},
        "sources": [{"type": "file", "name": "replay", "path": str(tmp_path / "in.jsonl")}],
        "routes": [
            {
                "name": "json",
                "source": "replay",
                "match": {"routing_key": r"^task\."},
                "parser": f"{SAMPLE}:parse_json",
            }
        ],
        "tasks": {
            "record": {"path": f"{SAMPLE}:record", "sync": {"kind": "thing", "key": "key"}},
            "broken": {"path": f"{SAMPLE}:broken", "retry": {"max_attempts": 1}},
        },
        "systems": {
            "canvas": {"base_url": "https://canvas.example/", "token": {"env": "CB_CLI_CANVAS_TOKEN"}}
        },
    }
    doc.update(overrides)
    return doc


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "canvasbridge.yaml"
    path.write_text(yaml.safe_dump(document(tmp_path)))
    return path


@pytest.fixture
def ledger(config_file: Path) -> Ledger:
    return Ledger.open(load_config(config_file).backends.resolved_ledger_url())


def invoke(*args: str) -> Any:
    """Run the CLI in this process (typer's runner); stderr is kept apart."""
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``canvasbridge`` executable."""
    return subprocess.run(
        [str(EXECUTABLE), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(env),
        cwd=REPO,
    )


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "CANVASBRIDGE_CONFIG"}
    environment["PYTHONPATH"] = str(REPO)  # the sample tasks live under tests/
    environment["COLUMNS"] = "200"
    environment.update(extra or {})
    return environment
