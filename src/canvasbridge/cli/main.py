"""Entry point of the ``canvasbridge`` command.

Each command group lives in its own module with a ``register(app)`` function; add a
new group by writing the module and listing it in ``COMMAND_MODULES``.
"""

from __future__ import annotations

import importlib

import typer

COMMAND_MODULES: list[str] = ["emulate", "events", "provisioning", "serve", "tasks", "config_check", "demo"]

app = typer.Typer(
    name="canvasbridge",
    help="Keeps Canvas in step with source systems, and Canvas activity in Salesforce.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """canvasbridge: provisioning (sources → Canvas) and activity (Canvas → Salesforce)."""


for _module in COMMAND_MODULES:
    importlib.import_module(f"canvasbridge.cli.{_module}").register(app)


def main() -> None:
    app()
