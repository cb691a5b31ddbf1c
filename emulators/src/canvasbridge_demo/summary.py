"""The demo's closing tables: what it did, and where everything is running."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from canvasbridge_demo.narrate import Narrator
from canvasbridge_demo.scenario import DemoResult
from canvasbridge_demo.stack import SECRET_ENV, DemoStack


def print_summary(narrator: Narrator, result: DemoResult, stack: DemoStack) -> None:
    console = narrator.console
    s = result.summary
    console.print()
    steps = Table(title="Steps", title_justify="left")
    steps.add_column("step")
    steps.add_column("result")
    steps.add_column("seconds", justify="right")
    steps.add_column("detail", overflow="fold")
    for step in result.steps:
        steps.add_row(
            step.name,
            "[green]ok[/green]" if step.ok else "[bold red]FAILED[/bold red]",
            f"{step.seconds:.1f}",
            step.detail,
        )
    console.print(steps)
    if not s:
        return
    table = Table(title="Summary", title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    canvas: dict[str, int] = s.get("canvas", {})
    for key in ("accounts", "users", "courses", "sections", "enrollments"):
        table.add_row(f"Canvas {key} managed by canvasbridge", str(canvas.get(key, 0)))
    sf: dict[str, int] = s.get("salesforce", {})
    table.add_row("Salesforce Canvas_Activitiy__c records", str(sf.get("activities", 0)))
    table.add_row("Salesforce FLIP attendances marked", str(sf.get("attended", 0)))
    table.add_row("task calls (duplicates folded)", f"{s.get('task_calls', 0)} ({s.get('folded', 0)})")
    tasks: dict[str, int] = s.get("tasks", {})
    table.add_row("task calls succeeded", str(tasks.get("succeeded", 0)))
    outage = result.facts.get("outage", {}).get("recovered")
    in_outage = f" ({outage} in the outage)" if outage is not None else ""
    table.add_row("task calls that succeeded after retrying", f"{s.get('recovered', 0)}{in_outage}")
    table.add_row("dead letters (requeued)", f"{s.get('dead', 0)} ({s.get('requeued', 0)})")
    table.add_row("messages parked", str(s.get("parked", 0)))
    for name, count in s.get("api_calls", {}).items():
        table.add_row(f"API calls made to {name}", str(count))
    console.print(table)


def print_urls(narrator: Narrator, stack: DemoStack) -> None:
    table = Table(title="Running", title_justify="left")
    table.add_column("what")
    table.add_column("where", overflow="fold")
    table.add_row(
        "admin API",
        f"{stack.admin_url}/  (dashboard: sign in with the token; API: Authorization: Bearer "
        f"${SECRET_ENV['admin']} = {stack.admin_token})"
        if stack.admin_url
        else f"[red]not running: {escape(stack.admin_error)}[/red]",
    )
    for name, emulator in stack.suite.emulators.items():
        table.add_row(f"{name} emulator", _where(name, emulator))
    table.add_row(
        "source notifications",
        stack.webhook_url
        if stack.source_transport != "AMQP"
        else "RabbitMQ (exchanges outgoing_system-emulator-*)",
    )
    table.add_row("configuration", str(stack.config_path))
    if stack.config is not None:
        b = stack.config.backends
        table.add_row("ledger", _no_password(b.ledger_url) if b.ledger_url else f"SQLite in {stack.data_dir}")
        table.add_row("broker", _no_password(b.broker_url) if b.broker_url else f"SQLite in {stack.data_dir}")
    narrator.console.print(table)


def _where(name: str, emulator: Any) -> str:
    if name == "sqs":
        return f"{emulator.url}  queue {emulator.credentials.get('queue', '')}"
    return f"{emulator.url}/_emulator/stats"


def _no_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
