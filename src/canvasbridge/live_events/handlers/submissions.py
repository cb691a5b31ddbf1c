"""submission_created, submission_updated and grade_change: work handed in and graded.

The participant is the student the submission belongs to (``object.assignee``), not the
actor: a teacher grading or an LTI tool passing a grade back is not the participant.
"""

from __future__ import annotations

from typing import Any

from canvasbridge.live_events.caliper import CaliperEvent
from canvasbridge.live_events.handlers.base import (
    Activity,
    HandlerContext,
    course_of,
    id_of,
    in_course,
    make,
    quoted,
    sis_id_for,
    user_of,
)
from canvasbridge.live_events.lookups import CanvasLookups

_VERBS = {
    "submission_created": ("Submission Created", "created a submission for the assignment"),
    "submission_updated": ("Submission Updated", "updated a submission for the assignment"),
}


def _assignment(event: CaliperEvent, names: CanvasLookups) -> tuple[str | None, str | None, str | None]:
    course_id = course_of(event)
    assignment_id = id_of(event.object.assignable)
    name = names.assignment_name(course_id, assignment_id) if course_id and assignment_id else None
    return course_id, assignment_id, name


def submission(event: CaliperEvent, name: str, ctx: HandlerContext) -> Activity:
    label, verb = _VERBS[name]
    user_id = user_of(event.object.assignee) or user_of(event.actor)
    uid = sis_id_for(event, user_id, ctx)
    names = ctx.names_for(uid)
    course_id, assignment_id, assignment_name = _assignment(event, names)
    course_name = names.course_name(course_id) if course_id else None
    summary = f"{verb} {quoted(assignment_name, f'{assignment_id}')}{in_course(course_name, course_id)}"
    if ctx.fetch_scores and course_id and assignment_id and user_id:
        grade = names.submission_grade(course_id, assignment_id, user_id)
        if grade:
            summary += f" with grade {grade}"
    return make(
        event,
        name,
        label,
        summary,
        user_id=user_id,
        uid=uid,
        course_id=course_id,
        course_scoped=True,
        match_name=assignment_name,
    )


def _score(generated: dict[str, Any] | None) -> str | None:
    if not isinstance(generated, dict):
        return None
    given, maximum = generated.get("scoreGiven"), generated.get("maxScore")
    if given is None:
        return None
    return f"{given}/{maximum}" if maximum is not None else f"{given}"


def grade_change(event: CaliperEvent, name: str, ctx: HandlerContext) -> Activity:
    user_id = user_of(event.object.assignee)
    uid = sis_id_for(event, user_id, ctx)
    names = ctx.names_for(uid)
    course_id, assignment_id, assignment_name = _assignment(event, names)
    course_name = names.course_name(course_id) if course_id else None
    grade = event.object.canvas.get("grade")
    score = _score(event.generated)
    summary = f"was graded on the assignment {quoted(assignment_name, f'{assignment_id}')}"
    summary += in_course(course_name, course_id)
    if grade not in (None, ""):
        summary += f" with grade {grade}"
    elif score:
        summary += f" with score {score}"
    return make(
        event,
        name,
        "Grade Changed",
        summary,
        user_id=user_id,
        uid=uid,
        course_id=course_id,
        course_scoped=True,
    )
