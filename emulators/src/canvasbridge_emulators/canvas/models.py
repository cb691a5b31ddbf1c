"""The Canvas emulator's state and rules: plain Python, thread-safe, no HTTP.

:class:`CanvasModel` holds one root account (id 1, with its "Default Term") and
everything under it. Tests and other emulators seed it, change it behind the
service's back ("drift") and inspect it directly; the HTTP layer
(``responses.py``) calls the same methods. Rules that Canvas enforces (unique
logins and SIS ids, the sub-account 409, the section-with-enrollments 400, the
enrollment state machine, ...) live here and raise the errors of
``exceptions.py``, so a rule behaves the same whether it is reached over HTTP,
from a SIS import or from a test.

The model is put together from one mixin per resource (``accounts.py``, ``users.py``,
``courses.py``, ``enrollments.py``, ``ids.py``, ``records.py``, ``content.py``,
``admins.py``, ``audit.py``) on :class:`~canvasbridge_emulators.canvas.core.ModelCore`.

Objects are dataclasses (``objects.py``) returned by reference; treat them as read-only and change
state through the model's methods (they keep the SIS-id indexes right).
"""

from __future__ import annotations

from canvasbridge_emulators.canvas.accounts import AccountsAndTerms
from canvasbridge_emulators.canvas.admins import AccountAdmins
from canvasbridge_emulators.canvas.audit import AuditLogs
from canvasbridge_emulators.canvas.content import CourseContent
from canvasbridge_emulators.canvas.courses import CoursesAndSections
from canvasbridge_emulators.canvas.enrollments import RolesAndEnrollments
from canvasbridge_emulators.canvas.ids import IdResolution
from canvasbridge_emulators.canvas.objects import (
    BUILTIN_ROLE_IDS,
    COURSE_EVENTS,
    COURSE_STATES,
    DEFAULT_ROOT_NAME,
    DEFAULT_TERM_ID,
    ENROLLMENT_STATES,
    ENROLLMENT_TYPES,
    FIRST_CUSTOM_ROLE_ID,
    LOGIN_STATES,
    ROOT_ACCOUNT_ID,
    STICKY_FIELDS,
    Account,
    Course,
    Enrollment,
    Login,
    Role,
    Section,
    Term,
    User,
    now_iso,
    sortable_name_of,
)
from canvasbridge_emulators.canvas.records import StoredRecords
from canvasbridge_emulators.canvas.users import UsersAndLogins


class CanvasModel(
    AccountsAndTerms,
    UsersAndLogins,
    CoursesAndSections,
    RolesAndEnrollments,
    IdResolution,
    StoredRecords,
    AuditLogs,
    CourseContent,
    AccountAdmins,
):
    """The state of one emulated Canvas root account. See the package docstring for the API.

    Each base holds one resource; the state, lock and index helpers they share are
    :class:`~canvasbridge_emulators.canvas.core.ModelCore`'s."""


__all__ = [
    "BUILTIN_ROLE_IDS",
    "COURSE_EVENTS",
    "COURSE_STATES",
    "DEFAULT_ROOT_NAME",
    "DEFAULT_TERM_ID",
    "ENROLLMENT_STATES",
    "ENROLLMENT_TYPES",
    "FIRST_CUSTOM_ROLE_ID",
    "LOGIN_STATES",
    "ROOT_ACCOUNT_ID",
    "STICKY_FIELDS",
    "Account",
    "CanvasModel",
    "Course",
    "Enrollment",
    "Login",
    "Role",
    "Section",
    "Term",
    "User",
    "now_iso",
    "sortable_name_of",
]
