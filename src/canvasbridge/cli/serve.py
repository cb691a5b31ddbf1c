"""The long-running processes: ``consume``, ``worker`` and ``api``.

* ``canvasbridge consume [--source NAME]…`` runs the configured sources (all, or those
  named) until SIGTERM or SIGINT; the first signal stops them cleanly (in-flight messages
  are finished and acknowledged, the rest stay on the broker), a second one exits at once.
* ``canvasbridge worker [-c/--concurrency N] [-n/--hostname NAME] [--pool prefork|threads|solo]``
  runs a Celery worker for the configured tasks (Celery handles its own signals: SIGTERM =
  warm stop). The options read as Celery's own: ``-c`` is the concurrency and ``-n`` the
  node name, so on this command the configuration file is given with ``--config`` only.
* ``canvasbridge api [--host H] [--port P]`` serves the admin API with uvicorn.

With ``metrics.port`` set, ``consume`` and ``worker`` also serve ``/metrics`` themselves
(:mod:`canvasbridge.engine.metrics_server`).
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from canvasbridge.cli.options import CONFIG_ENV, ConfigOption, ExitCode, config_errors, fail, load
from canvasbridge.errors import ConfigError

if TYPE_CHECKING:
    from canvasbridge.engine.config import AppConfig
    from canvasbridge.engine.preflight import Process

log = logging.getLogger("canvasbridge.cli")
INTERRUPTED = 130  # exit code after a second signal


def register(app: typer.Typer) -> None:
    app.command("consume")(consume)
    app.command("worker")(worker)
    app.command("api")(api)


def consume(
    config: ConfigOption = None,
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="only this source (repeatable)")
    ] = None,
) -> None:
    """Receive messages from the sources, route and parse them, and queue their tasks."""
    settings = load(config)
    configured = [s.name for s in settings.sources]
    if not configured:
        raise ConfigError("sources: nothing to consume from; configure at least one source")
    unknown = sorted(set(source or ()) - set(configured))
    if unknown:
        fail(f"--source: unknown source(s) {unknown} (configured: {configured})")
    _refuse_missing_secrets(settings, "consume", sources=source or None)
    from canvasbridge.engine.metrics_server import serve_metrics
    from canvasbridge.engine.runtime import Runtime

    stop = threading.Event()

    def on_signal(number: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise SystemExit(INTERRUPTED)
        log.info("received %s: stopping the sources (again to exit at once)", signal.Signals(number).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with config_errors():
        runtime = Runtime(settings)
        serve_metrics(settings)
        try:
            runtime.consume(stop, only=source or None)
        except ConfigError:
            raise
        except Exception:
            log.exception("the consumer stopped on an error")
            raise typer.Exit(int(ExitCode.FAILED)) from None
    log.info("consumer stopped")


def worker(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            envvar=CONFIG_ENV,
            help="configuration file (default: $CANVASBRIDGE_CONFIG, else the embedded defaults); "
            "no short form here: -c is the concurrency, as in Celery",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-c",
            min=1,
            max=256,
            help="worker processes or threads (default: worker.concurrency)",
        ),
    ] = None,
    hostname: Annotated[
        str | None,
        typer.Option(
            "--hostname",
            "-n",
            help="Celery node name, unique per worker; %h is this host's name, %n its short name, "
            "%d its domain (default: canvasbridge-<pid>@%h)",
            show_default=False,
        ),
    ] = None,
    pool: Annotated[
        str | None, typer.Option("--pool", "-P", help="prefork, threads or solo (default: worker.pool)")
    ] = None,
) -> None:
    """Run a worker that executes queued tasks, with retries and dead letters."""
    if pool is not None and pool not in ("prefork", "threads", "solo"):
        fail(f"--pool: must be prefork, threads or solo, not {pool!r}")
    settings = load(config)
    _refuse_missing_secrets(settings, "worker")
    from canvasbridge.engine.metrics_server import serve_metrics
    from canvasbridge.engine.runtime import Runtime

    with config_errors():
        runtime = Runtime(settings)
        serve_metrics(settings)
        try:
            runtime.run_worker(concurrency=concurrency, pool=pool, hostname=hostname)
        except ConfigError:
            raise
        except Exception:
            log.exception("the worker stopped on an error")
            raise typer.Exit(int(ExitCode.FAILED)) from None


def api(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="address to listen on (default: admin.host)")] = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="port (default: admin.port)")] = None,
) -> None:
    """Serve the admin HTTP API (tasks, requeue, sync, stats, health, metrics) and the dashboard at /."""
    settings = load(config)
    import uvicorn

    from canvasbridge.engine.api import create_api
    from canvasbridge.engine.runtime import Runtime

    with config_errors():
        app = create_api(Runtime(settings))
    if not settings.admin.tokens:
        typer.echo("warning: admin.tokens is empty; every endpoint but /health/* will answer 401", err=True)
    # uvicorn re-raises the signal that stopped it once it has restored the handlers it
    # found; with these in place that ends as a clean exit 0 instead of death by SIGTERM.
    signal.signal(signal.SIGTERM, _ignore)
    signal.signal(signal.SIGINT, _ignore)
    uvicorn.run(
        app,
        host=host or settings.admin.host,
        port=settings.admin.port if port is None else port,
        log_config=None,
        access_log=False,
    )
    raise typer.Exit(int(ExitCode.OK))


def _refuse_missing_secrets(settings: AppConfig, process: Process, sources: list[str] | None = None) -> None:
    """Exit 2 naming every secret ``process`` needs that is not there, before it starts."""
    from canvasbridge.engine.flows import installed_flows
    from canvasbridge.engine.preflight import missing_secrets

    problems = missing_secrets(settings, process, installed_flows(), sources=sources)
    if problems:
        fail(
            f"configuration error: canvasbridge {process} cannot start, secrets missing: {'; '.join(problems)}"
        )


def _ignore(number: int, _frame: FrameType | None) -> None:
    log.debug("%s after shutdown: ignored", signal.Signals(number).name)
