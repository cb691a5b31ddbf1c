"""Course content lookups the activity flow makes (reference original-systems A.5), through canvasapi."""

from __future__ import annotations

import httpx
from canvasapi import Canvas

from canvasbridge_emulators.canvas import CanvasEmulator


def test_assignment_and_submission_by_user(canvas: Canvas, emu: CanvasEmulator) -> None:
    m = emu.model
    course = m.find_course_by_sis("IN1000-2026H")
    student = m.find_user_by_sis("P01")
    assignment = m.add_assignment(course.id, "Essay 1", points_possible=10)
    m.add_submission(assignment.id, student.id, score=8)
    api_assignment = canvas.get_course(course.id).get_assignment(assignment.id)
    assert api_assignment.name == "Essay 1" and api_assignment.points_possible == 10
    submission = api_assignment.get_submission(student.id)
    assert (submission.score, submission.grade, submission.workflow_state) == (8, "8", "graded")
    other = api_assignment.get_submission(m.find_user_by_sis("P02").id)
    assert other.workflow_state == "unsubmitted" and other.score is None


def test_quiz_submission_with_include_quiz_is_wrapped(
    http: httpx.Client, canvas: Canvas, emu: CanvasEmulator
) -> None:
    m = emu.model
    course = m.find_course_by_sis("IN1000-2026H")
    quiz = m.add_quiz(course.id, "Week 1 check", points_possible=5)
    taken = m.add_quiz_submission(quiz.id, m.find_user_by_sis("P03").id, score=4)
    body = http.get(
        f"/api/v1/courses/{course.id}/quizzes/{quiz.id}/submissions/{taken.id}?include=quiz"
    ).json()
    assert (
        body["quiz_submissions"][0]["score"] == 4 and body["quiz_submissions"][0]["quiz_points_possible"] == 5
    )
    assert body["quizzes"][0]["title"] == "Week 1 check"
    assert canvas.get_course(course.id).get_quiz(quiz.id).title == "Week 1 check"
    # a quiz is an assignment too
    assert (
        http.get(f"/api/v1/courses/{course.id}/assignments/{quiz.assignment_id}").json()["quiz_id"] == quiz.id
    )


def test_discussion_topic_and_page(canvas: Canvas, emu: CanvasEmulator) -> None:
    course_id = emu.model.find_course_by_sis("IN1000-2026H").id
    topic = emu.model.add_discussion_topic(course_id, "Introduce yourself")
    emu.model.add_page(course_id, "Reading List")
    api_course = canvas.get_course(course_id)
    assert api_course.get_discussion_topic(topic.id).title == "Introduce yourself"
    assert api_course.get_page("reading-list").title == "Reading List"


def test_content_of_another_course_is_404(http: httpx.Client, emu: CanvasEmulator) -> None:
    other = emu.model.add_course("Other")
    assignment = emu.model.add_assignment(other.id, "Hidden")
    course_id = emu.model.find_course_by_sis("IN1000-2026H").id
    assert http.get(f"/api/v1/courses/{course_id}/assignments/{assignment.id}").status_code == 404
