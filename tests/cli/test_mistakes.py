"""Every command that reads a configuration, given each common mistake, answers with one
line naming what is wrong and exit 2: never a traceback (issue 15 item 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from canvasbridge.cli.main import app

MISSING = "CB_WALK_MISSING_SECRET"
#: commands of other distributions or that start demo servers; they are not configuration readers
SKIPPED = {"demo", "config check"}
#: values for required arguments that make the command get as far as reading its configuration
ARGUMENTS = {"kind": "user", "kinds": "users", "key": "olan"}
#: extra arguments so the command gets past its own usage checks
EXTRA = {"tasks requeue": ["1"], "events backfill": ["--since", "2026-08-17", "--until", "2026-08-18"]}
#: commands that read no secret (they only show the configuration or parse a file)
NEED_NO_SECRET = {"routes", "events explain"}
#: long-running commands that rightly start on the embedded defaults (no configuration file)
START_ON_DEFAULTS = {"worker", "api"}
#: commands whose job is to report a missing secret: a ✗ line naming it and exit 1, not 2
REPORT_MISSING_SECRETS = {"doctor"}


def configured_commands() -> list[tuple[list[str], list[str]]]:
    """``(path, required arguments)`` of every command with a ``--config`` option."""
    found: list[tuple[list[str], list[str]]] = []

    def walk(command: Any, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
            return
        if " ".join(path) in SKIPPED or not any("--config" in p.opts for p in command.params):
            return
        arguments = [
            ARGUMENTS.get(p.name or "", "1" if "id" in (p.name or "") else "FILE")
            for p in command.params
            if p.required and p.param_type_name == "argument"
        ]
        found.append((path, [*arguments, *EXTRA.get(" ".join(path), [])]))

    walk(typer.main.get_command(app), [])
    return found


COMMANDS = configured_commands()


def _ids(item: tuple[list[str], list[str]]) -> str:
    return " ".join(item[0])


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the embedded defaults keep their files under the working directory
    monkeypatch.delenv("CANVASBRIDGE_CONFIG", raising=False)
    monkeypatch.delenv(MISSING, raising=False)
    (tmp_path / "FILE").write_text(json.dumps({"metadata": {}, "body": {}}))
    return tmp_path


def run(path: list[str], arguments: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(app, [*path, *arguments], env=env)


def assert_one_clear_error(result: Any, name: str, code: int = 2) -> None:
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, output
    assert name in output, output


def test_the_walk_finds_the_commands() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"worker", "consume", "api", "sync", "resync", "tasks list", "parked list", "doctor"} <= names


@pytest.mark.parametrize(
    ("path", "arguments"),
    [c for c in COMMANDS if " ".join(c[0]) not in NEED_NO_SECRET],
    ids=[_ids(c) for c in COMMANDS if " ".join(c[0]) not in NEED_NO_SECRET],
)
def test_missing_secret_is_named(workdir: Path, path: list[str], arguments: list[str]) -> None:
    config = workdir / "with-secret.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "backends": {
                    "data_dir": str(workdir / "data"),
                    "broker_password": {"env": MISSING},
                    "ledger_password": {"env": MISSING},
                },
                "systems": {"canvas": {"base_url": "http://127.0.0.1:9", "token": {"env": MISSING}}},
                "provisioning": {},
                "sources": [{"type": "file", "name": "replay", "path": str(workdir / "in.jsonl")}],
            }
        )
    )
    result = run(path, arguments, {"CANVASBRIDGE_CONFIG": str(config)})
    assert_one_clear_error(result, MISSING, 1 if " ".join(path) in REPORT_MISSING_SECRETS else 2)


@pytest.mark.parametrize(("path", "arguments"), COMMANDS, ids=[_ids(c) for c in COMMANDS])
def test_missing_configuration_file_is_named(workdir: Path, path: list[str], arguments: list[str]) -> None:
    result = run(path, arguments, {"CANVASBRIDGE_CONFIG": str(workdir / "absent.yaml")})
    assert_one_clear_error(result, "absent.yaml")


@pytest.mark.parametrize(("path", "arguments"), COMMANDS, ids=[_ids(c) for c in COMMANDS])
def test_bad_key_is_named(workdir: Path, path: list[str], arguments: list[str]) -> None:
    config = workdir / "bad-key.yaml"
    config.write_text(yaml.safe_dump({"backends": {"data_dir": str(workdir / "data"), "bogus_key": 1}}))
    result = run(path, arguments, {"CANVASBRIDGE_CONFIG": str(config)})
    assert_one_clear_error(result, "backends.bogus_key")


@pytest.mark.parametrize(
    ("path", "arguments"),
    [c for c in COMMANDS if " ".join(c[0]) not in START_ON_DEFAULTS],
    ids=[_ids(c) for c in COMMANDS if " ".join(c[0]) not in START_ON_DEFAULTS],
)
def test_no_configuration_says_how_to_give_one(workdir: Path, path: list[str], arguments: list[str]) -> None:
    """Commands that can work on the embedded defaults may; the others say no file was given."""
    result = run(path, arguments, {})
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if result.exit_code != 0:
        assert result.exit_code in (1, 2), output  # 1: the work itself failed (an id not found)
        if "configuration" in output:
            assert "--config FILE" in output and "CANVASBRIDGE_CONFIG" in output, output


def test_sync_without_configuration_names_the_way_to_give_one(workdir: Path) -> None:
    result = run(["sync", "user", "olan"], ["--dry-run"], {})
    assert result.exit_code == 2
    assert "no configuration file given: pass --config FILE or set CANVASBRIDGE_CONFIG=FILE" in result.output
