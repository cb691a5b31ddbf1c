"""One handler per Canvas live event, registered in :data:`HANDLERS` (a table, not ``if``\\ s).

A handler is ``handler(event, event_name, ctx) -> Activity``. ``enabled`` says whether it
runs unless configuration says otherwise (``asset_accessed`` is off: it is the noisiest);
``marks_attendance`` says whether its ``match_name`` may mark an ``Attendees__c`` attended.
Events without a row are counted and acknowledged, never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from canvasbridge.live_events.caliper import CaliperEvent
from canvasbridge.live_events.handlers import (
    content,
    discussions,
    enrollments,
    navigation,
    quizzes,
    sessions,
    submissions,
)
from canvasbridge.live_events.handlers.base import Activity, HandlerContext

Handler = Callable[[CaliperEvent, str, HandlerContext], Activity]


@dataclass(frozen=True)
class HandlerSpec:
    handler: Handler
    enabled: bool = True
    marks_attendance: bool = False


HANDLERS: dict[str, HandlerSpec] = {
    "quiz_submitted": HandlerSpec(quizzes.quiz_submitted, marks_attendance=True),
    "submission_created": HandlerSpec(submissions.submission, marks_attendance=True),
    "submission_updated": HandlerSpec(submissions.submission, marks_attendance=True),
    "grade_change": HandlerSpec(submissions.grade_change),
    "discussion_topic_created": HandlerSpec(discussions.topic_created),
    "discussion_entry_created": HandlerSpec(discussions.entry_created),
    "enrollment_created": HandlerSpec(enrollments.enrollment),
    "enrollment_updated": HandlerSpec(enrollments.enrollment),
    "logged_in": HandlerSpec(sessions.session),
    "logged_out": HandlerSpec(sessions.session),
    "assignment_created": HandlerSpec(content.content),
    "assignment_updated": HandlerSpec(content.content),
    "wiki_page_created": HandlerSpec(content.content),
    "wiki_page_updated": HandlerSpec(content.content),
    "wiki_page_deleted": HandlerSpec(content.content),
    "asset_accessed": HandlerSpec(navigation.asset_accessed, enabled=False),
}

__all__ = ["HANDLERS", "Activity", "HandlerContext", "HandlerSpec"]
