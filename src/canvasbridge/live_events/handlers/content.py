"""Course content the actor changed: assignment_created/updated, wiki_page_created/updated/deleted.

The name is in the payload (``object.name``), so these need no Canvas call beyond the SIS id
and the (cached) course name.
"""

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

_LABELS = {
    "assignment_created": ("Assignment Created", "created the assignment"),
    "assignment_updated": ("Assignment Updated", "updated the assignment"),
    "wiki_page_created": ("Page Created", "created the page"),
    "wiki_page_updated": ("Page Updated", "updated the page"),
    "wiki_page_deleted": ("Page Deleted", "deleted the page"),
}


def content(event: CaliperEvent, name: str, ctx: HandlerContext) -> Activity:
    label, verb = _LABELS[name]
    user_id = user_of(event.actor)
    uid = sis_id_for(event, user_id, ctx)
    names = ctx.names_for(uid)
    course_id = course_of(event)
    course_name = names.course_name(course_id) if course_id else None
    title = quoted(event.object.name, id_of(event.object) or "")
    return make(
        event,
        name,
        label,
        f"{verb} {title}{in_course(course_name, course_id)}",
        user_id=user_id,
        uid=uid,
        course_id=course_id,
        course_scoped=True,
    )
