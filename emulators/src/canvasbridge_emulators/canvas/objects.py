"""The Canvas emulator's objects (plain dataclasses) and the constants its rules use.

Returned by reference from :class:`~canvasbridge_emulators.canvas.models.CanvasModel`:
read them, change them through the model (it keeps the SIS-id indexes right).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from canvasbridge_emulators.canvas.exceptions import CanvasError

ROOT_ACCOUNT_ID = 1
DEFAULT_TERM_ID = 1
DEFAULT_ROOT_NAME = "Emulated University"

ENROLLMENT_TYPES = (
    "StudentEnrollment",
    "TeacherEnrollment",
    "TaEnrollment",
    "ObserverEnrollment",
    "DesignerEnrollment",
)
ENROLLMENT_STATES = ("active", "invited", "inactive", "completed", "deleted", "creation_pending", "rejected")
COURSE_STATES = ("unpublished", "available", "completed", "deleted")
LOGIN_STATES = ("active", "suspended")
# Built-in role ids as hosted Canvas numbers them for a root account.
BUILTIN_ROLE_IDS = {
    "AccountAdmin": 1,
    "StudentEnrollment": 3,
    "TeacherEnrollment": 4,
    "TaEnrollment": 5,
    "DesignerEnrollment": 6,
    "ObserverEnrollment": 7,
}
FIRST_CUSTOM_ROLE_ID = 8
# course[event] → new workflow_state
COURSE_EVENTS = {
    "claim": "unpublished",
    "offer": "available",
    "conclude": "completed",
    "delete": "deleted",
    "undelete": "unpublished",
}


_clock_cache: list[Any] = [-1, ""]


def now_iso() -> str:
    """The current UTC time as Canvas writes it, to the second (cached per second)."""
    second = int(time.time())
    if second != _clock_cache[0]:
        _clock_cache[1] = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _clock_cache[0] = second
    return str(_clock_cache[1])


def _uuid() -> str:
    return secrets.token_hex(20)  # 40 random hex digits, as Canvas's uuids


def sortable_name_of(name: str) -> str:
    parts = name.rsplit(" ", 1)
    return f"{parts[1]}, {parts[0]}" if len(parts) == 2 else name


@dataclass
class Account:
    id: int
    name: str
    parent_account_id: int | None
    root_account_id: int | None
    sis_account_id: str | None = None
    integration_id: str | None = None
    sis_import_id: int | None = None
    workflow_state: str = "active"
    default_time_zone: str = "Etc/UTC"
    uuid: str = field(default_factory=_uuid)
    created_by_sis: bool = False
    sticky: set[str] = field(default_factory=set)  # fields edited outside SIS (see sis_import)


@dataclass
class Term:
    id: int
    name: str
    sis_term_id: str | None = None
    integration_id: str | None = None
    start_at: str | None = None
    end_at: str | None = None
    workflow_state: str = "active"
    sis_import_id: int | None = None
    created_at: str = field(default_factory=now_iso)
    created_by_sis: bool = False
    sticky: set[str] = field(default_factory=set)  # fields edited outside SIS (see sis_import)


@dataclass
class User:
    id: int
    name: str
    short_name: str
    sortable_name: str
    email: str | None = None
    workflow_state: str = "registered"  # registered | pre_registered | deleted
    locale: str | None = None
    time_zone: str = "Etc/UTC"
    created_at: str = field(default_factory=now_iso)
    uuid: str = field(default_factory=_uuid)
    created_by_sis: bool = False
    sticky: set[str] = field(default_factory=set)  # fields edited outside SIS (see sis_import)


@dataclass
class Login:
    id: int
    user_id: int
    unique_id: str
    account_id: int = ROOT_ACCOUNT_ID
    sis_user_id: str | None = None
    integration_id: str | None = None
    workflow_state: str = "active"  # active | suspended | deleted
    authentication_provider_id: int | None = None
    declared_user_type: str | None = None
    sis_import_id: int | None = None
    created_at: str = field(default_factory=now_iso)
    created_by_sis: bool = False


@dataclass
class Course:
    id: int
    name: str
    course_code: str
    account_id: int
    enrollment_term_id: int
    sis_course_id: str | None = None
    integration_id: str | None = None
    workflow_state: str = "unpublished"
    start_at: str | None = None
    end_at: str | None = None
    restrict_enrollments_to_course_dates: bool = False
    time_zone: str = "Etc/UTC"
    default_view: str = "modules"
    course_format: str | None = None
    sis_import_id: int | None = None
    created_at: str = field(default_factory=now_iso)
    uuid: str = field(default_factory=_uuid)
    created_by_sis: bool = False
    sticky: set[str] = field(default_factory=set)  # fields edited outside SIS (see sis_import)


@dataclass
class Section:
    id: int
    course_id: int
    name: str
    sis_section_id: str | None = None
    integration_id: str | None = None
    nonxlist_course_id: int | None = None
    start_at: str | None = None
    end_at: str | None = None
    restrict_enrollments_to_section_dates: bool = False
    workflow_state: str = "active"  # active | deleted
    default_section: bool = False
    sis_import_id: int | None = None
    created_at: str = field(default_factory=now_iso)
    created_by_sis: bool = False
    sticky: set[str] = field(default_factory=set)  # fields edited outside SIS (see sis_import)


@dataclass
class Enrollment:
    id: int
    user_id: int
    course_id: int
    course_section_id: int
    type: str
    role_id: int
    workflow_state: str = "invited"
    limit_privileges_to_course_section: bool = False
    associated_user_id: int | None = None
    start_at: str | None = None
    end_at: str | None = None
    sis_import_id: int | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    created_by_sis: bool = False


@dataclass
class Role:
    id: int
    label: str
    base_role_type: str
    account_id: int = ROOT_ACCOUNT_ID
    workflow_state: str = "active"
    is_account_role: bool = False

    @property
    def role(self) -> str:
        return self.base_role_type if self.id == BUILTIN_ROLE_IDS.get(self.base_role_type) else self.label


# Fields Canvas makes "sticky" when they are edited outside SIS: a later SIS import leaves
# them alone unless it passes override_sis_stickiness.
STICKY_FIELDS = frozenset(
    {
        "name",
        "course_code",
        "short_name",
        "sortable_name",
        "start_at",
        "end_at",
        "account_id",
        "enrollment_term_id",
        "parent_account_id",
        "workflow_state",
    }
)


def assign_fields(obj: Any, changes: dict[str, Any], sticky: bool = False) -> None:
    if sticky and hasattr(obj, "sticky"):
        obj.sticky.update(key for key in changes if key in STICKY_FIELDS)
    for key, value in changes.items():
        if not hasattr(obj, key) or key == "id":
            raise CanvasError(
                {"errors": {key: [{"attribute": key, "type": "invalid", "message": "unknown"}]}}
            )
        setattr(obj, key, value)
