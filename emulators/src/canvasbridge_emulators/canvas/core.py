"""The model's core: its state, lock, id counters, SIS-id indexes and snapshots.

Every resource mixin (accounts, users, courses, enrollments, ...) subclasses
:class:`ModelCore` and works on ``self._s`` under ``self._lock``.
"""

from __future__ import annotations

import pickle
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from canvasbridge_emulators.canvas.admins import AccountUser
from canvasbridge_emulators.canvas.content import ContentState
from canvasbridge_emulators.canvas.exceptions import ResourceNotFound, ValidationFailed
from canvasbridge_emulators.canvas.objects import (
    BUILTIN_ROLE_IDS,
    DEFAULT_ROOT_NAME,
    DEFAULT_TERM_ID,
    FIRST_CUSTOM_ROLE_ID,
    ROOT_ACCOUNT_ID,
    Account,
    Course,
    Enrollment,
    Login,
    Role,
    Section,
    Term,
    User,
)

T = TypeVar("T")
M = TypeVar("M", bound="ModelCore")


class ModelState:
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
        # tuples, not lists: one per enrollment, and the collector soon stops tracking a tuple of ints
        self.section_user: dict[tuple[int, int], tuple[int, ...]] = {}
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


class ModelCore:
    """The state of one emulated Canvas root account, and the helpers every resource uses."""

    _s: ModelState
    _lock: threading.RLock

    def __init__(self, root_account_name: str = DEFAULT_ROOT_NAME) -> None:
        self._lock = threading.RLock()
        self._root_name = root_account_name
        self._s = ModelState(root_account_name)

    # ------------------------------------------------------------------ housekeeping
    @property
    def lock(self) -> threading.RLock:
        """The model's lock; hold it to make several calls atomic."""
        return self._lock

    def clear(self) -> None:
        """Forget everything but the root account, the default term and the built-in roles."""
        with self._lock:
            self._s = ModelState(self._root_name)

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

    def sizes(self) -> dict[str, int]:
        """How many objects of each kind the model holds, in any state (no walk: cheap)."""
        with self._lock:
            s = self._s
            return {
                "accounts": len(s.accounts),
                "terms": len(s.terms),
                "users": len(s.users),
                "logins": len(s.logins),
                "courses": len(s.courses),
                "sections": len(s.sections),
                "enrollments": len(s.enrollments),
            }

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

    def transaction(self: M, fn: Callable[[M], T]) -> T:
        """Run ``fn(model)`` holding the lock, so no request sees a half-made change."""
        with self._lock:
            return fn(self)
