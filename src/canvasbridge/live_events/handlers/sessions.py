"""logged_in and logged_out: not course events, so any active programme counts."""

from __future__ import annotations

from canvasbridge.live_events.caliper import CaliperEvent
from canvasbridge.live_events.handlers.base import Activity, HandlerContext, make, sis_id_for, user_of

_LABELS = {
    "logged_in": ("Logged In", "logged in to Canvas"),
    "logged_out": ("Logged Out", "logged out of Canvas"),
}


def session(event: CaliperEvent, name: str, ctx: HandlerContext) -> Activity:
    label, summary = _LABELS[name]
    user_id = user_of(event.actor)
    uid = sis_id_for(event, user_id, ctx)
    return make(
        event,
        name,
        label,
        summary,
        user_id=user_id,
        uid=uid,
        course_id=None,
        course_scoped=False,
    )
