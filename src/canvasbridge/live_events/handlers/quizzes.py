"""quiz_submitted: a participant turned in a (classic) quiz."""

from __future__ import annotations

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


def quiz_submitted(event: CaliperEvent, name: str, ctx: HandlerContext) -> Activity:
    user_id = user_of(event.object.assignee) or user_of(event.actor)
    uid = sis_id_for(event, user_id, ctx)
    names = ctx.names_for(uid)
    course_id = course_of(event)
    quiz_id = id_of(event.object.assignable)
    submission_id = id_of(event.object)
    title = names.quiz_title(course_id, quiz_id) if course_id and quiz_id else None
    course_name = names.course_name(course_id) if course_id else None
    summary = f"submitted the quiz {quoted(title, f'{quiz_id}')}{in_course(course_name, course_id)}"
    if ctx.fetch_scores and course_id and quiz_id and submission_id:
        score = names.quiz_score(course_id, quiz_id, submission_id)
        if score:
            summary += f" with score {score}"
    return make(
        event,
        name,
        "Quiz Submitted",
        summary,
        user_id=user_id,
        uid=uid,
        course_id=course_id,
        course_scoped=True,
        match_name=title,
    )
