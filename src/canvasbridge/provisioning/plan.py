"""Planning: compare desired with current state and list the operations that close the gap.

Pure functions, no I/O: the tasks, ``canvasbridge sync --dry-run`` and the full resync all
plan with them, then hand the :class:`Plan` to an executor (:mod:`.rest` or :mod:`.bulk`).

Safety rules live here:

* enrollments are *concluded*, never deleted (grades survive); users are *suspended*, never
  deleted; courses and sections that leave FS are left alone;
* only objects the service owns are changed or ended (:class:`Ownership`): a SIS id of the
  shape a configured template produces, or an object Canvas says a SIS import created;
* :meth:`Plan.check_safety` stops a plan whose destructive operations exceed the configured
  count or share of the managed objects of a kind, unless forced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from canvasbridge.errors import PermanentError
from canvasbridge.provisioning.model import (
    LIVE_STATES,
    AccountState,
    CourseState,
    EnrollmentState,
    SectionState,
    Snapshot,
    UserState,
)
from canvasbridge.provisioning.naming import Template
from canvasbridge.provisioning.settings import ProvisioningSettings

DESTRUCTIVE_ACTIONS = frozenset({"suspend", "conclude"})
#: Order operations run in: parents before children, creations before what refers to them.
KIND_ORDER = ("account", "user", "course", "section", "enrollment")
ACTION_ORDER = ("create", "move", "update", "unsuspend", "reactivate", "suspend", "conclude")
#: the state class an operation of each kind carries as ``current`` and ``desired``
STATE_TYPES: dict[str, type[Any]] = {
    "account": AccountState,
    "user": UserState,
    "course": CourseState,
    "section": SectionState,
    "enrollment": EnrollmentState,
}


@dataclass(frozen=True)
class Operation:
    """One planned change. ``changes`` maps field → new value (all fields for a create)."""

    kind: str
    action: str
    key: str
    changes: Mapping[str, Any] = field(default_factory=dict)
    current: Any = None
    desired: Any = None

    @property
    def destructive(self) -> bool:
        return self.action in DESTRUCTIVE_ACTIONS

    def describe(self) -> str:
        if self.action == "create" or not self.changes:
            return f"{self.action} {self.kind} {self.key}"
        parts = []
        for name, new in self.changes.items():
            old = getattr(self.current, name, None) if self.current is not None else None
            parts.append(f"{name} {old!r} → {new!r}")
        return f"{self.action} {self.kind} {self.key}: " + ", ".join(parts)

    def to_params(self) -> dict[str, Any]:
        """The operation as JSON-serialisable task parameters; :meth:`from_params` reverses it."""
        return {
            "kind": self.kind,
            "action": self.action,
            "key": self.key,
            "changes": dict(self.changes),
            "current": None if self.current is None else asdict(self.current),
            "desired": None if self.desired is None else asdict(self.desired),
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Operation:
        """The operation :meth:`to_params` described; :class:`PermanentError` if it is not one."""
        kind = str(params.get("kind"))
        state = STATE_TYPES.get(kind)
        if state is None:
            raise PermanentError(f"not an operation: unknown kind {kind!r} (known: {', '.join(STATE_TYPES)})")
        names = {f.name for f in fields(state)}

        def load(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, Mapping) or not set(value) <= names:
                raise PermanentError(f"not an operation: {value!r} is not a {state.__name__}")
            try:
                return state(**value)
            except TypeError as exc:
                raise PermanentError(f"not an operation: {exc}") from None

        action, key, changes = params.get("action"), params.get("key"), params.get("changes") or {}
        if not isinstance(action, str) or not isinstance(key, str) or not isinstance(changes, Mapping):
            raise PermanentError(f"not an operation: action {action!r}, key {key!r}, changes {changes!r}")
        return cls(
            kind,
            action,
            key,
            dict(changes),
            load(params.get("current")),
            load(params.get("desired")),
        )


NAMED_IN_SAFETY_STOP = 10  # objects a safety stop names per kind; the rest are counted


class SafetyStop(PermanentError):
    """A plan wants to end more objects than the safety settings allow."""


@dataclass
class Plan:
    operations: list[Operation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # things seen but deliberately left alone

    def extend(self, ops: Iterable[Operation]) -> None:
        self.operations.extend(ops)

    def ordered(self) -> list[Operation]:
        return sorted(
            self.operations, key=lambda op: (KIND_ORDER.index(op.kind), ACTION_ORDER.index(op.action))
        )

    def summary(self) -> dict[str, dict[str, int]]:
        """``{kind: {action: count}}`` for every kind and action that occurs."""
        table: dict[str, Counter[str]] = {}
        for op in self.operations:
            table.setdefault(op.kind, Counter())[op.action] += 1
        return {kind: dict(counts) for kind, counts in table.items()}

    def writes(self) -> int:
        return len(self.operations)

    def destructive_counts(self) -> Counter[str]:
        return Counter(op.kind for op in self.operations if op.destructive)

    def check_safety(
        self, managed: Mapping[str, int], settings: ProvisioningSettings, *, force: bool
    ) -> None:
        """Raise :class:`SafetyStop` if, for some kind, the destructive operations exceed
        ``safety.max_destructive`` *and* ``safety.max_destructive_share`` of ``managed[kind]``."""
        if force:
            return
        limits = settings.safety
        problems = []
        for kind, count in sorted(self.destructive_counts().items()):
            total = max(managed.get(kind, 0), 1)
            share = count / total
            if count > limits.max_destructive and share > limits.max_destructive_share:
                problems.append(f"{count} {kind} ({share:.0%} of {total} managed: {self._ending(kind)})")
        if problems:
            raise SafetyStop(
                "planned suspensions/conclusions exceed the safety limits "
                f"(max {limits.max_destructive} and {limits.max_destructive_share:.0%} per kind): "
                + "; ".join(problems)
                + ". Check the sources, then re-run with --force if this is intended."
            )

    def _ending(self, kind: str) -> str:
        """The first :data:`NAMED_IN_SAFETY_STOP` destructive operations on ``kind``, named."""
        ending = [f"{op.action} {op.key}" for op in self.ordered() if op.kind == kind and op.destructive]
        named = ", ".join(ending[:NAMED_IN_SAFETY_STOP])
        more = len(ending) - NAMED_IN_SAFETY_STOP
        return f"{named} and {more} more" if more > 0 else named


class Ownership:
    """Which Canvas objects the service manages, from the configured templates."""

    def __init__(self, settings: ProvisioningSettings) -> None:
        users, courses = settings.users, settings.courses
        self._user = Template(users.sis_user_id, "user")
        self._account = Template(settings.accounts.sis_account_id, "account_sis")
        self._courses = [
            Template(courses.course_sis_id, "unit"),
            Template(courses.activity_course_sis_id, "activity"),
        ]
        self._sections = [
            Template(courses.unit_section_sis_id, "unit"),
            Template(courses.activity_section_sis_id, "activity"),
        ]
        self.excluded = frozenset(users.exclude)
        self.enrollment_types = frozenset({"student", *settings.roles.enrollments.values()})

    def user(self, user: UserState) -> bool:
        return self._user.owns(user.sis_user_id) and not self.is_excluded(user)

    def is_excluded(self, user: UserState) -> bool:
        return user.sis_user_id in self.excluded or user.login_id in self.excluded

    def account(self, account: AccountState) -> bool:
        return self._account.owns(account.sis_account_id)

    def course(self, course: CourseState) -> bool:
        return any(t.owns(course.sis_course_id) for t in self._courses)

    def section(self, section: SectionState | str) -> bool:
        sis = section if isinstance(section, str) else section.sis_section_id
        return any(t.owns(sis) for t in self._sections)

    def enrollment(self, enrollment: EnrollmentState) -> bool:
        if enrollment.type not in self.enrollment_types or enrollment.user_sis_id in self.excluded:
            return False
        return enrollment.created_by_sis or (
            self.section(enrollment.section_sis_id) and self._user.owns(enrollment.user_sis_id)
        )


# ---------------------------------------------------------------------------- per object

_USER_FIELDS = ("name", "email")
_LOGIN_FIELDS = ("login_id", "integration_id")


def plan_user(desired: UserState | None, current: UserState | None, ownership: Ownership) -> list[Operation]:
    """Create, update, suspend or unsuspend one user; ``desired=None`` means "should not be active"."""
    if desired is not None and ownership.is_excluded(desired):
        return []
    if current is not None and not ownership.user(current):
        return []
    if desired is None:
        if current is None or current.suspended:
            return []
        return [Operation("user", "suspend", current.sis_user_id, {"suspended": True}, current)]
    if current is None:
        ops = [
            Operation(
                "user",
                "create",
                desired.sis_user_id,
                _fields(desired, _USER_FIELDS + _LOGIN_FIELDS),
                None,
                desired,
            )
        ]
        if desired.suspended:
            ops.append(Operation("user", "suspend", desired.sis_user_id, {"suspended": True}, None, desired))
        return ops
    ops = []
    changes = _diff(desired, current, _USER_FIELDS, skip_none=("email",))
    action = "update"
    if desired.suspended != current.suspended:
        changes["suspended"] = desired.suspended
        action = "suspend" if desired.suspended else "unsuspend"
    if changes:
        ops.append(Operation("user", action, desired.sis_user_id, changes, current, desired))
    login_changes = _diff(desired, current, _LOGIN_FIELDS, skip_none=("integration_id",))
    if login_changes:
        ops.append(
            Operation("user", "update", desired.sis_user_id, {"login": login_changes}, current, desired)
        )
    return ops


def plan_account(
    desired: AccountState, current: AccountState | None, ownership: Ownership
) -> list[Operation]:
    if current is None:
        return [
            Operation(
                "account",
                "create",
                desired.sis_account_id,
                _fields(desired, ("name", "parent_sis_id")),
                None,
                desired,
            )
        ]
    if not ownership.account(current):
        return []
    ops = []
    if desired.parent_sis_id != current.parent_sis_id:
        ops.append(
            Operation(
                "account",
                "move",
                desired.sis_account_id,
                {"parent_sis_id": desired.parent_sis_id},
                current,
                desired,
            )
        )
    changes = _diff(desired, current, ("name",))
    if changes:
        ops.append(Operation("account", "update", desired.sis_account_id, changes, current, desired))
    return ops


_COURSE_FIELDS = ("name", "course_code", "term_sis_id")


def plan_course(desired: CourseState, current: CourseState | None, ownership: Ownership) -> list[Operation]:
    if current is None or current.workflow_state == "deleted":
        fields = _fields(desired, (*_COURSE_FIELDS, "account_sis_id", "workflow_state"))
        return [Operation("course", "create", desired.sis_course_id, fields, current, desired)]
    if not ownership.course(current):
        return []
    ops = []
    if desired.account_sis_id != current.account_sis_id:
        ops.append(
            Operation(
                "course",
                "move",
                desired.sis_course_id,
                {"account_sis_id": desired.account_sis_id},
                current,
                desired,
            )
        )
    changes = _diff(desired, current, _COURSE_FIELDS, skip_none=("term_sis_id",))
    if changes:
        ops.append(Operation("course", "update", desired.sis_course_id, changes, current, desired))
    return ops


def plan_section(
    desired: SectionState, current: SectionState | None, ownership: Ownership
) -> list[Operation]:
    if current is None:
        return [
            Operation(
                "section",
                "create",
                desired.sis_section_id,
                _fields(desired, ("name", "course_sis_id")),
                None,
                desired,
            )
        ]
    if not ownership.section(current):
        return []
    changes = _diff(desired, current, ("name",))
    return (
        [Operation("section", "update", desired.sis_section_id, changes, current, desired)] if changes else []
    )


def plan_enrollments(
    desired: Mapping[tuple[str, str, str], EnrollmentState],
    current: Iterable[EnrollmentState],
    ownership: Ownership,
) -> list[Operation]:
    """Add the missing, reactivate the inactive, conclude the owned ones no longer desired.

    A changed role is a new enrollment of the new type plus a conclusion of the old one
    (Canvas cannot change an enrollment's type in place).
    """
    ops: list[Operation] = []
    by_key: dict[tuple[str, str, str], list[EnrollmentState]] = {}
    for enrollment in current:
        by_key.setdefault(enrollment.key, []).append(enrollment)
    for key, want in desired.items():
        inactive = None
        for e in by_key.get(key, ()):  # a plain loop: this runs for every enrollment desired
            if e.state in LIVE_STATES:
                break
            if inactive is None and e.state == "inactive":
                inactive = e
        else:  # none live
            label = _enrollment_label(want)
            if inactive is not None:
                ops.append(Operation("enrollment", "reactivate", label, {"state": "active"}, inactive, want))
            else:
                ops.append(Operation("enrollment", "create", label, {"type": want.type}, None, want))
    for key, have in by_key.items():
        if key in desired:
            continue
        for enrollment in have:
            if enrollment.state in LIVE_STATES and ownership.enrollment(enrollment):
                label = _enrollment_label(enrollment)
                ops.append(Operation("enrollment", "conclude", label, {"state": "completed"}, enrollment))
    return ops


# ---------------------------------------------------------------------------- whole snapshots


def plan_snapshot(
    desired: Snapshot,
    current: Snapshot,
    ownership: Ownership,
    kinds: Iterable[str] = ("users", "accounts", "courses", "sections", "enrollments"),
) -> Plan:
    """The plan that brings ``current`` to ``desired`` for the given kinds.

    Users the service owns but the sources no longer want active are suspended; enrollments
    are managed only inside desired courses; courses, sections and accounts that left the
    sources are noted, not touched.
    """
    kinds = set(kinds)
    plan = Plan()
    if "accounts" in kinds:
        for sis, want in _parents_first(desired.accounts):
            plan.extend(plan_account(want, current.accounts.get(sis), ownership))
    if "users" in kinds:
        for sis, user in desired.users.items():
            plan.extend(plan_user(user, current.users.get(sis), ownership))
        for sis, existing in current.users.items():
            if sis not in desired.users:
                plan.extend(plan_user(None, existing, ownership))
    if "courses" in kinds:
        for sis, course in desired.courses.items():
            plan.extend(plan_course(course, current.courses.get(sis), ownership))
        orphans = [s for s, c in current.courses.items() if s not in desired.courses and ownership.course(c)]
        if orphans:
            plan.notes.append(f"{len(orphans)} managed course(s) no longer in FS were left alone")
    if "sections" in kinds:
        for sis, section in desired.sections.items():
            plan.extend(plan_section(section, current.sections.get(sis), ownership))
    if "enrollments" in kinds:
        in_scope = set(desired.courses)
        existing_enrollments = [e for e in current.enrollments.values() if e.course_sis_id in in_scope]
        plan.extend(plan_enrollments(desired.enrollments, existing_enrollments, ownership))
    return plan


def managed_counts(current: Snapshot, ownership: Ownership) -> dict[str, int]:
    """How many objects of each kind in ``current`` the service manages (for safety shares)."""
    return {
        "user": sum(1 for u in current.users.values() if ownership.user(u) and not u.suspended),
        "account": sum(1 for a in current.accounts.values() if ownership.account(a)),
        "course": sum(1 for c in current.courses.values() if ownership.course(c)),
        "section": sum(1 for s in current.sections.values() if ownership.section(s)),
        "enrollment": sum(
            1 for e in current.enrollments.values() if e.state in LIVE_STATES and ownership.enrollment(e)
        ),
    }


# ---------------------------------------------------------------------------- helpers


def _fields(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def _diff(desired: Any, current: Any, names: Iterable[str], skip_none: Iterable[str] = ()) -> dict[str, Any]:
    skip = set(skip_none)
    changes = {}
    for name in names:
        want = getattr(desired, name)
        if want is None and name in skip:
            continue
        if want != getattr(current, name):
            changes[name] = want
    return changes


def _enrollment_label(enrollment: EnrollmentState) -> str:
    return f"{enrollment.type} {enrollment.user_sis_id} in {enrollment.section_sis_id}"


def _parents_first(accounts: Mapping[str, AccountState]) -> list[tuple[str, AccountState]]:
    """Accounts ordered so that every parent comes before its children."""
    ordered: list[tuple[str, AccountState]] = []
    seen: set[str] = set()

    def visit(sis: str, trail: frozenset[str]) -> None:
        if sis in seen or sis in trail:
            return
        account = accounts[sis]
        parent = account.parent_sis_id
        if parent is not None and parent in accounts:
            visit(parent, trail | {sis})
        seen.add(sis)
        ordered.append((sis, account))

    for sis in accounts:
        visit(sis, frozenset())
    return ordered
