"""``canvasbridge config check FILE`` (or ``--config FILE``): validate a configuration and show what it would start.

Checks, and reports every problem at once, each with the key that causes it:

1. the engine's sections (``backends``, ``sources``, ``routes``, ``tasks``, …) and what
   they refer to;
2. that every other section is owned by an installed flow, and is valid by that flow's
   settings model; the ``systems`` entries the flows in use read;
3. that every parser and task import path imports and is callable.

The environment's ``CANVASBRIDGE__…`` overrides are applied first, as the processes would
load the file; a problem with an overridden key names the variable.

Then it prints the sources, routes, tasks (with their sync kinds), backends and admin
tokens, and every secret as *where it comes from* (``env:NAME``/``file:PATH``) and
whether it is there now - never its value. A missing secret is a warning (the check may
run where the secrets are not), or an error with ``--require-secrets``.

Exit codes: 0 valid, 2 invalid (or a secret missing under ``--require-secrets``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from canvasbridge.cli.options import ExitCode, fail
from canvasbridge.errors import ConfigError

if TYPE_CHECKING:
    from canvasbridge.engine.config import AppConfig

console = Console(markup=False)  # cells hold data (route regexes like [a-z]) that must print as they are


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Check configuration files.", no_args_is_help=True)
    group.command("check")(check)
    app.add_typer(group, name="config")


def check(
    file: Annotated[
        Path | None, typer.Argument(help="the YAML configuration file", show_default=False)
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="the file, as every other command takes it", show_default=False),
    ] = None,
    require_secrets: Annotated[
        bool, typer.Option("--require-secrets", help="fail when a secret's variable or file is missing")
    ] = False,
) -> None:
    """Validate FILE and print what it would start (secrets shown only as where they come from)."""
    from canvasbridge.engine.config import check_document, format_problems, read_document

    if file is not None and config_file is not None and file != config_file:
        fail(f"two files given ({file} and --config {config_file}); check one at a time")
    file = file or config_file
    if file is None:
        fail("no configuration file given: canvasbridge config check FILE (or --config FILE)")
    from canvasbridge.engine.config_env import apply_env_overrides, blame

    try:
        document, overrides = apply_env_overrides(read_document(file), os.environ)
        checked = check_document(document)
    except ConfigError as exc:
        fail(f"configuration error: {exc}")
    problems = blame([*checked.problems, *import_problems(checked.document)], overrides)
    if problems or checked.config is None:
        fail(f"configuration error: {format_problems(problems, str(file))}")
    config = checked.config
    show(config)
    for warning in flow_section_warnings(config):
        console.print(Text.assemble(("warning:", "yellow"), f" {warning}"), soft_wrap=True)
    secrets = list(find_secrets(config))
    missing = [(where, ref) for where, ref, present in secrets if not present]
    if secrets:
        table = Table(title="secrets (values never shown)")
        for column in ("key", "from", "present"):
            table.add_column(column, overflow="fold")
        for where, ref, present in secrets:
            table.add_row(where, ref, "yes" if present else Text("MISSING", style="red"))
        console.print(table)
    if missing and require_secrets:
        fail(f"{len(missing)} secret(s) missing: " + ", ".join(f"{w} ({r})" for w, r in missing))
    console.print(
        Text(f"{file}: valid", style="green")
        + (f" ({len(missing)} secret(s) missing here)" if missing else "")
    )
    raise typer.Exit(int(ExitCode.OK))


def flow_section_warnings(config: AppConfig) -> list[str]:
    """What valid flow sections' models call risky (a model may define ``warnings()``)."""
    from canvasbridge.engine.flows import installed_flows

    warnings: list[str] = []
    for flow in installed_flows():
        for section, model in flow.sections.items():
            raw = config.section(section)
            if raw and hasattr(model, "warnings"):
                warnings += model.model_validate(raw).warnings()
    return warnings


def import_problems(document: dict[str, Any]) -> list[str]:
    """Every parser and task import path of the document that does not import, as ``key: reason``."""
    from canvasbridge.engine.loading import load_callable

    targets: list[tuple[str, Any]] = []
    routes = document.get("routes")
    for index, route in enumerate(routes if isinstance(routes, list) else []):
        if isinstance(route, dict):
            targets.append((f"routes.{index}.parser", route.get("parser")))
    tasks = document.get("tasks")
    for name, spec in tasks.items() if isinstance(tasks, dict) else ():
        if isinstance(spec, dict):
            targets.append((f"tasks.{name}.path", spec.get("path")))
    problems = []
    for what, path in targets:
        if not isinstance(path, str) or ":" not in path:
            continue  # the schema already names it
        try:
            load_callable(path, what=what)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


def show(config: AppConfig) -> None:
    sources = Table(title="sources")
    for column in ("name", "type", "where"):
        sources.add_column(column, overflow="fold")
    for source in config.sources:
        where = getattr(source, "url", None) or getattr(source, "queue_url", None)
        if source.type == "http":
            where = f"http://{source.host}:{source.port}{source.path}"
        elif source.type == "file":
            where = str(source.path)
        sources.add_row(source.name, source.type, str(where))
    console.print(sources)

    routes = Table(title="routes (first match wins)")
    for column in ("#", "name", "source", "match", "parser"):
        routes.add_column(column, overflow="fold")
    for index, route in enumerate(config.routes):
        match = [f"routing_key~{route.match.routing_key}"] if route.match.routing_key else []
        match += [f"{k}~{v}" for k, v in route.match.attributes.items()]
        routes.add_row(str(index), route.name, route.source, " ".join(match) or "(any)", route.parser)
    console.print(routes)

    tasks = Table(title="tasks")
    for column in ("name", "path", "sync kind → key", "max attempts"):
        tasks.add_column(column, overflow="fold")
    for name, spec in sorted(config.tasks.items()):
        sync = f"{spec.sync.kind} → {spec.sync.key}" if spec.sync else ""
        tasks.add_row(name, spec.path, sync, str(config.retry_policy(name).max_attempts))
    console.print(tasks)

    backends = config.backends
    table = Table(title="backends and processes")
    table.add_column("")
    table.add_column("", overflow="fold")
    broker = backends.broker_url or f"sqla+sqlite:///{backends.data_dir / 'broker.db'} (embedded)"
    ledger = backends.ledger_url or f"sqlite:///{backends.data_dir / 'ledger.db'} (embedded)"
    if backends.broker_password:
        broker += f"  password from {backends.broker_password.describe()}"
    if backends.ledger_password:
        ledger += f"  password from {backends.ledger_password.describe()}"
    table.add_row("broker", broker)
    table.add_row("ledger", ledger)
    table.add_row("queue", backends.queue + (" (quorum)" if backends.quorum_queue else ""))
    table.add_row("worker", f"{config.worker.pool} pool, concurrency {config.worker.concurrency}")
    tokens = ", ".join(f"{t.name} ({t.role.value}, {t.token.describe()})" for t in config.admin.tokens)
    table.add_row("admin API", f"http://{config.admin.host}:{config.admin.port}  tokens: {tokens or 'none'}")
    sections = [name for name, value in config.flow_sections().items() if value]
    table.add_row("flow sections", ", ".join(sections) or "none")
    console.print(table)


def find_secrets(config: AppConfig) -> Iterator[tuple[str, str, bool]]:
    """``(key, where it comes from, present now)`` for every secret reference in ``config``."""
    from canvasbridge.secrets import SecretRef

    def walk(value: Any, where: str) -> Iterator[tuple[str, str, bool]]:
        if isinstance(value, SecretRef):
            yield where, value.describe(), _present(value.env, value.file)
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                yield from walk(getattr(value, name), f"{where}.{name}" if where else name)
        elif isinstance(value, dict):
            keys = set(value)
            if keys in ({"env"}, {"file"}) and all(isinstance(v, str) for v in value.values()):
                ref = f"env:{value['env']}" if "env" in value else f"file:{value['file']}"
                yield where, ref, _present(value.get("env"), value.get("file"))
                return
            for key, item in value.items():
                yield from walk(item, f"{where}.{key}" if where else str(key))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                yield from walk(item, f"{where}.{index}")

    yield from walk(config, "")


def _present(env: str | None, file: Path | str | None) -> bool:
    if env is not None:
        return env in os.environ
    return file is not None and os.access(file, os.R_OK) and Path(file).is_file()
