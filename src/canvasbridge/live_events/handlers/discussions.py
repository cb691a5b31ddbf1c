"""discussion_topic_created and discussion_entry_created."""

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


def topic_created(event: CaliperEvent, name: str, ctx: HandlerContext) -> Activity:
    user_id = user_of(event.actor)
    uid = sis_id_for(event, user_id, ctx)
    names = ctx.names_for(uid)
    course_id = course_of(event)
    course_name = names.course_name(course_id) if course_id else None
    announcement = bool(event.object.canvas.get("is_announcement"))
    what = "the announcement" if announcement else "the discussion"
    title = quoted(event.object.name, id_of(event.object) or "")
    return make(
        event,
        name,
        "Discussion Created",
        f"created {what} {title}{in_course(course_name, course_id)}",
        user_id=user_id,
        uid=uid,
        course_id=course_id,
        course_scoped=True,
    )


def entry_created(event: CaliperEvent, name: str, ctx: HandlerContext) -> Activity:
    user_id = user_of(event.actor)
    uid = sis_id_for(event, user_id, ctx)
    names = ctx.names_for(uid)
    course_id = course_of(event)
    topic_id = id_of(event.object.is_part_of)
    title = event.object.is_part_of.name if event.object.is_part_of else None
    if not title and course_id and topic_id:
        title = names.discussion_title(course_id, topic_id)
    course_name = names.course_name(course_id) if course_id else None
    return make(
        event,
        name,
        "Discussion Replied",
        f"replied to the discussion {quoted(title, topic_id or '')}{in_course(course_name, course_id)}",
        user_id=user_id,
        uid=uid,
        course_id=course_id,
        course_scoped=True,
    )
