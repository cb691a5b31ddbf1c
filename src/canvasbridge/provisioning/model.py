"""What Canvas should hold and what it holds, in one shape, so planning is a comparison.

The same dataclasses describe the *desired* state (built from the sources by
:mod:`.desired`) and the *current* state (read from Canvas by :mod:`.canvas_state`); the
``canvas_id`` fields are only set on current objects. Objects refer to each other by SIS id
(the natural keys the service owns), never by Canvas id.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class UserState:
    sis_user_id: str
    login_id: str
    name: str
    email: str | None = None
    integration_id: str | None = None
    suspended: bool = False
    sortable_name: str | None = None
    canvas_id: int | None = None
    login_canvas_id: int | None = None  # the login carrying sis_user_id


@dataclass
class AccountState:
    sis_account_id: str
    name: str
    parent_sis_id: str | None  # None: directly under the root account
    canvas_id: int | None = None
    parent_canvas_id: int | None = None


@dataclass
class CourseState:
    sis_course_id: str
    name: str
    course_code: str
    account_sis_id: str | None  # None: the root account
    term_sis_id: str | None = None
    workflow_state: str = "unpublished"
    canvas_id: int | None = None


@dataclass
class SectionState:
    sis_section_id: str
    course_sis_id: str
    name: str
    canvas_id: int | None = None


@dataclass
class EnrollmentState:
    user_sis_id: str
    course_sis_id: str
    section_sis_id: str
    type: str  # short name: student, teacher, ta, designer, observer
    state: str = "active"  # active, invited, completed, inactive, deleted
    canvas_id: int | None = None
    created_by_sis: bool = False
    canvas_course_id: int | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.user_sis_id, self.section_sis_id, self.type)


@dataclass
class Snapshot:
    """A set of objects of every kind, keyed by SIS id (enrollments by user, section, type)."""

    users: dict[str, UserState] = field(default_factory=dict)
    accounts: dict[str, AccountState] = field(default_factory=dict)
    courses: dict[str, CourseState] = field(default_factory=dict)
    sections: dict[str, SectionState] = field(default_factory=dict)
    enrollments: dict[tuple[str, str, str], EnrollmentState] = field(default_factory=dict)

    def add_enrollment(self, enrollment: EnrollmentState) -> None:
        existing = self.enrollments.get(enrollment.key)
        # Canvas may hold an active and a concluded copy; the live one wins.
        if existing is None or (existing.state not in LIVE_STATES and enrollment.state in LIVE_STATES):
            self.enrollments[enrollment.key] = enrollment

    def sizes(self) -> dict[str, int]:
        return {kind: len(getattr(self, kind)) for kind in KINDS}


KINDS = ("users", "accounts", "courses", "sections", "enrollments")
LIVE_STATES = frozenset({"active", "invited", "creation_pending"})
