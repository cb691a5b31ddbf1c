"""Engine task: record one Caliper event in Salesforce (``record_live_event``).

The worker process builds one :class:`LiveEventProcessor` (``ctx.resource``) from the
``live_events``, ``systems.canvas`` and ``systems.salesforce`` sections. Its writer runs in
background mode: each task hands its records over and waits until the batch holding them
is written (group commit), so concurrent tasks share one sObject Collections call. Run the
worker with the ``threads`` pool and a high concurrency to get full batches; with one task
at a time each batch waits ``flush_window_s`` and holds one event. The batch form below
(examples/ambition.yaml uses it) needs neither.

The task is idempotent: records carry the event's key, and a retry or a redelivery asks
Salesforce which keys exist before writing. ``dry_run`` plans without writing.

``record_live_events`` is the same work as a batch task (``batch:`` in the task's config;
docs/architecture.md, "Batch tasks"): one call for up to ``max_items`` events, whose records
go to Salesforce in full sObject Collections; an event whose writes failed is named in a
:class:`~canvasbridge.engine.BatchFailures` with the writer's error, so it alone becomes a
dead letter (permanent) or the batch is tried again (transient).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from canvasbridge.engine import BatchFailures, BatchItem, TaskContext, metrics
from canvasbridge.errors import ConfigError
from canvasbridge.flowkit import call_stats
from canvasbridge.live_events.caliper import parse_envelope
from canvasbridge.live_events.processor import LiveEventProcessor
from canvasbridge.live_events.runtime import build_processor
from canvasbridge.live_events.settings import LiveEventsSettings

RESOURCE = "live_events.processor"
SALESFORCE = "live_events.salesforce"
CANVAS = "live_events.canvas"
WAIT_MARGIN_S = 120.0  # beyond the flush window: a slow Salesforce call plus its retries


def _system(ctx: TaskContext, name: str) -> bool:
    systems = ctx.sections.get("systems") or {}
    return isinstance(systems, dict) and bool(systems.get(name))


def salesforce_for(ctx: TaskContext) -> Any:
    """This worker process's Salesforce client (``systems.salesforce``), built on first use."""
    from canvasbridge.clients.salesforce import SalesforceSettings

    if not _system(ctx, "salesforce"):
        raise ConfigError("systems.salesforce: required by the live_events tasks")
    config = ctx.section("systems.salesforce", SalesforceSettings)
    stats = call_stats(ctx)  # ctx.resource holds its lock while a factory runs: build this first
    return ctx.resource(SALESFORCE, lambda: config.build(stats))


def canvas_for(ctx: TaskContext) -> Any | None:
    """This worker process's Canvas client, or None when ``systems.canvas`` is not configured."""
    from canvasbridge.clients.canvas import CanvasSettings

    if not _system(ctx, "canvas"):
        return None
    config = ctx.section("systems.canvas", CanvasSettings)
    stats = call_stats(ctx)
    return ctx.resource(CANVAS, lambda: config.build(stats))


def processor_for(ctx: TaskContext) -> LiveEventProcessor:
    """This worker process's processor, built on first use."""
    settings = ctx.section("live_events", LiveEventsSettings)
    salesforce, canvas = salesforce_for(ctx), canvas_for(ctx)
    return ctx.resource(
        RESOURCE, lambda: build_processor(settings, canvas=canvas, salesforce=salesforce, background=True)
    )


def _report_usage(ctx: TaskContext) -> None:
    usage = salesforce_for(ctx).api_usage
    if usage is not None:
        metrics.set_rate_limit_remaining("salesforce", usage.max - usage.used, limit=usage.max)


def record_live_event(
    ctx: TaskContext, event: dict[str, Any], event_name: str, redelivered: bool = False
) -> dict[str, Any]:
    """Write the activity records (and attendee marks) one Caliper event calls for."""
    processor = processor_for(ctx)
    [caliper_event] = parse_envelope({"data": [event]})
    if ctx.dry_run:
        return processor.prepare(caliper_event, event_name).summary()
    outcome = processor.submit(caliper_event, event_name, maybe_written=redelivered or ctx.attempt > 1)
    _report_usage(ctx)
    summary = outcome.summary()
    if outcome.ticket is not None:
        outcome.ticket.wait(processor.settings.writer.flush_window_s + WAIT_MARGIN_S)
        summary.update(
            written=outcome.ticket.written,
            already_written=outcome.ticket.skipped_as_duplicate,
            attendees_marked=outcome.ticket.attendees_marked,
        )
    return summary


def record_live_events(ctx: TaskContext, items: list[BatchItem]) -> dict[str, Any]:
    """Batch form of :func:`record_live_event`: each item holds its parameters."""
    processor = processor_for(ctx)
    failures: dict[int, BaseException] = {}
    statuses: Counter[str] = Counter()
    tickets = []
    for item in items:
        try:
            [caliper_event] = parse_envelope({"data": [item.params["event"]]})
            name = str(item.params["event_name"])
            if ctx.dry_run:
                statuses[processor.prepare(caliper_event, name).status] += 1
                continue
            maybe_written = bool(item.params.get("redelivered")) or ctx.attempt > 1
            outcome = processor.submit(caliper_event, name, maybe_written=maybe_written)
        except Exception as exc:  # this event alone fails
            failures[item.index] = exc
            continue
        statuses[outcome.status] += 1
        if outcome.ticket is not None:
            tickets.append((item.index, outcome.ticket))
    if tickets and processor.writer is not None:
        processor.writer.flush()  # the remainder now, not after the writer's window
    written = already = attendees = 0
    for index, ticket in tickets:
        try:
            ticket.wait(processor.settings.writer.flush_window_s + WAIT_MARGIN_S)
        except Exception as exc:
            failures[index] = exc
            continue
        written += ticket.written
        already += ticket.skipped_as_duplicate
        attendees += ticket.attendees_marked
    if not ctx.dry_run:
        _report_usage(ctx)
    if failures:
        raise BatchFailures(failures)
    return {
        "events": len(items),
        "statuses": dict(statuses),
        "written": written,
        "already_written": already,
        "attendees_marked": attendees,
    }
