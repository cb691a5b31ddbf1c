"""Recover Live Events that never arrived: rebuild them from Canvas's REST API and write the
records the live path would have written (``canvasbridge events backfill``).

For a window ``[since, until)`` and each course (``--course``, else every course of the
account) it reads:

* ``GET /courses/:id/students/submissions?student_ids[]=all&submitted_since=&include[]=submission_history``:
  every attempt submitted in the window: ``submission_created`` (its attempt is the event's
  ``object.count``), or ``quiz_submitted`` for a quiz's assignment (the quiz submission id
  from ``GET /courses/:id/quizzes/:quiz_id/submissions``);
* ``GET /audit/grade_change/courses/:id?start_time=&end_time=``: every grading, ``grade_change``
  (not for quizzes: Canvas's autograder grades them, and ``quiz_submitted`` is their record);
* ``GET /courses/:id/discussion_topics`` and each topic's ``/view`` (the whole thread, replies at
  any depth, in one call): ``discussion_entry_created``;
* ``GET /courses/:id/enrollments`` (every state): ``enrollment_created`` (``created_at`` in the
  window) and ``enrollment_updated`` (``updated_at`` in the window, later than ``created_at``);

and once for the account, ``GET /audit/authentication/accounts/:id?start_time=&end_time=``:
``logged_in`` / ``logged_out``.

Each is turned into the Caliper event Canvas would have sent (local ids, the REST object's
time) and goes through the live path's own handler, rules and writer, so the records are the
same, with the same key (``occurrences.py``): a record already written live, or by an earlier
backfill, is found by its key and not written again. Programmes are checked on the event's own
date (in ``live_events.timezone``), as the live path checked them when the event happened.

Not recovered (no REST source keeps them): ``submission_updated``, course content events
(``assignment_*``, ``wiki_page_*``, ``discussion_topic_created``), ``asset_accessed``. What REST
keeps only in its latest state is recovered in that state: one ``enrollment_updated`` per
enrollment (its last update in the window), one history entry per submission attempt.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Protocol

from canvasbridge.errors import PermanentError
from canvasbridge.live_events.caliper import CaliperEvent
from canvasbridge.live_events.occurrences import neighbours
from canvasbridge.live_events.processor import LiveEventProcessor
from canvasbridge.live_events.rules import ParticipantDirectory, ParticipantDirectoryCache, RecordPlan
from canvasbridge.live_events.writer import Ticket

log = logging.getLogger(__name__)

KINDS = (
    "quiz_submitted",
    "submission_created",
    "grade_change",
    "discussion_entry_created",
    "enrollment_created",
    "enrollment_updated",
    "logged_in",
    "logged_out",
)
ALL_ENROLLMENT_STATES = (
    "active",
    "invited",
    "creation_pending",
    "completed",
    "inactive",
    "rejected",
    "deleted",
)
URN = "urn:instructure:canvas"
_SPECIFICS = re.compile(r"'[^']*'|\"[^\"]*\"|\d{4}-\d{2}-\d{2}|\b\d+\b|\([^)]*\)")


class CanvasReader(Protocol):
    """The part of ``CanvasClient`` a backfill uses."""

    base_url: str

    def get(self, path: str, **params: Any) -> Any: ...
    def paginate(self, path: str, **params: Any) -> Iterator[dict[str, Any]]: ...


@dataclass(frozen=True)
class Recovered:
    """One event rebuilt from REST data."""

    name: str
    event: CaliperEvent


@dataclass
class KindCounts:
    found: int = 0
    present: int = 0  # records already in Salesforce (written live or by an earlier backfill)
    written: int = 0
    skipped: int = 0  # events for which no record is due (not a participant, no programme...)
    failed: int = 0
    attendees_marked: int = 0


@dataclass
class BackfillResult:
    kinds: dict[str, KindCounts] = field(default_factory=lambda: {kind: KindCounts() for kind in KINDS})
    reasons: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(counts, name) for counts in self.kinds.values())


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _urn(kind: str, local: Any) -> str:
    return f"{URN}:{kind}:{local}"


def _person(user_id: Any) -> dict[str, Any]:
    return {"id": _urn("user", user_id), "type": "Person"}


def _course(course_id: Any) -> dict[str, Any]:
    return {
        "id": _urn("course", course_id),
        "type": "CourseOffering",
        "extensions": {"com.instructure.canvas": {"context_type": "Course", "entity_id": str(course_id)}},
    }


def _event(
    name: str,
    event_id: str,
    type_: str,
    action: str,
    actor: dict[str, Any],
    obj: dict[str, Any],
    when: str,
    **more: Any,
) -> CaliperEvent:
    body = {
        "id": f"urn:canvasbridge:backfill:{name}:{event_id}",
        "type": type_,
        "actor": actor,
        "action": action,
        "object": obj,
        "eventTime": when,
        **more,
    }
    return CaliperEvent.model_validate(body)


class Window:
    """``[since, until)``: an instant is in it when ``since <= instant < until``."""

    def __init__(self, since: datetime, until: datetime) -> None:
        if since.tzinfo is None or until.tzinfo is None:
            raise PermanentError("the backfill window needs times with a time zone")
        if until <= since:
            raise PermanentError(f"--until ({until.isoformat()}) must be after --since ({since.isoformat()})")
        self.since, self.until = since, until

    def holds(self, value: str | None) -> bool:
        moment = parse_time(value)
        return moment is not None and self.since <= moment < self.until

    def days(self, zone: tzinfo) -> list[date]:
        """The local dates the window touches in ``zone``."""
        first = self.since.astimezone(zone).date()
        last = (self.until - timedelta(microseconds=1)).astimezone(zone).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]

    @property
    def params(self) -> dict[str, str]:
        """``start_time``/``end_time`` for the audit APIs (both inclusive there; we filter again)."""
        return {"start_time": _iso(self.since), "end_time": _iso(self.until)}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ActivityReader:
    """Reads one window of activity from Canvas and rebuilds its events."""

    def __init__(self, canvas: CanvasReader, window: Window, *, account_id: str = "1") -> None:
        self.canvas = canvas
        self.window = window
        self.account_id = account_id
        self._quizzes: dict[str, dict[str, str]] = {}

    def _list(self, path: str, **params: Any) -> list[dict[str, Any]]:
        return list(self.canvas.paginate(path, **params))

    def courses(self) -> list[str]:
        return [str(course["id"]) for course in self._list(f"accounts/{self.account_id}/courses")]

    # -- per course -------------------------------------------------------------------
    def course(self, course_id: str) -> list[Recovered]:
        return [
            *self.submissions(course_id),
            *self.grade_changes(course_id),
            *self.discussion_entries(course_id),
            *self.enrollments(course_id),
        ]

    def _quiz_assignments(self, course_id: str) -> dict[str, str]:
        """assignment id → quiz id, for the course's quizzes (read once per course)."""
        if course_id not in self._quizzes:
            self._quizzes[course_id] = {
                str(a["id"]): str(a["quiz_id"])
                for a in self._list(f"courses/{course_id}/assignments")
                if a.get("quiz_id") is not None
            }
        return self._quizzes[course_id]

    def submissions(self, course_id: str) -> list[Recovered]:
        rows = self._list(
            f"courses/{course_id}/students/submissions",
            student_ids=["all"],
            submitted_since=_iso(self.window.since),
            include=["submission_history"],
        )
        if not rows:
            return []
        quizzes = self._quiz_assignments(course_id)
        quiz_submission_ids: dict[str, dict[tuple[str, str], str]] = {}
        found = []
        for row in rows:
            versions = row.get("submission_history") or [row]
            for version in versions:
                if not self.window.holds(version.get("submitted_at")) or not version.get("attempt"):
                    continue
                assignment_id = str(row["assignment_id"])
                user_id = str(row["user_id"])
                attempt = str(version["attempt"])
                when = str(version["submitted_at"])
                quiz_id = quizzes.get(assignment_id)
                if quiz_id is not None:
                    if quiz_id not in quiz_submission_ids:
                        quiz_submission_ids[quiz_id] = self._quiz_submissions(course_id, quiz_id)
                    taken = quiz_submission_ids[quiz_id].get((user_id, attempt), str(row["id"]))
                    found.append(self._quiz_submitted(course_id, quiz_id, user_id, taken, when))
                else:
                    found.append(
                        self._submission_created(
                            course_id, assignment_id, user_id, str(row["id"]), attempt, when
                        )
                    )
        return found

    def _quiz_submissions(self, course_id: str, quiz_id: str) -> dict[tuple[str, str], str]:
        """(user id, attempt) → quiz submission id."""
        return {
            (str(qs["user_id"]), str(qs["attempt"])): str(qs["id"])
            for qs in self._list(f"courses/{course_id}/quizzes/{quiz_id}/submissions")
            if qs.get("attempt") is not None
        }

    @staticmethod
    def _quiz_submitted(course_id: str, quiz_id: str, user_id: str, taken: str, when: str) -> Recovered:
        obj = {
            "id": _urn("submission", taken),
            "type": "Attempt",
            "assignee": _person(user_id),
            "assignable": {"id": _urn("quiz", quiz_id), "type": "Assessment"},
        }
        event = _event(
            "quiz_submitted", f"{quiz_id}:{user_id}:{when}", "AssessmentEvent", "Submitted",
            _person(user_id), obj, when, group=_course(course_id),
        )  # fmt: skip
        return Recovered("quiz_submitted", event)

    @staticmethod
    def _submission_created(
        course_id: str, assignment_id: str, user_id: str, submission_id: str, attempt: str, when: str
    ) -> Recovered:
        obj = {
            "id": _urn("submission", submission_id),
            "type": "Attempt",
            "dateCreated": when,
            "assignee": _person(user_id),
            "assignable": {"id": _urn("assignment", assignment_id), "type": "AssignableDigitalResource"},
            "count": int(attempt),
        }
        event = _event(
            "submission_created", f"{submission_id}:{attempt}", "AssignableEvent", "Submitted",
            _person(user_id), obj, when, group=_course(course_id),
        )  # fmt: skip
        return Recovered("submission_created", event)

    def grade_changes(self, course_id: str) -> list[Recovered]:
        rows = self._list(f"audit/grade_change/courses/{course_id}", **self.window.params)
        if not rows:
            return []
        quizzes = self._quiz_assignments(course_id)
        found = []
        for row in rows:
            links = row.get("links") or {}
            assignment_id, student_id = links.get("assignment"), links.get("student")
            if not self.window.holds(row.get("created_at")) or assignment_id is None or student_id is None:
                continue
            if str(assignment_id) in quizzes:
                continue
            grader = links.get("grader")
            actor = _person(grader) if grader else {"id": self.canvas.base_url, "type": "SoftwareApplication"}
            obj = {
                "id": _urn("submission", f"{assignment_id}-{student_id}"),
                "type": "Attempt",
                "extensions": {"com.instructure.canvas": {"grade": row.get("grade_after")}},
                "assignee": _person(student_id),
                "assignable": {"id": _urn("assignment", assignment_id), "type": "AssignableDigitalResource"},
            }
            event = _event(
                "grade_change", str(row.get("id")), "GradeEvent", "Graded", actor, obj,
                str(row["created_at"]), group=_course(course_id),
            )  # fmt: skip
            found.append(Recovered("grade_change", event))
        return found

    def discussion_entries(self, course_id: str) -> list[Recovered]:
        found = []
        for topic in self._list(f"courses/{course_id}/discussion_topics"):
            view = self.canvas.get(f"courses/{course_id}/discussion_topics/{topic['id']}/view") or {}
            seen: set[Any] = set()
            for entry in _walk([*view.get("view", []), *view.get("new_entries", [])]):
                if entry.get("id") in seen or entry.get("user_id") is None:
                    continue
                seen.add(entry.get("id"))
                if not self.window.holds(entry.get("created_at")):
                    continue
                obj = {
                    "id": _urn("discussionEntry", entry["id"]),
                    "type": "Message",
                    "isPartOf": {"id": _urn("discussion", topic["id"]), "type": "Thread"},
                }
                event = _event(
                    "discussion_entry_created", str(entry["id"]), "MessageEvent", "Posted",
                    _person(entry["user_id"]), obj, str(entry["created_at"]), group=_course(course_id),
                )  # fmt: skip
                found.append(Recovered("discussion_entry_created", event))
        return found

    def enrollments(self, course_id: str) -> list[Recovered]:
        found = []
        for row in self._list(f"courses/{course_id}/enrollments", state=list(ALL_ENROLLMENT_STATES)):
            created, updated = row.get("created_at"), row.get("updated_at")
            kinds = []
            if self.window.holds(created):
                kinds.append(("enrollment_created", "Created", str(created)))
            if self.window.holds(updated) and parse_time(updated) != parse_time(created):
                kinds.append(("enrollment_updated", "Modified", str(updated)))
            for name, action, when in kinds:
                ext = {
                    "course_id": _urn("course", row["course_id"]),
                    "user_id": _urn("user", row["user_id"]),
                    "type": row.get("type"),
                    "workflow_state": row.get("enrollment_state"),
                    "entity_id": str(row["id"]),
                }
                obj = {
                    "id": _urn("enrollment", row["id"]),
                    "type": "Entity",
                    ("dateCreated" if action == "Created" else "dateModified"): when,
                    "extensions": {"com.instructure.canvas": ext},
                }
                actor = _person(row["user_id"])
                event = _event(name, f"{row['id']}:{when}", "Event", action, actor, obj, when)
                found.append(Recovered(name, event))
        return found

    # -- account-wide -----------------------------------------------------------------
    def sessions(self) -> list[Recovered]:
        found = []
        for row in self._list(f"audit/authentication/accounts/{self.account_id}", **self.window.params):
            kind = {"login": "logged_in", "logout": "logged_out"}.get(str(row.get("event_type")))
            user_id = row.get("user_id") or (row.get("links") or {}).get("user")
            if kind is None or user_id is None or not self.window.holds(row.get("created_at")):
                continue
            obj = {"id": self.canvas.base_url, "type": "SoftwareApplication"}
            event = _event(
                kind, str(row.get("id")), "SessionEvent", "LoggedIn" if kind == "logged_in" else "LoggedOut",
                _person(user_id), obj, str(row["created_at"]),
            )  # fmt: skip
            found.append(Recovered(kind, event))
        return found


def _reason_kind(reason: str) -> str:
    """A skip reason without the ids, dates and names in it, so like reasons count together."""
    return _SPECIFICS.sub("…", reason)


def _walk(entries: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every entry of a topic view, replies (at any depth) included."""
    for entry in entries:
        yield entry
        yield from _walk(entry.get("replies") or [])


def _local_date(event: CaliperEvent, processor: LiveEventProcessor) -> date:
    return event.event_time.astimezone(processor.settings.zone).date()


class Backfill:
    """Writes recovered events through the live path (``processor``), counting per kind."""

    def __init__(
        self,
        processor: LiveEventProcessor,
        directory_for: Callable[[date], ParticipantDirectory],
        days: Iterable[date],
        *,
        dry_run: bool = False,
    ) -> None:
        if processor.writer is None:
            raise PermanentError("a backfill needs the Salesforce writer (systems.salesforce)")
        self.processor = processor
        self.dry_run = dry_run
        self._directory_for = directory_for
        self._directories: dict[date, ParticipantDirectory] = {}
        self._days = list(days)
        # names are looked up for anyone who could get a record on some day of the window
        processor.directory = ParticipantDirectoryCache(
            lambda _today: self._window_directory(), refresh_s=float("inf"), today=processor.today
        )
        self.result = BackfillResult()
        self._planned: list[tuple[str, RecordPlan]] = []

    def _window_directory(self) -> ParticipantDirectory:
        participants = {
            p.id: p for day in self._days for rows in self.directory(day).participants.values() for p in rows
        }
        attendees = {
            a.id: a for day in self._days for rows in self.directory(day).attendees.values() for a in rows
        }
        return ParticipantDirectory.build(participants.values(), attendees.values())

    def directory(self, day: date) -> ParticipantDirectory:
        if day not in self._directories:
            self._directories[day] = self._directory_for(day)
        return self._directories[day]

    def add(self, items: Iterable[Recovered]) -> None:
        """Plan each recovered event (written by :meth:`finish`)."""
        for item in items:
            counts = self.result.kinds[item.name]
            counts.found += 1
            day = _local_date(item.event, self.processor)
            outcome = self.processor.prepare(item.event, item.name, self.directory(day), today=day)
            if outcome.plan is None or outcome.status != "queued":
                counts.skipped += 1
                self.result.reasons[_reason_kind(outcome.reason or outcome.status)] += 1
                continue
            self._planned.append((item.name, outcome.plan))

    def finish(self, timeout_s: float = 300.0) -> BackfillResult:
        """Ask which records exist (their keys, and a second either side: occurrences.py), then
        write the others (unless dry) and count what each became."""
        writer = self.processor.writer
        assert writer is not None  # checked in __init__
        keys = [record.key for _, plan in self._planned for record in plan.records if record.key]
        wanted = keys + [near for key in keys for near in neighbours(key)]
        present = writer.existing_keys(wanted) if wanted else set()
        tickets: list[tuple[str, Ticket]] = []
        for name, plan in self._planned:
            counts = self.result.kinds[name]
            missing = tuple(
                record
                for record in plan.records
                if not record.key or not ({record.key, *neighbours(record.key)} & present)
            )
            counts.present += len(plan.records) - len(missing)
            if self.dry_run:
                counts.written += len(missing)
                counts.attendees_marked += len(plan.attendee_ids)
            elif missing or plan.attendee_ids:
                todo = RecordPlan(records=missing, attendee_ids=plan.attendee_ids, reason=plan.reason)
                # keys were just asked for; the unique External ID still refuses a racing duplicate
                tickets.append((name, writer.submit(todo, maybe_written=False)))
        self._planned.clear()
        writer.flush()
        for name, ticket in tickets:
            counts = self.result.kinds[name]
            try:
                ticket.wait(timeout_s)
            except Exception as exc:  # counted and reported, the others go on
                counts.failed += 1
                self.result.errors.append(f"{name}: {exc}")
            counts.written += ticket.written
            counts.present += ticket.skipped_as_duplicate
            counts.attendees_marked += ticket.attendees_marked
        log.info(
            "backfill%s: %d events found, %d records written, %d already present, %d events skipped, %d failed",
            " (dry run)" if self.dry_run else "",
            *(self.result.total(name) for name in ("found", "written", "present", "skipped", "failed")),
        )
        return self.result
