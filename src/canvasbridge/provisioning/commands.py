"""``canvasbridge sync`` and ``canvasbridge resync``: provisioning on demand.

``canvasbridge sync KIND KEY [--dry-run]`` runs one object's task now, in this process, and
prints the operations it planned (and did, without ``--dry-run``)::

    canvasbridge sync user olan --dry-run
    canvasbridge sync course "185,INF1000,1,2026,HØST,1"

``canvasbridge resync users|accounts|courses|enrollments|all [--dry-run] [--force] [--path]``
plans the whole diff, prints it (:mod:`.plan_view`: a summary, then each change; ``--limit``,
``--all``, ``--output json``), and unless ``--dry-run`` writes it by REST or, for a large
diff, as one SIS import. A plan that would suspend or conclude more than the
``provisioning.safety`` limits stops unless ``--force``. The plan and the report go to
stdout; progress (:mod:`.phases`), warnings and errors to stderr.

Configuration: ``--config`` or ``CANVASBRIDGE_CONFIG``. Exit codes: 0 all done, 1 some work
failed or the safety limit stopped the run, 2 usage or configuration error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from canvasbridge.errors import CanvasbridgeError, ConfigError
from canvasbridge.provisioning import plan_view
from canvasbridge.provisioning.phases import PhaseDisplay
from canvasbridge.provisioning.plan import SafetyStop

console = Console()  # the plan and the report: stdout
err = Console(stderr=True)  # progress, warnings and errors: stderr

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
OUTPUTS = ("text", "json")

ConfigOption = typer.Option(None, "--config", "-c", help="configuration file (default: $CANVASBRIDGE_CONFIG)")
OutputOption = typer.Option("text", "--output", "-o", help="text (for a person) or json (for scripts)")


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
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _check_output(output: str) -> None:
    if output not in OUTPUTS:
        raise _fail(f"--output {output!r}: choose {' or '.join(OUTPUTS)}", 2)


def sync(
    kind: str = typer.Argument(..., help=f"one of: {', '.join(SYNC_KINDS)}"),
    key: str = typer.Argument(..., help="the object's natural key (username, FS id, SAP location id…)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="plan and print, write nothing"),
    output: str = OutputOption,
    as_json: bool = typer.Option(False, "--json", hidden=True, help="the same as --output json"),
    config: Path | None = ConfigOption,
) -> None:
    """Sync one object now: read its sources and Canvas, print and apply the difference.

    Prints each planned change (create, update with old → new, suspend, conclude…), or with
    --output json the task's summary, whose "changes" have the form of a resync's plan.
    """
    if kind not in SYNC_KINDS:
        raise _fail(f"unknown kind {kind!r}; choose one of {', '.join(SYNC_KINDS)}", 2)
    _check_output(output)
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
    if as_json or output == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return
    console.print(f"[bold]{kind} {key}[/bold]" + (" (dry run)" if dry_run else ""), highlight=False)
    _print_operations(result)


def _print_operations(result: dict[str, Any], indent: str = "  ") -> None:
    for name, value in result.items():
        if name == "operations" and "changes" in result:
            continue  # the same changes, shown field by field below
        if name == "changes":
            for record in value:
                console.print(plan_view.change_line(record, indent=indent, with_kind=True), soft_wrap=True)
            if not value:
                console.print(f"{indent}(nothing to do)", highlight=False)
            if result.get("planned", 0) > len(value):
                console.print(f"{indent}… and {result['planned'] - len(value)} more", highlight=False)
        elif name == "operations":
            for op in value or ["(nothing to do)"]:
                console.print(f"{indent}- {op}", highlight=False)
        elif isinstance(value, dict):
            console.print(f"{indent}{name}:", highlight=False)
            _print_operations(value, indent + "  ")
        else:
            console.print(f"{indent}{name}: {value}", highlight=False)


def resync_command(
    kinds: list[str] = typer.Argument(..., help="users, accounts, courses, enrollments or all"),
    dry_run: bool = typer.Option(False, "--dry-run", help="plan and print the changes, write nothing"),
    force: bool = typer.Option(False, "--force", help="go on even if the safety limits are exceeded"),
    path: str = typer.Option("auto", "--path", help="auto (by diff size), rest or bulk"),
    output: str = OutputOption,
    limit: int = typer.Option(
        plan_view.DEFAULT_LIMIT, "--limit", min=0, help="changes listed per kind and action (text output)"
    ),
    show_all: bool = typer.Option(False, "--all", help="list every planned change (text output)"),
    config: Path | None = ConfigOption,
) -> None:
    """Bring a whole kind of object in Canvas in line with the sources.

    Prints the plan (a summary, then each change: create, update with old → new, suspend,
    conclude…) on stdout, or with --output json one document (docs/provisioning.md); progress,
    warnings and errors go to stderr.
    """
    bad = [k for k in kinds if k not in RESYNC_KINDS]
    if bad:
        raise _fail(f"unknown kind(s) {', '.join(map(repr, bad))}; choose from {', '.join(RESYNC_KINDS)}", 2)
    if path not in ("auto", "rest", "bulk"):
        raise _fail(f"unknown --path {path!r}; choose auto, rest or bulk", 2)
    _check_output(output)
    from canvasbridge.engine.config import load_config
    from canvasbridge.provisioning import runtime
    from canvasbridge.provisioning.resync import resync, sources_for

    try:
        app_config = load_config(config)
        ctx = _task_context(app_config, dry_run=dry_run, task="resync")
        settings = runtime.settings(ctx)
        sources = sources_for(ctx)
        # opened before writing, so an unreachable ledger stops the run before Canvas changes
        dead_letters = None if dry_run else _dead_letters(app_config)
    except ConfigError:
        raise
    except LookupError as exc:
        raise _fail(str(exc), 2) from None
    for warning in settings.warnings():
        err.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    planned: list[Any] = []
    phases = PhaseDisplay(err)

    def on_plan(result: Any) -> None:
        planned.append(result)
        with phases.paused():
            if output == "text":
                plan_view.print_plan(console, result, limit=None if show_all else limit)
            for error in result.errors[:20]:
                err.print(f"[yellow]could not decide[/yellow] {error}", highlight=False)
            if len(result.errors) > 20:
                err.print(f"… and {len(result.errors) - 20} more that could not be decided", highlight=False)

    stop: str | None = None
    result = None
    with phases:
        try:
            result = resync(
                sources,
                settings,
                kinds,
                dry_run=dry_run,
                force=force,
                path=path,
                progress=phases.writes,
                on_plan=on_plan,
                dead_letters=dead_letters,
                on_phase=phases.phase,
            )
        except SafetyStop as exc:
            stop = str(exc)
        except ConfigError:
            raise
        except CanvasbridgeError as exc:
            raise _fail(f"{type(exc).__name__}: {exc}", 1) from None
    if output == "json" and planned:
        document = plan_view.plan_document(planned[0], safety_stop=stop)
        if result is not None and not dry_run:
            document["result"] = _report_document(result)
        print(json.dumps(document, ensure_ascii=False, indent=2))
    if stop is not None:
        raise _fail(stop, 1)
    assert result is not None
    if dry_run:
        return
    if output == "text":
        _print_report(result)
    if not result.ok:
        raise typer.Exit(1)


def _report_document(result: Any) -> dict[str, Any]:
    report = result.report
    return {
        "path": result.path,
        "done": report.done if report is not None else 0,
        "failed": [failure.describe() for failure in result.failures],
        "origin": result.origin,
        "dead_letters": list(result.dead_letters),
    }


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
