"""The full resync: read everything, plan the whole diff, check safety, write by REST or bulk.

    result = resync(sources, settings, kinds={"users", "courses"}, dry_run=True)
    print(result.plan.summary())

Steps:

1. *Desired state* from the sources, read at once with a bound per system (:mod:`.reads`):
   FS collections and SAP's location list once each, Cerebrum's account list once, plus the
   primary flag and quarantines per candidate user.
2. *Current state* from Canvas through one provisioning report (a handful of calls), read
   while step 1 runs.
3. *Plan* with :func:`.plan.plan_snapshot`; destructive operations are checked against the
   safety limits (:meth:`.plan.Plan.check_safety`), which stop the run unless ``force``.
4. *Write*: below ``bulk.threshold`` planned writes by REST, at or above it as one SIS import
   (:mod:`.bulk`). ``dry_run`` stops after step 3.
5. *Dead letters*: given :class:`DeadLetters`, every failed operation that can be run on its
   own (a failed REST call, a SIS import row matched to its operation) is recorded in the task
   ledger as a dead letter of ``apply_operation``, to requeue once the cause is fixed.

Users: the candidates are every person FS knows (with their username) plus every user the
service owns in Canvas; each is decided by :func:`.desired.decide_user`, its account answered
from Cerebrum's account list, in a second process where one can run (:mod:`.user_decisions`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from canvasbridge.clients.canvas.client import CanvasClient
from canvasbridge.clients.cerebrum import CerebrumClient, CerebrumSettings
from canvasbridge.clients.fs.client import FsClient
from canvasbridge.clients.fs.identifiers import aktivitet_id
from canvasbridge.clients.sap import SapClient, location_id_of
from canvasbridge.engine import TaskCall, TaskContext
from canvasbridge.engine.ledger import Ledger
from canvasbridge.provisioning import collector, runtime
from canvasbridge.provisioning.canvas_state import Directory, read_snapshot
from canvasbridge.provisioning.desired import (
    CerebrumReads,
    CourseDecision,
    FsView,
    PersonResolver,
    accounts_from_chain,
    decide_section_enrollments,
    decide_unit,
    location_values,
)
from canvasbridge.provisioning.model import Snapshot
from canvasbridge.provisioning.plan import Ownership, Plan, managed_counts, plan_snapshot
from canvasbridge.provisioning.reads import FsData, read_fs, read_persons
from canvasbridge.provisioning.rest import ApplyReport, Failure, RestExecutor
from canvasbridge.provisioning.settings import ProvisioningSettings
from canvasbridge.provisioning.user_decisions import Decided, UserDecider, decide_all, start_decider

#: what each ``resync`` argument covers
KIND_SETS: dict[str, tuple[str, ...]] = {
    "users": ("users",),
    "accounts": ("accounts",),
    "courses": ("courses", "sections"),
    "enrollments": ("enrollments",),
    "all": ("accounts", "users", "courses", "sections", "enrollments"),
}
PARENT_FIELDS = ("parentLocationId", "parentId", "parent_id")
#: ``on_phase(phase, counts)``: counts is None as a phase starts, what it read/planned/wrote as it ends
PhaseCallback = Callable[[str, Mapping[str, int] | None], None]


@dataclass
class Sources:
    """The clients a resync reads through. ``cerebrum_settings`` (what ``cerebrum`` was built
    from) lets the users be decided in a process of their own (:mod:`.user_decisions`)."""

    canvas: CanvasClient
    fs: FsClient | None = None
    cerebrum: CerebrumClient | None = None
    sap: SapClient | None = None
    cerebrum_settings: CerebrumSettings | None = None

    def close(self) -> None:
        for client in (self.canvas, self.fs, self.cerebrum, self.sap):
            if client is not None:
                client.close()


def sources_for(ctx: TaskContext) -> Sources:
    """The clients a resync uses, from ``ctx``'s configuration: Canvas, and FS, Cerebrum and
    SAP where their ``systems`` entries are configured. Raises LookupError for a missing secret."""
    sections = ctx.sections.get("systems") or {}
    names = runtime.settings(ctx).systems
    return Sources(
        canvas=runtime.canvas(ctx),
        fs=runtime.fs(ctx) if names.fs in sections else None,
        cerebrum=runtime.cerebrum(ctx) if names.cerebrum in sections else None,
        sap=runtime.sap(ctx) if names.sap in sections else None,
        cerebrum_settings=runtime.cerebrum_settings(ctx) if names.cerebrum in sections else None,
    )


@dataclass
class ResyncResult:
    kinds: tuple[str, ...]
    plan: Plan
    desired: dict[str, int]
    current: dict[str, int]
    managed: dict[str, int]
    path: str = "dry-run"  # dry-run | rest | bulk | nothing
    report: ApplyReport | None = None
    failures: list[Failure] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # objects that could not be decided
    origin: str | None = None  # the dead letters' origin_source (``sis_import:<id>``, ``resync:<time>``)
    dead_letters: list[int] = field(default_factory=list)  # ledger ids of the failures recorded

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors


@dataclass
class DeadLetters:
    """Where a resync leaves what it could not do: dead letters of ``task`` (the configured name
    of :func:`.tasks.operations.apply_operation`) in ``ledger``, requeueable like any other."""

    ledger: Ledger
    task: str

    def record(self, failures: Iterable[Failure], origin: str) -> list[int]:
        """Record each requeueable failure; sets its ``dead_letter`` and returns the ids."""
        ids = []
        for failure in failures:
            if not failure.requeueable:
                continue
            call = TaskCall(self.task, failure.operation.to_params())
            failure.dead_letter = self.ledger.record_dead(call, error=failure.error, origin_source=origin)
            ids.append(failure.dead_letter)
        return ids


def expand(kinds: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for kind in kinds:
        if kind not in KIND_SETS:
            raise ValueError(f"unknown kind {kind!r}; choose from {', '.join(KIND_SETS)}")
        out += [k for k in KIND_SETS[kind] if k not in out]
    return tuple(out)


# ---------------------------------------------------------------------------- desired state


def desired_accounts(sap: SapClient, settings: ProvisioningSettings, snap: Snapshot) -> None:
    locations = sap.locations()
    by_id = {str(location_id_of(loc)): loc for loc in locations}
    for loc_id in by_id:
        chain: list[dict[str, Any]] = []
        seen: set[str] = set()
        current: str | None = loc_id
        while current is not None and current in by_id and current not in seen:
            seen.add(current)
            loc = by_id[current]
            chain.append(location_values(loc))
            parent = next((loc[f] for f in PARENT_FIELDS if loc.get(f) not in (None, "")), None)
            current = str(parent) if parent is not None else None
        accounts = accounts_from_chain(list(reversed(chain)), settings)
        if accounts:
            snap.accounts[accounts[-1].sis_account_id] = accounts[-1]


def desired_users(
    cerebrum: CerebrumReads,
    settings: ProvisioningSettings,
    candidates: list[str],
    snap: Snapshot,
    errors: list[str],
    pool: ThreadPoolExecutor,
) -> set[str]:
    """Decide every candidate username on ``pool``; returns the SIS ids that must not stay active."""
    return add_users(decide_all(cerebrum, settings, candidates, pool), snap, errors)


def add_users(decided: Decided, snap: Snapshot, errors: list[str]) -> set[str]:
    """Put the decided users in ``snap``; returns the SIS ids that must not stay active."""
    errors.extend(decided.errors)
    retire: set[str] = set()
    for decision in decided.decisions:
        if decision.excluded:
            continue
        if decision.desired is not None:
            snap.users[decision.desired.sis_user_id] = decision.desired
        retire.update(decision.retire)
    return retire - set(snap.users)


def desired_courses(
    fs: FsClient, settings: ProvisioningSettings, data: FsData, snap: Snapshot, *, with_enrollments: bool
) -> list[CourseDecision]:
    """Every course and section FS wants; enrollments too when asked (from collections read once)."""
    view = FsView(fs)
    view.seed(data.emner, data.units)
    decisions: list[CourseDecision] = []
    for unit in data.units:
        own: list[CourseDecision] = []
        decision = decide_unit(
            view,
            settings,
            unit.id,
            unit=unit,
            activities=data.activities.get(unit.id.display, []),
            own_courses=own,
        )
        for d in [decision, *decision.merged, *own]:
            if d.course is not None and d.section is not None:
                snap.courses[d.course.sis_course_id] = d.course
                snap.sections[d.section.sis_section_id] = d.section
                decisions.append(d)
    if with_enrollments:
        desired_enrollments(fs, settings, data, decisions, snap)
    return decisions


def desired_enrollments(
    fs: FsClient,
    settings: ProvisioningSettings,
    data: FsData,
    decisions: list[CourseDecision],
    snap: Snapshot,
) -> None:
    resolver = PersonResolver(fs, settings)
    resolver.seed((number, username) for number, username in data.persons if number is not None)
    seen_sections: set[str] = set()
    for d in decisions:
        assert d.section is not None
        if d.section.sis_section_id in seen_sections:
            continue  # the same merged section reached from another term
        seen_sections.add(d.section.sis_section_id)
        source = data.unit_students if d.kind == "unit" else data.activity_students
        students = [n for member in d.members for n in source.get(member, [])]
        units = {aktivitet_id(m).undervisning.display if d.kind == "activity" else m for m in d.members}
        roles = [r for u in sorted(units) for r in data.roles_by_unit.get(u, [])]
        wanted = decide_section_enrollments(fs, settings, d, resolver, roles=roles, students=students)
        snap.enrollments.update(wanted.desired)


def build_desired(
    sources: Sources,
    settings: ProvisioningSettings,
    kinds: tuple[str, ...],
    current: Callable[[], Snapshot],
    ownership: Ownership,
    errors: list[str],
    users: UserDecider | None = None,
) -> Snapshot:
    """Read the sources (see :mod:`.reads`): FS, Cerebrum and SAP at once, each within its bound;
    the users through ``users`` (see :func:`resync`), none without it. ``current`` gives Canvas
    as read (it may still be reading): only the users the service owns there are taken from it."""
    snap = Snapshot()
    limits = settings.resync.concurrency
    want_courses = bool({"courses", "sections", "enrollments"} & set(kinds)) and sources.fs is not None
    with (
        ThreadPoolExecutor(limits.fs, thread_name_prefix="resync-fs") as fs_pool,
        ThreadPoolExecutor(4, thread_name_prefix="resync-stream") as streams,
    ):
        # FS persons, SAP's accounts, the users and the courses: each on a thread of its own
        persons = streams.submit(read_persons, sources.fs, fs_pool) if sources.fs is not None else None
        work = []
        if "accounts" in kinds and sources.sap is not None:
            work.append(streams.submit(desired_accounts, sources.sap, settings, snap))
        if users is not None:
            assert persons is not None
            decider = users

            def decide_users() -> None:
                in_fs = {username for _number, username in persons.result() if username}
                add_users(decider.decide(sorted(in_fs)), snap, errors)
                # then the users we own in Canvas that FS no longer knows (once Canvas is read);
                # those absent from the desired set (retired accounts) are suspended by the plan
                owned = {u.login_id for u in current().users.values() if ownership.user(u) and u.login_id}
                if owned - in_fs:
                    add_users(decider.decide(sorted(owned - in_fs)), snap, errors)

            work.append(streams.submit(decide_users))
        if want_courses:
            assert sources.fs is not None and persons is not None
            fs = sources.fs
            with_enrollments = "enrollments" in kinds

            def courses() -> None:
                data = read_fs(fs, fs_pool, persons, with_enrollments=with_enrollments)
                desired_courses(fs, settings, data, snap, with_enrollments=with_enrollments)

            work.append(streams.submit(courses))
        for future in work:
            future.result()
    return snap


# ---------------------------------------------------------------------------- the run


def _users(sources: Sources, settings: ProvisioningSettings, kinds: tuple[str, ...]) -> UserDecider | None:
    """What decides the users when ``kinds`` has them and FS and Cerebrum are both there."""
    if "users" not in kinds or sources.cerebrum is None or sources.fs is None:
        return None
    return start_decider(sources.cerebrum, sources.cerebrum_settings, settings)


def resync(
    sources: Sources,
    settings: ProvisioningSettings,
    kinds: Iterable[str] = ("all",),
    *,
    dry_run: bool = False,
    force: bool = False,
    path: str = "auto",  # auto | rest | bulk
    progress: Callable[[int, int], None] | None = None,
    on_plan: Callable[[ResyncResult], None] | None = None,
    dead_letters: DeadLetters | None = None,
    on_phase: PhaseCallback | None = None,
) -> ResyncResult:
    """Plan and (unless ``dry_run``) apply the whole diff for ``kinds``; see the module docstring.

    ``on_phase(phase, None)`` is called as each phase starts ("reading Canvas", "reading the
    sources", "planning", then "writing (rest)" or "writing (bulk)" unless ``dry_run``) and
    ``on_phase(phase, counts)`` as it ends, with what it read, planned or wrote.
    Raises :class:`.plan.SafetyStop` when the plan breaks the safety limits and not ``force``.
    """
    phase = on_phase or (lambda _name, _counts: None)
    expanded = expand(kinds)
    timings: dict[str, float] = {}
    ownership = Ownership(settings)
    errors: list[str] = []
    started = time.monotonic()
    with collector.paused():  # the state read and built lives until the end: see .collector
        users = _users(sources, settings, expanded)  # starts reading Cerebrum's account list

        def read_canvas() -> tuple[Snapshot, Any]:
            read = read_snapshot(sources.canvas, settings.root_account, poll_s=settings.bulk.poll_interval_s)
            timings["read_canvas_s"] = time.monotonic() - started
            phase("reading Canvas", read[0].sizes())
            return read

        # Canvas's report and the sources are read at the same time: a report can take minutes
        with ThreadPoolExecutor(1, thread_name_prefix="resync-canvas") as canvas_reader:
            try:
                phase("reading Canvas", None)
                canvas = canvas_reader.submit(read_canvas)
                phase("reading the sources", None)
                desired = build_desired(
                    sources, settings, expanded, lambda: canvas.result()[0], ownership, errors, users
                )
            finally:
                if users is not None:
                    users.close()
            timings["read_sources_s"] = time.monotonic() - started
            phase("reading the sources", {k: n for k, n in desired.sizes().items() if k in expanded})
            current, _facts = canvas.result()
        started = time.monotonic()
        phase("planning", None)
        plan = plan_snapshot(desired, current, ownership, expanded)
        managed = managed_counts(current, ownership)
        timings["plan_s"] = time.monotonic() - started
    phase("planning", {"changes": plan.writes()})
    result = ResyncResult(
        expanded, plan, desired.sizes(), current.sizes(), managed, timings=timings, errors=errors
    )
    if on_plan is not None:
        on_plan(result)
    plan.check_safety(managed, settings, force=force)
    if dry_run:
        return result
    if not plan.operations:
        result.path = "nothing"
        return result
    chosen = path if path != "auto" else ("bulk" if plan.writes() >= settings.bulk.threshold else "rest")
    started = time.monotonic()
    phase(f"writing ({chosen})", None)
    if chosen == "bulk":
        from canvasbridge.provisioning.bulk import apply_bulk

        report = apply_bulk(sources.canvas, settings, plan, _facts)
    else:
        directory = Directory(sources.canvas, settings.root_account)
        executor = RestExecutor(sources.canvas, directory, settings)
        total, done = plan.writes(), 0

        def tick(_op: Any) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total)

        report = executor.apply(plan, stop_on_transient=False, progress=tick)
    timings["write_s"] = time.monotonic() - started
    phase(f"writing ({chosen})", {"done": report.done, "failed": len(report.failures)})
    result.path = chosen
    result.report = report
    result.failures = report.failures
    result.origin = report.origin or f"resync:{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
    if dead_letters is not None:
        result.dead_letters = dead_letters.record(report.failures, result.origin)
    return result
