"""``canvasbridge sync`` and ``canvasbridge resync``: provisioning on demand.

``canvasbridge sync KIND KEY [--dry-run]`` runs one object's task now, in this process, and
prints the operations it planned (and did, without ``--dry-run``)::

    canvasbridge sync user olan --dry-run
    canvasbridge sync course "185,INF1000,1,2026,HØST,1"

``canvasbridge resync users|accounts|courses|enrollments|all [--dry-run] [--force] [--path]``
plans the whole diff, prints a summary table, and unless ``--dry-run`` writes it by REST or,
for a large diff, as one SIS import. A plan that would suspend or conclude more than the
``provisioning.safety`` limits stops unless ``--force``.

Configuration: ``--config`` or ``CANVASBRIDGE_CONFIG``. Exit codes: 0 all done, 1 some work
failed or the safety limit stopped the run, 2 usage or configuration error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from canvasbridge.errors import CanvasbridgeError, ConfigError
from canvasbridge.provisioning.plan import SafetyStop

console = Console()
if not console.is_terminal:  # piped or captured: wide enough for the summary table
    console = Console(width=140)

#: ``sync`` kinds → (task import path, parameter)
SYNC_KINDS: dict[str, tuple[str, str]] = {
    "user": ("canvasbridge.provisioning.tasks.users:ensure_user", "username"),
    "person": ("canvasbridge.provisioning.tasks.users:ensure_user", "person_id"),
    "account": ("canvasbridge.provisioning.tasks.accounts:ensure_account", "location_id"),
    "course": ("canvasbridge.provisioning.tasks.courses:ensure_course", "fs_id"),
    "emne": ("canvasbridge.provisioning.tasks.courses:ensure_emne", "fs_id"),
    "enrollments": ("canvasbridge.provisioning.tasks.enrollments:ensure_enrollments", "fs_id"),
    "role": ("canvasbridge.provisioning.tasks.enrollments:ensure_person_role", "personrolle"),
    "user-roles": ("canvasbridge.provisioning.tasks.roles:ensure_user_roles", "employee_id"),
}
RESYNC_KINDS = ("users", "accounts", "courses", "enrollments", "all")
ACTIONS = ("create", "update", "move", "unsuspend", "reactivate", "suspend", "conclude")

ConfigOption = typer.Option(None, "--config", "-c", help="configuration file (default: $CANVASBRIDGE_CONFIG)")


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
    app.command("resync")(resync_command)


def _context(config_path: Path | None, *, dry_run: bool, task: str) -> Any:
    from canvasbridge.engine.config import load_config

    return _task_context(load_config(config_path), dry_run=dry_run, task=task)


def _task_context(config: Any, *, dry_run: bool, task: str) -> Any:
    from canvasbridge.engine import TaskContext

    return TaskContext(task_name=task, sections=config.flow_sections(), dry_run=dry_run)


def _dead_letters(config: Any) -> Any:
    """The ledger and name of ``apply_operation`` if configured (else None: failures stay in
    the report only, as a dead letter no worker knows could not run)."""
    from canvasbridge.engine.ledger import Ledger
    from canvasbridge.provisioning.resync import DeadLetters
    from canvasbridge.provisioning.tasks.operations import TASK_PATH

    name = next((n for n, spec in config.tasks.items() if spec.path == TASK_PATH), None)
    if name is None:
        return None
    return DeadLetters(Ledger.open(config.backends.resolved_ledger_url()), name)


def _fail(message: str, code: int) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def sync(
    kind: str = typer.Argument(..., help=f"one of: {', '.join(SYNC_KINDS)}"),
    key: str = typer.Argument(..., help="the object's natural key (username, FS id, SAP location id…)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="plan and print, write nothing"),
    as_json: bool = typer.Option(False, "--json", help="print the task's summary as JSON"),
    config: Path | None = ConfigOption,
) -> None:
    """Sync one object now: read its sources and Canvas, print and apply the difference."""
    if kind not in SYNC_KINDS:
        raise _fail(f"unknown kind {kind!r}; choose one of {', '.join(SYNC_KINDS)}", 2)
    from canvasbridge.engine.loading import load_callable

    path, param = SYNC_KINDS[kind]
    try:
        ctx = _context(config, dry_run=dry_run, task=f"sync {kind}")
        task = load_callable(path, what="task")
        result = task(ctx, **{param: key})
    except ConfigError:
        raise  # one line, exit 2, from the CLI's guard (canvasbridge.cli.options.guarded)
    except CanvasbridgeError as exc:
        raise _fail(f"{type(exc).__name__}: {exc}", 1) from None
    if as_json:
        console.print_json(json.dumps(result, ensure_ascii=False, default=str))
        return
    console.print(f"[bold]{kind} {key}[/bold]" + (" (dry run)" if dry_run else ""), highlight=False)
    _print_operations(result)


def _print_operations(result: dict[str, Any], indent: str = "  ") -> None:
    for name, value in result.items():
        if name == "operations":
            for op in value or ["(nothing to do)"]:
                console.print(f"{indent}- {op}", highlight=False)
        elif isinstance(value, dict):
            console.print(f"{indent}{name}:", highlight=False)
            _print_operations(value, indent + "  ")
        else:
            console.print(f"{indent}{name}: {value}", highlight=False)


def resync_command(
    kinds: list[str] = typer.Argument(..., help="users, accounts, courses, enrollments or all"),
    dry_run: bool = typer.Option(False, "--dry-run", help="plan and print the summary, write nothing"),
    force: bool = typer.Option(False, "--force", help="go on even if the safety limits are exceeded"),
    path: str = typer.Option("auto", "--path", help="auto (by diff size), rest or bulk"),
    config: Path | None = ConfigOption,
) -> None:
    """Bring a whole kind of object in Canvas in line with the sources."""
    bad = [k for k in kinds if k not in RESYNC_KINDS]
    if bad or path not in ("auto", "rest", "bulk"):
        raise _fail(f"unknown kind(s) {bad} or path {path!r}; kinds: {', '.join(RESYNC_KINDS)}", 2)
    from canvasbridge.engine.config import load_config
    from canvasbridge.provisioning import runtime
    from canvasbridge.provisioning.resync import Sources, resync

    try:
        app_config = load_config(config)
        ctx = _task_context(app_config, dry_run=dry_run, task="resync")
        settings = runtime.settings(ctx)
        sections = ctx.sections.get("systems") or {}
        names = settings.systems
        sources = Sources(
            canvas=runtime.canvas(ctx),
            fs=runtime.fs(ctx) if names.fs in sections else None,
            cerebrum=runtime.cerebrum(ctx) if names.cerebrum in sections else None,
            sap=runtime.sap(ctx) if names.sap in sections else None,
        )
        # opened before writing, so an unreachable ledger stops the run before Canvas changes
        dead_letters = None if dry_run else _dead_letters(app_config)
    except ConfigError:
        raise
    except LookupError as exc:
        raise _fail(str(exc), 2) from None
    for warning in settings.warnings():
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    with Progress(
        TextColumn("writing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        job = bar.add_task("writes", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(job, completed=done, total=total)

        try:
            result = resync(
                sources,
                settings,
                kinds,
                dry_run=dry_run,
                force=force,
                path=path,
                progress=progress,
                on_plan=lambda planned: _print_summary(planned, "planned"),
                dead_letters=dead_letters,
            )
            if dry_run:
                return
        except SafetyStop as exc:
            raise _fail(str(exc), 1) from None
        except ConfigError:
            raise
        except CanvasbridgeError as exc:
            raise _fail(f"{type(exc).__name__}: {exc}", 1) from None
    _print_report(result)
    if not result.ok:
        raise typer.Exit(1)


def _print_summary(result: Any, title: str) -> None:
    summary = result.plan.summary()
    table = Table(title=f"resync {' '.join(result.kinds)}: {title} changes", show_lines=False)
    table.add_column("kind")
    for action in ACTIONS:
        table.add_column(action, justify="right")
    table.add_column("desired", justify="right")
    table.add_column("in Canvas", justify="right")
    for kind, plural in (
        ("account", "accounts"),
        ("user", "users"),
        ("course", "courses"),
        ("section", "sections"),
        ("enrollment", "enrollments"),
    ):
        if plural not in result.kinds:
            continue
        counts = summary.get(kind, {})
        table.add_row(
            plural,
            *[str(counts.get(a, 0) or "") for a in ACTIONS],
            str(result.desired.get(plural, 0)),
            str(result.current.get(plural, 0)),
        )
    console.print(table)
    for note in result.plan.notes:
        console.print(f"note: {note}", highlight=False)
    for error in result.errors[:20]:
        console.print(f"[yellow]could not decide[/yellow] {error}", highlight=False)


def _print_report(result: Any) -> None:
    report = result.report
    done = report.done if report is not None else 0
    timing = ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items())
    console.print(
        f"path: {result.path}; done: {done}; failed: {len(result.failures)}; {timing}", highlight=False
    )
    for failure in result.failures[:50]:
        console.print(f"[red]failed[/red] {failure.describe()}", highlight=False)
    if len(result.failures) > 50:
        console.print(f"… and {len(result.failures) - 50} more", highlight=False)
    if result.dead_letters:
        origin = result.origin
        console.print(
            f"{len(result.dead_letters)} dead letter(s) recorded, origin {origin}: list them, and "
            "once the cause is fixed requeue them (a worker runs them) with",
            highlight=False,
        )
        for command in ("list --state dead", "requeue"):
            console.print(
                f"  canvasbridge tasks {command} --origin {origin}", highlight=False, soft_wrap=True
            )
    elif result.failures and not any(f.requeueable for f in result.failures):
        console.print("nothing to requeue: run the resync again once the cause is fixed", highlight=False)
    elif result.failures:
        console.print(
            "no dead letters recorded: configure a task with path "
            "canvasbridge.provisioning.tasks.operations:apply_operation to keep failed changes "
            "as requeueable dead letters",
            highlight=False,
        )
