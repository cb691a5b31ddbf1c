"""The Canvas emulator's state and rules: plain Python, thread-safe, no HTTP.

:class:`CanvasModel` holds one root account (id 1, with its "Default Term") and
everything under it. Tests and other emulators seed it, change it behind the
service's back ("drift") and inspect it directly; the HTTP layer
(``responses.py``) calls the same methods. Rules that Canvas enforces (unique
logins and SIS ids, the sub-account 409, the section-with-enrollments 400, the
enrollment state machine, ...) live here and raise the errors of
``exceptions.py``, so a rule behaves the same whether it is reached over HTTP,
from a SIS import or from a test.

Objects are dataclasses returned by reference; treat them as read-only and change
state through the model's methods (they keep the SIS-id indexes right).
"""

from __future__ import annotations

import pickle
import threading
import time
import uuid as uuidlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from canvasbridge_emulators.canvas.admins import AccountAdmins, AccountUser
from canvasbridge_emulators.canvas.content import ContentState, CourseContent
from canvasbridge_emulators.canvas.exceptions import (
    BadRequest,
    CanvasError,
    ReactivateError,
    ResourceNotFound,
    Unauthorized,
    ValidationFailed,
)

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

T = TypeVar("T")


_clock_cache: list[Any] = [-1, ""]


def now_iso() -> str:
    """The current UTC time as Canvas writes it, to the second (cached per second)."""
    second = int(time.time())
    if second != _clock_cache[0]:
        _clock_cache[1] = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _clock_cache[0] = second
    return str(_clock_cache[1])


def _uuid() -> str:
    return uuidlib.uuid4().hex[:20] + uuidlib.uuid4().hex[:20]


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


class _State:
    """Everything the model holds; swapped whole on reset and restore."""

    def __init__(self, root_name: str) -> None:
        self.next_id: Counter[str] = Counter()
        self.version = 0  # grows with every creation and every user/login change (list caches)
        self.accounts: dict[int, Account] = {}
        self.terms: dict[int, Term] = {}
        self.users: dict[int, User] = {}
        self.logins: dict[int, Login] = {}
        self.courses: dict[int, Course] = {}
        self.sections: dict[int, Section] = {}
        self.enrollments: dict[int, Enrollment] = {}
        self.roles: dict[int, Role] = {}
        self.admins: dict[int, AccountUser] = {}
        # indexes: SIS and integration ids, unique_id (lower case), children
        self.sis: dict[str, dict[str, int]] = {
            "account": {},
            "term": {},
            "course": {},
            "section": {},
            "login": {},
        }
        self.integration: dict[str, dict[str, int]] = {
            "account": {},
            "term": {},
            "course": {},
            "section": {},
            "login": {},
        }
        self.unique_ids: dict[str, int] = {}
        self.user_logins: dict[int, list[int]] = {}
        self.course_sections: dict[int, list[int]] = {}
        self.section_enrollments: dict[int, list[int]] = {}
        self.user_enrollments: dict[int, list[int]] = {}
        self.section_user: dict[tuple[int, int], list[int]] = {}
        # records kept for the SIS import and report endpoints (plain dicts)
        self.sis_imports: dict[int, dict[str, Any]] = {}
        self.diffing_sets: dict[str, tuple[int, dict[str, dict[tuple[str, ...], dict[str, str]]]]] = {}
        self.reports: dict[int, dict[str, Any]] = {}
        self.files: dict[int, tuple[str, str, bytes]] = {}
        self.content = ContentState()
        self.accounts[ROOT_ACCOUNT_ID] = Account(ROOT_ACCOUNT_ID, root_name, None, None)
        self.next_id["account"] = ROOT_ACCOUNT_ID
        self.terms[DEFAULT_TERM_ID] = Term(DEFAULT_TERM_ID, "Default Term")
        self.next_id["term"] = DEFAULT_TERM_ID
        for base, role_id in BUILTIN_ROLE_IDS.items():
            self.roles[role_id] = Role(role_id, base, base, is_account_role=base == "AccountAdmin")
        self.next_id["role"] = FIRST_CUSTOM_ROLE_ID - 1


class CanvasModel(CourseContent, AccountAdmins):
    """The state of one emulated Canvas root account. See the package docstring for the API.

    Course content (assignments, quizzes, discussions, pages, submissions) comes from
    :class:`~canvasbridge_emulators.canvas.content.CourseContent`, account admins from
    :class:`~canvasbridge_emulators.canvas.admins.AccountAdmins`."""

    _s: _State
    _lock: threading.RLock

    def __init__(self, root_account_name: str = DEFAULT_ROOT_NAME) -> None:
        self._lock = threading.RLock()
        self._root_name = root_account_name
        self._s = _State(root_account_name)

    # ------------------------------------------------------------------ housekeeping
    @property
    def lock(self) -> threading.RLock:
        """The model's lock; hold it to make several calls atomic."""
        return self._lock

    def clear(self) -> None:
        """Forget everything but the root account, the default term and the built-in roles."""
        with self._lock:
            self._s = _State(self._root_name)

    def snapshot(self) -> bytes:
        """The whole state, frozen (pickled: several times faster than a deep copy), for :meth:`restore`."""
        with self._lock:
            return pickle.dumps(self._s, protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, snapshot: bytes) -> None:
        state = pickle.loads(snapshot)  # noqa: S301 (our own snapshot)
        with self._lock:
            self._s = state

    @property
    def version(self) -> tuple[int, int]:
        """A value that changes whenever objects are created or users/logins change."""
        return (id(self._s), self._s.version)

    def _new_id(self, kind: str) -> int:
        self._s.version += 1
        self._s.next_id[kind] += 1
        return self._s.next_id[kind]

    def counts(self) -> dict[str, Any]:
        """Object counts, with a break-down by workflow state where Canvas has one."""
        with self._lock:
            s = self._s

            def by_state(objs: Iterable[Any]) -> dict[str, int]:
                return dict(Counter(o.workflow_state for o in objs))

            return {
                "accounts": len(s.accounts),
                "terms": len(s.terms),
                "users": len(s.users),
                "logins": len(s.logins),
                "logins_by_state": by_state(s.logins.values()),
                "courses": len(s.courses),
                "courses_by_state": by_state(s.courses.values()),
                "sections": len(s.sections),
                "enrollments": len(s.enrollments),
                "enrollments_by_state": by_state(s.enrollments.values()),
                "enrollments_by_type": dict(Counter(e.type for e in s.enrollments.values())),
                "roles": len(s.roles),
                "admins": sum(1 for a in s.admins.values() if a.workflow_state == "active"),
                "assignments": len(s.content.assignments),
                "quizzes": len(s.content.quizzes),
                "discussion_topics": len(s.content.discussion_topics),
                "pages": len(s.content.pages),
                "submissions": len(s.content.submissions),
                "sis_imports": len(s.sis_imports),
                "reports": len(s.reports),
            }

    # ------------------------------------------------------------------ index helpers
    def _claim(self, index: str, kind: str, value: str | None, obj_id: int, what: str) -> None:
        if value is None or value == "":
            return
        table = self._s.sis[kind] if index == "sis" else self._s.integration[kind]
        owner = table.get(value)
        if owner is not None and owner != obj_id:
            if index == "sis":
                raise ValidationFailed(what, "taken", f'SIS ID "{value}" is already in use')
            raise ValidationFailed(what, "taken", f'Integration ID "{value}" is already in use')

    def _reindex(self, index: str, kind: str, old: str | None, new: str | None, obj_id: int) -> None:
        table = self._s.sis[kind] if index == "sis" else self._s.integration[kind]
        if old and table.get(old) == obj_id:
            del table[old]
        if new:
            table[new] = obj_id

    @staticmethod
    def _get(table: Mapping[int, T], obj_id: int | None) -> T:
        if obj_id is None:
            raise ResourceNotFound()
        obj = table.get(obj_id)
        if obj is None:
            raise ResourceNotFound()
        return obj

    # ------------------------------------------------------------------ accounts
    @property
    def root_account(self) -> Account:
        return self._s.accounts[ROOT_ACCOUNT_ID]

    def add_account(
        self,
        name: str,
        *,
        parent_id: int = ROOT_ACCOUNT_ID,
        sis_account_id: str | None = None,
        integration_id: str | None = None,
        sis_import_id: int | None = None,
    ) -> Account:
        with self._lock:
            self._get(self._s.accounts, parent_id)
            self._claim("sis", "account", sis_account_id, -1, "sis_account_id")
            self._claim("integration", "account", integration_id, -1, "integration_id")
            account = Account(
                self._new_id("account"),
                name,
                parent_id,
                ROOT_ACCOUNT_ID,
                sis_account_id=sis_account_id or None,
                integration_id=integration_id or None,
                sis_import_id=sis_import_id,
                created_by_sis=sis_import_id is not None,
            )
            self._s.accounts[account.id] = account
            self._reindex("sis", "account", None, account.sis_account_id, account.id)
            self._reindex("integration", "account", None, account.integration_id, account.id)
            return account

    def get_account(self, account_id: int) -> Account:
        with self._lock:
            return self._get(self._s.accounts, account_id)

    def find_account_by_sis(self, sis_account_id: str) -> Account | None:
        with self._lock:
            account_id = self._s.sis["account"].get(sis_account_id)
            return self._s.accounts.get(account_id) if account_id else None

    def accounts(self, *, include_deleted: bool = False) -> list[Account]:
        with self._lock:
            return [a for a in self._s.accounts.values() if include_deleted or a.workflow_state != "deleted"]

    def sub_accounts(self, account_id: int, *, recursive: bool = False) -> list[Account]:
        with self._lock:
            children: dict[int | None, list[Account]] = {}
            for account in self._s.accounts.values():
                if account.workflow_state != "deleted":
                    children.setdefault(account.parent_account_id, []).append(account)
            out: list[Account] = []
            queue = [account_id]
            while queue:
                current = queue.pop(0)
                for child in children.get(current, []):
                    out.append(child)
                    if recursive:
                        queue.append(child.id)
            return out

    def update_account(self, account_id: int, *, sticky: bool = False, **changes: Any) -> Account:
        """Change ``name``, ``sis_account_id``, ``integration_id``, ``parent_account_id``,
        ``default_time_zone``, ``workflow_state`` or ``sis_import_id``."""
        with self._lock:
            account = self._get(self._s.accounts, account_id)
            if "sis_account_id" in changes:
                new = changes.pop("sis_account_id") or None
                self._claim("sis", "account", new, account.id, "sis_account_id")
                self._reindex("sis", "account", account.sis_account_id, new, account.id)
                account.sis_account_id = new
            if "integration_id" in changes:
                new = changes.pop("integration_id") or None
                self._claim("integration", "account", new, account.id, "integration_id")
                self._reindex("integration", "account", account.integration_id, new, account.id)
                account.integration_id = new
            if changes.get("parent_account_id") is not None:
                self._get(self._s.accounts, changes["parent_account_id"])
            _assign(account, changes, sticky)
            return account

    def delete_sub_account(self, parent_id: int, account_id: int) -> Account:
        with self._lock:
            account = self._get(self._s.accounts, account_id)
            if account.id == ROOT_ACCOUNT_ID:
                raise Unauthorized()
            if account.parent_account_id != parent_id or account.workflow_state == "deleted":
                raise ResourceNotFound()
            if self.sub_accounts(account.id):
                raise BadRequest("You can't delete a sub-account that has sub-accounts", 409)
            if any(
                c.account_id == account.id and c.workflow_state != "deleted" for c in self._s.courses.values()
            ):
                raise BadRequest("You can't delete a sub-account that has courses", 409)
            account.workflow_state = "deleted"
            self._reindex("sis", "account", account.sis_account_id, None, account.id)
            return account

    def account_chain(self, account_id: int) -> list[int]:
        """The account and its ancestors, nearest first."""
        with self._lock:
            chain: list[int] = []
            current: int | None = account_id
            while current is not None and current not in chain:
                chain.append(current)
                current = self._s.accounts[current].parent_account_id if current in self._s.accounts else None
            return chain

    # ------------------------------------------------------------------ terms
    def add_term(
        self,
        name: str,
        *,
        sis_term_id: str | None = None,
        integration_id: str | None = None,
        start_at: str | None = None,
        end_at: str | None = None,
        sis_import_id: int | None = None,
    ) -> Term:
        with self._lock:
            self._claim("sis", "term", sis_term_id, -1, "sis_term_id")
            term = Term(
                self._new_id("term"),
                name,
                sis_term_id=sis_term_id or None,
                integration_id=integration_id or None,
                start_at=start_at,
                end_at=end_at,
                sis_import_id=sis_import_id,
                created_by_sis=sis_import_id is not None,
            )
            self._s.terms[term.id] = term
            self._reindex("sis", "term", None, term.sis_term_id, term.id)
            self._reindex("integration", "term", None, term.integration_id, term.id)
            return term

    def get_term(self, term_id: int) -> Term:
        with self._lock:
            return self._get(self._s.terms, term_id)

    def find_term_by_sis(self, sis_term_id: str) -> Term | None:
        with self._lock:
            term_id = self._s.sis["term"].get(sis_term_id)
            return self._s.terms.get(term_id) if term_id else None

    def terms(self, *, include_deleted: bool = False) -> list[Term]:
        with self._lock:
            return [t for t in self._s.terms.values() if include_deleted or t.workflow_state != "deleted"]

    def update_term(self, term_id: int, *, sticky: bool = False, **changes: Any) -> Term:
        with self._lock:
            term = self._get(self._s.terms, term_id)
            if "sis_term_id" in changes:
                new = changes.pop("sis_term_id") or None
                self._claim("sis", "term", new, term.id, "sis_term_id")
                self._reindex("sis", "term", term.sis_term_id, new, term.id)
                term.sis_term_id = new
            _assign(term, changes, sticky)
            return term

    # ------------------------------------------------------------------ users and logins
    def add_user(
        self,
        name: str,
        *,
        unique_id: str | None = None,
        sis_user_id: str | None = None,
        integration_id: str | None = None,
        email: str | None = None,
        short_name: str | None = None,
        sortable_name: str | None = None,
        login_state: str = "active",
        registered: bool = True,
        sis_import_id: int | None = None,
    ) -> User:
        """A user, with a first login when ``unique_id`` is given (Canvas requires one over HTTP)."""
        with self._lock:
            if unique_id is not None:
                self._check_login_free(unique_id, sis_user_id, integration_id, -1, nest="pseudonym")
            user = User(
                self._new_id("user"),
                name,
                short_name or name,
                sortable_name or sortable_name_of(name),
                email=email,
                workflow_state="registered" if registered else "pre_registered",
                created_by_sis=sis_import_id is not None,
            )
            self._s.users[user.id] = user
            self._s.user_logins[user.id] = []
            if unique_id is not None:
                self.add_login(
                    user.id,
                    unique_id,
                    sis_user_id=sis_user_id,
                    integration_id=integration_id,
                    workflow_state=login_state,
                    sis_import_id=sis_import_id,
                )
            return user

    def _check_login_free(
        self,
        unique_id: str | None,
        sis_user_id: str | None,
        integration_id: str | None,
        login_id: int,
        nest: str | None = None,
    ) -> None:
        s = self._s
        if unique_id is not None:
            if not unique_id.strip():
                raise ValidationFailed("unique_id", "blank", "can't be blank", nest=nest)
            owner = s.unique_ids.get(unique_id.lower())
            if owner is not None and owner != login_id:
                raise ValidationFailed(
                    "unique_id",
                    "taken",
                    "ID already in use for this account and authentication provider",
                    nest=nest,
                )
        if sis_user_id:
            owner = s.sis["login"].get(sis_user_id)
            if owner is not None and owner != login_id:
                raise ValidationFailed(
                    "sis_user_id",
                    "taken",
                    f'SIS ID "{sis_user_id}" is already in use by another login',
                    nest=nest,
                )
        if integration_id:
            owner = s.integration["login"].get(integration_id)
            if owner is not None and owner != login_id:
                raise ValidationFailed(
                    "integration_id",
                    "taken",
                    f'Integration ID "{integration_id}" is already in use',
                    nest=nest,
                )

    def get_user(self, user_id: int) -> User:
        with self._lock:
            return self._get(self._s.users, user_id)

    def users(self, *, include_deleted: bool = False) -> list[User]:
        with self._lock:
            return [u for u in self._s.users.values() if include_deleted or u.workflow_state != "deleted"]

    def find_user_by_sis(self, sis_user_id: str) -> User | None:
        with self._lock:
            login_id = self._s.sis["login"].get(sis_user_id)
            return self._s.users.get(self._s.logins[login_id].user_id) if login_id else None

    def find_user_by_login(self, unique_id: str) -> User | None:
        with self._lock:
            login_id = self._s.unique_ids.get(unique_id.lower())
            return self._s.users.get(self._s.logins[login_id].user_id) if login_id else None

    def find_login_by_sis(self, sis_user_id: str) -> Login | None:
        with self._lock:
            login_id = self._s.sis["login"].get(sis_user_id)
            return self._s.logins.get(login_id) if login_id else None

    def find_user_by_integration_id(self, integration_id: str) -> User | None:
        with self._lock:
            login_id = self._s.integration["login"].get(integration_id)
            return self._s.users.get(self._s.logins[login_id].user_id) if login_id else None

    def update_user(self, user_id: int, *, sticky: bool = False, **changes: Any) -> User:
        """Change ``name``, ``short_name``, ``sortable_name``, ``email``, ``locale``, ``time_zone``."""
        self._s.version += 1
        with self._lock:
            user = self._get(self._s.users, user_id)
            _assign(user, changes, sticky)
            return user

    def suspend_user(self, user_id: int) -> list[Login]:
        """Canvas's ``user[event]=suspend``: every active login becomes suspended."""
        return self._set_all_logins(user_id, "active", "suspended")

    def unsuspend_user(self, user_id: int) -> list[Login]:
        return self._set_all_logins(user_id, "suspended", "active")

    def _set_all_logins(self, user_id: int, from_state: str, to_state: str) -> list[Login]:
        with self._lock:
            self._get(self._s.users, user_id)
            changed = []
            for login in self.logins(user_id):
                if login.workflow_state == from_state:
                    login.workflow_state = to_state
                    changed.append(login)
            return changed

    def is_suspended(self, user_id: int) -> bool:
        """True when the user has logins and none of them is active."""
        logins = self.logins(user_id)
        return bool(logins) and all(login.workflow_state == "suspended" for login in logins)

    def delete_user(self, user_id: int) -> User:
        self._s.version += 1
        with self._lock:
            user = self._get(self._s.users, user_id)
            user.workflow_state = "deleted"
            for login in self.logins(user_id):
                self._drop_login(login)
            for enrollment_id in self._s.user_enrollments.get(user_id, []):
                self._s.enrollments[enrollment_id].workflow_state = "deleted"
            return user

    def add_login(
        self,
        user_id: int,
        unique_id: str,
        *,
        sis_user_id: str | None = None,
        integration_id: str | None = None,
        workflow_state: str = "active",
        authentication_provider_id: int | None = None,
        declared_user_type: str | None = None,
        sis_import_id: int | None = None,
    ) -> Login:
        with self._lock:
            self._get(self._s.users, user_id)
            sis_user_id = sis_user_id or None
            integration_id = integration_id or None
            self._check_login_free(unique_id, sis_user_id, integration_id, -1)
            if workflow_state not in LOGIN_STATES:
                raise BadRequest("invalid workflow_state")
            login = Login(
                self._new_id("login"),
                user_id,
                unique_id,
                sis_user_id=sis_user_id,
                integration_id=integration_id,
                workflow_state=workflow_state,
                authentication_provider_id=authentication_provider_id,
                declared_user_type=declared_user_type,
                sis_import_id=sis_import_id,
                created_by_sis=sis_import_id is not None,
            )
            self._s.logins[login.id] = login
            self._s.user_logins.setdefault(user_id, []).append(login.id)
            self._s.unique_ids[unique_id.lower()] = login.id
            self._reindex("sis", "login", None, sis_user_id, login.id)
            self._reindex("integration", "login", None, integration_id, login.id)
            return login

    def get_login(self, login_id: int) -> Login:
        with self._lock:
            login = self._get(self._s.logins, login_id)
            if login.workflow_state == "deleted":
                raise ResourceNotFound()
            return login

    def logins(self, user_id: int | None = None, *, include_deleted: bool = False) -> list[Login]:
        with self._lock:
            ids = self._s.user_logins.get(user_id, []) if user_id is not None else list(self._s.logins)
            return [
                self._s.logins[i]
                for i in ids
                if include_deleted or self._s.logins[i].workflow_state != "deleted"
            ]

    def primary_login(self, user_id: int) -> Login | None:
        """The login whose ids the User JSON shows: the first with a SIS id, else the first."""
        logins = self.logins(user_id)
        for login in logins:
            if login.sis_user_id:
                return login
        return logins[0] if logins else None

    def update_login(self, login_id: int, **changes: Any) -> Login:
        """Change ``unique_id``, ``sis_user_id`` (``""`` clears), ``integration_id``,
        ``workflow_state`` (active|suspended), ``authentication_provider_id``, ``declared_user_type``."""
        self._s.version += 1
        with self._lock:
            login = self.get_login(login_id)
            if "workflow_state" in changes and changes["workflow_state"] not in LOGIN_STATES:
                raise BadRequest("invalid workflow_state")
            new_unique = changes.pop("unique_id", None)
            new_sis = changes.pop("sis_user_id", login.sis_user_id)
            new_integration = changes.pop("integration_id", login.integration_id)
            new_sis = new_sis or None
            new_integration = new_integration or None
            self._check_login_free(new_unique, new_sis, new_integration, login.id)
            if new_unique is not None:
                self._s.unique_ids.pop(login.unique_id.lower(), None)
                login.unique_id = new_unique
                self._s.unique_ids[new_unique.lower()] = login.id
            self._reindex("sis", "login", login.sis_user_id, new_sis, login.id)
            login.sis_user_id = new_sis
            self._reindex("integration", "login", login.integration_id, new_integration, login.id)
            login.integration_id = new_integration
            _assign(login, changes)
            return login

    def delete_login(self, user_id: int, login_id: int) -> Login:
        with self._lock:
            login = self.get_login(login_id)
            if login.user_id != user_id:
                raise ResourceNotFound()
            if len(self.logins(user_id)) <= 1:
                raise BadRequest("Users must have at least one login")
            self._drop_login(login)
            return login

    def _drop_login(self, login: Login) -> None:
        self._s.version += 1
        login.workflow_state = "deleted"
        if self._s.unique_ids.get(login.unique_id.lower()) == login.id:
            del self._s.unique_ids[login.unique_id.lower()]
        self._reindex("sis", "login", login.sis_user_id, None, login.id)
        self._reindex("integration", "login", login.integration_id, None, login.id)

    # ------------------------------------------------------------------ courses
    def add_course(
        self,
        name: str = "Unnamed Course",
        *,
        course_code: str | None = None,
        account_id: int = ROOT_ACCOUNT_ID,
        term_id: int | None = None,
        sis_course_id: str | None = None,
        integration_id: str | None = None,
        workflow_state: str = "unpublished",
        start_at: str | None = None,
        end_at: str | None = None,
        sis_import_id: int | None = None,
        **extra: Any,
    ) -> Course:
        with self._lock:
            self._get(self._s.accounts, account_id)
            self._get(self._s.terms, term_id or DEFAULT_TERM_ID)
            if workflow_state not in COURSE_STATES:
                raise BadRequest(f"invalid workflow_state {workflow_state!r}")
            self._claim("sis", "course", sis_course_id, -1, "sis_source_id")
            self._claim("integration", "course", integration_id, -1, "integration_id")
            course = Course(
                self._new_id("course"),
                name,
                course_code or name,
                account_id,
                term_id or DEFAULT_TERM_ID,
                sis_course_id=sis_course_id or None,
                integration_id=integration_id or None,
                workflow_state=workflow_state,
                start_at=start_at,
                end_at=end_at,
                sis_import_id=sis_import_id,
                created_by_sis=sis_import_id is not None,
            )
            _assign(course, extra)
            self._s.courses[course.id] = course
            self._s.course_sections[course.id] = []
            self._reindex("sis", "course", None, course.sis_course_id, course.id)
            self._reindex("integration", "course", None, course.integration_id, course.id)
            return course

    def get_course(self, course_id: int) -> Course:
        with self._lock:
            return self._get(self._s.courses, course_id)

    def find_course_by_sis(self, sis_course_id: str) -> Course | None:
        with self._lock:
            course_id = self._s.sis["course"].get(sis_course_id)
            return self._s.courses.get(course_id) if course_id else None

    def courses(
        self,
        account_id: int | None = None,
        *,
        recursive: bool = True,
        term_id: int | None = None,
        states: Iterable[str] | None = None,
    ) -> list[Course]:
        """Courses (not deleted unless ``states`` says so), in an account and its sub-accounts."""
        with self._lock:
            wanted = set(states) if states else {"unpublished", "available", "completed"}
            accounts: set[int] | None = None
            if account_id is not None and account_id != ROOT_ACCOUNT_ID:
                accounts = {account_id}
                if recursive:
                    accounts |= {a.id for a in self.sub_accounts(account_id, recursive=True)}
            return [
                c
                for c in self._s.courses.values()
                if c.workflow_state in wanted
                and (accounts is None or c.account_id in accounts)
                and (term_id is None or c.enrollment_term_id == term_id)
            ]

    def update_course(self, course_id: int, *, sticky: bool = False, **changes: Any) -> Course:
        """Change any Course field; ``event`` applies a ``course[event]`` (claim, offer,
        conclude, delete, undelete); ``term_id`` moves it to a term."""
        with self._lock:
            course = self._get(self._s.courses, course_id)
            event = changes.pop("event", None)
            if "term_id" in changes:
                changes["enrollment_term_id"] = changes.pop("term_id")
            if changes.get("enrollment_term_id") is not None:
                self._get(self._s.terms, changes["enrollment_term_id"])
            if changes.get("account_id") is not None:
                self._get(self._s.accounts, changes["account_id"])
            if "sis_course_id" in changes:
                new = changes.pop("sis_course_id") or None
                self._claim("sis", "course", new, course.id, "sis_source_id")
                self._reindex("sis", "course", course.sis_course_id, new, course.id)
                course.sis_course_id = new
            if "integration_id" in changes:
                new = changes.pop("integration_id") or None
                self._claim("integration", "course", new, course.id, "integration_id")
                self._reindex("integration", "course", course.integration_id, new, course.id)
                course.integration_id = new
            _assign(course, changes, sticky)
            if event is not None:
                self.course_event(course.id, event)
                if sticky:
                    course.sticky.add("workflow_state")
            return course

    def course_event(self, course_id: int, event: str) -> Course:
        with self._lock:
            course = self._get(self._s.courses, course_id)
            if event not in COURSE_EVENTS:
                raise BadRequest(f"invalid event {event!r}")
            course.workflow_state = COURSE_EVENTS[event]
            if event == "delete":
                for section_id in self._s.course_sections.get(course.id, []):
                    for enrollment_id in self._s.section_enrollments.get(section_id, []):
                        self._s.enrollments[enrollment_id].workflow_state = "deleted"
                self._reindex("sis", "course", course.sis_course_id, None, course.id)
            elif event == "undelete" and course.sis_course_id:
                self._reindex("sis", "course", None, course.sis_course_id, course.id)
            return course

    # ------------------------------------------------------------------ sections
    def add_section(
        self,
        course_id: int,
        name: str | None = None,
        *,
        sis_section_id: str | None = None,
        integration_id: str | None = None,
        start_at: str | None = None,
        end_at: str | None = None,
        restrict_enrollments_to_section_dates: bool = False,
        sis_import_id: int | None = None,
        default_section: bool = False,
    ) -> Section:
        with self._lock:
            course = self._get(self._s.courses, course_id)
            self._claim("sis", "section", sis_section_id, -1, "sis_source_id")
            self._claim("integration", "section", integration_id, -1, "integration_id")
            section = Section(
                self._new_id("section"),
                course.id,
                name or course.name,
                sis_section_id=sis_section_id or None,
                integration_id=integration_id or None,
                start_at=start_at,
                end_at=end_at,
                restrict_enrollments_to_section_dates=restrict_enrollments_to_section_dates,
                default_section=default_section,
                sis_import_id=sis_import_id,
                created_by_sis=sis_import_id is not None,
            )
            self._s.sections[section.id] = section
            self._s.course_sections.setdefault(course.id, []).append(section.id)
            self._s.section_enrollments[section.id] = []
            self._reindex("sis", "section", None, section.sis_section_id, section.id)
            self._reindex("integration", "section", None, section.integration_id, section.id)
            return section

    def get_section(self, section_id: int) -> Section:
        with self._lock:
            section = self._get(self._s.sections, section_id)
            if section.workflow_state == "deleted":
                raise ResourceNotFound()
            return section

    def find_section_by_sis(self, sis_section_id: str) -> Section | None:
        with self._lock:
            section_id = self._s.sis["section"].get(sis_section_id)
            return self._s.sections.get(section_id) if section_id else None

    def sections(self, course_id: int | None = None, *, include_deleted: bool = False) -> list[Section]:
        """Sections of a course (cross-listed ones count under the course they now sit in)."""
        with self._lock:
            ids = (
                self._s.course_sections.get(course_id, [])
                if course_id is not None
                else list(self._s.sections)
            )
            return [
                self._s.sections[i]
                for i in sorted(ids)
                if include_deleted or self._s.sections[i].workflow_state != "deleted"
            ]

    def default_section(self, course_id: int) -> Section:
        """The course's default section, made on first use as Canvas does."""
        with self._lock:
            for section in self.sections(course_id):
                if section.default_section:
                    return section
            course = self._get(self._s.courses, course_id)
            return self.add_section(course.id, course.name, default_section=True)

    def update_section(self, section_id: int, *, sticky: bool = False, **changes: Any) -> Section:
        with self._lock:
            section = self.get_section(section_id)
            if "sis_section_id" in changes:
                new = changes.pop("sis_section_id") or None
                self._claim("sis", "section", new, section.id, "sis_source_id")
                self._reindex("sis", "section", section.sis_section_id, new, section.id)
                section.sis_section_id = new
            if "integration_id" in changes:
                new = changes.pop("integration_id") or None
                self._claim("integration", "section", new, section.id, "integration_id")
                self._reindex("integration", "section", section.integration_id, new, section.id)
                section.integration_id = new
            _assign(section, changes, sticky)
            return section

    def delete_section(self, section_id: int, *, force: bool = False) -> Section:
        """Canvas refuses while the section has (non-deleted) enrollments, unless ``force``."""
        with self._lock:
            section = self.get_section(section_id)
            live = [
                self._s.enrollments[i]
                for i in self._s.section_enrollments.get(section.id, [])
                if self._s.enrollments[i].workflow_state != "deleted"
            ]
            if live and not force:
                raise BadRequest("You can't delete a section that has enrollments")
            for enrollment in live:
                enrollment.workflow_state = "deleted"
            section.workflow_state = "deleted"
            self._reindex("sis", "section", section.sis_section_id, None, section.id)
            return section

    def crosslist_section(self, section_id: int, new_course_id: int) -> Section:
        with self._lock:
            section = self.get_section(section_id)
            target = self._get(self._s.courses, new_course_id)
            if target.workflow_state == "deleted":
                raise ResourceNotFound()
            if section.course_id == target.id:
                return section
            if section.nonxlist_course_id is None:
                section.nonxlist_course_id = section.course_id
            if section.nonxlist_course_id == target.id:
                section.nonxlist_course_id = None
            self._move_section(section, target.id)
            return section

    def uncrosslist_section(self, section_id: int) -> Section:
        with self._lock:
            section = self.get_section(section_id)
            if section.nonxlist_course_id is None:
                raise BadRequest("section is not cross-listed")
            original = section.nonxlist_course_id
            section.nonxlist_course_id = None
            self._move_section(section, original)
            return section

    def move_section(self, section_id: int, course_id: int) -> Section:
        """Put a section in another course (as a SIS import does), enrollments and all."""
        with self._lock:
            section = self.get_section(section_id)
            self._get(self._s.courses, course_id)
            self._move_section(section, course_id)
            return section

    def _move_section(self, section: Section, course_id: int) -> None:
        self._s.course_sections[section.course_id].remove(section.id)
        self._s.course_sections.setdefault(course_id, []).append(section.id)
        section.course_id = course_id
        for enrollment_id in self._s.section_enrollments.get(section.id, []):
            self._s.enrollments[enrollment_id].course_id = course_id

    # ------------------------------------------------------------------ roles
    def add_role(self, label: str, base_role_type: str = "StudentEnrollment") -> Role:
        with self._lock:
            if base_role_type not in ENROLLMENT_TYPES and base_role_type != "AccountMembership":
                raise BadRequest("Base role type is invalid")
            if any(r.label == label and r.workflow_state == "active" for r in self._s.roles.values()):
                raise BadRequest("Label is already taken")
            role = Role(
                self._new_id("role"),
                label,
                base_role_type,
                is_account_role=base_role_type == "AccountMembership",
            )
            self._s.roles[role.id] = role
            return role

    def get_role(self, role_id: int) -> Role:
        with self._lock:
            return self._get(self._s.roles, role_id)

    def roles(self) -> list[Role]:
        with self._lock:
            return [r for r in self._s.roles.values() if r.workflow_state == "active"]

    def find_role(self, name: str) -> Role | None:
        """A role by label or built-in type name (``StudentEnrollment``, ``student``, ``Sensor``)."""
        simple = {"student": "StudentEnrollment", "teacher": "TeacherEnrollment", "ta": "TaEnrollment"}
        simple |= {"observer": "ObserverEnrollment", "designer": "DesignerEnrollment"}
        name = simple.get(name.lower(), name)
        with self._lock:
            if name in BUILTIN_ROLE_IDS:
                return self._s.roles[BUILTIN_ROLE_IDS[name]]
            for role in self._s.roles.values():
                if role.label == name and role.workflow_state == "active":
                    return role
            return None

    # ------------------------------------------------------------------ enrollments
    def enroll(
        self,
        user_id: int,
        *,
        course_id: int | None = None,
        section_id: int | None = None,
        type: str = "StudentEnrollment",
        state: str = "active",
        role_id: int | None = None,
        limit_privileges_to_course_section: bool = False,
        associated_user_id: int | None = None,
        start_at: str | None = None,
        end_at: str | None = None,
        sis_import_id: int | None = None,
    ) -> Enrollment:
        """Enroll a user in a section (or the course's default section).

        As in Canvas, enrolling again with the same user, section, type and role reuses
        the existing enrollment and sets its state.
        """
        with self._lock:
            s = self._s
            self._get(s.users, user_id)
            if s.users[user_id].workflow_state == "deleted":
                raise ResourceNotFound()
            role: Role | None = None
            if role_id is not None:
                role = self._get(s.roles, role_id)
                type = role.base_role_type
            if type not in ENROLLMENT_TYPES:
                raise BadRequest("Invalid type")
            if role is None:
                role = s.roles[BUILTIN_ROLE_IDS[type]]
            if state not in ENROLLMENT_STATES:
                raise BadRequest(f"Invalid enrollment_state {state!r}")
            if section_id is not None:
                section = self.get_section(section_id)
                if course_id is not None and section.course_id != course_id:
                    raise BadRequest("The specified section does not belong to this course")
            elif course_id is not None:
                section = self.default_section(course_id)
            else:
                raise BadRequest("a course or a section is needed")
            course = s.courses[section.course_id]
            if course.workflow_state == "deleted":
                raise ResourceNotFound()
            if course.workflow_state == "completed":
                raise BadRequest("Can't add an enrollment to a concluded course.")
            for enrollment_id in s.section_user.get((section.id, user_id), ()):
                existing = s.enrollments[enrollment_id]
                if (
                    existing.user_id == user_id
                    and existing.role_id == role.id
                    and existing.associated_user_id == associated_user_id
                ):
                    existing.workflow_state = state
                    existing.limit_privileges_to_course_section = limit_privileges_to_course_section
                    existing.updated_at = now_iso()
                    if sis_import_id is not None:
                        existing.sis_import_id = sis_import_id
                    return existing
            enrollment = Enrollment(
                self._new_id("enrollment"),
                user_id,
                course.id,
                section.id,
                type,
                role.id,
                workflow_state=state,
                limit_privileges_to_course_section=limit_privileges_to_course_section,
                associated_user_id=associated_user_id,
                start_at=start_at,
                end_at=end_at,
                sis_import_id=sis_import_id,
                created_by_sis=sis_import_id is not None,
            )
            s.enrollments[enrollment.id] = enrollment
            s.section_enrollments.setdefault(section.id, []).append(enrollment.id)
            s.user_enrollments.setdefault(user_id, []).append(enrollment.id)
            s.section_user.setdefault((section.id, user_id), []).append(enrollment.id)
            return enrollment

    def get_enrollment(self, enrollment_id: int) -> Enrollment:
        with self._lock:
            return self._get(self._s.enrollments, enrollment_id)

    def enrollments(
        self,
        *,
        course_id: int | None = None,
        section_id: int | None = None,
        user_id: int | None = None,
        types: Iterable[str] | None = None,
        states: Iterable[str] | None = None,
        role_ids: Iterable[int] | None = None,
        term_id: int | None = None,
    ) -> list[Enrollment]:
        """Enrollments matching every given filter, by id. ``states=None`` means all states."""
        with self._lock:
            s = self._s
            if section_id is not None:
                ids: Iterable[int] = s.section_enrollments.get(section_id, [])
            elif user_id is not None:
                ids = s.user_enrollments.get(user_id, [])
            elif course_id is not None:
                ids = [
                    i
                    for sec in s.course_sections.get(course_id, [])
                    for i in s.section_enrollments.get(sec, [])
                ]
            else:
                ids = list(s.enrollments)
            type_set = set(types) if types else None
            state_set = set(states) if states else None
            role_set = set(role_ids) if role_ids else None
            out = []
            for i in sorted(ids):
                e = s.enrollments[i]
                if course_id is not None and e.course_id != course_id:
                    continue
                if user_id is not None and e.user_id != user_id:
                    continue
                if type_set is not None and e.type not in type_set:
                    continue
                if state_set is not None and e.workflow_state not in state_set:
                    continue
                if role_set is not None and e.role_id not in role_set:
                    continue
                if term_id is not None and s.courses[e.course_id].enrollment_term_id != term_id:
                    continue
                out.append(e)
            return out

    def set_enrollment_state(self, enrollment_id: int, state: str) -> Enrollment:
        """Put an enrollment in any state (``active``, ``inactive``, ``completed``, ``deleted``...)."""
        with self._lock:
            enrollment = self._get(self._s.enrollments, enrollment_id)
            if state not in ENROLLMENT_STATES:
                raise BadRequest(f"Invalid enrollment_state {state!r}")
            enrollment.workflow_state = state
            enrollment.updated_at = now_iso()
            return enrollment

    def end_enrollment(self, enrollment_id: int, task: str = "conclude") -> Enrollment:
        """``DELETE .../enrollments/:id`` with ``task=conclude|delete|inactivate|deactivate``."""
        states = {
            "conclude": "completed",
            "delete": "deleted",
            "inactivate": "inactive",
            "deactivate": "inactive",
        }
        if task not in states:
            raise BadRequest(f"{task} is not a valid task")
        with self._lock:
            enrollment = self._get(self._s.enrollments, enrollment_id)
            if enrollment.workflow_state == "deleted":
                raise ResourceNotFound()
            return self.set_enrollment_state(enrollment_id, states[task])

    def reactivate_enrollment(self, enrollment_id: int) -> Enrollment:
        with self._lock:
            enrollment = self._get(self._s.enrollments, enrollment_id)
            if enrollment.workflow_state != "inactive":
                raise ReactivateError("enrollment not inactive")
            return self.set_enrollment_state(enrollment_id, "active")

    # ------------------------------------------------------------------ id resolution
    def resolve_account(self, ref: str | int) -> Account:
        with self._lock:
            text = str(ref)
            if text in ("self", "default"):
                return self.root_account
            account_id = self._resolve(text, "account", "sis_account_id")
            account = self._get(self._s.accounts, account_id)
            if account.workflow_state == "deleted":
                raise ResourceNotFound()
            return account

    def resolve_term(self, ref: str | int) -> Term:
        with self._lock:
            text = str(ref)
            if text in ("default", "current"):
                return self._s.terms[DEFAULT_TERM_ID]
            return self._get(self._s.terms, self._resolve(text, "term", "sis_term_id"))

    def resolve_course(self, ref: str | int) -> Course:
        with self._lock:
            return self._get(self._s.courses, self._resolve(str(ref), "course", "sis_course_id"))

    def resolve_section(self, ref: str | int) -> Section:
        with self._lock:
            section_id = self._resolve(str(ref), "section", "sis_section_id")
            return self.get_section(section_id) if section_id is not None else self.get_section(-1)

    def resolve_user(self, ref: str | int, *, self_id: int | None = None) -> User:
        """A user from ``123``, ``self``, ``sis_user_id:X``, ``sis_login_id:X`` or ``sis_integration_id:X``."""
        with self._lock:
            text = str(ref)
            if text == "self":
                return self._get(self._s.users, self_id)
            if text.isdigit():
                return self._get(self._s.users, int(text))
            prefix, _, value = text.partition(":")
            login_id: int | None = None
            if prefix == "sis_user_id":
                login_id = self._s.sis["login"].get(value)
            elif prefix == "sis_login_id":
                login_id = self._s.unique_ids.get(value.lower())
            elif prefix == "sis_integration_id":
                login_id = self._s.integration["login"].get(value)
            if login_id is None:
                raise ResourceNotFound()
            return self._get(self._s.users, self._s.logins[login_id].user_id)

    def resolve_login(self, ref: str | int) -> Login:
        with self._lock:
            text = str(ref)
            prefix, _, value = text.partition(":")
            if prefix == "sis_user_id":
                login_id = self._s.sis["login"].get(value)
            elif prefix == "sis_login_id":
                login_id = self._s.unique_ids.get(value.lower())
            else:
                login_id = int(text) if text.isdigit() else None
            return self.get_login(login_id) if login_id is not None else self.get_login(-1)

    def resolve_role(self, ref: str | int) -> Role:
        with self._lock:
            text = str(ref)
            if text.isdigit():
                return self._get(self._s.roles, int(text))
            role = self.find_role(text)
            if role is None:
                raise ResourceNotFound()
            return role

    def _resolve(self, text: str, kind: str, sis_prefix: str) -> int | None:
        if text.isdigit():
            return int(text)
        prefix, _, value = text.partition(":")
        if prefix == sis_prefix:
            return self._s.sis[kind].get(value)
        if prefix == "sis_integration_id":
            return self._s.integration[kind].get(value)
        if "~" in text:  # global id form shard~id
            shard, _, local = text.partition("~")
            return int(local) if local.isdigit() and shard.isdigit() else None
        return None

    # ------------------------------------------------------------------ records (SIS imports, reports, files)
    def add_record(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        """Store a SIS import or report record (a dict) and give it an id."""
        with self._lock:
            record["id"] = self._new_id(kind)
            self._table(kind)[record["id"]] = record
            return record

    def get_record(self, kind: str, record_id: int) -> dict[str, Any]:
        """A copy of the record, safe to serialise while a worker updates it."""
        with self._lock:
            return dict(self._get(self._table(kind), record_id))

    def records(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(record) for record in self._table(kind).values()]

    def update_record(self, kind: str, record_id: int, **changes: Any) -> dict[str, Any]:
        with self._lock:
            record = self._get(self._table(kind), record_id)
            record.update(changes)
            return dict(record)

    def _table(self, kind: str) -> dict[int, dict[str, Any]]:
        tables = {"sis_import": self._s.sis_imports, "report": self._s.reports}
        return tables[kind]

    def add_file(self, filename: str, content_type: str, data: bytes) -> int:
        with self._lock:
            file_id = self._new_id("file")
            self._s.files[file_id] = (filename, content_type, data)
            return file_id

    def get_file(self, file_id: int) -> tuple[str, str, bytes]:
        with self._lock:
            return self._get(self._s.files, file_id)

    def diffing_set(
        self, identifier: str
    ) -> tuple[int, dict[str, dict[tuple[str, ...], dict[str, str]]]] | None:
        with self._lock:
            return self._s.diffing_sets.get(identifier)

    def store_diffing_set(
        self, identifier: str, import_id: int, rows: dict[str, dict[tuple[str, ...], dict[str, str]]]
    ) -> None:
        with self._lock:
            self._s.diffing_sets[identifier] = (import_id, rows)

    # ------------------------------------------------------------------ bulk helpers
    def transaction(self, fn: Callable[[CanvasModel], T]) -> T:
        """Run ``fn(model)`` holding the lock, so no request sees a half-made change."""
        with self._lock:
            return fn(self)


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


def _assign(obj: Any, changes: dict[str, Any], sticky: bool = False) -> None:
    if sticky and hasattr(obj, "sticky"):
        obj.sticky.update(key for key in changes if key in STICKY_FIELDS)
    for key, value in changes.items():
        if not hasattr(obj, key) or key == "id":
            raise CanvasError(
                {"errors": {key: [{"attribute": key, "type": "invalid", "message": "unknown"}]}}
            )
        setattr(obj, key, value)
