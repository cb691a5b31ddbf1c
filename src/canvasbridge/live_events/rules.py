"""The Salesforce rules: who gets a ``Canvas_Activitiy__c`` and which attendee is marked.

* A record is created for each ``Programme_Participant__c`` whose ``Participant_UID__c`` is
  the activity's SIS id and whose programme is active today: start ≤ today ≤ end, both
  inclusive, "today" in the configured time zone (the original used a strict end date, so a
  programme was inactive on its last day; we follow the brief's inclusive rule).
* For course events, the programme's ``LMS_Course_Id__c`` must equal the course's local id.
* An ``Attendees__c`` of the same person whose FLIP event name equals the quiz or assignment
  name (trimmed, case-insensitive like SOQL ``=``) is marked attended, independently of the
  participant rule (as the original's later fix did).

Cost: nothing here queries per event. :class:`ParticipantDirectoryCache` loads every participant and
every unattended attendee of a programme that may be active (two ``query_all`` calls, a
day of margin each side) and reloads after ``directory_refresh_s``. The SOQL contains only
configured API names (validated in settings.py) and dates we compute: no value from an
event is ever put into a query, so a quiz name cannot inject anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta, tzinfo
from typing import Any

from canvasbridge.live_events.handlers.base import Activity
from canvasbridge.live_events.keys import record_key
from canvasbridge.live_events.settings import SalesforceSchema

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Participant:
    id: str
    uid: str
    name: str | None
    start: date | None
    end: date | None
    course_id: str | None  # local Canvas course id, as text

    def active_on(self, today: date) -> bool:
        return self.start is not None and self.end is not None and self.start <= today <= self.end


@dataclass(frozen=True)
class Attendee:
    id: str
    uid: str
    event_name: str
    start: date | None
    end: date | None

    def active_on(self, today: date) -> bool:
        return self.start is not None and self.end is not None and self.start <= today <= self.end


@dataclass
class ParticipantDirectory:
    """Participants and open attendees, indexed by participant UID."""

    participants: dict[str, list[Participant]] = field(default_factory=dict)
    attendees: dict[str, list[Attendee]] = field(default_factory=dict)

    @classmethod
    def build(
        cls, participants: Iterable[Participant], attendees: Iterable[Attendee]
    ) -> ParticipantDirectory:
        directory = cls()
        for participant in participants:
            directory.participants.setdefault(participant.uid, []).append(participant)
        for attendee in attendees:
            directory.attendees.setdefault(attendee.uid, []).append(attendee)
        return directory


@dataclass(frozen=True)
class PlannedRecord:
    key: str | None  # the idempotency key (<what happened or event uuid>/<participant id>)
    fields: dict[str, Any]
    participant_id: str


@dataclass(frozen=True)
class RecordPlan:
    records: tuple[PlannedRecord, ...] = ()
    attendee_ids: tuple[str, ...] = ()
    reason: str | None = None  # why no record is written, for logs and `events explain`


def _path(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _course(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return str(int(float(value)))
    except (TypeError, ValueError):
        return str(value).strip() or None


def participant_soql(schema: SalesforceSchema, today: date) -> str:
    s = schema
    fields = [
        "Id",
        s.participant_uid_field,
        s.participant_name_field,
        s.programme_start_path,
        s.programme_end_path,
        s.programme_course_path,
    ]
    return (
        f"SELECT {', '.join(fields)} FROM {s.participant_object} "  # noqa: S608 (validated names, our dates)
        f"WHERE {s.participant_uid_field} != null "
        f"AND {s.programme_start_path} <= {(today + timedelta(days=1)).isoformat()} "
        f"AND {s.programme_end_path} >= {(today - timedelta(days=1)).isoformat()}"
    )


def attendee_soql(schema: SalesforceSchema, today: date) -> str:
    s = schema
    fields = [
        "Id",
        s.attendee_uid_path,
        s.attendee_event_name_path,
        s.attendee_start_path,
        s.attendee_end_path,
    ]
    where = [
        f"{s.attendee_attended_field} = false",
        f"{s.attendee_uid_path} != null",
        f"{s.attendee_event_name_path} != null",
    ]
    where += [f"{path} = true" for path in s.attendee_require_true]
    where += [f"{path} != null" for path in s.attendee_require_not_null]
    where += [
        f"{s.attendee_start_path} <= {(today + timedelta(days=1)).isoformat()}",
        f"{s.attendee_end_path} >= {(today - timedelta(days=1)).isoformat()}",
    ]
    return f"SELECT {', '.join(fields)} FROM {s.attendee_object} WHERE {' AND '.join(where)}"  # noqa: S608


def load_directory(
    query_all: Callable[[str], Any], schema: SalesforceSchema, today: date
) -> ParticipantDirectory:
    """Two bulk queries: every possibly-active participant and every open attendee."""
    s = schema
    participants = [
        Participant(
            id=str(row["Id"]),
            uid=str(_path(row, s.participant_uid_field)).strip(),
            name=_path(row, s.participant_name_field),
            start=_date(_path(row, s.programme_start_path)),
            end=_date(_path(row, s.programme_end_path)),
            course_id=_course(_path(row, s.programme_course_path)),
        )
        for row in _records(query_all(participant_soql(s, today)))
    ]
    attendees = [
        Attendee(
            id=str(row["Id"]),
            uid=str(_path(row, s.attendee_uid_path)).strip(),
            event_name=str(_path(row, s.attendee_event_name_path)),
            start=_date(_path(row, s.attendee_start_path)),
            end=_date(_path(row, s.attendee_end_path)),
        )
        for row in _records(query_all(attendee_soql(s, today)))
    ]
    return ParticipantDirectory.build(participants, attendees)


def _records(result: Any) -> list[dict[str, Any]]:
    if isinstance(result, dict):
        return list(result.get("records", []))
    return list(result)


class ParticipantDirectoryCache:
    """The :class:`ParticipantDirectory`, reloaded in bulk every ``refresh_s`` seconds (one loader at a time)."""

    def __init__(
        self,
        loader: Callable[[date], ParticipantDirectory],
        *,
        refresh_s: float,
        today: Callable[[], date],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._refresh_s = refresh_s
        self._today = today
        self._clock = clock
        self._lock = threading.Lock()
        self._directory: ParticipantDirectory | None = None
        self._loaded_at = 0.0
        self.loads = 0

    def get(self) -> ParticipantDirectory:
        with self._lock:
            if self._directory is None or self._clock() - self._loaded_at >= self._refresh_s:
                self._directory = self._loader(self._today())
                self._loaded_at = self._clock()
                self.loads += 1
                log.info(
                    "loaded %d participant UIDs and %d attendee UIDs from Salesforce",
                    len(self._directory.participants),
                    len(self._directory.attendees),
                )
            return self._directory

    def invalidate(self) -> None:
        with self._lock:
            self._directory = None

    def forget_attendees(self, attendee_ids: Iterable[str]) -> None:
        """Drop attendees just marked attended, so they are not marked again."""
        done = set(attendee_ids)
        with self._lock:
            if self._directory is None or not done:
                return
            for uid, rows in list(self._directory.attendees.items()):
                self._directory.attendees[uid] = [row for row in rows if row.id not in done]


def _names_equal(left: str, right: str) -> bool:
    return left.strip().casefold() == right.strip().casefold()


def plan(
    activity: Activity,
    directory: ParticipantDirectory,
    today: date,
    schema: SalesforceSchema,
    tz: tzinfo,
    *,
    marks_attendance: bool,
) -> RecordPlan:
    """What to write for one activity: records per active participant, attendees to mark."""
    uid = activity.participant_uid
    if not uid:
        return RecordPlan(
            reason=f"the Canvas user {activity.user_id or '(none)'} has no SIS id, so no participant UID"
        )
    attendees: tuple[str, ...] = ()
    if marks_attendance and activity.match_name:
        attendees = tuple(
            row.id
            for row in directory.attendees.get(uid, [])
            if row.active_on(today) and _names_equal(row.event_name, activity.match_name)
        )
    candidates = directory.participants.get(uid, [])
    active = [row for row in candidates if row.active_on(today)]
    reason: str | None = None
    if not candidates:
        reason = f"no {schema.participant_object} with {schema.participant_uid_field} {uid!r}"
    elif not active:
        reason = f"no programme of {uid!r} is active on {today.isoformat()}"
    elif activity.course_scoped:
        if activity.course_id is None:
            reason = "a course event without a course id cannot be matched to a programme"
            active = []
        else:
            matching = [row for row in active if row.course_id == activity.course_id]
            if not matching:
                courses = sorted({row.course_id or "none" for row in active})
                reason = f"course {activity.course_id} is not the LMS course of {uid!r}'s active programmes ({', '.join(courses)})"
            active = matching
    if reason is not None:
        return RecordPlan(attendee_ids=attendees, reason=reason)
    # to the second: Canvas's REST API (which a backfill reads) has no fractions
    iso = activity.event_time.astimezone(UTC).replace(microsecond=0).isoformat(timespec="milliseconds")
    iso = iso.replace("+00:00", "Z")
    records = []
    for participant in active:
        fields: dict[str, Any] = {
            schema.activity_field: activity.label,
            schema.detail_field: activity.detail(participant.name, tz),
            schema.date_field: iso,
            schema.time_field: iso[11:],
            schema.participant_field: participant.id,
        }
        key = record_key(activity.key or activity.event_id, participant.id, schema.event_id_length)
        if schema.event_id_field:
            fields[schema.event_id_field] = key
        records.append(PlannedRecord(key=key, fields=fields, participant_id=participant.id))
    return RecordPlan(records=tuple(records), attendee_ids=attendees)
