"""``canvasbridge events backfill --since … [--until …] [--course ID …] [--dry-run]``.

Reads the configured Canvas (``systems.canvas``, required) for the window and writes through
the configured Salesforce (``systems.salesforce``) what the live path would have written
(see ``backfill.py``). A progress bar follows the courses, then a table per kind: events
found, records already present, records written (``--dry-run``: would write), events skipped
(no record due: not a participant, no active programme, other course…), failures. Exit
status 1 when a write failed.

Times: ISO 8601 dates or date-times; without a zone they are in ``live_events.timezone``
(a bare date is that day's midnight). ``--until`` defaults to now.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from canvasbridge.errors import ConfigError
from canvasbridge.live_events.backfill import KINDS, ActivityReader, Backfill, BackfillResult, Window
from canvasbridge.live_events.settings import LiveEventsSettings

console = Console()


def parse_moment(value: str, zone: ZoneInfo, option: str) -> datetime:
    """A date or date-time; naive ones are in ``zone``."""
    text = value.strip()
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time())
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 date or date-time (e.g. 2026-03-04 or 2026-03-04T09:00:00Z)",
            param_hint=option,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _clients(config_path: Path | None) -> tuple[LiveEventsSettings, Any, Any]:
    from canvasbridge.clients.canvas import CanvasSettings
    from canvasbridge.clients.salesforce import SalesforceSettings
    from canvasbridge.engine.config import load_config

    config = load_config(config_path)
    settings = LiveEventsSettings.model_validate(config.section("live_events"))
    built = []
    for name, model in (("canvas", CanvasSettings), ("salesforce", SalesforceSettings)):
        if not config.systems.get(name):  # the CLI's guard says how to give a configuration
            raise ConfigError(f"a backfill needs systems.{name} in the configuration")
        built.append(model.model_validate(config.systems[name]).build())
    canvas, salesforce = built
    return settings, canvas, salesforce


def run_backfill(
    settings: LiveEventsSettings,
    canvas: Any,
    salesforce: Any,
    window: Window,
    *,
    courses: list[str] | None = None,
    account_id: str = "1",
    dry_run: bool = False,
    show_progress: bool = True,
) -> BackfillResult:
    """Read the window from ``canvas`` and write (or with ``dry_run`` count) through ``salesforce``."""
    from canvasbridge.live_events.rules import load_directory
    from canvasbridge.live_events.runtime import build_processor

    processor = build_processor(settings, canvas=canvas, salesforce=salesforce, background=False)
    schema = settings.salesforce
    backfill = Backfill(
        processor,
        lambda day: load_directory(salesforce.query_all, schema, day),
        window.days(settings.zone),
        dry_run=dry_run,
    )
    reader = ActivityReader(canvas, window, account_id=account_id)
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not show_progress,
        transient=True,
    ) as progress:
        course_ids = courses or reader.courses()
        task = progress.add_task("logins and logouts", total=len(course_ids) + 1)
        backfill.add(reader.sessions())
        progress.advance(task)
        for course_id in course_ids:
            progress.update(task, description=f"course {course_id}")
            backfill.add(reader.course(course_id))
            progress.advance(task)
        progress.update(task, description="writing")
        return backfill.finish()


def summary_table(result: BackfillResult, *, dry_run: bool) -> Table:
    title = "backfill (dry run: nothing written)" if dry_run else "backfill"
    table = Table(title=title)
    table.add_column("event", no_wrap=True)
    for column in ("found", "already present", "would write" if dry_run else "written", "skipped", "failed"):
        table.add_column(column, justify="right")
    for kind in KINDS:
        c = result.kinds[kind]
        table.add_row(kind, str(c.found), str(c.present), str(c.written), str(c.skipped), str(c.failed))
    table.add_row(
        "total",
        *(str(result.total(name)) for name in ("found", "present", "written", "skipped", "failed")),
        style="bold",
    )
    return table


def backfill(
    since: str = typer.Option(..., "--since", help="start of the window (inclusive), e.g. 2026-03-04"),
    until: str | None = typer.Option(None, "--until", help="end of the window (exclusive); default now"),
    course: list[str] = typer.Option(
        [], "--course", help="a Canvas course id (repeat for several); default every course"
    ),
    account: str = typer.Option(
        "1", "--account", help="the Canvas account whose courses and logins are read"
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="read and count, write nothing"),
    config: Path | None = typer.Option(
        None, "--config", envvar="CANVASBRIDGE_CONFIG", help="configuration file"
    ),
) -> None:
    """Rebuild Live Events of a time window from Canvas's REST API and write the Salesforce
    records the live path would have written (records already there are not written again)."""
    settings, canvas, salesforce = _clients(config)
    zone = settings.zone
    start = parse_moment(since, zone, "--since")
    end = parse_moment(until, zone, "--until") if until else datetime.now(zone)
    try:
        window = Window(start, end)
    except Exception as exc:
        raise typer.BadParameter(str(exc), param_hint="--until") from None
    result = run_backfill(
        settings, canvas, salesforce, window, courses=course, account_id=account, dry_run=dry_run
    )
    console.print(summary_table(result, dry_run=dry_run))
    marked = result.total("attendees_marked")
    console.print(f"FLIP attendees {'to mark' if dry_run else 'marked'} attended: {marked}")
    for reason, count in result.reasons.most_common(5):
        console.print(f"skipped {count}: {reason}")
    for error in result.errors[:10]:
        console.print(f"[red]failed[/red] {error}")
    if result.errors:
        raise typer.Exit(1)
