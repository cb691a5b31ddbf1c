"""The ``canvasbridge`` executable: the engine's metrics go to files first, then the command runs.

prometheus_client chooses between counting per process and counting in files when the
first metric is made, which happens as the commands are imported; so the choice is made
here, before :mod:`canvasbridge.cli.main` is imported (see
:mod:`canvasbridge.engine.metrics_files`).
"""

from __future__ import annotations

import sys

from canvasbridge.engine import metrics_files
from canvasbridge.errors import ConfigError


def main() -> None:
    try:
        metrics_files.enable()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    from canvasbridge.cli.main import main as run

    run()
