"""Every command's ``--help`` reads as text (no raw reStructuredText), and ``--version`` answers."""

from __future__ import annotations

from importlib.metadata import version

import pytest
import typer.main
from typer.testing import CliRunner

from canvasbridge.cli.main import app


def command_paths() -> list[list[str]]:
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():  # a group
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "canvasbridge")
def test_help_has_no_raw_markup(path: list[str]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "``" not in result.output
    assert ":class:" not in result.output and ":func:" not in result.output


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"canvasbridge {version('canvasbridge')}"
