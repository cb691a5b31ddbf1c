"""What an event is about, as a key both a Live Event and Canvas's REST API can give.

A backfill (``backfill.py``) rebuilds events from REST data, which never carries a Caliper
event id. So for the kinds a backfill can recover, the duplicate key of a record is built from
what happened, in local Canvas ids and UTC times to the second (REST times have no fractions):

=========================  ==============================================  ====================================
event                      key                                             REST source of the same facts
=========================  ==============================================  ====================================
quiz_submitted             ``quiz_submitted:<quiz>:<user>:<time>``          submission history of the quiz's
                                                                           assignment (``submitted_at``)
submission_created         ``submission_created:<assignment>:<user>:<n>``   submission history (``attempt``)
                           (``n`` is the attempt, ``object.count``)
grade_change               ``grade_change:<assignment>:<user>:<time>``      grade change log (``created_at``)
logged_in / logged_out     ``logged_in:<user>:<time>``                      authentication log (``created_at``)
discussion_entry_created   ``discussion_entry_created:<entry>``             discussion entries (``id``)
enrollment_created         ``enrollment_created:<enrollment>``              enrollments (``id``)
enrollment_updated         ``enrollment_updated:<enrollment>:<time>``       enrollments (``updated_at``; the
                           (``object.dateModified``, else ``eventTime``)    event's ``dateModified``)
=========================  ==============================================  ====================================

Canvas stamps an event and the REST object it is about at nearly the same moment, but the two
may fall on either side of a second: :func:`neighbours` gives the keys one second either side,
which a backfill also counts as already written.

Any other event, or one lacking a part (no attempt count, no user), keeps the Caliper event id
as its key, as before. A redelivered event gives the same key, so it still makes one record;
two events with the same facts (two logins of one user in the same second) make one record.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from canvasbridge.live_events.caliper import CaliperEvent, Entity
from canvasbridge.live_events.urns import local_id, try_parse_urn


def second(moment: datetime) -> str:
    """``moment`` in UTC to the second, as it appears in a key (``20260304T091512Z``)."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _id(entity: Entity | None) -> str | None:
    if entity is None:
        return None
    urn = try_parse_urn(entity.id)
    if urn is not None:
        return local_id(urn.id) or None
    return entity.local_id


def user_of(entity: Entity | None) -> str | None:
    """Local user id of a Person entity (actor, assignee, member); ``None`` otherwise."""
    if entity is None:
        return None
    urn = entity.urn
    if urn is not None and urn.kind == "user":
        return urn.local_id
    if entity.type == "Person":
        return local_id(entity.canvas.get("entity_id")) or None
    return None


def _extra(entity: Entity, name: str) -> Any:
    return (entity.model_extra or {}).get(name)


def _time(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return fallback


def _join(name: str, *parts: str | None) -> str | None:
    if any(part in (None, "") for part in parts):
        return None
    return ":".join([name, *[str(part) for part in parts]])


def _quiz(event: CaliperEvent, name: str) -> str | None:
    obj = event.object
    user = user_of(obj.assignee) or user_of(event.actor)
    return _join(name, _id(obj.assignable), user, second(event.event_time))


def _submission(event: CaliperEvent, name: str) -> str | None:
    obj = event.object
    count = _extra(obj, "count")
    attempt = str(count) if isinstance(count, int) and not isinstance(count, bool) and count > 0 else None
    return _join(name, _id(obj.assignable), user_of(obj.assignee) or user_of(event.actor), attempt)


def _grade(event: CaliperEvent, name: str) -> str | None:
    obj = event.object
    return _join(name, _id(obj.assignable), user_of(obj.assignee), second(event.event_time))


def _session(event: CaliperEvent, name: str) -> str | None:
    return _join(name, user_of(event.actor), second(event.event_time))


def _entry(event: CaliperEvent, name: str) -> str | None:
    return _join(name, _id(event.object))


def _enrollment_created(event: CaliperEvent, name: str) -> str | None:
    return _join(name, _id(event.object))


def _enrollment_updated(event: CaliperEvent, name: str) -> str | None:
    modified = _time(_extra(event.object, "dateModified"), event.event_time)
    return _join(name, _id(event.object), second(modified))


KEYS: dict[str, Callable[[CaliperEvent, str], str | None]] = {
    "quiz_submitted": _quiz,
    "submission_created": _submission,
    "grade_change": _grade,
    "logged_in": _session,
    "logged_out": _session,
    "discussion_entry_created": _entry,
    "enrollment_created": _enrollment_created,
    "enrollment_updated": _enrollment_updated,
}


def occurrence_key(event: CaliperEvent, name: str) -> str:
    """The key of what ``event`` (named ``name``) is about; its event id when there is none."""
    builder = KEYS.get(name)
    key = builder(event, name) if builder is not None else None
    return key if key is not None else event.id


_TIMED = re.compile(
    r"^((?:quiz_submitted|grade_change|logged_in|logged_out|enrollment_updated):.+:)(\d{8}T\d{6}Z)(/.*)$"
)


def neighbours(record_key: str) -> list[str]:
    """For a record key ending in a second (``…:20260304T101112Z/<participant>``), the same key
    a second earlier and a second later; ``[]`` for other keys."""
    match = _TIMED.match(record_key)
    if match is None:
        return []
    head, stamp, tail = match.groups()
    moment = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return [head + second(moment + timedelta(seconds=step)) + tail for step in (-1, 1)]
