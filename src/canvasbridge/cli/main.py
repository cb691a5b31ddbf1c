"""Entry point of the ``canvasbridge`` command.

The engine's command groups live here, each in its own module with a ``register(app)``
function, listed in ``COMMAND_MODULES``. Each installed flow adds the groups its
:class:`~canvasbridge.engine.flows.Flow` declares (``events`` from Live Events, ``sync`` and
``resync`` from provisioning), and other distributions add groups through the entry point
group ``canvasbridge.commands`` (name → ``module:register``): the emulators' distribution
adds ``emulate`` and ``demo`` that way, so a production install, which leaves it out, has
neither. This module names no flow.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points, version
from typing import Annotated

import typer

from canvasbridge.cli.options import guard_commands
from canvasbridge.engine.flows import installed_flows
from canvasbridge.engine.loading import load_callable
from canvasbridge.errors import ConfigError

COMMAND_MODULES: list[str] = ["serve", "tasks", "parked", "ledger", "config_check", "doctor"]
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
try:
    _flows = installed_flows()
except ConfigError as _broken:  # the commands that load a configuration say so too, with exit 2
    typer.echo(f"warning: {_broken}", err=True)
    _flows = ()
for _flow in _flows:
    for _path in _flow.commands:
        try:
            load_callable(_path, what=f"flow {_flow.name!r} commands")(app)
        except ConfigError as _broken:  # e.g. a dependency missing: the other commands still work
            typer.echo(f"warning: {_broken}", err=True)
for _entry in sorted(entry_points(group=COMMANDS_GROUP), key=lambda entry: entry.name):
    _entry.load()(app)
guard_commands(app)  # every command: a configuration error or missing secret is one line, exit 2


def main() -> None:
    app()
