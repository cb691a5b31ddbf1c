"""What happened in a time window, as a backfill reads it: submissions since, entries, audit logs."""

from __future__ import annotations

import httpx
from canvasapi import Canvas

from canvasbridge_emulators.canvas import CanvasEmulator


def _setup(emu: CanvasEmulator) -> tuple[int, int, int]:
    m = emu.model
    course = m.find_course_by_sis("IN1000-2026H")
    student = m.find_user_by_sis("P01")
    teacher = m.find_user_by_sis("P09")
    m.enroll(student.id, course_id=course.id)
    m.enroll(teacher.id, course_id=course.id, type="TeacherEnrollment")
    return course.id, student.id, teacher.id


def test_student_submissions_filter_by_submitted_and_graded_since_with_one_history_entry_per_attempt(
    http: httpx.Client, emu: CanvasEmulator
) -> None:
    m = emu.model
    course_id, student_id, teacher_id = _setup(emu)
    essay = m.add_assignment(course_id, "Essay", points_possible=10)
    m.add_submission(essay.id, student_id, at="2026-03-03T10:00:00Z")
    m.add_submission(essay.id, student_id, at="2026-03-04T09:00:00Z")
    m.grade_submission(essay.id, student_id, score=7, grader_id=teacher_id, at="2026-03-04T09:30:05Z")
    other = m.add_assignment(course_id, "Old", points_possible=5)
    m.add_submission(other.id, student_id, at="2026-03-01T08:00:00Z")

    url = f"/api/v1/courses/{course_id}/students/submissions"
    since = http.get(
        url,
        params=[
            ("student_ids[]", "all"),
            ("submitted_since", "2026-03-04T00:00:00Z"),
            ("include[]", "submission_history"),
        ],
    )
    assert since.status_code == 200
    [found] = since.json()
    assert (found["assignment_id"], found["attempt"], found["submitted_at"]) == (
        essay.id,
        2,
        "2026-03-04T09:00:00Z",
    )
    assert (found["grade"], found["graded_at"], found["grader_id"]) == (
        "7",
        "2026-03-04T09:30:05Z",
        teacher_id,
    )
    history = [(v["attempt"], v["submitted_at"], v["grade"]) for v in found["submission_history"]]
    assert history == [(1, "2026-03-03T10:00:00Z", None), (2, "2026-03-04T09:00:00Z", "7")]
    graded = http.get(url, params={"student_ids[]": "all", "graded_since": "2026-03-04T09:30:05Z"}).json()
    assert [s["id"] for s in graded] == [found["id"]]
    everything = http.get(url, params={"student_ids[]": student_id}).json()
    assert {s["assignment_id"] for s in everything} == {essay.id, other.id}
    missing = http.get(url)
    assert missing.status_code == 400


def test_student_submissions_page_with_link_headers_through_canvasapi(
    canvas: Canvas, emu: CanvasEmulator
) -> None:
    m = emu.model
    course_id, student_id, _ = _setup(emu)
    for i in range(12):
        assignment = m.add_assignment(course_id, f"Task {i}")
        m.add_submission(assignment.id, student_id, at=f"2026-03-04T09:{i:02d}:00Z")
    submissions = canvas.get_course(course_id).get_multiple_submissions(
        student_ids=["all"], submitted_since="2026-03-04T09:05:00Z", per_page=5
    )
    assert sorted(s.submitted_at for s in submissions) == [f"2026-03-04T09:{i:02d}:00Z" for i in range(5, 12)]


def test_discussion_entries_are_listed_newest_first_with_their_authors(
    canvas: Canvas, emu: CanvasEmulator
) -> None:
    m = emu.model
    course_id, student_id, teacher_id = _setup(emu)
    topic = m.add_discussion_topic(course_id, "Introductions")
    first = m.add_discussion_entry(topic.id, student_id, "<p>Hello</p>", at="2026-03-04T08:00:00Z")
    second = m.add_discussion_entry(topic.id, teacher_id, "<p>Welcome</p>", at="2026-03-04T08:05:00Z")
    entries = list(canvas.get_course(course_id).get_discussion_topic(topic.id).get_topic_entries())
    assert [(e.id, e.user_id, e.created_at) for e in entries] == [
        (second.id, teacher_id, "2026-03-04T08:05:00Z"),
        (first.id, student_id, "2026-03-04T08:00:00Z"),
    ]
    assert entries[1].user_name == m.get_user(student_id).name


def test_authentication_log_is_a_compound_document_paged_newest_first(
    http: httpx.Client, emu: CanvasEmulator
) -> None:
    m = emu.model
    _, student_id, teacher_id = _setup(emu)
    for minute in range(7):
        user = student_id if minute % 2 else teacher_id
        m.record_authentication(user, "login" if minute < 6 else "logout", at=f"2026-03-04T10:0{minute}:00Z")
    m.record_authentication(student_id, "login", at="2026-03-05T10:00:00Z")
    url = "/api/v1/audit/authentication/accounts/1"
    params = {"start_time": "2026-03-04T00:00:00Z", "end_time": "2026-03-04T23:59:59Z", "per_page": 4}
    first = http.get(url, params=params)
    body = first.json()
    assert set(body) == {"links", "events", "linked"}
    assert [e["created_at"] for e in body["events"]] == [f"2026-03-04T10:0{m}:00Z" for m in (6, 5, 4, 3)]
    newest = body["events"][0]
    assert (newest["event_type"], newest["user_id"], newest["links"]["user"]) == (
        "logout",
        teacher_id,
        teacher_id,
    )
    assert newest["pseudonym_id"] == m.primary_login(teacher_id).id
    assert {u["id"] for u in body["linked"]["users"]} == {student_id, teacher_id}
    assert {lg["id"] for lg in body["linked"]["logins"]} == {
        m.primary_login(student_id).id,
        m.primary_login(teacher_id).id,
    }
    nxt = first.links["next"]["url"]
    rest = http.get(nxt).json()["events"]
    assert [e["created_at"] for e in rest] == [f"2026-03-04T10:0{m}:00Z" for m in (2, 1, 0)]
    assert http.get(url, params={"start_time": "yesterday"}).status_code == 400


def test_grade_change_log_has_every_grading_of_a_course_with_grade_before_and_after(
    http: httpx.Client, emu: CanvasEmulator
) -> None:
    m = emu.model
    course_id, student_id, teacher_id = _setup(emu)
    essay = m.add_assignment(course_id, "Essay", points_possible=10)
    m.add_submission(essay.id, student_id, at="2026-03-04T09:00:00Z")
    m.grade_submission(essay.id, student_id, score=6, grader_id=teacher_id, at="2026-03-04T10:00:00Z")
    m.grade_submission(essay.id, student_id, score=8, grader_id=teacher_id, at="2026-03-04T11:00:00Z")
    body = http.get(
        f"/api/v1/audit/grade_change/courses/{course_id}",
        params={"start_time": "2026-03-04T00:00:00Z", "end_time": "2026-03-05T00:00:00Z"},
    ).json()
    changes = [(e["created_at"], e["grade_before"], e["grade_after"]) for e in body["events"]]
    assert changes == [("2026-03-04T11:00:00Z", "6", "8"), ("2026-03-04T10:00:00Z", None, "6")]
    links = body["events"][0]["links"]
    assert (links["assignment"], links["student"], links["grader"], links["course"]) == (
        essay.id,
        student_id,
        teacher_id,
        course_id,
    )
    assert [a["name"] for a in body["linked"]["assignments"]] == ["Essay"]


def test_an_enrollment_update_keeps_its_time(http: httpx.Client, emu: CanvasEmulator) -> None:
    m = emu.model
    course_id, student_id, _ = _setup(emu)
    [enrollment] = m.enrollments(course_id=course_id, user_id=student_id)
    m.set_enrollment_state(enrollment.id, "active", at="2026-03-04T12:00:00Z")
    listed = http.get(
        f"/api/v1/courses/{course_id}/enrollments", params=[("state[]", "active"), ("user_id", student_id)]
    ).json()
    assert [(e["id"], e["updated_at"]) for e in listed] == [(enrollment.id, "2026-03-04T12:00:00Z")]


def test_the_topic_view_has_the_whole_thread_with_replies_nested(
    http: httpx.Client, emu: CanvasEmulator
) -> None:
    m = emu.model
    course_id, student_id, teacher_id = _setup(emu)
    topic = m.add_discussion_topic(course_id, "Introductions")
    first = m.add_discussion_entry(topic.id, student_id, "<p>Hello</p>", at="2026-03-04T08:00:00Z")
    reply = m.add_discussion_entry(
        topic.id, teacher_id, "<p>Hi</p>", at="2026-03-04T08:01:00Z", parent_id=first.id
    )
    deeper = m.add_discussion_entry(
        topic.id, student_id, "<p>:)</p>", at="2026-03-04T08:02:00Z", parent_id=reply.id
    )
    body = http.get(f"/api/v1/courses/{course_id}/discussion_topics/{topic.id}/view").json()
    assert set(body) == {
        "unread_entries",
        "forced_entries",
        "entry_ratings",
        "participants",
        "view",
        "new_entries",
    }
    [top] = body["view"]
    assert (top["id"], top["user_id"], top["created_at"]) == (first.id, student_id, "2026-03-04T08:00:00Z")
    [nested] = top["replies"]
    assert (nested["id"], nested["parent_id"], nested["replies"][0]["id"]) == (reply.id, first.id, deeper.id)
    assert {p["id"] for p in body["participants"]} == {student_id, teacher_id}
    listed = http.get(f"/api/v1/courses/{course_id}/discussion_topics/{topic.id}/entries").json()
    assert [e["id"] for e in listed] == [first.id]  # the entries list has top-level entries only
