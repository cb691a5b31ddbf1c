"""``canvasbridge demo``: the emulators, the engine and both flows, with a narrated scenario.

    canvasbridge demo                                   # embedded: no servers needed
    canvasbridge demo --keep-running                    # leave everything up until Ctrl-C
    canvasbridge demo --broker amqp://guest:guest@127.0.0.1:5672// \\
                      --ledger postgresql+psycopg://postgres@127.0.0.1:5432/test
    canvasbridge demo --config my-demo.yaml             # your copy of examples/demo.yaml

Exit codes: 0 every step showed what it should, 1 some step failed (the summary says
which and why), 2 usage or configuration error. See docs/demo.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from canvasbridge.cli.options import ExitCode, config_errors, fail
from canvasbridge.errors import ConfigError


def register(app: typer.Typer) -> None:
    """Add ``canvasbridge demo`` (entry point group ``canvasbridge.commands``)."""
    app.command("demo")(demo)


def demo(
    keep_running: Annotated[
        bool, typer.Option("--keep-running", help="leave everything running until Ctrl-C")
    ] = False,
    size: Annotated[str, typer.Option("--size", help="tiny | small (the university's size)")] = "small",
    seed: Annotated[int, typer.Option("--seed", help="the same seed gives the same data and story")] = 1,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="demo configuration (default: examples/demo.yaml)", show_default=False
        ),
    ] = None,
    broker: Annotated[
        str | None,
        typer.Option("--broker", help="Celery broker URL, e.g. amqp://guest:guest@127.0.0.1:5672//"),
    ] = None,
    ledger: Annotated[
        str | None,
        typer.Option("--ledger", help="ledger URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="keep the ledger, broker and config here (default: a temporary dir)"),
    ] = None,
) -> None:
    """Run canvasbridge end to end on local emulators and narrate what happens."""
    if size not in ("tiny", "small"):
        fail("--size: choose tiny or small (the demo's timings are made for these)")
    if config is not None and not config.is_file():
        fail(f"--config: no such file: {config}")
    import logging

    from canvasbridge_demo import DemoOptions, run_demo

    logging.basicConfig(level=logging.ERROR)
    options = DemoOptions(
        size=size, seed=seed, config=config, broker=broker, ledger=ledger, data_dir=data_dir
    )
    with config_errors():
        try:
            result = run_demo(options, keep_running=keep_running)
        except KeyboardInterrupt:
            fail("interrupted", ExitCode.FAILED)
        except ConfigError:
            raise
        except Exception as exc:  # could not start: a broker or database down, a port taken
            fail(f"the demo could not run: {type(exc).__name__}: {exc}", ExitCode.FAILED)
    if not result.ok:
        raise typer.Exit(int(ExitCode.FAILED))
