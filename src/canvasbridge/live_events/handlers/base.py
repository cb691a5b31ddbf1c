"""What every handler returns (:class:`Activity`) and the payload readers they share.

A handler turns one Caliper event into an :class:`Activity`: who (the Canvas user's SIS id,
which is Salesforce's participant UID), where (the course's *local* id, always), what (the
activity label) and a human-readable summary. The summary is stored without the
participant's name: :meth:`Activity.detail` builds the text for one participant, so the
same activity can be written for several participants without one's name leaking into
another's record (the original reused a mutated template).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from canvasbridge.live_events.caliper import CaliperEvent, Entity
from canvasbridge.live_events.lookups import CanvasLookups, OfflineLookups
from canvasbridge.live_events.occurrences import occurrence_key, user_of
from canvasbridge.live_events.urns import local_id, try_parse_urn

_OFFLINE = OfflineLookups()
_COURSE_IN_URL = re.compile(r"/courses/(\d+)(?:/|$|\?)")


@dataclass(frozen=True)
class Activity:
    """The result of a handler, before any Salesforce rule is applied."""

    event_id: str
    event_name: str
    label: str  # Canvas_Activity__c, e.g. "Quiz Submitted"
    summary: str  # e.g. 'submitted the quiz "Week 1" in course "Maths"'
    event_time: datetime
    participant_uid: str | None  # the Canvas user's SIS id
    user_id: str | None  # local Canvas user id
    course_id: str | None  # local Canvas course id
    course_scoped: bool  # the programme's LMS course must match course_id
    match_name: str | None = None  # quiz/assignment name matched against FLIP events
    key: str | None = (
        None  # what happened (occurrences.py); the record key is built from it, else from event_id
    )

    def detail(self, participant_name: str | None, tz: tzinfo | None = None) -> str:
        """The detail text for one participant (a new string each call)."""
        when = self.event_time.astimezone(tz) if tz is not None else self.event_time
        who = participant_name or self.participant_uid or "A participant"
        return f"{who} {self.summary} on {when.date().isoformat()}"


@dataclass(frozen=True)
class HandlerContext:
    """What handlers may use besides the event: Canvas lookups and two switches.

    ``relevant(uid)`` says whether anything could be written for that participant UID (the
    processor asks the participant directory). Names and scores are looked up only for
    relevant participants (:meth:`names_for`): an event of a teacher or of someone on no
    programme costs no Canvas call beyond, at most, finding out their SIS id.
    """

    lookups: CanvasLookups
    fetch_scores: bool = False
    relevant: Callable[[str | None], bool] | None = None

    def names_for(self, uid: str | None) -> CanvasLookups:
        if self.relevant is None or self.relevant(uid):
            return self.lookups
        return _OFFLINE


def sis_id_for(
    event: CaliperEvent, user_id: str | None, ctx: HandlerContext, course_id: str | None = None
) -> str | None:
    """The user's SIS id: the actor extension when the actor is that user, else a lookup
    (which may read the course's roster at once: ``course_id`` defaults to the event's)."""
    if user_id is None:
        return None
    if user_of(event.actor) == user_id:
        sis = event.actor.canvas.get("user_sis_id")
        if isinstance(sis, str) and sis.strip():
            return sis.strip()
    return ctx.lookups.user_sis_id(user_id, course_id or course_of(event))


def course_of(event: CaliperEvent) -> str | None:
    """Local course id: group, then membership, then a ``/courses/N`` in the URLs."""
    for entity in (event.group, event.membership):
        urn = entity.urn if entity is not None else None
        if urn is not None and urn.get("course"):
            return local_id(urn.get("course"))
    if event.group is not None and event.group.canvas.get("context_type") == "Course":
        found = local_id(event.group.canvas.get("entity_id"))
        if found:
            return found
    for url in (event.canvas.get("request_url"), event.referrer):
        match = _COURSE_IN_URL.search(url) if isinstance(url, str) else None
        if match:
            return local_id(match.group(1))
    return None


def id_of(entity: Entity | None, kind: str | None = None) -> str | None:
    """Local id of ``entity`` (from its URN, or ``entity_id``), optionally of URN type ``kind``."""
    if entity is None:
        return None
    urn = try_parse_urn(entity.id)
    if urn is not None:
        return local_id(urn.get(kind) if kind else urn.id)
    return entity.local_id


def quoted(name: str | None, fallback: str) -> str:
    return f'"{name}"' if name else fallback


def in_course(course_name: str | None, course_id: str | None) -> str:
    if course_name:
        return f' in course "{course_name}"'
    return f" in course {course_id}" if course_id else ""


def make(
    event: CaliperEvent,
    name: str,
    label: str,
    summary: str,
    *,
    user_id: str | None,
    uid: str | None,
    course_id: str | None,
    course_scoped: bool,
    match_name: str | None = None,
) -> Activity:
    return Activity(
        event_id=event.id,
        event_name=name,
        label=label,
        summary=summary,
        event_time=event.event_time,
        participant_uid=uid,
        user_id=user_id,
        course_id=course_id,
        course_scoped=course_scoped,
        match_name=match_name.strip() if match_name else None,
        key=occurrence_key(event, name),
    )
