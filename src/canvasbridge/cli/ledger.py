"""``canvasbridge ledger prune``: delete finished calls past their retention, by hand.

The consumer does this hourly by itself (``backends.keep_finished_days``, default 30); this
command is for a first clean-up of a large ledger, or for deployments that turned the
automatic one off (``keep_finished_days: null``) and prune from a timer instead.

    canvasbridge ledger prune --dry-run            # how many calls would go
    canvasbridge ledger prune --older-than 7       # keep one week

Dead letters and parked messages are never pruned: they wait for an operator.
Exit codes: 0 done, 1 the ledger database is unavailable, 2 usage or configuration error.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from canvasbridge.cli.options import ConfigOption, config_errors, fail, load
from canvasbridge.cli.tasks import _ledger_errors

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The task ledger's upkeep.", no_args_is_help=True)
    group.command("prune")(_ledger_errors(prune))
    app.add_typer(group, name="ledger")


def prune(
    config: ConfigOption = None,
    older_than: Annotated[
        float | None,
        typer.Option(
            "--older-than",
            min=0,
            help="days a finished call is kept (default: backends.keep_finished_days)",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only count what would be deleted")] = False,
) -> None:
    """Delete succeeded, discarded and requeued calls that finished more than N days ago."""
    from canvasbridge.engine.runtime import Runtime

    settings = load(config)
    days = older_than if older_than is not None else settings.backends.keep_finished_days
    if days is None:
        fail("no retention: backends.keep_finished_days is null; give --older-than DAYS")
    with config_errors():
        ledger = Runtime(settings).ledger()
    before = datetime.now(UTC) - timedelta(days=days)
    total = ledger.prunable(before)
    if dry_run or not total:
        typer.echo(
            f"{total} finished calls are older than {days:g} days (before {before:%Y-%m-%d %H:%M} UTC)"
        )
        return
    deleted = 0
    with Progress(
        TextColumn("pruning"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        bar = progress.add_task("prune", total=total)
        for count in ledger.prune(before):
            deleted += count
            progress.update(bar, completed=deleted)
    typer.echo(f"deleted {deleted} finished calls older than {days:g} days, with their attempts")
