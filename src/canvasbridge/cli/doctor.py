"""``canvasbridge doctor``: one line per check of what the configuration needs, ✓ or ✗.

Exit codes: 0 every check passed, 1 some failed (each ✗ line says what to do), 2 usage or
configuration error.
"""

from __future__ import annotations

import json
import logging
import os
import time
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from canvasbridge.cli.options import CONFIG_ENV, NO_CONFIG_FILE, ConfigOption, ExitCode, fail, load

if TYPE_CHECKING:
    from canvasbridge.engine.doctor import Finding

DEFAULT_TIMEOUT_S = 5.0


class Output(StrEnum):
    text = "text"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def doctor(
    config: ConfigOption = None,
    output: Annotated[
        Output, typer.Option("--output", "-o", help="text (one line per check) or json")
    ] = Output.text,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="seconds each check may take (they run at once)")
    ] = DEFAULT_TIMEOUT_S,
) -> None:
    """Check every configured backend and system: reachable, credentials accepted, the rights
    the tasks need (Canvas admin of the root account, the Salesforce fields), the RabbitMQ
    vhost and queues, the ledger's migrations. One line each, ✓ or ✗ with what to do;
    exit 0 when all pass, 1 when any fails, 2 for a usage or configuration error."""
    if config is None and not os.environ.get(CONFIG_ENV):
        fail(NO_CONFIG_FILE)
    settings = load(config)
    logging.getLogger("pika").setLevel(logging.CRITICAL)  # a missing queue is a line, not a warning
    from canvasbridge.engine.doctor import diagnose
    from canvasbridge.engine.flows import installed_flows

    started = time.perf_counter()
    findings = diagnose(settings, installed_flows(), timeout_s=timeout)
    failed = sum(not f.ok for f in findings)
    if output is Output.json:
        typer.echo(json.dumps({"ok": not failed, "checks": [f.__dict__ for f in findings]}, indent=2))
    else:
        for line in lines(findings):
            typer.echo(line)
        summary = (
            f"{len(findings)} checks, {failed} failed" if failed else f"{len(findings)} checks, all passed"
        )
        typer.echo(f"{summary} ({time.perf_counter() - started:.1f}s)")
    raise typer.Exit(int(ExitCode.FAILED if failed else ExitCode.OK))


def lines(findings: list[Finding]) -> list[str]:
    """``✓ name  detail`` or ``✗ name  detail → what to do``, names aligned."""
    width = max((len(f.name) for f in findings), default=0)
    return [
        f"{'✓' if f.ok else '✗'} {f.name:<{width}}  {f.detail}" + ("" if f.ok else f" → {f.remedy}")
        for f in findings
    ]
