"""A compatibility run: the Canvas and Salesforce calls the original Ambition Lambda makes per
event (reference original-systems.md A.3-A.7, at the design document's commit and the
changes up to its HEAD), replayed through canvasapi and simple-salesforce against the
emulators loaded with one activity dataset. Our own code: it derives ids from each Caliper
event as the Lambda does and checks every answer carries what the Lambda reads from it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from canvasapi import Canvas
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce, SalesforceLogin, format_soql

from canvasbridge_emulators.caliper_feed import LiveEventGenerator
from canvasbridge_emulators.canvas import DEFAULT_TOKEN, CanvasModel
from canvasbridge_emulators.canvas import create_app as canvas_app
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.salesforce import SalesforceModel
from canvasbridge_emulators.salesforce import create_app as salesforce_app
from canvasbridge_emulators.university.activity import ActivityDataset

TODAY = dt.date(2026, 3, 4)
EXT = "com.instructure.canvas"
pytestmark = pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly:UserWarning")


class ToHttp(HTTPAdapter):
    """simple-salesforce speaks https only; carry its calls to the emulator's http port."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        parts = urlsplit(request.url)
        request.url = urlunsplit(("http", self.target, parts.path, parts.query, parts.fragment))
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[ActivityDataset, CanvasModel, Canvas, SalesforceModel, Salesforce]]:
    dataset = ActivityDataset.generate("tiny", seed=5, today=TODAY)
    canvas_emu = canvas_app()
    dataset.load_canvas(canvas_emu.model)
    sf_app, sf_model, _control = salesforce_app(today=TODAY)
    dataset.load_salesforce(sf_model)
    with ServerThread(canvas_emu.app) as canvas_server, ServerThread(sf_app) as sf_server:
        host = urlsplit(sf_server.url).netloc
        session = requests.Session()
        adapter = ToHttp(host)
        session.mount(f"https://{host}/", adapter)
        session.mount("https://login.salesforce.com/", adapter)
        c = sf_model.credentials
        # the Lambda logs in once, by the SOAP username + password + security token login
        session_id, instance = SalesforceLogin(
            username=c.username, password=c.password, security_token=c.security_token, session=session
        )
        sf = Salesforce(instance=instance, session_id=session_id, session=session)
        yield dataset, canvas_emu.model, Canvas(canvas_server.url, DEFAULT_TOKEN), sf_model, sf


def last_part(urn: str) -> int:
    return int(urn.rsplit(":", 1)[1])


def clean_course_id(global_id: str) -> int:
    """The Lambda drops the 5-character shard prefix, then leading zeros."""
    return int(global_id[5:].lstrip("0"))


def canvas_calls(canvas: Canvas, name: str, event: dict[str, Any]) -> dict[str, Any]:
    """The Canvas calls of the Lambda's process_<name>, and what it reads from each answer."""

    actor = event["actor"]["extensions"][EXT]["entity_id"]
    obj = event["object"]
    user = canvas.get_user(actor)  # a global id, as Live Events carry it
    read: dict[str, Any] = {"uid": user.sis_user_id}
    if name in ("logged_in", "logged_out", "discussion_topic_created"):
        if name == "discussion_topic_created":
            read["topic"] = obj["name"]
        return read
    course_id = clean_course_id(event["group"]["extensions"][EXT]["entity_id"])
    if name == "discussion_entry_created":
        topic = canvas.get_course(course_id).get_discussion_topic(last_part(obj["isPartOf"]["id"]))
        read["topic"] = topic.title
        return read
    course = canvas.get_course(course_id)
    read["course"] = course.name
    if name == "quiz_submitted":
        quiz_id = last_part(obj["assignable"]["id"])
        submission_id = int(obj["extensions"][EXT]["entity_id"]) % 10**13
        quiz = course.get_quiz(quiz_id)
        taken = quiz.get_quiz_submission(submission_id, include=["quiz"])
        read.update(title=quiz.title, score=taken.score, out_of=taken.quiz_points_possible)
    else:  # submission_created / submission_updated
        assignment = course.get_assignment(last_part(obj["assignable"]["id"]))
        assignee = last_part(obj["assignee"]["id"])  # HEAD reads the assignee, not the actor
        submission = assignment.get_submission(assignee)
        read.update(assignment=assignment.name, grade=submission.grade, grader_id=submission.grader_id)
        if submission.grader_id is not None and submission.grader_id > 0:
            read["grader_email"] = canvas.get_user(submission.grader_id).email  # HEAD: the marker
        read["resubmission"] = int(actor) % 10**13 == assignee % 10**13  # either may be global
    return read


def salesforce_calls(
    sf: Salesforce, uid: str, course_id: int | None, event_name: str | None
) -> dict[str, Any]:
    """The Lambda's SOQL (the design's version, then HEAD's), its create and its update."""

    design = (
        "SELECT Id, ParticipantName__c FROM Programme_Participant__c "
        "WHERE Programme__r.LMS_Start_Date__c <= TODAY AND Programme__r.LMS_End_Date__c > TODAY "
        "AND Participant_UID__c = {}"
    )
    if course_id:
        design += " AND Programme__r.LMS_Course_Id__c = {:literal}"
    participants = sf.query(
        format_soql(design, uid, str(int(course_id))) if course_id else format_soql(design, uid)
    )
    head = sf.query(
        format_soql(
            "SELECT Id, ParticipantName__c, Qualification__c, Programme__r.LMS_Course_Id__c "
            "FROM Programme_Participant__c WHERE Participant_UID__c = {}",
            uid,
        )
    )
    assert head["totalSize"] >= participants["totalSize"]
    for record in head["records"]:
        assert set(record) >= {"attributes", "Id", "ParticipantName__c", "Qualification__c", "Programme__r"}
        assert record["Programme__r"] is None or "LMS_Course_Id__c" in record["Programme__r"]
    created = [
        sf.Canvas_Activitiy__c.create(
            {
                "Canvas_Activity__c": "Quiz Submitted",
                "Canvas_Activity_Detail__c": f"{p['ParticipantName__c']} did something on 2026-03-04",
                "Date__c": "2026-03-04T10:00:00.000Z",
                "Time__c": "10:00:00.000Z",
                "Programme_Participant__c": p["Id"],
            }
        )
        for p in participants["records"]
    ]
    assert all(c["success"] and len(c["id"]) == 18 and c["errors"] == [] for c in created)
    marked = 0
    if event_name:
        attendees = sf.query(
            format_soql(
                "SELECT Id FROM Attendees__c WHERE Contact__r.Participant_UID__c = {} "
                "AND FLIP_Event__r.Send_to_LMS__c = true "
                "AND FLIP_Event__r.Cohort_lkp__r.LMS_Start_Date__c <= TODAY "
                "AND FLIP_Event__r.Cohort_lkp__r.LMS_End_Date__c > TODAY "
                "AND Contact__r.Email != null AND FLIP_Event__r.Event_Name__c = {}",
                uid,
                event_name,
            )
        )
        for attendee in attendees["records"]:
            assert sf.Attendees__c.update(attendee["Id"], {"Event_Attended__c": True}) == 204
            marked += 1
    return {"participants": participants["totalSize"], "created": len(created), "marked": marked}


LAMBDA_EVENTS = [
    "quiz_submitted",
    "submission_created",
    "submission_updated",
    "discussion_topic_created",
    "discussion_entry_created",
    "logged_in",
    "logged_out",
]


def test_every_lambda_call_for_every_event_answers_as_canvas_and_salesforce_would(world: Any) -> None:
    dataset, model, canvas, sf_model, sf = world
    generator = LiveEventGenerator(dataset, seed=21, canvas=model)
    totals = {"participants": 0, "created": 0, "marked": 0}
    for name in LAMBDA_EVENTS:
        for _ in range(8):
            generated = generator.one(name, local_ids=False, example_variant=False)
            read = canvas_calls(canvas, name, generated.event)
            assert read["uid"] == generated.facts["user_sis_id"] or name in ("submission_updated",)
            assert all(
                value is not None
                for key, value in read.items()
                if key in ("course", "title", "assignment", "topic")
            )
            if name == "quiz_submitted":
                assert (
                    read["title"] == generated.facts["item_name"]
                    and read["score"] == generated.facts["score"]
                )
            if name == "submission_created":
                assert read["resubmission"] is True  # a student submits their own work
            course_id = None if name in ("logged_in", "logged_out") else generated.facts["course_id"]
            event_name = read.get("title") or read.get("assignment")
            for key, value in salesforce_calls(sf, read["uid"], course_id, event_name).items():
                totals[key] += value
    assert totals["participants"] > 0 and totals["created"] == totals["participants"]
    assert len(sf_model.records("Canvas_Activitiy__c")) >= totals["created"]


def test_enrollment_updated_calls_get_the_enrollment_role_and_course(world: Any) -> None:
    _dataset, model, canvas, _sf_model, _sf = world
    enrollment = next(e for e in model.enrollments() if e.workflow_state == "active")
    account = canvas.get_account(1)  # the Lambda hard-codes account 1
    got = account.get_enrollment(enrollment.id)
    role = account.get_role(got.role_id)
    course = canvas.get_course(got.course_id)
    assert (got.enrollment_state, got.user_id) == ("active", enrollment.user_id)
    assert role.label and role.id == enrollment.role_id
    assert course.name == model.get_course(enrollment.course_id).name
