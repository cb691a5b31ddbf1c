"""Engine parser: one SQS message (a Caliper envelope) → one task call per handled event.

Referenced from configuration as ``canvasbridge.live_events.parser:parse``. Which events
are handled is decided once, by the ``live_events`` section (``enable``/``disable``, see
:func:`~canvasbridge.live_events.processor.disposition`), which the parser reads from its
context: an event whose handler is off is never queued.

A body that is not a Caliper envelope, or an event no row of the naming table matches,
raises :class:`MessageError`: the engine parks the message with the reason, and the
unmapped event is logged at error level with what a new mapping needs. Known events
without a handler, or with their handler off, are counted in the flow's metric
(:data:`~canvasbridge.live_events.metrics.PARSED`) and acknowledged.
"""

from __future__ import annotations

import logging

from canvasbridge.engine import Envelope, ParseContext, TaskCall
from canvasbridge.live_events.metrics import PARSED
from canvasbridge.live_events.naming import UnmappedEventError
from canvasbridge.live_events.processor import disposition, name_events
from canvasbridge.live_events.settings import LiveEventsSettings

log = logging.getLogger(__name__)

TASK = "record_live_event"  # the task this flow declares


def parse(envelope: Envelope, ctx: ParseContext) -> list[TaskCall]:
    """Task calls for the message's events whose handler the ``live_events`` section turns on."""
    settings = ctx.section("live_events", LiveEventsSettings)
    try:
        named = name_events(
            envelope.body, envelope.attributes, origin=f"{envelope.source} message {envelope.message_id}"
        )
    except UnmappedEventError:
        PARSED.labels("unmapped", "-").inc()
        raise
    calls: list[TaskCall] = []
    for event, name in named:
        status = disposition(settings, name)
        if status != "handled":
            PARSED.labels(status, name).inc()
            log.debug("%s (event %s) is %s: acknowledged", name, event.id, status)
            continue
        PARSED.labels("queued", name).inc()
        params = {
            "event_name": name,
            "event": event.model_dump(mode="json", by_alias=True, exclude_none=True),
            "redelivered": envelope.delivery_count > 1,
        }
        calls.append(TaskCall(TASK, params))
    return calls
