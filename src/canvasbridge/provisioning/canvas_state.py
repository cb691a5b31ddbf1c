"""What Canvas holds, read through the REST API (one object) or the provisioning report (all).

REST readers return ``None`` for an object Canvas does not have. Canvas names accounts and
terms by numeric id in course JSON; :class:`Directory` translates ids to SIS ids and back,
caching the (small, slow-changing) account tree and term list per process, so a task that
finds nothing to change makes only the reads of the object itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from canvasbridge.clients.canvas.client import (
    REPORT_FINAL_STATES,
    CanvasClient,
    sis_account,
    sis_course,
    sis_section,
    sis_user,
)
from canvasbridge.errors import NotFoundError, PermanentError
from canvasbridge.provisioning.model import (
    AccountState,
    CourseState,
    EnrollmentState,
    SectionState,
    Snapshot,
    UserState,
)
from canvasbridge.provisioning.polling import wait_until
from canvasbridge.provisioning.rules import REST_TO_SHORT

#: enrollment states read back (deleted ones are gone for every purpose)
# The provisioning report's course status → the REST API's workflow_state.
REPORT_COURSE_STATES = {"active": "available", "completed": "completed", "concluded": "completed"}
ENROLLMENT_STATES = ("active", "invited", "inactive", "completed", "creation_pending")
DIRECTORY_TTL_S = 300.0  # how long the cached account tree and term list are trusted


class Directory:
    """Canvas id ↔ SIS id for accounts and terms, cached for :data:`DIRECTORY_TTL_S`."""

    def __init__(self, canvas: CanvasClient, root_account: str | int = "self") -> None:
        self.canvas = canvas
        self.root_ref = root_account
        self._lock = threading.Lock()
        self._loaded_at = -1e18
        self.root_id: int | None = None
        self.account_sis: dict[int, str | None] = {}
        self.account_id: dict[str, int] = {}
        self.account_parent: dict[int, int | None] = {}
        self.term_sis: dict[int, str | None] = {}
        self.term_id: dict[str, int] = {}
        self.account_roles: dict[str, int] = {}  # loaded on first use only, on their own clock
        self._roles_loaded_at = -1e18

    def _load(self, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._loaded_at < DIRECTORY_TTL_S:
                return
            root = self.canvas.get(f"accounts/{self.root_ref}")
            accounts = [root, *self.canvas.paginate(f"accounts/{root['id']}/sub_accounts", recursive=True)]
            terms = list(self.canvas.paginate(f"accounts/{root['id']}/terms"))
            self.root_id = int(root["id"])
            self.account_sis = {int(a["id"]): a.get("sis_account_id") for a in accounts}
            self.account_id = {a["sis_account_id"]: int(a["id"]) for a in accounts if a.get("sis_account_id")}
            self.account_parent = {int(a["id"]): a.get("parent_account_id") for a in accounts}
            self.term_sis = {int(t["id"]): t.get("sis_term_id") for t in terms}
            self.term_id = {t["sis_term_id"]: int(t["id"]) for t in terms if t.get("sis_term_id")}
            self._loaded_at = time.monotonic()

    def invalidate(self) -> None:
        with self._lock:
            self._loaded_at = -1e18

    def root(self) -> int:
        self._load()
        assert self.root_id is not None
        return self.root_id

    def sis_of_account(self, account_id: int | None) -> str | None:
        """SIS id of a Canvas account (``None`` for the root or an account without one)."""
        if account_id is None:
            return None
        self._load()
        if account_id not in self.account_sis:
            self._load(force=True)
        return None if account_id == self.root_id else self.account_sis.get(account_id)

    def sis_of_term(self, term_id: int | None) -> str | None:
        if term_id is None:
            return None
        self._load()
        if term_id not in self.term_sis:
            self._load(force=True)
        return self.term_sis.get(term_id)

    def has_term(self, sis_term_id: str) -> bool:
        self._load()
        if sis_term_id not in self.term_id:
            self._load(force=True)
        return sis_term_id in self.term_id

    def has_account(self, sis_account_id: str) -> bool:
        self._load()
        if sis_account_id not in self.account_id:
            self._load(force=True)
        return sis_account_id in self.account_id

    def account_role_id(self, name: str) -> int | None:
        """The id of the account-level role named ``name`` (its name or label) on the root account."""
        with self._lock:
            stale = time.monotonic() - self._roles_loaded_at >= DIRECTORY_TTL_S
            if stale or name not in self.account_roles:
                roles = self.canvas.paginate(f"accounts/{self.root_ref}/roles")
                self.account_roles = {
                    str(label): int(r["id"])
                    for r in roles
                    if r.get("base_role_type") == "AccountMembership"
                    for label in (r.get("role"), r.get("label"))
                    if label
                }
                self._roles_loaded_at = time.monotonic()
            return self.account_roles.get(name)

    def note_account(self, canvas_id: int, sis_id: str | None, parent_id: int | None) -> None:
        """Record an account the service just created or moved."""
        with self._lock:
            self.account_sis[canvas_id] = sis_id
            self.account_parent[canvas_id] = parent_id
            if sis_id:
                self.account_id[sis_id] = canvas_id

    def note_term(self, canvas_id: int, sis_id: str) -> None:
        with self._lock:
            self.term_sis[canvas_id] = sis_id
            self.term_id[sis_id] = canvas_id


def _maybe(call: Any) -> Any:
    try:
        return call()
    except NotFoundError:
        return None


# ---------------------------------------------------------------------------- REST, one object


def read_user(canvas: CanvasClient, sis_user_id: str) -> UserState | None:
    """The user holding ``sis_user_id`` (2 reads: the user, then its logins)."""
    user = read_user_record(canvas, sis_user_id)
    if user is None:
        return None
    return user_from_rest(user, read_logins(canvas, user), sis_user_id)


def read_user_record(canvas: CanvasClient, sis_user_id: str) -> dict[str, Any] | None:
    """The User JSON of the user holding ``sis_user_id`` (1 read), ``None`` if there is none."""
    user = _maybe(lambda: canvas.get(f"users/{sis_user(sis_user_id)}"))
    return dict(user) if user else None


def read_logins(canvas: CanvasClient, user: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(canvas.paginate(f"users/{user['id']}/logins"))


def user_from_record(user: Mapping[str, Any], sis_user_id: str, *, suspended: bool) -> UserState:
    """What the User JSON alone shows: name, email and its SIS login's ids. It carries no
    suspension (only the logins do), so the caller says what to assume."""
    return UserState(
        sis_user_id=sis_user_id,
        login_id=str(user.get("login_id") or ""),
        name=str(user.get("name") or ""),
        email=user.get("email"),
        integration_id=user.get("integration_id"),
        suspended=suspended,
        sortable_name=user.get("sortable_name"),
        canvas_id=int(user["id"]),
    )


def user_from_rest(
    user: Mapping[str, Any], logins: Sequence[Mapping[str, Any]], sis_user_id: str
) -> UserState:
    login = next((lg for lg in logins if lg.get("sis_user_id") == sis_user_id), None) or (
        logins[0] if logins else {}
    )
    live = [lg for lg in logins if lg.get("workflow_state") != "deleted"]
    return UserState(
        sis_user_id=sis_user_id,
        login_id=str(login.get("unique_id") or user.get("login_id") or ""),
        name=str(user.get("name") or ""),
        email=user.get("email"),
        integration_id=login.get("integration_id"),
        suspended=bool(live) and all(lg.get("workflow_state") == "suspended" for lg in live),
        sortable_name=user.get("sortable_name"),
        canvas_id=int(user["id"]),
        login_canvas_id=int(login["id"]) if login.get("id") is not None else None,
    )


def read_admin_roles(canvas: CanvasClient, account_ref: str, sis_user_id: str) -> set[int] | None:
    """Role ids the user holds as an admin of the account (``None`` if the account is missing).

    ``account_ref`` is the account as Canvas takes it in a path, already quoted:
    ``sis_account(…)``, or the root account's id or ``self``.
    """
    try:
        admins = canvas.paginate(f"accounts/{account_ref}/admins", **{"user_id[]": [sis_user(sis_user_id)]})
        return {int(a["role_id"]) for a in admins if a.get("workflow_state", "active") == "active"}
    except NotFoundError:
        return None


def read_account(canvas: CanvasClient, directory: Directory, sis_account_id: str) -> AccountState | None:
    account = _maybe(lambda: canvas.get(f"accounts/{sis_account(sis_account_id)}"))
    if not account or account.get("workflow_state") == "deleted":
        return None
    parent = account.get("parent_account_id")
    return AccountState(
        sis_account_id=sis_account_id,
        name=str(account.get("name") or ""),
        parent_sis_id=directory.sis_of_account(parent),
        canvas_id=int(account["id"]),
        parent_canvas_id=parent,
    )


def course_from_rest(course: Mapping[str, Any], directory: Directory) -> CourseState:
    return CourseState(
        sis_course_id=str(course.get("sis_course_id") or ""),
        name=str(course.get("name") or ""),
        course_code=str(course.get("course_code") or ""),
        account_sis_id=directory.sis_of_account(course.get("account_id")),
        term_sis_id=directory.sis_of_term(course.get("enrollment_term_id")),
        workflow_state=str(course.get("workflow_state") or "unpublished"),
        canvas_id=int(course["id"]),
    )


def read_course(canvas: CanvasClient, directory: Directory, sis_course_id: str) -> CourseState | None:
    course = _maybe(lambda: canvas.get(f"courses/{sis_course(sis_course_id)}"))
    if not course:
        return None
    return course_from_rest(course, directory)


def read_sections(canvas: CanvasClient, course_sis_id: str) -> dict[str, SectionState]:
    """The course's sections that have a SIS id, by SIS id (empty if the course is missing)."""
    try:
        items = list(canvas.paginate(f"courses/{sis_course(course_sis_id)}/sections"))
    except NotFoundError:
        return {}
    return {
        s["sis_section_id"]: SectionState(
            s["sis_section_id"], course_sis_id, str(s.get("name") or ""), int(s["id"])
        )
        for s in items
        if s.get("sis_section_id")
    }


def read_section(canvas: CanvasClient, sis_section_id: str) -> SectionState | None:
    s = _maybe(lambda: canvas.get(f"sections/{sis_section(sis_section_id)}"))
    if not s:
        return None
    return SectionState(
        sis_section_id, str(s.get("sis_course_id") or ""), str(s.get("name") or ""), int(s["id"])
    )


def read_section_enrollments(canvas: CanvasClient, sis_section_id: str) -> list[EnrollmentState]:
    return section_enrollments(canvas, sis_section_id) or []


def section_enrollments(canvas: CanvasClient, sis_section_id: str) -> list[EnrollmentState] | None:
    """The section's enrollments; ``None`` when the section is not in Canvas."""
    try:
        items = list(
            canvas.paginate(
                f"sections/{sis_section(sis_section_id)}/enrollments", **{"state[]": list(ENROLLMENT_STATES)}
            )
        )
    except NotFoundError:
        return None
    return [e for e in (enrollment_from_rest(item) for item in items) if e is not None]


def enrollment_from_rest(item: Mapping[str, Any]) -> EnrollmentState | None:
    user = item.get("user") or {}
    user_sis = item.get("sis_user_id") or user.get("sis_user_id")
    kind = REST_TO_SHORT.get(str(item.get("type")))
    if not user_sis or kind is None:
        return None  # a user without SIS id, or a custom type: never ours
    return EnrollmentState(
        user_sis_id=str(user_sis),
        course_sis_id=str(item.get("sis_course_id") or ""),
        section_sis_id=str(item.get("sis_section_id") or ""),
        type=kind,
        state=str(item.get("enrollment_state") or "active"),
        canvas_id=int(item["id"]),
        created_by_sis=item.get("sis_import_id") is not None,
        canvas_course_id=_int(item.get("course_id")),
    )


# ---------------------------------------------------------------------------- provisioning report


REPORT_PARAMETERS = {
    "users": True,
    "accounts": True,
    "terms": True,
    "courses": True,
    "sections": True,
    "enrollments": True,
}

#: provisioning report enrollment ``role`` (or ``base_role_type``) → short type
_REPORT_ROLES = {
    "student": "student",
    "teacher": "teacher",
    "ta": "ta",
    "designer": "designer",
    "observer": "observer",
    **REST_TO_SHORT,
}


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


def _int(value: Any) -> int | None:
    if type(value) is str:  # a report's field: asked of 2-3 fields per row, 250,000 rows
        if value.isascii() and value.isdigit():
            return int(value)
        if not value:
            return None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _file(files: Mapping[str, list[dict[str, str]]], name: str) -> list[dict[str, str]]:
    for key, rows in files.items():
        if key.rsplit("/", 1)[-1].lower().startswith(name):
            return rows
    return []


def read_snapshot(
    canvas: CanvasClient, root_account: str | int = "self", *, poll_s: float = 1.0, timeout_s: float = 3600.0
) -> tuple[Snapshot, dict[str, Any]]:
    """All of Canvas (with SIS ids) from one provisioning report, and facts used when
    writing (which terms exist). Costs 2 calls plus a few status polls (:mod:`.polling`)."""
    report = "provisioning_csv"
    started = canvas.start_report(report, account_id=root_account, **REPORT_PARAMETERS)
    final: Mapping[str, Any] = started
    if started.get("status") not in REPORT_FINAL_STATES:
        final = wait_until(
            lambda: canvas.report_status(report, int(started["id"]), account_id=root_account),
            lambda state: state.get("status") in REPORT_FINAL_STATES,
            what=f"provisioning report {started['id']}",
            first_s=poll_s,
            timeout_s=timeout_s,
        )
    if final.get("status") != "complete":
        raise PermanentError(f"provisioning report {started['id']} ended as {final.get('status')!r}")
    return snapshot_from_report(canvas.download_report(dict(final)))


def snapshot_from_report(files: Mapping[str, list[dict[str, str]]]) -> tuple[Snapshot, dict[str, Any]]:
    snap = Snapshot()
    account_sis: dict[int, str | None] = {}
    for row in _file(files, "accounts"):
        cid = _int(row.get("canvas_account_id"))
        if cid is not None:
            account_sis[cid] = row.get("account_id") or None
    for row in _file(files, "accounts"):
        sis = row.get("account_id")
        if not sis or row.get("status") == "deleted":
            continue
        parent_cid = _int(row.get("canvas_parent_id"))
        snap.accounts[sis] = AccountState(
            sis,
            row.get("name", ""),
            row.get("parent_account_id") or account_sis.get(parent_cid or -1) or None,
            canvas_id=_int(row.get("canvas_account_id")),
            parent_canvas_id=parent_cid,
        )
    terms = {
        row["term_id"]
        for row in _file(files, "terms")
        if row.get("term_id") and row.get("status") != "deleted"
    }
    for row in _file(files, "users"):
        sis = row.get("user_id")
        if not sis or row.get("status") == "deleted":
            continue
        snap.users[sis] = UserState(
            sis_user_id=sis,
            login_id=row.get("login_id", ""),
            name=row.get("full_name")
            or " ".join(p for p in (row.get("first_name"), row.get("last_name")) if p),
            email=row.get("email") or None,
            integration_id=row.get("integration_id") or None,
            suspended=row.get("status") == "suspended",
            sortable_name=row.get("sortable_name") or None,
            canvas_id=_int(row.get("canvas_user_id")),
        )
    for row in _file(files, "courses"):
        sis = row.get("course_id")
        if not sis or row.get("status") == "deleted":
            continue
        snap.courses[sis] = CourseState(
            sis_course_id=sis,
            name=row.get("long_name", ""),
            course_code=row.get("short_name", ""),
            account_sis_id=row.get("account_id") or None,
            term_sis_id=row.get("term_id") or None,
            workflow_state=REPORT_COURSE_STATES.get(
                row.get("status", ""), row.get("status") or "unpublished"
            ),
            canvas_id=_int(row.get("canvas_course_id")),
        )
    for row in _file(files, "sections"):
        sis = row.get("section_id")
        if not sis or row.get("status") == "deleted":
            continue
        snap.sections[sis] = SectionState(
            sis, row.get("course_id", ""), row.get("name", ""), _int(row.get("canvas_section_id"))
        )
    for row in _file(files, "enrollments"):
        kind = _REPORT_ROLES.get(row.get("role", "")) or _REPORT_ROLES.get(row.get("base_role_type", ""))
        user, section = row.get("user_id"), row.get("section_id")
        if not user or not section or kind is None or row.get("status") == "deleted":
            continue
        state = row.get("status") or "active"
        state = {"concluded": "completed"}.get(state, state)
        snap.add_enrollment(
            EnrollmentState(
                user,
                row.get("course_id", ""),
                section,
                kind,
                state,
                canvas_id=_int(row.get("canvas_enrollment_id")),
                created_by_sis=_truthy(row.get("created_by_sis")),
                canvas_course_id=_int(row.get("canvas_course_id")),
            )
        )
    return snap, {"terms": terms}
