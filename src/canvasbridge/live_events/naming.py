"""Which Canvas live event a Caliper event is: the SQS ``event_name`` attribute, else a table.

Canvas's own mapping (Canvas event → Caliper type/action/object type) is not one-to-one, so
reversing it needs more than the triple. :data:`SIGNATURES` is that reverse map as data:
each row lists the accepted Caliper types, actions and object types (sets, because the
documentation and Instructure's examples disagree: ``SessionEvent``/``Event`` for sessions,
``ThreadEvent``/``Event`` for topics, ``Posted``/``Created`` for entries), and, where
several events share a triple, the URN segment of ``object.id`` and the object extension
keys that tell them apart (enrollment vs enrollment_state share the segment ``enrollment``).

To add an event, add a row; :func:`event_name` raises :class:`UnmappedEventError` listing
exactly what a new row needs to match.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from canvasbridge.errors import MessageError
from canvasbridge.live_events.caliper import CaliperEvent

log = logging.getLogger(__name__)

ATTRIBUTE = "event_name"  # the SQS message attribute Canvas sets to the live event name
NAME_ALIASES = {"grade_changed": "grade_change"}  # documentation spelling → what Canvas emits

_ANY: frozenset[str] = frozenset()


def _set(*values: str) -> frozenset[str]:
    return frozenset(values)


@dataclass(frozen=True)
class Signature:
    """One row of the reverse map. Empty sets match anything."""

    event_name: str
    types: frozenset[str]
    actions: frozenset[str]
    object_types: frozenset[str] = _ANY
    segments: frozenset[str] = _ANY  # URN type of object.id
    any_keys: frozenset[str] = _ANY  # at least one of these object extension keys

    def matches(self, event: CaliperEvent, segment: str | None) -> bool:
        if self.types and event.type not in self.types:
            return False
        if self.actions and event.action not in self.actions:
            return False
        if self.object_types and event.object.type not in self.object_types:
            return False
        if self.segments and segment not in self.segments:
            return False
        return not self.any_keys or bool(self.any_keys & event.object.canvas.keys())


EVENT = _set("Event")
CREATED, MODIFIED, DELETED = _set("Created"), _set("Modified"), _set("Deleted")
ENROLLMENT_KEYS = _set("type", "course_id", "course_section_id", "user_id", "user_name", "workflow_state")
ENROLLMENT_STATE_KEYS = _set("state", "state_is_current", "access_is_current", "restricted_access")

SIGNATURES: tuple[Signature, ...] = (
    # Distinct Caliper types or actions: the triple is enough.
    Signature("quiz_submitted", _set("AssessmentEvent"), _set("Submitted"), _set("Attempt")),
    Signature("submission_created", _set("AssignableEvent"), _set("Submitted"), _set("Attempt")),
    Signature("grade_change", _set("GradeEvent"), _set("Graded"), _set("Attempt", "GradeEvent")),
    Signature("discussion_entry_created", _set("MessageEvent"), _set("Posted", "Created"), _set("Message")),
    Signature("discussion_topic_created", _set("ThreadEvent", "Event"), CREATED, _set("Thread")),
    Signature("logged_in", _set("SessionEvent", "Event"), _set("LoggedIn")),
    Signature("logged_out", _set("SessionEvent", "Event"), _set("LoggedOut")),
    Signature("asset_accessed", _set("NavigationEvent"), _set("NavigatedTo")),
    # Generic "Event": the object type decides.
    Signature("submission_updated", EVENT, MODIFIED, _set("Attempt")),
    Signature("assignment_created", EVENT, CREATED, _set("AssignableDigitalResource")),
    Signature("assignment_updated", EVENT, MODIFIED, _set("AssignableDigitalResource")),
    Signature("quiz_created", EVENT, CREATED, _set("Assessment")),
    Signature("quiz_updated", EVENT, MODIFIED, _set("Assessment")),
    Signature("course_created", EVENT, CREATED, _set("CourseOffering")),
    Signature("course_updated", EVENT, MODIFIED, _set("CourseOffering")),
    Signature("wiki_page_created", EVENT, CREATED, _set("Page")),
    Signature("wiki_page_updated", EVENT, MODIFIED, _set("Page")),
    Signature("wiki_page_deleted", EVENT, DELETED, _set("Page")),
    Signature("group_created", EVENT, CREATED, _set("Group")),
    Signature("group_membership_created", EVENT, CREATED, _set("Membership")),
    # Shared triples: the URN segment of object.id, then extension keys.
    Signature("syllabus_updated", EVENT, MODIFIED, _set("Document"), _set("course")),
    Signature("attachment_created", EVENT, CREATED, _set("Document"), _set("attachment")),
    Signature("attachment_updated", EVENT, MODIFIED, _set("Document"), _set("attachment")),
    Signature("attachment_deleted", EVENT, DELETED, _set("Document"), _set("attachment")),
    Signature("assignment_override_created", EVENT, CREATED, _set("Entity"), _set("assignment_override")),
    Signature("assignment_override_updated", EVENT, MODIFIED, _set("Entity"), _set("assignment_override")),
    Signature(
        "group_category_created", EVENT, CREATED, _set("Entity"), _set("groupCategory", "group_category")
    ),
    Signature("user_account_association_created", EVENT, CREATED, _set("Entity"), _set("account")),
    Signature("enrollment_created", EVENT, CREATED, _set("Entity"), _set("enrollment"), ENROLLMENT_KEYS),
    Signature("enrollment_updated", EVENT, MODIFIED, _set("Entity"), _set("enrollment"), ENROLLMENT_KEYS),
    Signature(
        "enrollment_state_created", EVENT, CREATED, _set("Entity"), _set("enrollment"), ENROLLMENT_STATE_KEYS
    ),
    Signature(
        "enrollment_state_updated", EVENT, MODIFIED, _set("Entity"), _set("enrollment"), ENROLLMENT_STATE_KEYS
    ),
)

KNOWN_EVENTS: frozenset[str] = frozenset(row.event_name for row in SIGNATURES)


class UnmappedEventError(MessageError):
    """No row of :data:`SIGNATURES` matches (or several do); ``details`` says what was seen."""

    def __init__(self, message: str, details: Mapping[str, object]) -> None:
        super().__init__(message)
        self.details = dict(details)


def normalise(name: str) -> str:
    name = name.strip()
    return NAME_ALIASES.get(name, name)


def event_name_from_body(event: CaliperEvent) -> str:
    """The Canvas event name from the Caliper event alone (no attribute)."""
    urn = event.object.urn
    segment = urn.kind if urn else None
    matches = [row.event_name for row in SIGNATURES if row.matches(event, segment)]
    if len(matches) == 1:
        return matches[0]
    details = event.describe()
    what = "several Canvas events match" if matches else "no Canvas event matches"
    raise UnmappedEventError(
        f"{what} type={details['type']} action={details['action']} "
        f"object.type={details['object_type']} id segment={details['id_segment']} "
        f"object extension keys={details['object_extension_keys']}"
        + (f" (candidates: {', '.join(matches)})" if matches else "")
        + "; add a row to canvasbridge.live_events.naming.SIGNATURES or send the event_name attribute",
        details,
    )


def event_name(event: CaliperEvent, attributes: Mapping[str, str] | None = None) -> str:
    """The SQS ``event_name`` attribute when present, else :func:`event_name_from_body`."""
    attribute = (attributes or {}).get(ATTRIBUTE)
    if attribute and attribute.strip():
        return normalise(attribute)
    return event_name_from_body(event)
