"""enrollment_created and enrollment_updated: the participant is the enrolled user.

Everything needed is in the object extension (``user_id``, ``course_id`` as URNs, ``type``,
``workflow_state``), so these cost no Canvas call beyond the user's SIS id and course name
(the original fetched the enrollment and its role from a hard-coded account 1).
"""

from __future__ import annotations

from canvasbridge.live_events.caliper import CaliperEvent
from canvasbridge.live_events.handlers.base import (
    Activity,
    HandlerContext,
    course_of,
    in_course,
    make,
    sis_id_for,
    user_of,
)
from canvasbridge.live_events.urns import local_id

_LABELS = {
    "enrollment_created": ("Enrollment Created", "was enrolled"),
    "enrollment_updated": ("Enrollment Updated", "had an enrollment updated"),
}


def enrollment(event: CaliperEvent, name: str, ctx: HandlerContext) -> Activity:
    label, verb = _LABELS[name]
    ext = event.object.canvas
    user_id = local_id(ext.get("user_id")) if ext.get("user_id") else user_of(event.actor)
    uid = sis_id_for(event, user_id, ctx)
    names = ctx.names_for(uid)
    course_id = local_id(ext.get("course_id")) if ext.get("course_id") else course_of(event)
    course_name = names.course_name(course_id) if course_id else None
    role = ext.get("type") or "enrollment"
    state = ext.get("workflow_state")
    summary = f"{verb} as {role}{in_course(course_name, course_id)}"
    if state:
        summary += f" (status {state})"
    return make(
        event,
        name,
        label,
        summary,
        user_id=user_id,
        uid=uid,
        course_id=course_id,
        course_scoped=True,
    )
