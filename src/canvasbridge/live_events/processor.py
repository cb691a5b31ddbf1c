"""One pipeline for both ways of running: body → events → names → activities → plans → writes.

:class:`LiveEventProcessor` holds the per-process pieces (settings, Canvas lookups, the
participant directory, the writer) and counts every outcome. The Lambda handler, the engine
tasks and ``canvasbridge events explain`` all go through it, so they cannot disagree.

EventOutcome statuses (the counters use the same words):

``queued``     records or attendee updates handed to the writer (ticket resolves when written)
``skipped``    handled, but no record is due (the reason says why: no SIS id, no active programme…)
``unhandled``  a known Canvas event without a handler: counted and acknowledged
``disabled``   a handler turned off in configuration (``asset_accessed`` by default)
``unmapped``   no Canvas event name could be found (logged at error level with what to add)
``malformed``  the body is not a Caliper envelope
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from canvasbridge.errors import MessageError
from canvasbridge.live_events.caliper import CaliperError, CaliperEvent, parse_envelope
from canvasbridge.live_events.handlers import HANDLERS, Activity, HandlerContext
from canvasbridge.live_events.lookups import CanvasLookups
from canvasbridge.live_events.naming import UnmappedEventError, event_name
from canvasbridge.live_events.rules import ParticipantDirectory, ParticipantDirectoryCache, RecordPlan, plan
from canvasbridge.live_events.settings import LiveEventsSettings
from canvasbridge.live_events.writer import ActivityWriter, Ticket

log = logging.getLogger(__name__)


@dataclass
class EventOutcome:
    """What happened to one Caliper event."""

    status: str
    event_id: str | None = None
    event_name: str | None = None
    activity: Activity | None = None
    plan: RecordPlan | None = None
    reason: str | None = None
    ticket: Ticket | None = None

    def summary(self) -> dict[str, Any]:
        """A small JSON summary (the task ledger stores it)."""
        data: dict[str, Any] = {
            "status": self.status,
            "event_name": self.event_name,
            "event_id": self.event_id,
        }
        if self.reason:
            data["reason"] = self.reason
        if self.plan is not None:
            data["records"] = len(self.plan.records)
            data["attendees"] = len(self.plan.attendee_ids)
        return data


def log_unmapped(error: UnmappedEventError, source: str) -> None:
    """Error-level log with exactly what a person needs to add a mapping."""
    log.error("unmapped Caliper event from %s: %s", source, error, extra={"caliper": error.details})


def name_events(
    body: bytes | str | Any, attributes: Mapping[str, str] | None, *, origin: str
) -> list[tuple[CaliperEvent, str]]:
    """Parse and name every event of one message body.

    Raises :class:`CaliperError` for a body that is not a Caliper envelope and
    :class:`UnmappedEventError` (logged with what a mapping needs; ``origin`` says where the
    message came from) for an event no Canvas name is found for.
    """
    events = parse_envelope(body)
    # The attribute names the message's event; trust it only for single-event bodies.
    attrs = attributes if len(events) == 1 else None
    named = []
    for event in events:
        try:
            named.append((event, event_name(event, attrs)))
        except UnmappedEventError as exc:
            log_unmapped(exc, origin)
            raise
    return named


def disposition(settings: LiveEventsSettings, name: str) -> str:
    """What becomes of a named event: ``handled``, ``unhandled`` (no handler) or ``disabled``
    (its handler is off in ``settings``). The parser and the processor both ask this."""
    if name not in HANDLERS:
        return "unhandled"
    return "handled" if settings.handled(name) else "disabled"


class LiveEventProcessor:
    """Turns message bodies into Salesforce writes; thread-safe."""

    def __init__(
        self,
        settings: LiveEventsSettings,
        lookups: CanvasLookups,
        directory: ParticipantDirectoryCache | None,
        writer: ActivityWriter | None,
        *,
        today: Callable[[], date] | None = None,
    ) -> None:
        self.settings = settings
        self.lookups = lookups
        self.directory = directory
        self.writer = writer
        self._today = today or (lambda: datetime.now(settings.zone).date())
        self._context = HandlerContext(
            lookups=lookups, fetch_scores=settings.fetch_scores, relevant=self._relevant
        )
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def count(self, status: str, name: str | None = None) -> None:
        with self._lock:
            self.counts[status] += 1
            if name:
                self.counts[f"{status}:{name}"] += 1

    def today(self) -> date:
        return self._today()

    def use_lookups(self, lookups: CanvasLookups) -> None:
        """Answer Canvas questions with ``lookups`` from now on (tests, explain)."""
        self.lookups = lookups
        self._context = HandlerContext(
            lookups=lookups, fetch_scores=self.settings.fetch_scores, relevant=self._relevant
        )

    def _relevant(self, uid: str | None) -> bool:
        """Could anything be written for ``uid``? (Names are looked up only if so.)"""
        if self.directory is None:
            return True
        if not uid:
            return False
        directory = self.directory.get()
        return uid in directory.participants or uid in directory.attendees

    # -- pure-ish steps ----------------------------------------------------------------
    def events(
        self, body: bytes | str | Any, attributes: Mapping[str, str] | None = None
    ) -> list[tuple[CaliperEvent, str]]:
        """Parse and name every event of a body; raises CaliperError / UnmappedEventError."""
        try:
            return name_events(body, attributes, origin="message body")
        except UnmappedEventError:
            self.count("unmapped")
            raise
        except CaliperError:
            self.count("malformed")
            raise

    def prepare(
        self,
        event: CaliperEvent,
        name: str,
        directory: ParticipantDirectory | None = None,
        *,
        today: date | None = None,
    ) -> EventOutcome:
        """Run the handler and the rules for one named event; writes nothing.

        ``today`` is the day programmes must be active on (default: today; a backfill
        passes the event's own date)."""
        status = disposition(self.settings, name)
        if status == "unhandled":
            return EventOutcome("unhandled", event.id, name, reason=f"no handler for {name}")
        if status == "disabled":
            return EventOutcome("disabled", event.id, name, reason=f"the {name} handler is turned off")
        spec = HANDLERS[name]
        activity = spec.handler(event, name, self._context)
        if directory is None:
            if self.directory is None:
                return EventOutcome(
                    "skipped", event.id, name, activity, reason="no Salesforce directory configured"
                )
            directory = self.directory.get()
        result = plan(
            activity,
            directory,
            today or self.today(),
            self.settings.salesforce,
            self.settings.zone,
            marks_attendance=spec.marks_attendance,
        )
        status = "queued" if result.records or result.attendee_ids else "skipped"
        return EventOutcome(status, event.id, name, activity, result, reason=result.reason)

    # -- with writes --------------------------------------------------------------------
    def submit(
        self, event: CaliperEvent, name: str, *, maybe_written: bool = False, token: Any = None
    ) -> EventOutcome:
        """:meth:`prepare`, then hand the plan to the writer (the ticket tracks the write)."""
        outcome = self.prepare(event, name)
        self.count(outcome.status, name)
        if outcome.status == "skipped":
            log.debug("%s %s skipped: %s", name, event.id, outcome.reason)
        if outcome.plan is not None and outcome.status == "queued":
            if self.writer is None:
                raise MessageError("no Salesforce writer configured")
            outcome.ticket = self.writer.submit(outcome.plan, maybe_written=maybe_written, token=token)
        return outcome

    def submit_body(
        self,
        body: bytes | str | Any,
        attributes: Mapping[str, str] | None = None,
        *,
        maybe_written: bool = False,
        token: Any = None,
    ) -> list[EventOutcome]:
        """Every event of one message body; raises for a malformed or unmappable body."""
        return [
            self.submit(event, name, maybe_written=maybe_written, token=token)
            for event, name in self.events(body, attributes)
        ]
