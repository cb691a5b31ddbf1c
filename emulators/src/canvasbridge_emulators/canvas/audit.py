"""Canvas's audit logs of activity: authentication events and grade changes.

``record_authentication(user_id, "login"|"logout", at=)`` is what a login or logout leaves
in Canvas (the Live Events generator calls it with its event's time); every grading made
through the model (``add_submission`` with a score, ``grade_submission``, quizzes) is written
to the grade change log. Both are read by time range, newest first, as the Authentications
Log and Grade Change Log APIs serve them (``GET /api/v1/audit/authentication/accounts/:id``,
``GET /api/v1/audit/grade_change/courses/:id``). Canvas keeps these events in a separate
store with UUID ids; so do we.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from canvasbridge_emulators.canvas.exceptions import BadRequest
from canvasbridge_emulators.canvas.objects import ROOT_ACCOUNT_ID, now_iso

AUTHENTICATION_EVENT_TYPES = ("login", "logout")


@dataclass
class AuthenticationEvent:
    id: str
    created_at: str
    event_type: str  # login | logout
    pseudonym_id: int | None
    account_id: int
    user_id: int


@dataclass
class GradeChangeEvent:
    id: str
    created_at: str
    course_id: int
    assignment_id: int
    student_id: int
    grader_id: int | None
    submission_id: int
    grade_before: str | None
    grade_after: str | None
    version_number: int


@dataclass
class AuditState:
    authentication: list[AuthenticationEvent] = field(default_factory=list)
    grade_changes: list[GradeChangeEvent] = field(default_factory=list)
    serial: int = 0


def parse_time(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 time parameter (``Z`` or an offset); a bad one is Canvas's 400."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"invalid {name}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _within(created_at: str, start: datetime | None, end: datetime | None) -> bool:
    moment = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    return (start is None or moment >= start) and (end is None or moment <= end)


class AuditLogs:
    """Mixed into :class:`CanvasModel`; the state lives in ``_s.content.audit``."""

    _lock: threading.RLock
    _s: Any

    def get_user(self, user_id: int) -> Any:  # provided by CanvasModel
        raise NotImplementedError

    def primary_login(self, user_id: int) -> Any:  # provided by CanvasModel
        raise NotImplementedError

    @property
    def _audit(self) -> AuditState:
        audit: AuditState = self._s.content.audit
        return audit

    def _event_id(self) -> str:
        self._audit.serial += 1
        return str(uuid.UUID(int=self._audit.serial, version=4))

    def record_authentication(
        self, user_id: int, event_type: str, *, at: str | None = None
    ) -> AuthenticationEvent:
        """A login or logout of ``user_id`` (through their primary login) at ``at`` (default now)."""
        if event_type not in AUTHENTICATION_EVENT_TYPES:
            raise ValueError(f"event_type must be login or logout, not {event_type!r}")
        with self._lock:
            self.get_user(user_id)
            login = self.primary_login(user_id)
            event = AuthenticationEvent(
                self._event_id(),
                at or now_iso(),
                event_type,
                login.id if login is not None else None,
                ROOT_ACCOUNT_ID,
                user_id,
            )
            self._audit.authentication.append(event)
            return event

    def authentication_events(
        self, start: datetime | None = None, end: datetime | None = None
    ) -> list[AuthenticationEvent]:
        """Events from ``start`` to ``end`` (both inclusive), newest first."""
        with self._lock:
            found = [e for e in self._audit.authentication if _within(e.created_at, start, end)]
        return sorted(found, key=lambda e: e.created_at, reverse=True)

    def record_grade_change(
        self, submission: Any, course_id: int, grade_before: str | None
    ) -> GradeChangeEvent:
        with self._lock:
            event = GradeChangeEvent(
                self._event_id(),
                submission.graded_at or now_iso(),
                course_id,
                submission.assignment_id,
                submission.user_id,
                submission.grader_id,
                submission.id,
                grade_before,
                submission.grade,
                len(self._audit.grade_changes) + 1,
            )
            self._audit.grade_changes.append(event)
            return event

    def grade_changes(
        self, course_id: int, start: datetime | None = None, end: datetime | None = None
    ) -> list[GradeChangeEvent]:
        """The course's grade changes from ``start`` to ``end`` (both inclusive), newest first."""
        with self._lock:
            found = [
                e
                for e in self._audit.grade_changes
                if e.course_id == course_id and _within(e.created_at, start, end)
            ]
        return sorted(found, key=lambda e: e.created_at, reverse=True)
