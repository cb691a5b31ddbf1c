"""Entry point of the ``canvasbridge`` command.

Each command group of the service lives in its own module with a ``register(app)``
function, listed in ``COMMAND_MODULES``. Other installed distributions add command
groups through the entry point group ``canvasbridge.commands`` (name → ``module:register``):
the emulators' distribution adds ``emulate`` and ``demo`` that way, so a production
install, which leaves it out, has neither.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points, version
from typing import Annotated

import typer

COMMAND_MODULES: list[str] = ["events", "provisioning", "serve", "tasks", "parked", "config_check"]
COMMANDS_GROUP = "canvasbridge.commands"

app = typer.Typer(
    name="canvasbridge",
    help="Keeps Canvas in step with source systems, and Canvas activity in Salesforce.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"canvasbridge {version('canvasbridge')}")
        raise typer.Exit()


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit"),
    ] = False,
) -> None:
    """canvasbridge: provisioning (sources → Canvas) and activity (Canvas → Salesforce)."""


for _module in COMMAND_MODULES:
    importlib.import_module(f"canvasbridge.cli.{_module}").register(app)
for _entry in sorted(entry_points(group=COMMANDS_GROUP), key=lambda entry: entry.name):
    _entry.load()(app)


def main() -> None:
    app()
