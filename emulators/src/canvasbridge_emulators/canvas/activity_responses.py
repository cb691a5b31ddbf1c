"""The endpoints a backfill of Live Events reads: what happened in a time window.

* ``GET /courses/:course_id/students/submissions``: ``student_ids[]`` (``all`` or ids),
  ``assignment_ids[]``, ``submitted_since``, ``graded_since``, ``workflow_state``,
  ``include[]=submission_history|assignment``; a plain list (not ``grouped``), ordered by id.
* ``GET /courses/:course_id/discussion_topics/:topic_id/entries``: top-level entries, newest first.
* ``GET /courses/:course_id/discussion_topics/:topic_id/view``: the whole thread at once
  (``view``: top-level entries with their ``replies`` nested, ``participants``,
  ``unread_entries``, ``forced_entries``, ``entry_ratings``, ``new_entries``), not paginated.
* ``GET /audit/authentication/accounts/:account_id`` and ``GET /audit/grade_change/courses/:course_id``:
  ``start_time``, ``end_time``; a compound document ``{"links", "events", "linked"}``,
  events newest first, the ``events`` collection paginated.

Lists are paginated with ``page``/``per_page`` and the ``Link`` header, like every list.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from canvasbridge_emulators.canvas import shapes
from canvasbridge_emulators.canvas.audit import AuthenticationEvent, GradeChangeEvent, parse_time
from canvasbridge_emulators.canvas.content import DiscussionEntry, Submission
from canvasbridge_emulators.canvas.exceptions import BadRequest
from canvasbridge_emulators.canvas.models import CanvasModel
from canvasbridge_emulators.canvas.pagination import paginate
from canvasbridge_emulators.canvas.responses import CanvasResponses, base_url, ok, ref


def _list(request: Request, name: str) -> list[str]:
    return request.query_params.getlist(f"{name}[]") + request.query_params.getlist(name)


def _ids(request: Request, name: str) -> set[int] | None:
    values = _list(request, name)
    if not values or "all" in values:
        return None
    try:
        return {int(v) for v in values}
    except ValueError:
        raise BadRequest(f"invalid {name}") from None


def _at_or_after(value: str | None, since: Any) -> bool:
    if since is None:
        return True
    if not value:
        return False
    moment = parse_time(value, "time")
    return moment is not None and moment >= since


def entry(e: DiscussionEntry, user_name: str | None) -> dict[str, Any]:
    return {
        "id": e.id,
        "user_id": e.user_id,
        "user_name": user_name,
        "editor_id": None,
        "parent_id": e.parent_id,
        "message": e.message,
        "read_state": "read",
        "forced_read_state": False,
        "created_at": e.created_at,
        "updated_at": e.created_at,
        "rating_count": None,
        "rating_sum": None,
        "attachment": None,
        "recent_replies": [],
        "has_more_replies": False,
    }


def authentication_event(e: AuthenticationEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "created_at": e.created_at,
        "event_type": e.event_type,
        "pseudonym_id": e.pseudonym_id,
        "account_id": e.account_id,
        "user_id": e.user_id,
        "links": {"login": e.pseudonym_id, "account": e.account_id, "user": e.user_id, "page_view": None},
    }


def grade_change_event(e: GradeChangeEvent) -> dict[str, Any]:
    return {
        "id": e.id,
        "created_at": e.created_at,
        "event_type": "grade_change",
        "grade_before": e.grade_before,
        "grade_after": e.grade_after,
        "excused_before": False,
        "excused_after": False,
        "graded_anonymously": False,
        "version_number": e.version_number,
        "request_id": e.id,
        "links": {
            "assignment": e.assignment_id,
            "course": e.course_id,
            "student": e.student_id,
            "grader": e.grader_id if e.grader_id is not None and e.grader_id > 0 else None,
            "page_view": None,
        },
    }


class ActivityResponses:
    """Route handlers for the activity a backfill reads; bound to the main handlers."""

    def __init__(self, main: CanvasResponses) -> None:
        self.main = main
        self.model: CanvasModel = main.model

    async def list_student_submissions(self, request: Request) -> Response:
        course = self.model.resolve_course(ref(request, "course_id"))
        students = _ids(request, "student_ids")
        if not _list(request, "student_ids"):
            raise BadRequest("student_ids is required")
        assignments = _ids(request, "assignment_ids")
        submitted_since = parse_time(request.query_params.get("submitted_since"), "submitted_since")
        graded_since = parse_time(request.query_params.get("graded_since"), "graded_since")
        state = request.query_params.get("workflow_state")
        include = set(_list(request, "include"))
        items = [
            s
            for s in sorted(self.model.course_submissions(course.id), key=lambda s: s.id)
            if (students is None or s.user_id in students)
            and (assignments is None or s.assignment_id in assignments)
            and (state is None or s.workflow_state == state)
            and _at_or_after(s.submitted_at, submitted_since)
            and _at_or_after(s.graded_at, graded_since)
        ]
        base = base_url(request)

        def render(s: Submission) -> dict[str, Any]:
            body = shapes.submission(s, base, course.id)
            if "submission_history" in include:
                body["submission_history"] = [shapes.submission(v, base, course.id) for v in s.history]
            if "assignment" in include:
                body["assignment"] = shapes.assignment(self.model.get_assignment(s.assignment_id), base)
            return body

        return self.main.listing(request, items, render)

    async def list_discussion_entries(self, request: Request) -> Response:
        course = self.model.resolve_course(ref(request, "course_id"))
        topic = self.model.get_discussion_topic(int(ref(request, "topic_id")), course.id)

        def render(e: DiscussionEntry) -> dict[str, Any]:
            return entry(e, self.model.get_user(e.user_id).name)

        top = [e for e in self.model.discussion_entries(topic.id) if e.parent_id is None]
        return self.main.listing(request, top, render)

    async def discussion_view(self, request: Request) -> Response:
        course = self.model.resolve_course(ref(request, "course_id"))
        topic = self.model.get_discussion_topic(int(ref(request, "topic_id")), course.id)
        entries = sorted(self.model.discussion_entries(topic.id), key=lambda e: e.id)  # oldest first
        children: dict[int | None, list[DiscussionEntry]] = {}
        for e in entries:
            children.setdefault(e.parent_id, []).append(e)

        def tree(e: DiscussionEntry) -> dict[str, Any]:
            body = entry(e, None)
            for key in ("user_name", "read_state", "forced_read_state", "recent_replies", "has_more_replies"):
                body.pop(key)
            body["replies"] = [tree(child) for child in children.get(e.id, [])]
            return body

        base = base_url(request)
        with self.model.lock:
            people = sorted({e.user_id for e in entries})
            participants = [
                {
                    "id": i,
                    "display_name": self.model.get_user(i).name,
                    "avatar_image_url": None,
                    "html_url": f"{base}/courses/{course.id}/users/{i}",
                }
                for i in people
            ]
        body = {
            "unread_entries": [],
            "forced_entries": [],
            "entry_ratings": {},
            "participants": participants,
            "view": [tree(e) for e in children.get(None, [])],
            "new_entries": [],
        }
        return ok(body)

    def _window(self, request: Request) -> tuple[Any, Any]:
        return (
            parse_time(request.query_params.get("start_time"), "start_time"),
            parse_time(request.query_params.get("end_time"), "end_time"),
        )

    async def list_authentication_events(self, request: Request) -> Response:
        account = self.main.account(request, "account_id")
        start, end = self._window(request)
        events = [e for e in self.model.authentication_events(start, end) if e.account_id == account.id]
        page, link = paginate(request, events)
        with self.model.lock:
            logins = {e.pseudonym_id for e in page if e.pseudonym_id is not None}
            users = {e.user_id for e in page}
            linked = {
                "logins": [shapes.login(self.model.get_login(i)) for i in sorted(logins)],
                "accounts": [shapes.account(account)],
                "users": [shapes.user(self.model, self.model.get_user(i)) for i in sorted(users)],
                "page_views": [],
            }
        base = base_url(request)
        body = {
            "links": {
                "events.login": f"{base}/api/v1/logins/{{events.login}}",
                "events.account": f"{base}/api/v1/accounts/{{events.account}}",
                "events.user": f"{base}/api/v1/users/{{events.user}}",
                "events.page_view": None,
            },
            "events": [authentication_event(e) for e in page],
            "linked": linked,
        }
        return ok(body, headers={"Link": link})

    async def list_grade_change_events(self, request: Request) -> Response:
        course = self.model.resolve_course(ref(request, "course_id"))
        start, end = self._window(request)
        page, link = paginate(request, self.model.grade_changes(course.id, start, end))
        base = base_url(request)
        with self.model.lock:
            assignments = sorted({e.assignment_id for e in page})
            students = sorted({e.student_id for e in page})
            linked = {
                "assignments": [shapes.assignment(self.model.get_assignment(i), base) for i in assignments],
                "courses": [shapes.course(course)],
                "users": [shapes.user(self.model, self.model.get_user(i)) for i in students],
                "page_views": [],
            }
        body = {
            "links": {
                "events.assignment": f"{base}/api/v1/courses/{{events.course}}/assignments/{{events.assignment}}",
                "events.course": f"{base}/api/v1/courses/{{events.course}}",
                "events.student": f"{base}/api/v1/users/{{events.student}}",
                "events.grader": f"{base}/api/v1/users/{{events.grader}}",
                "events.page_view": None,
            },
            "events": [grade_change_event(e) for e in page],
            "linked": linked,
        }
        return ok(body, headers={"Link": link})
