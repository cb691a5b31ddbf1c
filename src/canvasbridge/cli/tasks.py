"""``canvasbridge tasks list|show|requeue|discard`` and ``canvasbridge routes``.

They work on the task ledger named by the configuration directly (no API token needed:
whoever can read the configuration can reach the ledger anyway), through the same
operations the admin API uses.

    canvasbridge tasks list --state dead --task ensure_user --since 2026-11-01
    canvasbridge tasks list --param username=olan     # every call for one object
    canvasbridge tasks show 4711
    canvasbridge tasks requeue 4711 4712            # these calls
    canvasbridge tasks requeue --task ensure_user   # every dead ensure_user call
    canvasbridge tasks requeue --all --dry-run      # how many dead calls there are
    canvasbridge tasks discard 4711

Exit codes: 0 done, 1 some id was unknown or some call could not be requeued or
discarded, 2 usage or configuration error.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from canvasbridge.cli.each_id import act_on_each
from canvasbridge.cli.options import ConfigOption, ExitCode, config_errors, fail, load

if TYPE_CHECKING:
    from canvasbridge.engine.api.operations import Operations
    from canvasbridge.engine.ledger import CallFilter, CallRecord

console = Console(markup=False)  # cells hold data (JSON, errors) whose [brackets] must print as they are
MAX_CELL = 60  # characters of params and errors shown in a table cell

StateOption = Annotated[
    list[str] | None,
    typer.Option(
        "--state", help="queued, running, retrying, succeeded, dead, discarded or requeued (repeatable)"
    ),
]
TaskOption = Annotated[str | None, typer.Option("--task", help="a task name")]
OriginOption = Annotated[str | None, typer.Option("--origin", help="a source name or a source message id")]
SinceOption = Annotated[
    str | None,
    typer.Option("--since", help="created at or after (ISO 8601, e.g. 2026-11-21T08:00; UTC if no zone)"),
]
UntilOption = Annotated[str | None, typer.Option("--until", help="created before (ISO 8601)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The task ledger: list, show, requeue, discard.", no_args_is_help=True)
    group.command("list")(_ledger_errors(list_tasks))
    group.command("show")(_ledger_errors(show))
    group.command("requeue")(_ledger_errors(requeue))
    group.command("discard")(_ledger_errors(discard))
    app.add_typer(group, name="tasks")
    app.command("routes")(routes)


def _ledger_errors(command: Callable[..., None]) -> Callable[..., None]:
    """Report an unreachable ledger database in one line (exit 1), not with a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from sqlalchemy import exc

        try:
            command(*args, **kwargs)
        except (exc.OperationalError, exc.InterfaceError, exc.TimeoutError) as error:
            reason = str(error.orig if isinstance(error, exc.DBAPIError) else error).splitlines()[0]
            fail(f"the ledger database is unavailable: {reason}", ExitCode.FAILED)

    return wrapper


def _operations(config: Any) -> Operations:
    from canvasbridge.engine.api.operations import Operations
    from canvasbridge.engine.runtime import Runtime

    with config_errors():
        return Operations(Runtime(load(config)))


def _filter(
    states: list[str] | None,
    task: str | None,
    origin: str | None,
    since: str | None,
    until: str | None,
) -> CallFilter:
    from canvasbridge.engine.ledger import CallFilter, CallState

    known = [s.value for s in CallState]
    wrong = [s for s in states or () if s not in known]
    if wrong:
        fail(f"--state: unknown state(s) {wrong} (known: {known})")
    return CallFilter(
        states=tuple(CallState(s) for s in states or ()),
        task=task,
        origin=origin,
        since=_time("--since", since),
        until=_time("--until", until),
    )


def _time(option: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option}: not an ISO 8601 time: {text!r} (e.g. 2026-11-21T08:00 or 2026-11-21T08:00+01:00)")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _short(text: str | None, limit: int = MAX_CELL) -> str:
    if not text:
        return ""
    line = text.splitlines()[0] if text.splitlines() else text
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _params(record: CallRecord) -> str:
    """``name=value, …``; a value that is not a string as JSON, as ``tasks show`` and ``--json`` give it."""
    return _short(
        ", ".join(
            f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
            for k, v in record.params.items()
        )
    )


def _state(record: CallRecord) -> str:
    """The state, with where a requeued call went: ``requeued → #5120``."""
    if record.requeued_to is not None:
        return f"{record.state.value} → #{record.requeued_to}"
    return record.state.value


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def list_tasks(
    config: ConfigOption = None,
    state: StateOption = None,
    task: TaskOption = None,
    origin: OriginOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="NAME=VALUE, a task parameter's value, e.g. username=olan (repeatable)"
        ),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="rows to show")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="rows to skip")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Task calls, newest first, with filters. '--param username=olan' finds one object's calls."""
    where = _filter(state, task, origin, since, until)
    params: dict[str, str] = {}
    for pair in param or ():
        name, sep, value = pair.partition("=")
        if not sep or not name:
            fail(f"--param: expected NAME=VALUE, got {pair!r}")
        params[name] = value
    page = _operations(config).list_calls(where, limit=limit, offset=offset, params=params)
    if as_json:
        from canvasbridge.engine.api.schemas import TaskPage, TaskSummary

        body = TaskPage(
            items=[TaskSummary.of(r) for r in page.items], total=page.total, limit=limit, offset=offset
        )
        typer.echo(body.model_dump_json(indent=2))
        return
    table = Table(
        title=f"task calls {offset + 1 if page.items else 0}-{offset + len(page.items)} of {page.total}"
    )
    for column in ("id", "task", "state", "tries", "params", "origin", "updated (UTC)", "last error"):
        table.add_column(column, overflow="fold")
    for record in page.items:
        table.add_row(
            str(record.id),
            record.task,
            _state(record),
            str(record.attempts),
            _params(record),
            record.origin_source or "",
            _when(record.updated_at),
            _short(record.last_error, 50),
        )
    console.print(table)


def show(
    call_id: Annotated[int, typer.Argument(min=1, help="the call's id")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """One call in full: parameters, state, attempts with errors, and the message that caused it."""
    from canvasbridge.engine.api import operations as ops

    operations = _operations(config)
    try:
        detail = operations.show(call_id)
    except ops.UnknownCall as exc:
        fail(str(exc), ExitCode.FAILED)
    if as_json:
        from canvasbridge.engine.api.schemas import TaskDetail

        typer.echo(TaskDetail.of_detail(detail).model_dump_json(indent=2))
        return
    record = detail.record
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column(overflow="fold")
    rows = [
        ("call", f"{record.id}  {record.task}"),
        ("params", json.dumps(record.params, ensure_ascii=False)),
        ("state", f"{_state(record)} after {record.attempts} attempt(s)"),
        ("created", _when(record.created_at)),
        ("finished", _when(record.finished_at)),
        ("next attempt", _when(record.next_attempt_at)),
        ("correlation id", record.correlation_id or ""),
        ("requeued from", str(record.requeued_from or "")),
        ("folded", f"{record.folded} identical call(s)" if record.folded else ""),
        ("result", json.dumps(record.result, ensure_ascii=False) if record.result is not None else ""),
        ("last error", record.last_error or ""),
    ]
    for name, value in rows:
        if value:
            summary.add_row(name, value)
    console.print(summary)
    if detail.attempts:
        attempts = Table(title="attempts")
        for column in ("#", "outcome", "started (UTC)", "finished (UTC)", "error"):
            attempts.add_column(column, overflow="fold")
        for attempt in detail.attempts:
            attempts.add_row(
                str(attempt.number),
                attempt.outcome,
                _when(attempt.started_at),
                _when(attempt.finished_at),
                attempt.error or "",
            )
        console.print(attempts)
    if record.last_traceback:
        console.print("last traceback", style="bold")
        console.print(record.last_traceback, markup=False, highlight=False)
    if record.origin_message:
        console.print("originating message", style="bold")
        console.print_json(json.dumps(record.origin_message, ensure_ascii=False))


def requeue(
    call_ids: Annotated[list[int] | None, typer.Argument(help="calls to requeue")] = None,
    config: ConfigOption = None,
    state: StateOption = None,
    task: TaskOption = None,
    origin: OriginOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    every: Annotated[
        bool, typer.Option("--all", help="every dead call (when no ids or filter are given)")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only count what would be requeued")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="at most this many calls")] = 1000,
) -> None:
    """Queue dead (or discarded) calls again: the ids given, or every one a filter selects."""
    from canvasbridge.engine.api import operations as ops

    filtered = bool(state or task or origin or since or until)
    if call_ids and (filtered or every):
        fail("give call ids or a filter (--state/--task/--origin/--since/--until/--all), not both")
    if not call_ids and not filtered and not every:
        fail("give call ids, a filter (--state/--task/--origin/--since/--until), or --all")
    operations = _operations(config)
    if call_ids:
        failures = 0
        for call_id in call_ids:
            if dry_run:
                try:
                    state_now = operations.show(call_id).record.state.value
                except ops.UnknownCall as exc:
                    failures += 1
                    typer.echo(f"{call_id}: {exc}", err=True)
                    continue
                verdict = (
                    "would be requeued" if state_now in ("dead", "discarded") else f"is {state_now}: refused"
                )
                failures += verdict.endswith("refused")
                typer.echo(f"{call_id}: {verdict}")
                continue
            try:
                done = operations.requeue(call_id, actor="cli")
            except ops.OperationError as exc:
                failures += 1
                typer.echo(f"{call_id}: {exc}", err=True)
                continue
            typer.echo(
                f"{call_id}: requeued as {done.id}{' (folded into a pending call)' if done.folded else ''}"
            )
        if failures:
            raise typer.Exit(int(ExitCode.FAILED))
        return
    where = _filter(state, task, origin, since, until)
    try:
        outcome = operations.bulk_requeue(where, dry_run=dry_run, limit=limit, actor="cli")
    except ops.InvalidState:
        fail("--state: only dead or discarded calls can be requeued")
    table = Table(title="dry run: nothing was requeued" if dry_run else "bulk requeue")
    table.add_column("")
    table.add_column("calls", justify="right")
    table.add_row("matching, requeueable", str(outcome.matched))
    table.add_row("left out (requeued before)", str(outcome.already_requeued))
    if not dry_run:
        table.add_row("requeued", str(len(outcome.requeued)))
        table.add_row("failed", str(len(outcome.failed)))
        table.add_row("not attempted (limit or queue down)", str(outcome.not_attempted))
    console.print(table)
    for call_id, reason in outcome.failed.items():
        typer.echo(f"{call_id}: {reason}", err=True)
    if outcome.failed:
        raise typer.Exit(int(ExitCode.FAILED))


def discard(
    call_ids: Annotated[list[int], typer.Argument(help="calls to discard")],
    config: ConfigOption = None,
) -> None:
    """Mark calls as needing no further work (dead letters dealt with, or queued calls that must not run)."""
    operations = _operations(config)

    def discard_one(call_id: int) -> str:
        operations.discard(call_id, actor="cli")
        return "discarded"

    act_on_each(call_ids, discard_one)


def routes(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The routing table: which parser handles which messages, in the order routes are tried."""
    settings = load(config, logging=False)
    if as_json:
        typer.echo(json.dumps([route.model_dump() for route in settings.routes], indent=2))
        return
    table = Table(title="routes (first match wins)")
    for column in ("#", "name", "source", "routing key", "attributes", "parser"):
        table.add_column(column, overflow="fold")
    for index, route in enumerate(settings.routes):
        table.add_row(
            str(index),
            route.name,
            route.source,
            route.match.routing_key or "(any)",
            ", ".join(f"{k}~{v}" for k, v in route.match.attributes.items()) or "(any)",
            route.parser,
        )
    console.print(table)
    unmatched = settings.unmatched
    per_source = ", ".join(f"{name}: {policy.value}" for name, policy in unmatched.sources.items())
    console.print(
        f"unmatched messages: {unmatched.default.value}" + (f" ({per_source})" if per_source else "")
    )
