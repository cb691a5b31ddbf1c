"""Scripted scenarios: a "term start" burst in the source systems, and "drift" in Canvas.

**Term start** (:func:`term_start`) plays what the first days of an autumn term look like
to the integration: new students arrive (a Cerebrum ``persons.create`` each) and enrol in
teaching units and one seminar group of each (``studentundervisning`` and
``studentundervisningsaktiviteter`` creates in FS, every term of a multi-term unit);
returning students add and drop units; big units get extra groups with a group teacher;
some units are switched on for LMS export. Every step goes through the systems' change
sets, so it mutates the university and publishes exactly one notification::

    report = term_start(uni, fs=fs_changes, cerebrum=cerebrum_changes, seed=1)
    report.notifications, report.by_routing_key

The size of the burst follows the university's size (:data:`TERM_START_PLANS`: hundreds of
notifications for ``small``, about 17,000 for ``university``); ``rate_per_s`` spreads it
over time (e.g. 60/s puts the university burst in about five minutes), ``None`` sends it as
fast as the publishers go.

**Drift** (:func:`drift`) changes Canvas behind the service's back, through the Canvas
emulator's model: it renames a managed course, deletes a managed section, adds an
unmanaged (no SIS id) course with a teacher, enrolls a user by hand and deletes a managed
enrollment. It returns what it did, so a test or the demo can check that a resync repairs
the managed objects and leaves the unmanaged course alone.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from canvasbridge_emulators.notify import ChangeSet, Notification
from canvasbridge_emulators.university import (
    AUTUMN,
    ROLE_GROUP_TEACHER,
    University,
)
from canvasbridge_emulators.university.names import FEMALE_FIRST_NAMES, LAST_NAMES, MALE_FIRST_NAMES


@dataclass(frozen=True)
class TermStartPlan:
    new_students: int  # persons created in Cerebrum, each enrolling in units and groups
    units_per_student: int  # teaching units (chains) each new student takes
    returning_changes: int  # add/drop of one unit by an existing student
    new_groups: int  # extra seminar groups (each with a group teacher) in big units
    export_flips: int  # units switched on for LMS export


TERM_START_PLANS = {
    "tiny": TermStartPlan(
        new_students=3, units_per_student=2, returning_changes=4, new_groups=1, export_flips=1
    ),
    "small": TermStartPlan(
        new_students=30, units_per_student=3, returning_changes=60, new_groups=4, export_flips=2
    ),
    "university": TermStartPlan(
        new_students=1500, units_per_student=4, returning_changes=2000, new_groups=60, export_flips=20
    ),
}


@dataclass
class ScenarioReport:
    """What a scenario did: notifications by change kind and by routing key, and its time."""

    name: str
    notifications: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_routing_key: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "notifications": self.notifications,
            "by_kind": dict(self.by_kind),
            "by_routing_key": dict(self.by_routing_key),
            "elapsed_s": round(self.elapsed_s, 3),
        }


class _Pacer:
    def __init__(self, report: ScenarioReport, rate_per_s: float | None) -> None:
        self.report = report
        self.rate = rate_per_s
        self.started = time.monotonic()

    def apply(self, changes: ChangeSet, kind: str, params: dict[str, Any]) -> Notification:
        if self.rate:
            due = self.started + self.report.notifications / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        notification = changes.apply(kind, params)
        self.report.notifications += 1
        self.report.by_kind[f"{changes.system}:{kind}"] += 1
        self.report.by_routing_key[notification.routing_key] += 1
        return notification


def term_start(
    university: University,
    *,
    fs: ChangeSet,
    cerebrum: ChangeSet,
    plan: TermStartPlan | None = None,
    seed: int = 0,
    rate_per_s: float | None = None,
) -> ScenarioReport:
    """Play the start of the autumn term of ``university.year`` (see the module docstring)."""
    plan = plan or TERM_START_PLANS[university.size]
    rng = random.Random(f"term-start:{university.size}:{university.seed}:{seed}")
    report = ScenarioReport("term_start")
    pacer = _Pacer(report, rate_per_s)
    uni = university

    with uni.lock:
        chains = [
            [u.key for u in uni.sibling_terms(unit.key)]
            for unit in uni.undervisning.values()
            if unit.year == uni.year and unit.term == AUTUMN and unit.terminnummer == 1
        ]
        weights = [len(uni.participants(chain[0])) + 1 for chain in chains]
    if not chains:
        raise ValueError(f"the university has no {AUTUMN} {uni.year} teaching units")

    def pick_chains(count: int) -> list[list[str]]:
        picked: dict[int, None] = {}
        for _ in range(count * 4):
            if len(picked) >= min(count, len(chains)):
                break
            picked[rng.choices(range(len(chains)), weights)[0]] = None
        return [chains[i] for i in picked]

    def enrol(lopenummer: int, chain: list[str]) -> None:
        for unit_key in chain:
            if uni.is_participant(lopenummer, unit_key):
                continue
            pacer.apply(fs, "participation.add", {"lopenummer": lopenummer, "unit": unit_key})
            groups = [a.key for a in uni.activities_of(unit_key) if a.aktivitet.startswith("2-")]
            if groups:
                group = (
                    groups[rng.randrange(len(groups))]
                    if unit_key == chain[0]
                    else _same_group(chain, unit_key, uni, lopenummer, groups)
                )
                pacer.apply(fs, "activity_participation.add", {"lopenummer": lopenummer, "activity": group})

    # new students: a person in Cerebrum, then their units and groups in FS
    for _ in range(plan.new_students):
        female = rng.random() < 0.5
        first = rng.choice(FEMALE_FIRST_NAMES if female else MALE_FIRST_NAMES)
        note = pacer.apply(
            cerebrum,
            "person.create",
            {"first_name": first, "last_name": rng.choice(LAST_NAMES), "student": True},
        )
        person = uni.person(int(note.body["sub"].rsplit("/", 1)[1]))
        assert person.fs_lopenummer is not None
        for chain in pick_chains(plan.units_per_student):
            enrol(person.fs_lopenummer, chain)

    # returning students add or drop a unit
    with uni.lock:
        returning = [
            p.fs_lopenummer
            for p in uni.students()
            if p.fs_lopenummer and uni.units_of_student(p.fs_lopenummer)
        ]
    for _ in range(plan.returning_changes):
        lopenummer = returning[rng.randrange(len(returning))]
        current = [k for k in uni.units_of_student(lopenummer) if uni.unit(k).term == AUTUMN]
        if current and rng.random() < 0.3:
            pacer.apply(fs, "participation.remove", {"lopenummer": lopenummer, "unit": rng.choice(current)})
        else:
            for chain in pick_chains(1):
                enrol(lopenummer, chain)

    # big units open an extra group with a group teacher
    with uni.lock:
        teachers = [p.fs_lopenummer for p in uni.staff() if p.fs_lopenummer]
        biggest = sorted(chains, key=lambda c: -len(uni.participants(c[0])))[: plan.new_groups]
    for chain in biggest:
        unit_key = chain[0]
        number = 1 + max(
            (
                int(a.aktivitet.split("-")[1])
                for a in uni.activities_of(unit_key)
                if a.aktivitet.startswith("2-")
            ),
            default=0,
        )
        aktivitet = f"2-{number}"
        pacer.apply(
            fs,
            "activity.create",
            {"unit": unit_key, "aktivitet": aktivitet, "name": f"Seminargruppe {number}"},
        )
        pacer.apply(
            fs,
            "role.add",
            {
                "lopenummer": teachers[rng.randrange(len(teachers))],
                "rolle": ROLE_GROUP_TEACHER,
                "unit": unit_key,
                "activity": f"{unit_key},{aktivitet}",
            },
        )

    # a few units are switched on for the LMS at the last minute
    closed = [c[0] for c in chains if not uni.unit(c[0]).lms_eksport][: plan.export_flips]
    for unit_key in closed:
        pacer.apply(fs, "unit.export", {"key": unit_key, "flag": True})

    report.elapsed_s = time.monotonic() - pacer.started
    return report


def _same_group(chain: list[str], unit_key: str, uni: University, lopenummer: int, groups: list[str]) -> str:
    """In a later term of a multi-term unit, the student keeps the group number of term 1."""
    first_groups = [k for k in uni.activities_of_student(lopenummer) if k.startswith(chain[0] + ",")]
    if first_groups:
        candidate = f"{unit_key},{first_groups[0].rsplit(',', 1)[1]}"
        if candidate in uni.aktiviteter:
            return candidate
    return groups[0]


# ---------------------------------------------------------------------------- drift


@dataclass(frozen=True)
class DriftChange:
    """One change made in Canvas behind the service's back."""

    action: str  # rename_course | delete_section | add_unmanaged_course | add_enrollment | delete_enrollment
    object_type: str  # course | section | enrollment
    object_id: int
    detail: str


def drift(canvas: Any, *, seed: int = 0) -> list[DriftChange]:
    """Change a Canvas emulator model (``CanvasModel``) the way people do by hand.

    Managed objects are those with a SIS id (what canvasbridge creates). Raises
    ``ValueError`` when Canvas holds no managed course yet (run provisioning first).
    """
    rng = random.Random(f"drift:{seed}")
    changes: list[DriftChange] = []
    managed = [c for c in canvas.courses() if c.sis_course_id]
    if not managed:
        raise ValueError("Canvas has no managed (SIS) courses yet: provision before drifting")
    managed.sort(key=lambda c: c.id)
    course = managed[rng.randrange(len(managed))]

    renamed = f"{course.name} (renamed by hand)"
    canvas.update_course(course.id, name=renamed)
    changes.append(DriftChange("rename_course", "course", course.id, f"{course.sis_course_id} → {renamed!r}"))

    sections = [
        s
        for c in managed
        for s in canvas.sections(c.id)
        if s.sis_section_id and s.workflow_state != "deleted"
    ]
    if sections:
        section = sections[rng.randrange(len(sections))]
        canvas.delete_section(section.id, force=True)
        changes.append(DriftChange("delete_section", "section", section.id, str(section.sis_section_id)))

    users = sorted(canvas.users(), key=lambda u: u.id)
    sandbox = canvas.add_course(
        f"Sandkasse {rng.randrange(1000, 9999)}",
        course_code="SANDKASSE",
        account_id=course.account_id,
        workflow_state="available",
    )
    changes.append(DriftChange("add_unmanaged_course", "course", sandbox.id, sandbox.name))
    if users:
        teacher = users[rng.randrange(len(users))]
        enrollment = canvas.enroll(teacher.id, course_id=sandbox.id, type="TeacherEnrollment", state="active")
        changes.append(
            DriftChange("add_enrollment", "enrollment", enrollment.id, f"teacher in {sandbox.name}")
        )

        target = managed[rng.randrange(len(managed))]
        enrolled = {e.user_id for e in canvas.enrollments(course_id=target.id)}
        outsiders = [u for u in users if u.id not in enrolled]
        if outsiders:
            student = outsiders[rng.randrange(len(outsiders))]
            added = canvas.enroll(student.id, course_id=target.id, type="StudentEnrollment", state="active")
            changes.append(
                DriftChange("add_enrollment", "enrollment", added.id, f"student in {target.sis_course_id}")
            )

    live = [
        e
        for c in managed
        for e in canvas.enrollments(course_id=c.id, types=["StudentEnrollment"], states=["active"])
    ]
    if live:
        victim = live[rng.randrange(len(live))]
        canvas.end_enrollment(victim.id, task="delete")
        changes.append(DriftChange("delete_enrollment", "enrollment", victim.id, f"user {victim.user_id}"))
    return changes
