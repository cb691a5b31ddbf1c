"""A flow whose command module does not import (a dependency missing after an upgrade, say)
costs its own commands, with one warning line naming the module; ``--help`` and every other
command still work, with no traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.cli.conftest import EXECUTABLE, REPO, child_env

FLOW = """from canvasbridge.engine import Flow

FLOW = Flow(name="brokencmd", commands=("brokencmd_flow.commands:register",))
"""
COMMANDS = "import brokencmd_dependency_that_is_not_installed  # noqa: F401\n"


def install_broken_flow(root: Path) -> Path:
    package = root / "brokencmd_flow"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "flow.py").write_text(FLOW)
    (package / "commands.py").write_text(COMMANDS)
    info = root / "brokencmd_flow-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: brokencmd-flow\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[canvasbridge.flows]\nbrokencmd = brokencmd_flow.flow:FLOW\n")
    return root


def test_a_flow_whose_commands_do_not_import_leaves_the_other_commands_working(tmp_path: Path) -> None:
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(install_broken_flow(tmp_path)), env["PYTHONPATH"]])
    for args in (["--help"], ["routes", "--help"]):
        result = subprocess.run(
            [str(EXECUTABLE), *args], capture_output=True, text=True, timeout=60, env=env, cwd=REPO
        )
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.count("warning:") == 1
        assert "brokencmd_flow.commands" in result.stderr
        assert "brokencmd_dependency_that_is_not_installed" in result.stderr
        assert "Usage: canvasbridge" in result.stdout
