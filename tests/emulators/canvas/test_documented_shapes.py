"""Every Canvas endpoint the emulator serves answers with the object Canvas documents: each
field real Canvas always sends is present with its JSON type (documented_objects.py), in
every response that carries that object, lists and includes too."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from canvasbridge_emulators.canvas import CanvasEmulator
from tests.emulators.canvas import documented_objects as doc
from tests.emulators.shapes import shape_errors


def seed(emu: CanvasEmulator) -> dict[str, Any]:
    m = emu.model
    course = m.find_course_by_sis("IN1000-2026H")
    section = m.find_section_by_sis("IN1000-2026H-G1")
    teacher, student = m.find_user_by_sis("P00"), m.find_user_by_sis("P01")
    m.enroll(teacher.id, course_id=course.id, type="TeacherEnrollment", state="active")
    enrollment = m.enroll(student.id, section_id=section.id, state="active")
    assignment = m.add_assignment(course.id, "Essay", points_possible=10)
    m.add_submission(assignment.id, student.id, score=7)
    quiz = m.add_quiz(course.id, "Check", points_possible=5)
    taken = m.add_quiz_submission(quiz.id, student.id, score=4)
    topic = m.add_discussion_topic(course.id, "Introductions")
    m.add_page(course.id, "Reading List")
    admin_role = m.find_role("AccountAdmin")
    m.add_admin(1, teacher.id, admin_role.id)
    return {
        "course": course.id,
        "section": section.id,
        "user": student.id,
        "enrollment": enrollment.id,
        "assignment": assignment.id,
        "quiz": quiz.id,
        "quiz_submission": taken.id,
        "topic": topic.id,
        "login": m.primary_login(student.id).id,
        "term": m.find_term_by_sis("2026H").id,
        "account": m.find_account_by_sis("ORG-10").id,
    }


def one(body: Any) -> list[Any]:
    return [body]


def each(body: Any) -> list[Any]:
    assert isinstance(body, list) and body, body
    return list(body)


def key(name: str, inner: Callable[[Any], list[Any]] = each) -> Callable[[Any], list[Any]]:
    return lambda body: inner(body[name])


# (method, path, body or None, how to find the objects in the answer, their documented shape)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, Callable[[Any], list[Any]], dict[str, str]]] = [
    ("GET", "/accounts", None, each, doc.ACCOUNT),
    ("GET", "/accounts/{account}", None, one, doc.ACCOUNT),
    ("GET", "/accounts/1/sub_accounts?recursive=true", None, each, doc.ACCOUNT),
    ("POST", "/accounts/{account}/sub_accounts", {"account[name]": "Lab"}, one, doc.ACCOUNT),
    ("PUT", "/accounts/{account}", {"account[name]": "Science"}, one, doc.ACCOUNT),
    ("GET", "/accounts/1/terms", None, key("enrollment_terms"), doc.TERM),
    ("GET", "/accounts/1/terms/{term}", None, one, doc.TERM),
    ("POST", "/accounts/1/terms", {"enrollment_term[name]": "Spring"}, one, doc.TERM),
    ("GET", "/accounts/1/roles", None, each, doc.ROLE),
    ("GET", "/accounts/1/roles/3", None, one, doc.ROLE),
    ("GET", "/accounts/1/admins", None, each, doc.ADMIN),
    ("GET", "/accounts/1/users", None, each, doc.USER),
    (
        "POST",
        "/accounts/1/users",
        {"pseudonym[unique_id]": "newbie", "user[name]": "New Bie"},
        one,
        doc.USER_FULL,
    ),
    ("GET", "/users/{user}", None, one, doc.USER_FULL),
    ("PUT", "/users/{user}", {"user[short_name]": "P1"}, one, doc.USER_FULL),
    ("GET", "/users/{user}/profile", None, one, doc.PROFILE),
    ("GET", "/users/{user}/logins", None, each, doc.LOGIN),
    ("GET", "/accounts/1/logins?user_id={user}", None, each, doc.LOGIN),
    ("PUT", "/accounts/1/logins/{login}", {"login[declared_user_type]": "student"}, one, doc.LOGIN),
    ("GET", "/users/{user}/enrollments", None, each, doc.ENROLLMENT),
    ("GET", "/users/{user}/courses", None, each, doc.COURSE),
    ("GET", "/accounts/1/courses?include[]=term&include[]=total_students", None, each, doc.COURSE),
    ("POST", "/accounts/1/courses", {"course[name]": "New Course"}, one, doc.COURSE),
    ("GET", "/courses/{course}", None, one, doc.COURSE),
    ("PUT", "/courses/{course}", {"course[name]": "Programming"}, one, doc.COURSE),
    ("GET", "/courses/{course}/users", None, each, doc.USER),
    ("GET", "/courses/{course}/search_users", None, each, doc.USER),
    ("GET", "/courses/{course}/sections", None, each, doc.SECTION),
    ("POST", "/courses/{course}/sections", {"course_section[name]": "Group 2"}, one, doc.SECTION),
    ("GET", "/courses/{course}/sections/{section}", None, one, doc.SECTION),
    ("GET", "/sections/{section}", None, one, doc.SECTION),
    ("PUT", "/sections/{section}", {"course_section[name]": "G1"}, one, doc.SECTION),
    ("GET", "/courses/{course}/enrollments", None, each, doc.ENROLLMENT),
    ("GET", "/sections/{section}/enrollments", None, each, doc.ENROLLMENT),
    ("POST", "/courses/{course}/enrollments", {"enrollment[user_id]": "{user}"}, one, doc.ENROLLMENT),
    ("GET", "/accounts/1/enrollments/{enrollment}", None, one, doc.ENROLLMENT),
    ("DELETE", "/courses/{course}/enrollments/{enrollment}", {"task": "deactivate"}, one, doc.ENROLLMENT),
    ("GET", "/courses/{course}/assignments", None, each, doc.ASSIGNMENT),
    ("GET", "/courses/{course}/assignments/{assignment}", None, one, doc.ASSIGNMENT),
    ("GET", "/courses/{course}/assignments/{assignment}/submissions", None, each, doc.SUBMISSION),
    ("GET", "/courses/{course}/assignments/{assignment}/submissions/{user}", None, one, doc.SUBMISSION),
    ("GET", "/courses/{course}/assignments/{assignment}/submissions/1", None, one, doc.SUBMISSION),
    ("GET", "/courses/{course}/quizzes", None, each, doc.QUIZ),
    ("GET", "/courses/{course}/quizzes/{quiz}", None, one, doc.QUIZ),
    (
        "GET",
        "/courses/{course}/quizzes/{quiz}/submissions",
        None,
        key("quiz_submissions"),
        doc.QUIZ_SUBMISSION,
    ),
    (
        "GET",
        "/courses/{course}/quizzes/{quiz}/submissions/{quiz_submission}?include[]=quiz",
        None,
        key("quiz_submissions"),
        doc.QUIZ_SUBMISSION,
    ),
    (
        "GET",
        "/courses/{course}/quizzes/{quiz}/submissions/{quiz_submission}?include=quiz",
        None,
        key("quizzes"),
        doc.QUIZ,
    ),
    ("GET", "/courses/{course}/discussion_topics", None, each, doc.DISCUSSION_TOPIC),
    ("GET", "/courses/{course}/discussion_topics/{topic}", None, one, doc.DISCUSSION_TOPIC),
    ("GET", "/courses/{course}/pages/reading-list", None, one, doc.PAGE),
    ("GET", "/accounts/1/sis_imports", None, key("sis_imports"), doc.SIS_IMPORT),
    ("POST", "/accounts/1/reports/provisioning_csv", {"parameters[users]": "true"}, one, doc.REPORT),
]


@pytest.mark.parametrize(
    ("method", "path", "form", "find", "shape"), ENDPOINTS, ids=[f"{e[0]} {e[1]}" for e in ENDPOINTS]
)
def test_endpoint_answers_with_the_documented_object(
    method: str,
    path: str,
    form: dict[str, Any] | None,
    find: Callable[[Any], list[Any]],
    shape: dict[str, str],
    http: httpx.Client,
    emu: CanvasEmulator,
) -> None:
    ids = {k: str(v) for k, v in seed(emu).items()}
    if "sis_imports" in path:
        csv = b"user_id,login_id,status\nP99,p99,active\n"
        http.post(
            "/api/v1/accounts/1/sis_imports?extension=csv", content=csv, headers={"Content-Type": "text/csv"}
        )
        time.sleep(0.2)
    data = {k: v.format(**ids) for k, v in form.items()} if form else None
    answer = http.request(method, "/api/v1" + path.format(**ids), data=data)
    assert answer.status_code == 200, answer.text
    objects = find(answer.json())
    for obj in objects:
        assert shape_errors(obj, shape) == [], obj
