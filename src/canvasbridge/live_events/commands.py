"""``canvasbridge events …``: look at Canvas Live Events the way the service does.

``canvasbridge events backfill --since … [--until …] [--course …] [--dry-run]`` recovers
events that never arrived (``backfill_command.py``).

``canvasbridge events explain FILE [--attribute event_name=NAME] [--live] [--json]`` answers
"why did this event not show up in Salesforce?": it prints the Canvas event name (and
whether it came from the attribute or the table), the handler's result, and the records
and attendee updates it would write. It never writes. Without ``--live`` nothing is looked
up: names Canvas would supply show as ids, and the record is shown for a hypothetical
matching participant. With ``--live`` the configured Canvas and Salesforce are read
(``--config`` or ``CANVASBRIDGE_CONFIG``; sections ``systems`` and ``live_events``).

FILE (``-`` for stdin) may be one SQS body (a Caliper envelope), an SQS/Lambda event
(``{"Records": [...]}``, each record's ``messageAttributes`` used), or a documentation file
with ``examples[i].payload`` (every example, or the one chosen with ``--example``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from canvasbridge.errors import CanvasbridgeError
from canvasbridge.live_events.backfill_command import backfill
from canvasbridge.live_events.handlers import HANDLERS
from canvasbridge.live_events.lookups import OfflineLookups
from canvasbridge.live_events.naming import ATTRIBUTE, event_name_from_body
from canvasbridge.live_events.processor import EventOutcome, LiveEventProcessor
from canvasbridge.live_events.rules import Participant, ParticipantDirectory, plan
from canvasbridge.live_events.settings import LiveEventsSettings


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Canvas Live Events (Caliper on SQS) → Salesforce.", no_args_is_help=True)
    group.command("explain")(explain)
    group.command("backfill")(backfill)
    app.add_typer(group, name="events")


def _messages(document: Any, example: int | None) -> list[tuple[str, Any, dict[str, str]]]:
    """(label, body, attributes) for every message in the file."""
    if isinstance(document, dict) and isinstance(document.get("Records"), list):
        found = []
        for index, record in enumerate(document["Records"]):
            attributes = {
                name: str(value.get("stringValue", value.get("StringValue", "")))
                for name, value in (record.get("messageAttributes") or {}).items()
                if isinstance(value, dict)
            }
            found.append(
                (str(record.get("messageId", f"record {index}")), record.get("body", ""), attributes)
            )
        return found
    if isinstance(document, dict) and isinstance(document.get("examples"), list):
        examples = document["examples"]
        chosen = range(len(examples)) if example is None else [example]
        return [(f"example {i}", examples[i].get("payload"), {}) for i in chosen]
    return [("message", document, {})]


def _attributes(pairs: list[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--attribute")
        result[name.strip()] = value.strip()
    return result


def _live_processor(config_path: Path | None) -> LiveEventProcessor:
    from canvasbridge.clients.canvas import CanvasSettings
    from canvasbridge.clients.salesforce import SalesforceSettings
    from canvasbridge.engine.config import load_config
    from canvasbridge.live_events.runtime import build_processor

    config = load_config(config_path)
    settings = LiveEventsSettings.model_validate(config.section("live_events"))
    systems = config.systems
    if not systems.get("salesforce"):
        raise typer.BadParameter(
            "--live needs systems.salesforce in the configuration", param_hint="--config"
        )
    canvas = CanvasSettings.model_validate(systems["canvas"]).build() if systems.get("canvas") else None
    salesforce = SalesforceSettings.model_validate(systems["salesforce"]).build()
    processor = build_processor(settings, canvas=canvas, salesforce=salesforce, background=False)
    processor.writer = None  # explain never writes
    return processor


def _offline_processor(config_path: Path | None) -> LiveEventProcessor:
    settings = LiveEventsSettings()
    if config_path is not None:
        from canvasbridge.engine.config import load_config

        settings = LiveEventsSettings.model_validate(load_config(config_path).section("live_events"))
    return LiveEventProcessor(settings, OfflineLookups(), None, None)


def _hypothetical(processor: LiveEventProcessor, outcome: EventOutcome) -> EventOutcome:
    """Offline: the plan for one participant who matches every rule."""
    activity = outcome.activity
    if activity is None:
        return outcome
    today = processor.today()
    schema = processor.settings.salesforce
    participant = Participant(
        f"<{schema.participant_object} Id>",
        activity.participant_uid or "<SIS id>",
        f"<{schema.participant_name_field}>",
        today,
        today,
        activity.course_id,
    )
    directory = ParticipantDirectory.build([participant], [])
    spec = HANDLERS[outcome.event_name or ""]
    result = plan(
        activity.__class__(**{**asdict(activity), "participant_uid": participant.uid}),
        directory,
        today,
        schema,
        processor.settings.zone,
        marks_attendance=spec.marks_attendance,
    )
    return EventOutcome(
        "queued",
        outcome.event_id,
        outcome.event_name,
        activity,
        result,
        reason="offline: shown for a participant matching every rule (use --live to check the real ones)",
    )


def _describe(label: str, source: str, outcome: EventOutcome) -> dict[str, Any]:
    data: dict[str, Any] = {
        "message": label,
        "event_id": outcome.event_id,
        "event_name": outcome.event_name,
        "named_by": source,
        "status": outcome.status,
    }
    if outcome.activity is not None:
        activity = asdict(outcome.activity)
        activity["event_time"] = outcome.activity.event_time.isoformat()
        data["handler"] = activity
    if outcome.plan is not None:
        data["salesforce"] = {
            "records": [record.fields for record in outcome.plan.records],
            "attendees_marked_attended": list(outcome.plan.attendee_ids),
        }
    if outcome.reason:
        data["reason"] = outcome.reason
    return data


def _print(data: dict[str, Any], schema_object: str, attendee_object: str) -> None:
    typer.echo(
        f"== {data['message']}: {data.get('event_name') or '?'} ({data['named_by']}), {data['status']}"
    )
    if data.get("event_id"):
        typer.echo(f"   event id: {data['event_id']}")
    handler = data.get("handler")
    if handler:
        for key in (
            "label",
            "participant_uid",
            "user_id",
            "course_id",
            "course_scoped",
            "match_name",
            "summary",
        ):
            typer.echo(f"   {key}: {handler[key]}")
    salesforce = data.get("salesforce")
    if salesforce:
        for record in salesforce["records"]:
            typer.echo(f"   would create {schema_object}: {json.dumps(record, ensure_ascii=False)}")
        for attendee in salesforce["attendees_marked_attended"]:
            typer.echo(f"   would mark {attendee_object} {attendee} attended")
    if data.get("reason"):
        typer.echo(f"   note: {data['reason']}")


def explain(
    file: str = typer.Argument(
        ..., help="JSON file (or - for stdin): an SQS body, a Lambda SQS event or an examples file"
    ),
    attribute: list[str] = typer.Option(
        [], "--attribute", "-a", help=f"SQS attribute NAME=VALUE, e.g. {ATTRIBUTE}=quiz_submitted"
    ),
    live: bool = typer.Option(False, "--live", help="look up Canvas and Salesforce (read only)"),
    config: Path | None = typer.Option(
        None, "--config", envvar="CANVASBRIDGE_CONFIG", help="configuration file"
    ),
    example: int | None = typer.Option(None, "--example", help="only examples[N] of a documentation file"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Print the event name, the handler's result and what would be written to Salesforce; writes nothing."""
    text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = text  # let the Caliper parser say what is wrong
    extra = _attributes(attribute)
    processor = _live_processor(config) if live else _offline_processor(config)
    results, failed = [], False
    for label, body, attributes in _messages(document, example):
        attributes = {**attributes, **extra}
        try:
            named = processor.events(body, attributes)
        except CanvasbridgeError as exc:
            failed = True
            results.append({"message": label, "named_by": "-", "status": "rejected", "reason": str(exc)})
            continue
        for caliper_event, name in named:
            source = (
                "event_name attribute" if attributes.get(ATTRIBUTE) and len(named) == 1 else "Caliper table"
            )
            if source != "Caliper table":
                try:
                    inferred = event_name_from_body(caliper_event)
                except CanvasbridgeError:
                    inferred = None
                if inferred != name:
                    source += f"; the table says {inferred or 'nothing'}"
            directory = None if live else ParticipantDirectory()
            outcome = processor.prepare(caliper_event, name, directory)
            if not live and outcome.activity is not None:
                outcome = _hypothetical(processor, outcome)
            results.append(_describe(label, source, outcome))
    if as_json:
        typer.echo(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    else:
        schema = processor.settings.salesforce
        for data in results:
            _print(data, schema.activity_object, schema.attendee_object)
    if failed:
        raise typer.Exit(1)
