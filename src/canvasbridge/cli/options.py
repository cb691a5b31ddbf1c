"""What every command that reads the configuration shares: the ``--config`` option, exit
codes, and turning a :class:`ConfigError` into a message naming the key (no traceback).

Exit codes (documented in docs/operations.md):

* 0 - done;
* 1 - some of the work failed (a requeue refused, an id not found, a worker or consumer
  that stopped on an error);
* 2 - usage or configuration error (typer's own usage errors also exit 2).

Every command is wrapped by :func:`guarded` (see ``canvasbridge.cli.main``): a
configuration error, a missing secret or an unreadable file raised anywhere inside it ends
as one line naming it and exit 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from canvasbridge.errors import ConfigError
from canvasbridge.secrets import MissingSecretError

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


def guard_commands(app: typer.Typer) -> None:
    """Wrap the callback of every command of ``app`` (sub-groups included) in :func:`guarded`."""
    for info in app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "_guarded", False):
            info.callback = guarded(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            guard_commands(group.typer_instance)


def guarded(callback: Callable[..., Any]) -> Callable[..., Any]:
    """``callback`` with configuration errors (a missing secret included) and unreadable
    files turned into one line on stderr and exit 2."""

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except (ConfigError, MissingSecretError) as exc:
            fail(f"configuration error: {exc}" if _config_file_given(kwargs) else f"{NO_CONFIG_FILE} ({exc})")
        except (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError) as exc:
            if exc.filename is None:
                raise
            fail(f"{exc.filename}: {exc.strerror}")

    run._guarded = True  # type: ignore[attr-defined]
    return run


NO_CONFIG_FILE = (
    f"no configuration file given: pass --config FILE or set {CONFIG_ENV}=FILE; "
    "the embedded defaults cannot do this"
)


def _config_file_given(arguments: dict[str, Any]) -> bool:
    """Whether the command was given a configuration file (``--config``, named ``config`` in
    every command, or the variable)."""
    return bool(arguments.get("config") or os.environ.get(CONFIG_ENV))


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
