"""``canvasbridge parked list|show|requeue|discard``: messages no route matched or whose
parser refused them, beside ``GET /parked`` of the admin API.

Like ``canvasbridge tasks`` they work on the ledger named by the configuration directly.

    canvasbridge parked list
    canvasbridge parked show 12
    canvasbridge parked requeue 12 13   # dispatch again, once the route or parser is fixed
    canvasbridge parked discard 12      # needs no work

A requeued message goes through the routes and parsers as if it had just arrived and
leaves its id: its calls were queued, it needed no work, or it was parked again under a
new id with the new reason. Exit codes: 0 done, 1 an id was unknown or a message could not
be dispatched or was parked again, 2 usage or configuration error.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from canvasbridge.cli.each_id import act_on_each
from canvasbridge.cli.options import ConfigOption, ExitCode, fail
from canvasbridge.cli.tasks import JsonOption, _ledger_errors, _operations, _short, _when

if TYPE_CHECKING:
    from canvasbridge.engine.ledger import ParkedRecord

console = Console(markup=False)  # cells hold data (reasons, bodies) whose [brackets] must print as they are


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Parked messages: list, show, requeue, discard.", no_args_is_help=True)
    group.command("list")(_ledger_errors(list_parked))
    group.command("show")(_ledger_errors(show))
    group.command("requeue")(_ledger_errors(requeue))
    group.command("discard")(_ledger_errors(discard))
    app.add_typer(group, name="parked")


def _body(record: ParkedRecord) -> str:
    return record.body.decode("utf-8", errors="replace")


def list_parked(
    config: ConfigOption = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="rows to show")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="rows to skip")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Parked messages, newest first, with the reason each was parked."""
    items, total = _operations(config).parked(limit=limit, offset=offset)
    if as_json:
        from canvasbridge.engine.api.schemas import ParkedMessage, ParkedPage

        page = ParkedPage(items=[ParkedMessage.of(p) for p in items], total=total, limit=limit, offset=offset)
        typer.echo(page.model_dump_json(indent=2))
        return
    table = Table(title=f"parked messages {offset + 1 if items else 0}-{offset + len(items)} of {total}")
    for column in ("id", "source", "message id", "routing key", "parked (UTC)", "reason"):
        table.add_column(column, overflow="fold")
    for record in items:
        table.add_row(
            str(record.id),
            record.source,
            record.message_id,
            record.routing_key or "",
            _when(record.created_at),
            _short(record.reason, 80),
        )
    console.print(table)


def show(
    parked_id: Annotated[int, typer.Argument(min=1, help="the parked message's id")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """One parked message in full: where it came from, why it was parked, and its body."""
    from canvasbridge.engine.api import operations as ops

    try:
        record = _operations(config).parked_message(parked_id)
    except ops.UnknownParked as exc:
        fail(str(exc), ExitCode.FAILED)
    if as_json:
        from canvasbridge.engine.api.schemas import ParkedMessage

        typer.echo(ParkedMessage.of(record).model_dump_json(indent=2))
        return
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column(overflow="fold")
    rows = [
        ("parked", f"{record.id}  {_when(record.created_at)} UTC"),
        ("source", record.source),
        ("message id", record.message_id),
        ("routing key", record.routing_key or ""),
        ("attributes", json.dumps(record.attributes, ensure_ascii=False) if record.attributes else ""),
        ("route", record.route or ""),
        ("reason", record.reason),
        ("body bytes", str(len(record.body))),
    ]
    for name, value in rows:
        if value:
            summary.add_row(name, value)
    console.print(summary)
    console.print("body", style="bold")
    console.print(_body(record), markup=False, highlight=False)


def requeue(
    parked_ids: Annotated[list[int], typer.Argument(help="parked messages to dispatch again")],
    config: ConfigOption = None,
) -> None:
    """Dispatch parked messages again through the routes and parsers (after fixing them)."""
    from canvasbridge.engine.api import operations as ops

    operations = _operations(config)
    failures = 0
    for parked_id in parked_ids:
        try:
            done = operations.requeue_parked(parked_id, actor="cli")
        except ops.OperationError as exc:
            failures += 1
            typer.echo(f"{parked_id}: {exc}", err=True)
            continue
        if done.outcome == "parked":
            failures += 1
            typer.echo(f"{parked_id}: parked again as {done.parked_again_as}: {done.reason}", err=True)
        elif done.outcome == "queued":
            typer.echo(f"{parked_id}: queued as call(s) {', '.join(f'#{c}' for c in done.calls)}")
        else:
            why = f": {done.reason}" if done.reason else ""
            typer.echo(f"{parked_id}: dispatched, no work queued ({done.outcome}{why})")
    if failures:
        raise typer.Exit(int(ExitCode.FAILED))


def discard(
    parked_ids: Annotated[list[int], typer.Argument(help="parked messages to discard")],
    config: ConfigOption = None,
) -> None:
    """Remove parked messages that need no work (the log records what was removed)."""
    operations = _operations(config)

    def discard_one(parked_id: int) -> str:
        operations.discard_parked(parked_id, actor="cli")
        return "discarded"

    act_on_each(parked_ids, discard_one)
