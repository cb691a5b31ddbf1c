"""Calls canvasapi 3.6 makes that real Canvas answers, through canvasapi against the emulator:
``grader_id`` on submissions, global ids, ``search_users``, account-course includes, profiles,
and aborting pending SIS imports."""

from __future__ import annotations

import httpx
import pytest
from canvasapi import Canvas
from canvasapi.exceptions import ResourceDoesNotExist

from canvasbridge_emulators.canvas import CanvasEmulator

SHARD = 1367
FACTOR = 10**13


def gid(local: int) -> int:
    return SHARD * FACTOR + local


def test_every_submission_carries_grader_id_as_canvas_sends_it(canvas: Canvas, emu: CanvasEmulator) -> None:
    m = emu.model
    course = m.find_course_by_sis("IN1000-2026H")
    teacher, student, other = (m.find_user_by_sis(s) for s in ("P00", "P01", "P02"))
    m.enroll(teacher.id, course_id=course.id, type="TeacherEnrollment", state="active")
    essay = m.add_assignment(course.id, "Essay", points_possible=10)
    m.add_submission(essay.id, student.id)
    api_essay = canvas.get_course(course.id).get_assignment(essay.id)
    assert api_essay.get_submission(student.id).grader_id is None  # submitted, not graded
    m.add_submission(essay.id, student.id, score=7)
    assert api_essay.get_submission(student.id).grader_id == teacher.id
    assert api_essay.get_submission(other.id).grader_id is None  # the unsubmitted placeholder
    quiz = m.add_quiz(course.id, "Check", points_possible=5)
    m.add_quiz_submission(quiz.id, student.id, score=4)
    by_autograder = canvas.get_course(course.id).get_assignment(quiz.assignment_id).get_submission(student.id)
    assert by_autograder.grader_id == -quiz.id  # graded by a process: a negative id
    assert all(hasattr(s, "grader_id") for s in api_essay.get_submissions())


def test_global_ids_are_accepted_wherever_local_ids_are(
    canvas: Canvas, emu: CanvasEmulator, http: httpx.Client
) -> None:
    m = emu.model
    course = m.find_course_by_sis("IN1000-2026H")
    student = m.find_user_by_sis("P03")
    section = m.find_section_by_sis("IN1000-2026H-G1")
    quiz = m.add_quiz(course.id, "Week 2", points_possible=3)
    assignment = m.add_assignment(course.id, "Report", points_possible=10)
    m.add_submission(assignment.id, student.id, score=9)
    taken = m.add_quiz_submission(quiz.id, student.id, score=3)

    assert canvas.get_user(gid(student.id)).id == student.id
    api_course = canvas.get_course(gid(course.id))
    assert api_course.id == course.id
    assert canvas.get_section(gid(section.id)).id == section.id
    assert api_course.get_assignment(gid(assignment.id)).name == "Report"
    assert api_course.get_quiz(gid(quiz.id)).title == "Week 2"
    submission = api_course.get_assignment(gid(assignment.id)).get_submission(gid(student.id))
    assert submission.user_id == student.id and submission.score == 9
    quiz_submission = api_course.get_quiz(gid(quiz.id)).get_quiz_submission(gid(taken.id))
    assert quiz_submission.id == taken.id
    enrollment = api_course.enroll_user(gid(student.id), enrollment={"type": "StudentEnrollment"})
    assert enrollment.user_id == student.id
    with pytest.raises(ResourceDoesNotExist):
        canvas.get_user(gid(999_999))
    # the shard~id form (canvasapi passes only ints, so over plain HTTP)
    assert http.get(f"/api/v1/users/{SHARD}~{student.id}").json()["id"] == student.id
    assert http.get(f"/api/v1/courses/{SHARD}~{course.id}/quizzes/{SHARD}~{quiz.id}").json()["id"] == quiz.id


def test_course_get_users_is_served_on_search_users(canvas: Canvas, emu: CanvasEmulator) -> None:
    m = emu.model
    course = m.find_course_by_sis("IN1000-2026H")
    for sis in ("P04", "P05"):
        m.enroll(m.find_user_by_sis(sis).id, course_id=course.id, state="active")
    m.enroll(m.find_user_by_sis("P06").id, course_id=course.id, type="TeacherEnrollment", state="active")
    api_course = canvas.get_course(course.id)
    assert sorted(u.sis_user_id for u in api_course.get_users()) == ["P04", "P05", "P06"]
    assert sorted(u.sis_user_id for u in api_course.get_users(enrollment_type=["student"])) == ["P04", "P05"]
    assert [u.sis_user_id for u in api_course.get_users(search_term="P05")] == ["P05"]


def test_account_courses_honour_include_total_students_and_term(canvas: Canvas, emu: CanvasEmulator) -> None:
    m = emu.model
    course = m.find_course_by_sis("IN1000-2026H")
    for sis in ("P07", "P08"):
        m.enroll(m.find_user_by_sis(sis).id, course_id=course.id, state="active")
    (listed,) = canvas.get_account(1).get_courses(include=["total_students", "term"])
    assert listed.total_students == 2
    assert listed.term["name"] == "Autumn 2026" and listed.term["sis_term_id"] == "2026H"
    (plain,) = canvas.get_account(1).get_courses()
    assert not hasattr(plain, "total_students") and not hasattr(plain, "term")


def test_user_profile(canvas: Canvas, emu: CanvasEmulator) -> None:
    user = emu.model.find_user_by_sis("P09")
    profile = canvas.get_user(user.id).get_profile()
    assert profile["id"] == user.id and profile["name"] == "Person 09 Example"
    assert profile["login_id"] == "user09" and profile["sis_user_id"] == "P09"
    assert profile["primary_email"] == "p9@uni.test"
    assert canvas.get_user("P09", "sis_user_id").get_profile()["id"] == user.id


def test_abort_all_pending_sis_imports(canvas: Canvas, emu: CanvasEmulator) -> None:
    m = emu.model
    pending = m.add_record("sis_import", {"workflow_state": "created", "created_at": "2026-01-01T00:00:00Z"})
    done = m.add_record("sis_import", {"workflow_state": "imported", "created_at": "2026-01-01T00:00:00Z"})
    assert canvas.get_account(1).abort_sis_imports_pending() is True
    assert m.get_record("sis_import", pending["id"])["workflow_state"] == "aborted"
    assert m.get_record("sis_import", done["id"])["workflow_state"] == "imported"
