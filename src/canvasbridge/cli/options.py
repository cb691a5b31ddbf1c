"""What every command that reads the configuration shares: the ``--config`` option, exit
codes, and turning a :class:`ConfigError` into a message naming the key (no traceback).

Exit codes (documented in docs/operations.md):

* 0 - done;
* 1 - some of the work failed (a requeue refused, an id not found, a worker or consumer
  that stopped on an error);
* 2 - usage or configuration error (typer's own usage errors also exit 2).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from canvasbridge.errors import ConfigError

if TYPE_CHECKING:
    from canvasbridge.engine.config import AppConfig

CONFIG_ENV = "CANVASBRIDGE_CONFIG"  # same name as canvasbridge.engine.config.CONFIG_ENV


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar=CONFIG_ENV,
        help="configuration file (default: $CANVASBRIDGE_CONFIG, else the embedded defaults)",
        show_default=False,
    ),
]


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """Print ``message`` to stderr and leave with ``code``."""
    typer.echo(message, err=True)
    raise typer.Exit(int(code))


@contextlib.contextmanager
def config_errors() -> Iterator[None]:
    """Turn a :class:`ConfigError` raised inside into its message and exit code 2."""
    try:
        yield
    except ConfigError as exc:
        fail(f"configuration error: {exc}")


def load(path: Path | None, *, logging: bool = True) -> AppConfig:
    """The configuration at ``path`` (or the default), logging set up from it; exit 2 if invalid."""
    from canvasbridge.engine.config import load_config
    from canvasbridge.engine.logging import setup_logging

    with config_errors():
        config = load_config(path)
    if logging:
        setup_logging(config.log.format, config.log.level)
    return config


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
