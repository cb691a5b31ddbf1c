"""Engine parser: one SQS message (a Caliper envelope) → one task call per handled event.

Referenced from configuration as ``canvasbridge.live_events.parser:parse`` (handlers that
are on by default) or ``…:parse_all`` (also the ones off by default, i.e. ``asset_accessed``;
use it when ``live_events.enable`` turns one on, so the queue is not flooded otherwise).

A body that is not a Caliper envelope, or an event no row of the naming table matches,
raises :class:`MessageError`: the engine parks the message with the reason, and the
unmapped event is logged at error level with what a new mapping needs. Known events
without a handler are counted in :data:`COUNTS` and acknowledged (``[]``).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter

from canvasbridge.engine import Envelope, TaskCall
from canvasbridge.live_events.caliper import parse_envelope
from canvasbridge.live_events.handlers import HANDLERS
from canvasbridge.live_events.naming import UnmappedEventError, event_name
from canvasbridge.live_events.processor import log_unmapped

log = logging.getLogger(__name__)

TASK = "record_live_event"  # the task name examples/ambition.yaml registers
COUNTS: Counter[str] = Counter()  # "unhandled:<name>", "off:<name>", "unmapped", "queued:<name>"
_lock = threading.Lock()


def _count(key: str) -> None:
    with _lock:
        COUNTS[key] += 1


def _parse(envelope: Envelope, *, include_off: bool) -> list[TaskCall]:
    events = parse_envelope(envelope.body)
    attributes = envelope.attributes if len(events) == 1 else None
    calls: list[TaskCall] = []
    for event in events:
        try:
            name = event_name(event, attributes)
        except UnmappedEventError as exc:
            _count("unmapped")
            log_unmapped(exc, f"{envelope.source} message {envelope.message_id}")
            raise
        spec = HANDLERS.get(name)
        if spec is None:
            _count(f"unhandled:{name}")
            log.debug("no handler for %s (event %s): acknowledged", name, event.id)
            continue
        if not spec.enabled and not include_off:
            _count(f"off:{name}")
            continue
        _count(f"queued:{name}")
        params = {
            "event_name": name,
            "event": event.model_dump(mode="json", by_alias=True, exclude_none=True),
            "redelivered": envelope.delivery_count > 1,
        }
        calls.append(TaskCall(TASK, params))
    return calls


def parse(envelope: Envelope) -> list[TaskCall]:
    """Task calls for the events whose handler is on by default."""
    return _parse(envelope, include_off=False)


def parse_all(envelope: Envelope) -> list[TaskCall]:
    """Task calls for every event with a handler (the task still honours ``disable``)."""
    return _parse(envelope, include_off=True)
