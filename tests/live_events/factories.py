"""Our own Caliper payloads for every Canvas live event, built from the documented structure.

``envelope(name, ...)`` gives one SQS body (a dict). Ids are global (shard 4242) unless
``local_ids=True``; the host is a test host. The fixture files in tests/fixtures/caliper
were written by :func:`write_fixtures` from these builders.
"""

from __future__ import annotations

import itertools
import json
import uuid
from pathlib import Path
from typing import Any

HOST = "https://canvas.test.example/"
SHARD = 4242
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "caliper"
_counter = itertools.count(1)


def gid(local: int | str, *, local_ids: bool = False) -> str:
    return str(local) if local_ids else str(SHARD * 10**13 + int(local))


def urn(kind: str, *ids: str) -> str:
    return "urn:instructure:canvas:" + kind + ":" + ":".join(ids) if ids else f"urn:instructure:canvas:{kind}"


def canvas(**values: Any) -> dict[str, Any]:
    return {"com.instructure.canvas": values}


def actor(user: int, sis: str | None = "S1001", *, local_ids: bool = False) -> dict[str, Any]:
    ext: dict[str, Any] = {
        "entity_id": gid(user, local_ids=local_ids),
        "root_account_id": gid(1),
        "user_login": f"user{user}",
    }
    if sis is not None:
        ext["user_sis_id"] = sis
    return {"id": urn("user", gid(user, local_ids=local_ids)), "type": "Person", "extensions": canvas(**ext)}


def course_group(course: int, *, local_ids: bool = False) -> dict[str, Any]:
    cid = gid(course, local_ids=local_ids)
    return {
        "id": urn("course", cid),
        "type": "CourseOffering",
        "extensions": canvas(context_type="Course", entity_id=cid),
    }


def entity(kind: str, local: int, type_: str, *, local_ids: bool = False, **ext: Any) -> dict[str, Any]:
    eid = gid(local, local_ids=local_ids)
    return {"id": urn(kind, eid), "type": type_, "extensions": canvas(entity_id=eid, **ext)}


def _objects(
    name: str, user: int, course: int, L: bool, title: str, quiz: int = 77
) -> tuple[str, str, dict[str, Any], dict | None]:
    """(type, action, object, group) per event name."""
    g = course_group(course, local_ids=L)
    person = {"id": urn("user", gid(user, local_ids=L)), "type": "Person"}
    table: dict[str, tuple[str, str, dict[str, Any], dict | None]] = {
        "quiz_submitted": (
            "AssessmentEvent",
            "Submitted",
            {
                **entity("submission", 900, "Attempt", local_ids=L),
                "assignee": person,
                "assignable": {"id": urn("quiz", gid(quiz, local_ids=L)), "type": "Assessment"},
            },
            g,
        ),
        "submission_created": (
            "AssignableEvent",
            "Submitted",
            {
                **entity("submission", 901, "Attempt", local_ids=L, submission_type="online_text_entry"),
                "assignee": person,
                "assignable": {
                    "id": urn("assignment", gid(55, local_ids=L)),
                    "type": "AssignableDigitalResource",
                },
            },
            g,
        ),
        "submission_updated": (
            "Event",
            "Modified",
            {
                **entity("submission", 901, "Attempt", local_ids=L, submission_type="online_upload"),
                "assignee": person,
                "assignable": {
                    "id": urn("assignment", gid(55, local_ids=L)),
                    "type": "AssignableDigitalResource",
                },
            },
            g,
        ),
        "grade_change": (
            "GradeEvent",
            "Graded",
            {
                **entity("submission", 901, "Attempt", local_ids=L, grade="B"),
                "assignee": person,
                "assignable": {
                    "id": urn("assignment", gid(55, local_ids=L)),
                    "type": "AssignableDigitalResource",
                },
            },
            g,
        ),
        "discussion_topic_created": (
            "ThreadEvent",
            "Created",
            {**entity("discussion", 31, "Thread", local_ids=L, is_announcement=False), "name": title},
            g,
        ),
        "discussion_entry_created": (
            "MessageEvent",
            "Posted",
            {
                **entity("discussionEntry", 32, "Message", local_ids=L),
                "body": "<p>I agree</p>",
                "isPartOf": {"id": urn("discussion", gid(31, local_ids=L)), "type": "Thread"},
            },
            g,
        ),
        "enrollment_created": (
            "Event",
            "Created",
            entity(
                "enrollment",
                600,
                "Entity",
                local_ids=L,
                type="StudentEnrollment",
                workflow_state="active",
                course_id=urn("course", gid(course, local_ids=L)),
                course_section_id=urn("section", gid(8, local_ids=L)),
                user_id=urn("user", gid(user, local_ids=L)),
                user_name="Test Person",
                limit_privileges_to_course_section=False,
            ),
            {
                "id": urn("course", gid(course, local_ids=L), "section", gid(8, local_ids=L)),
                "type": "CourseSection",
            },
        ),
        "enrollment_updated": (
            "Event",
            "Modified",
            entity(
                "enrollment",
                600,
                "Entity",
                local_ids=L,
                type="StudentEnrollment",
                workflow_state="completed",
                course_id=urn("course", gid(course, local_ids=L)),
                course_section_id=urn("section", gid(8, local_ids=L)),
                user_id=urn("user", gid(user, local_ids=L)),
                user_name="Test Person",
                limit_privileges_to_course_section=False,
            ),
            {
                "id": urn("course", gid(course, local_ids=L), "section", gid(8, local_ids=L)),
                "type": "CourseSection",
            },
        ),
        "enrollment_state_created": (
            "Event",
            "Created",
            entity(
                "enrollment",
                600,
                "Entity",
                local_ids=L,
                state="active",
                state_is_current=True,
                access_is_current=True,
                restricted_access=False,
            ),
            g,
        ),
        "enrollment_state_updated": (
            "Event",
            "Modified",
            entity("enrollment", 600, "Entity", local_ids=L, state="completed", state_is_current=True),
            g,
        ),
        "logged_in": (
            "SessionEvent",
            "LoggedIn",
            {"id": HOST, "type": "SoftwareApplication", "extensions": canvas(redirect_url=HOST + "courses")},
            None,
        ),
        "logged_out": ("SessionEvent", "LoggedOut", {"id": HOST, "type": "SoftwareApplication"}, None),
        "assignment_created": (
            "Event",
            "Created",
            {**entity("assignment", 55, "AssignableDigitalResource", local_ids=L), "name": title},
            g,
        ),
        "assignment_updated": (
            "Event",
            "Modified",
            {
                **entity(
                    "assignment", 55, "AssignableDigitalResource", local_ids=L, workflow_state="published"
                ),
                "name": title,
            },
            g,
        ),
        "assignment_override_created": (
            "Event",
            "Created",
            entity(
                "assignment_override",
                12,
                "Entity",
                local_ids=L,
                assignment_id=gid(55),
                type="ADHOC",
                workflow_state="active",
            ),
            g,
        ),
        "assignment_override_updated": (
            "Event",
            "Modified",
            entity(
                "assignment_override",
                12,
                "Entity",
                local_ids=L,
                assignment_id=gid(55),
                type="ADHOC",
                workflow_state="active",
            ),
            g,
        ),
        "attachment_created": (
            "Event",
            "Created",
            {**entity("attachment", 70, "Document", local_ids=L, filename="notes.pdf"), "name": "notes.pdf"},
            g,
        ),
        "attachment_updated": (
            "Event",
            "Modified",
            {**entity("attachment", 70, "Document", local_ids=L, filename="notes.pdf"), "name": "notes.pdf"},
            g,
        ),
        "attachment_deleted": (
            "Event",
            "Deleted",
            {**entity("attachment", 70, "Document", local_ids=L, filename="notes.pdf"), "name": "notes.pdf"},
            g,
        ),
        "course_created": (
            "Event",
            "Created",
            {**entity("course", course, "CourseOffering", local_ids=L), "name": "Course"},
            None,
        ),
        "course_updated": (
            "Event",
            "Modified",
            {
                **entity("course", course, "CourseOffering", local_ids=L, workflow_state="available"),
                "name": "Course",
            },
            None,
        ),
        "syllabus_updated": (
            "Event",
            "Modified",
            {
                "id": urn("course", gid(course, local_ids=L)),
                "type": "Document",
                "name": "Syllabus",
                "body": "<p>new</p>",
            },
            None,
        ),
        "group_category_created": (
            "Event",
            "Created",
            {**entity("groupCategory", 4, "Entity", local_ids=L), "name": "Project groups"},
            g,
        ),
        "group_created": (
            "Event",
            "Created",
            {
                **entity("group", 5, "Group", local_ids=L),
                "name": "Group A",
                "isPartOf": {"id": urn("groupCategory", gid(4, local_ids=L)), "type": "Entity"},
            },
            g,
        ),
        "group_membership_created": (
            "Event",
            "Created",
            {
                "id": urn("groupMembership", gid(6, local_ids=L)),
                "type": "Membership",
                "member": person,
                "organization": entity("group", 5, "Group", local_ids=L),
            },
            None,
        ),
        "user_account_association_created": (
            "Event",
            "Created",
            {
                "id": urn("account", gid(1, local_ids=L)),
                "type": "Entity",
                "extensions": canvas(user_id=urn("user", gid(user, local_ids=L)), is_admin=False),
            },
            None,
        ),
        "wiki_page_created": (
            "Event",
            "Created",
            {**entity("wikiPage", 40, "Page", local_ids=L, body="<p>x</p>"), "name": title},
            g,
        ),
        "wiki_page_updated": (
            "Event",
            "Modified",
            {**entity("wikiPage", 40, "Page", local_ids=L, body="<p>y</p>"), "name": title},
            g,
        ),
        "wiki_page_deleted": (
            "Event",
            "Deleted",
            {**entity("wikiPage", 40, "Page", local_ids=L), "name": title},
            g,
        ),
        "quiz_created": (
            "Event",
            "Created",
            {**entity("quiz", 77, "Assessment", local_ids=L, quiz_type="assignment"), "name": title},
            g,
        ),
        "quiz_updated": (
            "Event",
            "Modified",
            {**entity("quiz", 77, "Assessment", local_ids=L, quiz_type="assignment"), "name": title},
            g,
        ),
        "asset_accessed": (
            "NavigationEvent",
            "NavigatedTo",
            {
                **entity(
                    "wikiPage",
                    40,
                    "Page",
                    local_ids=L,
                    asset_type="wiki_page",
                    asset_name=title,
                    http_method="GET",
                )
            },
            g,
        ),
    }
    return table[name]


def event(
    name: str,
    *,
    user: int = 101,
    sis: str | None = "S1001",
    course: int = 565,
    local_ids: bool = False,
    title: str = "Week 1 reflection",
    event_id: str | None = None,
    event_time: str = "2026-03-04T10:11:12.345Z",
    quiz: int = 77,
) -> dict[str, Any]:
    type_, action, obj, group = _objects(name, user, course, local_ids, title, quiz)
    data: dict[str, Any] = {
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "id": event_id or f"urn:uuid:{uuid.UUID(int=next(_counter) + 0xC0FFEE)}",
        "type": type_,
        "actor": actor(user, sis, local_ids=local_ids),
        "action": action,
        "object": obj,
        "eventTime": event_time,
        "edApp": {"id": HOST, "type": "SoftwareApplication"},
        "extensions": canvas(
            hostname="canvas.test.example", request_id=str(uuid.UUID(int=7)), version="1.0.0"
        ),
    }
    if group is not None:
        data["group"] = group
    return data


def envelope(name: str, **kwargs: Any) -> dict[str, Any]:
    return {
        "sensor": HOST,
        "sendTime": "2026-03-04T10:11:13.000Z",
        "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "data": [event(name, **kwargs)],
    }


def write_fixtures() -> None:  # pragma: no cover - run by hand to regenerate
    from canvasbridge.live_events.naming import KNOWN_EVENTS

    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name in sorted(KNOWN_EVENTS):
        examples = [
            {"description": "global ids", "payload": envelope(name)},
            {"description": "local ids", "payload": envelope(name, local_ids=True)},
        ]
        (FIXTURES / f"{name}.json").write_text(
            json.dumps({"name": name, "examples": examples}, indent=1) + "\n"
        )


if __name__ == "__main__":  # pragma: no cover
    write_fixtures()
