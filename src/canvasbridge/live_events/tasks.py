"""Engine task: record one Caliper event in Salesforce (``record_live_event``).

The worker process builds one :class:`LiveEventProcessor` (``ctx.resource``) from the
``live_events``, ``systems.canvas`` and ``systems.salesforce`` sections. Its writer runs in
background mode: each task hands its records over and waits until the batch holding them
is written (group commit), so concurrent tasks share one sObject Collections call. Run the
worker with the ``threads`` pool and a high concurrency (examples/ambition.yaml uses 64)
to get full batches; with one task at a time each batch waits ``flush_window_s`` and holds
one event.

The task is idempotent: records carry the event's key, and a retry or a redelivery asks
Salesforce which keys exist before writing. ``dry_run`` plans without writing.
"""

from __future__ import annotations

from typing import Any

from canvasbridge.clients.http import CallStats
from canvasbridge.engine import TaskContext, metrics
from canvasbridge.errors import ConfigError
from canvasbridge.live_events.caliper import parse_envelope
from canvasbridge.live_events.processor import LiveEventProcessor
from canvasbridge.live_events.runtime import build_processor
from canvasbridge.live_events.settings import LiveEventsSettings

RESOURCE = "live_events.processor"
CALL_STATS = "clients:call-stats"  # the same key in every flow: one counter per process
WAIT_MARGIN_S = 120.0  # beyond the flush window: a slow Salesforce call plus its retries


def _system(ctx: TaskContext, name: str) -> bool:
    systems = ctx.sections.get("systems") or {}
    return isinstance(systems, dict) and bool(systems.get(name))


def processor_for(ctx: TaskContext) -> LiveEventProcessor:
    """This worker process's processor, built on first use."""
    # built before the processor's factory runs: ctx.resource holds its lock meanwhile
    stats = ctx.resource(CALL_STATS, lambda: CallStats(hooks=[metrics.external_call_hook]))

    def build() -> LiveEventProcessor:
        from canvasbridge.clients.canvas import CanvasSettings
        from canvasbridge.clients.salesforce import SalesforceSettings

        settings = ctx.section("live_events", LiveEventsSettings)
        if not _system(ctx, "salesforce"):
            raise ConfigError("systems.salesforce: required by the live_events tasks")
        salesforce = ctx.section("systems.salesforce", SalesforceSettings).build(stats)
        canvas = (
            ctx.section("systems.canvas", CanvasSettings).build(stats) if _system(ctx, "canvas") else None
        )
        return build_processor(settings, canvas=canvas, salesforce=salesforce, background=True)

    return ctx.resource(RESOURCE, build)


def record_live_event(
    ctx: TaskContext, event: dict[str, Any], event_name: str, redelivered: bool = False
) -> dict[str, Any]:
    """Write the activity records (and attendee marks) one Caliper event calls for."""
    processor = processor_for(ctx)
    [caliper_event] = parse_envelope({"data": [event]})
    if ctx.dry_run:
        return processor.prepare(caliper_event, event_name).summary()
    outcome = processor.submit(caliper_event, event_name, maybe_written=redelivered or ctx.attempt > 1)
    summary = outcome.summary()
    if outcome.ticket is not None:
        outcome.ticket.wait(processor.settings.writer.flush_window_s + WAIT_MARGIN_S)
        summary.update(
            written=outcome.ticket.written,
            already_written=outcome.ticket.skipped_as_duplicate,
            attendees_marked=outcome.ticket.attendees_marked,
        )
    return summary
