"""Commands that act on several ids one at a time (``tasks discard``, ``parked discard``): each
id's outcome on a line of its own, a refusal on stderr, and exit 1 if any was refused."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import typer

from canvasbridge.cli.options import ExitCode


def act_on_each(ids: Iterable[int], act: Callable[[int], str]) -> None:
    """Print ``<id>: <what act returned>``, or ``<id>: <why refused>`` on stderr for an
    :class:`OperationError`; after all of them, exit 1 if any was refused."""
    from canvasbridge.engine.api.operations import OperationError

    refused = 0
    for item in ids:
        try:
            outcome = act(item)
        except OperationError as exc:
            refused += 1
            typer.echo(f"{item}: {exc}", err=True)
            continue
        typer.echo(f"{item}: {outcome}")
    if refused:
        raise typer.Exit(int(ExitCode.FAILED))
