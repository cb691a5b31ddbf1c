"""``canvasbridge emulate``: the five emulators and SQS with one generated university.

    canvasbridge emulate --size small --seed 1
    canvas      http://127.0.0.1:41233  token=canvas-emulator-token
    salesforce  http://127.0.0.1:41235  username=…  password=…  consumer_key=…
    ...

Runs until Ctrl-C. ``--port-base N`` fixes the ports (canvas N, salesforce N+1, fs N+2,
cerebrum N+3, sap N+4, sqs N+5), so a configuration pointed at them survives a restart;
``--write-config FILE`` writes such a configuration (secrets in an env file beside it).
``--events-per-second`` feeds generated Canvas Live Events into the SQS queue;
``--publish`` sends the source systems' change notifications to AMQP or HTTP.

While it runs, from another terminal:

    canvasbridge emulate events --count 100 --port-base 47000     # Live Events into SQS
    canvasbridge emulate change cerebrum person.create first_name=Ada last_name=L --port-base 47000
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Annotated

import httpx
import typer

from canvasbridge.cli.options import ExitCode, fail

SYSTEMS_WITH_CHANGES = ("fs", "cerebrum", "sap")
emulate_app = typer.Typer(
    help="Local Canvas, Salesforce, FS, Cerebrum and SAP emulators and an SQS queue.",
    invoke_without_command=True,
    no_args_is_help=False,
)

PortBase = Annotated[
    int | None,
    typer.Option(
        "--port-base",
        help="fixed ports: canvas at this port, salesforce +1, fs +2, cerebrum +3, sap +4, sqs +5",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    """Add ``canvasbridge emulate`` (entry point group ``canvasbridge.commands``)."""
    app.add_typer(emulate_app, name="emulate")


@emulate_app.callback()
def emulate(
    ctx: typer.Context,
    size: Annotated[str, typer.Option("--size", help="tiny | small | university")] = "small",
    seed: Annotated[int, typer.Option("--seed", help="the same seed gives the same data")] = 1,
    today: Annotated[
        str, typer.Option("--today", help="the emulated Salesforce org's today, YYYY-MM-DD")
    ] = "",
    publish: Annotated[
        str,
        typer.Option(
            "--publish",
            help="where FS, Cerebrum and SAP send change notifications: memory | amqp://… | http(s)://… "
            "(with --write-config, memory means the written configuration's webhook source, and "
            "amqp://… an AMQP source in it bound to the emulators' exchanges)",
        ),
    ] = "memory",
    events_per_second: Annotated[
        float,
        typer.Option("--events-per-second", help="feed Canvas Live Events into the SQS queue at this rate"),
    ] = 0.0,
    no_sources: Annotated[bool, typer.Option("--no-sources", help="skip FS, Cerebrum and SAP")] = False,
    port_base: PortBase = None,
    write_config: Annotated[
        Path | None,
        typer.Option(
            "--write-config",
            help="write a canvasbridge configuration for these emulators here (secrets in FILE.env)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start local Canvas, Salesforce, FS, Cerebrum and SAP emulators and an SQS queue."""
    if ctx.invoked_subcommand is not None:
        return
    from canvasbridge_demo.config_file import WEBHOOK_PORT_OFFSET, webhook_url
    from canvasbridge_demo.stack import free_port
    from canvasbridge_emulators.suite import SIZES, start_suite

    if size not in SIZES:
        raise typer.BadParameter(f"choose one of {', '.join(SIZES)}", param_hint="--size")
    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError as exc:
        raise typer.BadParameter("use YYYY-MM-DD", param_hint="--today") from exc
    if write_config is not None and no_sources:
        fail("--write-config needs the source emulators: leave out --no-sources")
    webhook_port = (port_base + WEBHOOK_PORT_OFFSET) if port_base is not None else free_port()
    if write_config is not None and publish == "memory":
        publish = webhook_url(webhook_port)
    try:
        suite = start_suite(
            size, seed, today=day, publish=publish, sources=not no_sources, port_base=port_base
        )
    except (ValueError, OSError) as exc:
        fail(f"the emulators could not start: {exc}", ExitCode.FAILED)
    stop = threading.Event()
    feeder: threading.Thread | None = None
    try:
        for line in suite.lines():
            typer.echo(line)
        if write_config is not None:
            from canvasbridge_demo.config_file import write_config as write

            env_file = write(suite, write_config, webhook_port, publish)
            typer.echo(f"configuration → {write_config}  (secrets: set -a; . {env_file}; set +a)")
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


def _emulator_url(name: str, port_base: int | None, url: str | None) -> str:
    from canvasbridge_emulators.suite import PORT_OFFSETS

    if url:
        return url.rstrip("/")
    if port_base is None:
        fail(f"give --port-base (as the running `canvasbridge emulate` got) or --url of the {name} emulator")
    return f"http://127.0.0.1:{port_base + PORT_OFFSETS[name]}"


def _post(url: str, body: dict[str, object]) -> dict[str, object]:
    try:
        answer = httpx.post(url, json=body, timeout=600)
    except httpx.TransportError as exc:
        fail(f"no emulator answers at {url}: {exc} (is `canvasbridge emulate` running?)", ExitCode.FAILED)
    if answer.status_code >= 400:
        fail(f"{url} answered {answer.status_code}: {answer.text[:500]}", ExitCode.FAILED)
    result: dict[str, object] = answer.json()
    return result


@emulate_app.command("events")
def send_events(
    count: Annotated[int, typer.Option("--count", min=1, max=100_000, help="how many events")] = 100,
    rate: Annotated[
        float | None,
        typer.Option("--rate", min=0.001, help="events per second (default: as fast as possible)"),
    ] = None,
    port_base: PortBase = None,
    url: Annotated[str | None, typer.Option("--url", help="the Canvas emulator's URL")] = None,
) -> None:
    """Send generated Canvas Live Events into a running emulator suite's SQS queue."""
    body: dict[str, object] = {"count": count} if rate is None else {"count": count, "rate": rate}
    answer = _post(f"{_emulator_url('canvas', port_base, url)}/_emulator/live-events", body)
    typer.echo(f"{answer['sent']} Live Events → {answer['queue']}")


@emulate_app.command("change")
def send_change(
    system: Annotated[str, typer.Argument(help="fs | cerebrum | sap")],
    kind: Annotated[str, typer.Argument(help="the change, e.g. person.create (an unknown one lists them)")],
    params: Annotated[
        list[str] | None, typer.Argument(help="the change's parameters as name=value (JSON values allowed)")
    ] = None,
    port_base: PortBase = None,
    url: Annotated[str | None, typer.Option("--url", help="that system's emulator URL")] = None,
) -> None:
    """Change data in a running source emulator; it publishes the matching notification."""
    if system not in SYSTEMS_WITH_CHANGES:
        fail(f"SYSTEM: choose one of {', '.join(SYSTEMS_WITH_CHANGES)}, not {system!r}")
    values: dict[str, object] = {}
    for item in params or []:
        name, sep, text = item.partition("=")
        if not sep or not name:
            fail(f"parameter {item!r}: write it as name=value")
        try:
            values[name] = json.loads(text)
        except ValueError:
            values[name] = text
    answer = _post(
        f"{_emulator_url(system, port_base, url)}/_emulator/changes", {"kind": kind, "params": values}
    )
    typer.echo(json.dumps(answer.get("notification", answer), ensure_ascii=False, indent=2))
