"""Every id form Canvas accepts, on every endpoint that takes an id of that kind: the local
id, the global id (shard * 10^13 + id, and shard~id), and the SIS forms Canvas documents
(``sis_user_id:``, ``sis_login_id:``, ``sis_integration_id:``, ``sis_course_id:``,
``sis_section_id:``, ``sis_account_id:``, ``sis_term_id:``, the old ``hex:`` form)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from canvasapi import Canvas

from canvasbridge_emulators.canvas import CanvasEmulator, CanvasModel

SHARD = 1367


def forms(local: int, *sis: str) -> list[str]:
    return [str(local), str(SHARD * 10**13 + local), f"{SHARD}~{local}", *sis]


def hexed(prefix: str, value: str) -> str:
    return f"hex:{prefix}:{value.encode().hex()}"


def world(m: CanvasModel) -> dict[str, Any]:
    course = m.find_course_by_sis("IN1000-2026H")
    m.update_course(course.id, integration_id="INT-IN1000")
    section = m.find_section_by_sis("IN1000-2026H-G1")
    m.update_section(section.id, integration_id="INT-G1")
    user = m.find_user_by_sis("P05")
    m.update_login(m.primary_login(user.id).id, integration_id="FEIDE-5")
    m.enroll(user.id, section_id=section.id, state="active")
    assignment = m.add_assignment(course.id, "Essay", points_possible=10)
    m.add_submission(assignment.id, user.id, score=6)
    quiz = m.add_quiz(course.id, "Check", points_possible=5)
    taken = m.add_quiz_submission(quiz.id, user.id, score=5)
    account = m.find_account_by_sis("ORG-10")
    term = m.find_term_by_sis("2026H")
    return {
        "user": forms(
            user.id,
            "sis_user_id:P05",
            "sis_login_id:user05",
            "sis_integration_id:FEIDE-5",
            hexed("sis_user_id", "P05"),
        ),
        "course": forms(
            course.id,
            "sis_course_id:IN1000-2026H",
            "sis_integration_id:INT-IN1000",
            hexed("sis_course_id", "IN1000-2026H"),
        ),
        "section": forms(section.id, "sis_section_id:IN1000-2026H-G1", "sis_integration_id:INT-G1"),
        "account": forms(account.id, "sis_account_id:ORG-10"),
        "term": forms(term.id, "sis_term_id:2026H"),
        "assignment": forms(assignment.id),
        "quiz": forms(quiz.id),
        "quiz_submission": forms(taken.id),
        "ids": {
            "user": user.id,
            "course": course.id,
            "section": section.id,
            "account": account.id,
            "term": term.id,
            "assignment": assignment.id,
            "quiz": quiz.id,
            "quiz_submission": taken.id,
        },
    }


# (path with {kind} placeholders, the kind whose forms vary, how to read the answer's id)
ENDPOINTS: list[tuple[str, str, Callable[[Any], Any]]] = [
    ("/users/{user}", "user", lambda b: b["id"]),
    ("/users/{user}/profile", "user", lambda b: b["id"]),
    ("/users/{user}/logins", "user", lambda b: b[0]["user_id"]),
    ("/users/{user}/enrollments", "user", lambda b: b[0]["user_id"]),
    ("/users/{user}/courses", "user", lambda b: "listed" if b else None),
    ("/courses/{course}", "course", lambda b: b["id"]),
    ("/courses/{course}/sections", "course", lambda b: b[0]["course_id"]),
    ("/courses/{course}/enrollments", "course", lambda b: b[0]["course_id"]),
    ("/courses/{course}/users", "course", lambda b: "listed" if b else None),
    ("/courses/{course}/search_users", "course", lambda b: "listed" if b else None),
    ("/courses/{course}/assignments", "course", lambda b: b[0]["course_id"]),
    ("/courses/{course}/sections/{section}", "section", lambda b: b["id"]),
    ("/sections/{section}", "section", lambda b: b["id"]),
    ("/sections/{section}/enrollments", "section", lambda b: b[0]["course_section_id"]),
    ("/accounts/{account}", "account", lambda b: b["id"]),
    ("/accounts/{account}/sub_accounts", "account", lambda b: b[0]["parent_account_id"]),
    ("/accounts/1/terms/{term}", "term", lambda b: b["id"]),
    ("/courses/{course}/assignments/{assignment}", "assignment", lambda b: b["id"]),
    ("/courses/{course}/assignments/{assignment}/submissions/{user}", "user", lambda b: b["user_id"]),
    ("/courses/{course}/assignments/{assignment}/submissions", "assignment", lambda b: b[0]["assignment_id"]),
    ("/courses/{course}/quizzes/{quiz}", "quiz", lambda b: b["id"]),
    (
        "/courses/{course}/quizzes/{quiz}/submissions/{quiz_submission}",
        "quiz_submission",
        lambda b: b["quiz_submissions"][0]["id"],
    ),
]


@pytest.mark.parametrize(("path", "kind", "read"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_every_id_form_reaches_the_same_object(
    path: str, kind: str, read: Callable[[Any], Any], http: httpx.Client, emu: CanvasEmulator
) -> None:
    ids = world(emu.model)
    local = {k: str(v) for k, v in ids["ids"].items()}
    baseline = http.get("/api/v1" + path.format(**local))
    assert baseline.status_code == 200, baseline.text
    expected = read(baseline.json())
    assert expected is not None
    for form in ids[kind]:
        answer = http.get("/api/v1" + path.format(**{**local, kind: form}))
        assert answer.status_code == 200, (form, answer.text)
        assert read(answer.json()) == expected, form


def test_an_unknown_global_or_sis_id_is_canvas_404(http: httpx.Client, emu: CanvasEmulator) -> None:
    for ref in (str(SHARD * 10**13 + 987_654), f"{SHARD}~987654", "sis_user_id:NOPE", "hex:sis_user_id:4e4f"):
        answer = http.get(f"/api/v1/users/{ref}")
        assert answer.status_code == 404
        assert answer.json()["errors"] == [{"message": "The specified resource does not exist."}]


def test_canvasapi_writes_take_global_and_sis_ids_too(canvas: Canvas, emu: CanvasEmulator) -> None:
    ids = world(emu.model)["ids"]
    global_course = SHARD * 10**13 + ids["course"]
    global_user = SHARD * 10**13 + ids["user"]
    enrollment = canvas.get_course(global_course).enroll_user(
        global_user, enrollment={"type": "TeacherEnrollment", "enrollment_state": "active"}
    )
    assert (enrollment.course_id, enrollment.user_id) == (ids["course"], ids["user"])
    section = canvas.get_section("IN1000-2026H-G1", use_sis_id=True)
    edited = section.edit(course_section={"name": "Group One"})
    assert edited.name == "Group One"
    user = canvas.get_user("user05", "sis_login_id")
    assert user.edit(user={"short_name": "Five"}).short_name == "Five"
