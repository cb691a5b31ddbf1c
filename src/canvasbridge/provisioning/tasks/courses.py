"""``ensure_course`` and ``ensure_emne``: FS teaching units and activities as courses/sections.

The structure rules (:data:`..rules.STRUCTURE_RULES`) decide: a unit marked for export is a
course with a main section; an exported activity is its own course (``lms.romMal`` in
``courses.own_course_values``) or a section of its unit's course; all terms of a multi-term
unit share one course and one section. Courses are placed in the sub-account of the emne's
org unit and in the term of their first FS term. When a course or section is created, its
enrollments are synced at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from canvasbridge.clients.fs.identifiers import EmneId
from canvasbridge.engine import TaskContext
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.canvas_state import read_course, read_sections
from canvasbridge.provisioning.desired import CourseDecision, FsView, decide_course
from canvasbridge.provisioning.plan import Operation, plan_course, plan_section
from canvasbridge.provisioning.rules import Placement
from canvasbridge.provisioning.runtime import Kit
from canvasbridge.provisioning.tasks.sections import sync_section
from canvasbridge.provisioning.tasks.steps import carry_out

#: ``ensure_emne`` syncs the emne's units from this many years back (older ones are history)
EMNE_YEARS_BACK = 1


def plan_structure(k: Kit, decision: CourseDecision) -> tuple[list[Operation], list[CourseDecision]]:
    """Operations for the decision's course and sections, and the decisions whose section is new."""
    assert decision.course is not None
    current = read_course(k.canvas, k.directory, decision.course.sis_course_id)
    ops = plan_course(decision.course, current, k.ownership)
    sections = read_sections(k.canvas, decision.course.sis_course_id) if current is not None else {}
    new: list[CourseDecision] = []
    for d in [decision, *decision.merged]:
        if d.section is None:
            continue
        ops += plan_section(d.section, sections.get(d.section.sis_section_id), k.ownership)
        if d.section.sis_section_id not in sections:
            new.append(d)
    return ops, new


def ensure_course(ctx: TaskContext, fs_id: str) -> dict[str, Any]:
    k = runtime.kit(ctx)
    decision = decide_course(FsView(runtime.fs(ctx)), k.settings, fs_id)
    summary: dict[str, Any] = {
        "fs_id": fs_id,
        "outcome": decision.outcome.value,
        "rule": decision.rule.reason,
    }
    if decision.outcome is Placement.SKIP or decision.course is None:
        return {**summary, "planned": 0}
    summary["course"] = decision.course.sis_course_id
    ctx.hold(f"course:{decision.course.sis_course_id}")
    ops, new = plan_structure(k, decision)
    summary.update(carry_out(ctx, k.executor, ops))
    if new and not ctx.dry_run:
        summary["enrollments"] = {d.section.sis_section_id: sync_section(ctx, k, d) for d in new if d.section}
    return summary


def ensure_emne(ctx: TaskContext, fs_id: str) -> dict[str, Any]:
    """An emne changed (its names feed course names): re-sync its current units."""
    emne = EmneId.parse(fs_id)
    since = dt.date.today().year - EMNE_YEARS_BACK
    units = [u for u in runtime.fs(ctx).undervisninger(emne) if u.semester.ar >= since]
    results = {u.id.display: ensure_course(ctx, u.id.display).get("planned", 0) for u in units}
    return {"fs_id": fs_id, "units": results, "planned": sum(results.values())}
