"""asset_accessed: a page view. Off by default: it is by far the noisiest event.

The asset's title is ``object.extensions…asset_name``; its kind is ``asset_type`` (and
``asset_subtype`` for list views). Views outside a course are not course-scoped.
"""

from __future__ import annotations

from canvasbridge.live_events.caliper import CaliperEvent
from canvasbridge.live_events.handlers.base import (
    Activity,
    HandlerContext,
    course_of,
    make,
    quoted,
    sis_id_for,
    user_of,
)


def asset_accessed(event: CaliperEvent, name: str, ctx: HandlerContext) -> Activity:
    ext = event.object.canvas
    user_id = user_of(event.actor)
    uid = sis_id_for(event, user_id, ctx)
    course_id = course_of(event) if event.group is not None else None
    kind = str(ext.get("asset_subtype") or ext.get("asset_type") or event.object.type).replace("_", " ")
    title = ext.get("asset_name") or event.object.name
    return make(
        event,
        name,
        "Asset Accessed",
        f"viewed the {kind} {quoted(title, '')}".rstrip(),
        user_id=user_id,
        uid=uid,
        course_id=course_id,
        course_scoped=course_id is not None,
    )
