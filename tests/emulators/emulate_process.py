"""Running ``canvasbridge emulate`` as a process in tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time

CLI = [sys.executable, "-c", "from canvasbridge.cli.main import main; main()"]


def start_emulate(*args: str) -> subprocess.Popen[str]:
    """``canvasbridge emulate ARGS`` in a process of its own, output unbuffered."""
    return subprocess.Popen(
        [*CLI, "emulate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def lines_until_ready(proc: subprocess.Popen[str], timeout: float = 90.0) -> list[str]:
    """What it printed up to its "Ctrl-C to stop." line (or its end, or the timeout)."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("Ctrl-C"):
            break
    return lines
