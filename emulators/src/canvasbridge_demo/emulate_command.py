"""``canvasbridge emulate``: the five emulators and SQS with one generated university.

    canvasbridge emulate --size small --seed 1
    canvas      http://127.0.0.1:41233  token=canvas-emulator-token
    salesforce  http://127.0.0.1:41235  username=…  password=…  consumer_key=…
    ...

Runs until Ctrl-C. ``--events-per-second`` also feeds generated Canvas Live Events into
the SQS queue; ``--publish`` sends the source systems' change notifications to AMQP or
HTTP instead of keeping them in memory.
"""

from __future__ import annotations

import datetime as dt
import threading

import typer


def register(app: typer.Typer) -> None:
    """Add ``canvasbridge emulate`` (entry point group ``canvasbridge.commands``)."""

    @app.command("emulate")
    def emulate(
        size: str = typer.Option("small", "--size", help="tiny | small | university"),
        seed: int = typer.Option(1, "--seed", help="the same seed gives the same data"),
        today: str = typer.Option("", "--today", help="the emulated Salesforce org's today, YYYY-MM-DD"),
        publish: str = typer.Option("memory", "--publish", help="memory | amqp://… | http(s)://…"),
        events_per_second: float = typer.Option(
            0.0, "--events-per-second", help="feed Canvas Live Events into the SQS queue at this rate"
        ),
        no_sources: bool = typer.Option(False, "--no-sources", help="skip FS, Cerebrum and SAP"),
    ) -> None:
        """Start local Canvas, Salesforce, FS, Cerebrum and SAP emulators and an SQS queue."""

        from canvasbridge_emulators.suite import SIZES, start_suite

        if size not in SIZES:
            raise typer.BadParameter(f"choose one of {', '.join(SIZES)}", param_hint="--size")
        try:
            day = dt.date.fromisoformat(today) if today else None
        except ValueError as exc:
            raise typer.BadParameter("use YYYY-MM-DD", param_hint="--today") from exc
        suite = start_suite(size, seed, today=day, publish=publish, sources=not no_sources)
        stop = threading.Event()
        feeder: threading.Thread | None = None
        try:
            for line in suite.lines():
                typer.echo(line)
            if events_per_second > 0:
                feeder = threading.Thread(
                    target=suite.send_live_events,
                    args=(None,),
                    kwargs={"rate": events_per_second, "stop": stop},
                    name="live-events",
                    daemon=True,
                )
                feeder.start()
                typer.echo(f"live events → {suite.queue_url} at {events_per_second:g}/s")
            typer.echo("Ctrl-C to stop.")
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            typer.echo("stopping")
        finally:
            stop.set()
            if feeder is not None:
                feeder.join(timeout=5)
            suite.stop()
