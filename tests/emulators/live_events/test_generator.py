"""The live-event generator: every Caliper event Canvas emits, in its documented shapes."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pytest

from canvasbridge_emulators.caliper_feed import ASSET_TYPES, EVENT_NAMES, LiveEventGenerator
from canvasbridge_emulators.university.activity import ActivityDataset

TODAY = dt.date(2026, 3, 2)
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
URN = re.compile(r"^urn:instructure:canvas:[A-Za-z_/:]+:\d+(?::[A-Za-z]+:\d+)*$")


@pytest.fixture(scope="module")
def dataset() -> ActivityDataset:
    return ActivityDataset.generate("tiny", seed=1, today=TODAY)


def test_there_are_32_events_with_grade_change_spelled_as_canvas_emits_it() -> None:
    assert len(EVENT_NAMES) == 32
    assert "grade_change" in EVENT_NAMES and "grade_changed" not in EVENT_NAMES
    extra = {
        "assignment_override_created",
        "assignment_override_updated",
        "course_updated",
        "quiz_created",
        "quiz_updated",
    }
    assert extra <= set(EVENT_NAMES)


def test_same_seed_gives_the_same_events(dataset: ActivityDataset) -> None:
    a = [e.json() for e in LiveEventGenerator(dataset, seed=5).events(50)]
    b = [e.json() for e in LiveEventGenerator(dataset, seed=5).events(50)]
    c = [e.json() for e in LiveEventGenerator(dataset, seed=6).events(50)]
    assert a == b
    assert a != c


def test_every_event_is_a_caliper_envelope_with_one_event(dataset: ActivityDataset) -> None:
    events = LiveEventGenerator(dataset, seed=1).every_event()
    assert [e.name for e in events] == list(EVENT_NAMES)
    for e in events:
        body = e.body
        assert set(body) == {"sensor", "sendTime", "dataVersion", "data"}
        assert body["dataVersion"] == "http://purl.imsglobal.org/ctx/caliper/v1p1"
        assert STAMP.match(body["sendTime"]) and len(body["data"]) == 1
        event = body["data"][0]
        assert event["@context"] == "http://purl.imsglobal.org/ctx/caliper/v1p1"
        assert re.match(r"^urn:uuid:[0-9a-f-]{36}$", event["id"])
        assert STAMP.match(event["eventTime"]) and event["eventTime"] <= body["sendTime"]
        assert {"type", "actor", "action", "object", "edApp", "extensions"} <= set(event)
        assert e.attributes == {"event_name": e.name, "event_time": event["eventTime"]}
        if e.name not in ("logged_in", "logged_out"):
            assert URN.match(event["object"]["id"]), (e.name, event["object"]["id"])


EXPECTED_TRIPLES = {
    "quiz_submitted": ("AssessmentEvent", "Submitted", "Attempt", "submission"),
    "assignment_created": ("Event", "Created", "AssignableDigitalResource", "assignment"),
    "syllabus_updated": ("Event", "Modified", "Document", "course"),
    "group_category_created": ("Event", "Created", "Entity", "groupCategory"),
    "group_membership_created": ("Event", "Created", "Membership", "groupMembership"),
    "wiki_page_deleted": ("Event", "Deleted", "Page", "wikiPage"),
    "enrollment_state_updated": ("Event", "Modified", "Entity", "enrollment"),
    "user_account_association_created": ("Event", "Created", "Entity", "account"),
    "attachment_updated": ("Event", "Modified", "Document", "attachment"),
    "grade_change": ("GradeEvent", "Graded", "Attempt", "submission"),
    "submission_created": ("AssignableEvent", "Submitted", "Attempt", "submission"),
    "submission_updated": ("Event", "Modified", "Attempt", "submission"),
    "assignment_override_updated": ("Event", "Modified", "Entity", "assignment_override"),
    "course_updated": ("Event", "Modified", "CourseOffering", "course"),
    "quiz_created": ("Event", "Created", "Assessment", "quiz"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_TRIPLES))
def test_type_action_object_and_urn_segment(dataset: ActivityDataset, name: str) -> None:
    event = LiveEventGenerator(dataset, seed=2).one(name, local_ids=False).event
    segment = event["object"]["id"].split(":")[3]
    assert (event["type"], event["action"], event["object"]["type"], segment) == EXPECTED_TRIPLES[name]


def test_documented_variants_are_all_produced(dataset: ActivityDataset) -> None:
    gen = LiveEventGenerator(dataset, seed=3)
    variants = gen.variants()
    seen = Counter((e.name, e.event["type"], e.event["action"]) for e in variants)
    assert seen[("logged_in", "SessionEvent", "LoggedIn")] and seen[("logged_in", "Event", "LoggedIn")]
    assert seen[("logged_out", "SessionEvent", "LoggedOut")] and seen[("logged_out", "Event", "LoggedOut")]
    assert seen[("discussion_topic_created", "ThreadEvent", "Created")]
    assert seen[("discussion_topic_created", "Event", "Created")]
    assert seen[("discussion_entry_created", "MessageEvent", "Posted")]
    assert seen[("discussion_entry_created", "MessageEvent", "Created")]
    ids = [e.event["object"]["id"] for e in variants]
    assert any(i.startswith("urn:instructure:canvas:quizzes:quiz:") for i in ids)
    assert any(i.startswith("urn:instructure:canvas:lti/tool_proxy:") for i in ids)
    local = next(e for e in variants if e.facts["local_ids"] and e.name == "assignment_created")
    assert local.event["object"]["id"] == f"urn:instructure:canvas:assignment:{local.facts['assignment_id']}"
    global_ = next(e for e in variants if not e.facts["local_ids"] and e.name == "assignment_created")
    assert (
        global_.event["object"]["id"]
        == f"urn:instructure:canvas:assignment:1367{global_.facts['assignment_id']:013d}"
    )
    assert any(
        e.event["actor"]["type"] == "SoftwareApplication"
        and "job_id" in e.event["extensions"]["com.instructure.canvas"]
        for e in variants
    )
    assert any(not e.attributes for e in variants)


def test_asset_accessed_covers_every_asset_type_with_its_object_type(dataset: ActivityDataset) -> None:
    accessed = [e for e in LiveEventGenerator(dataset, seed=4).variants() if e.name == "asset_accessed"]
    by_type = {}
    for e in accessed:
        ext = e.event["object"]["extensions"]["com.instructure.canvas"]
        by_type.setdefault(ext["asset_type"], set()).add(e.event["object"]["type"])
        assert e.event["type"] == "NavigationEvent" and e.event["action"] == "NavigatedTo"
        if e.event["object"]["type"] == "Entity":
            assert e.event["object"]["name"] == ext.get("asset_subtype", ext["asset_type"])
    assert set(by_type) == set(ASSET_TYPES)
    assert by_type["wiki_page"] == {"Page"} and by_type["discussion_topic"] == {"Thread"}
    assert by_type["assignment"] == {"AssignableDigitalResource"} and by_type["course"] == {"Entity"}
    assert by_type["quiz"] == {"Assessment"} and by_type["quizzes:quiz"] == {"Entity"}
    subtypes = {
        e.event["object"]["extensions"]["com.instructure.canvas"].get("asset_subtype") for e in accessed
    }
    assert {"calendar_feed", "speed_grader", "roster", "outcomes"} <= subtypes


def test_quiz_and_assignment_events_carry_dataset_ids_and_names(dataset: ActivityDataset) -> None:
    gen = LiveEventGenerator(dataset, seed=5)
    quiz = gen.one("quiz_submitted", local_ids=True)
    assert quiz.event["object"]["assignable"]["id"] == f"urn:instructure:canvas:quiz:{quiz.facts['quiz_id']}"
    assert quiz.event["group"]["extensions"]["com.instructure.canvas"]["entity_id"] == str(
        quiz.facts["course_id"]
    )
    names = {i.id: i.name for i in dataset.items("quiz")}
    assert names[quiz.facts["quiz_id"]] == quiz.facts["item_name"]
    sub = gen.one("submission_created", local_ids=True)
    assert (
        sub.event["object"]["assignable"]["id"]
        == f"urn:instructure:canvas:assignment:{sub.facts['assignment_id']}"
    )
    assert sub.event["object"]["extensions"]["com.instructure.canvas"]["entity_id"] == str(
        sub.facts["submission_id"]
    )
    actor_ext = sub.event["actor"]["extensions"]["com.instructure.canvas"]
    assert actor_ext["user_sis_id"] == sub.facts["user_sis_id"] and actor_ext["entity_id"] == str(
        sub.facts["user_id"]
    )


def test_mix_is_weighted_towards_navigation(dataset: ActivityDataset) -> None:
    counts = Counter(e.name for e in LiveEventGenerator(dataset, seed=6).events(2000))
    assert counts.most_common(1)[0][0] == "asset_accessed"
    only = Counter(e.name for e in LiveEventGenerator(dataset, seed=6, mix={"quiz_submitted": 1}).events(50))
    assert only["quiz_submitted"] > 30


def test_canvasbridge_consumer_names_every_generated_event_without_the_attribute(
    dataset: ActivityDataset,
) -> None:
    naming = pytest.importorskip("canvasbridge.live_events.naming")
    caliper = pytest.importorskip("canvasbridge.live_events.caliper")
    gen = LiveEventGenerator(dataset, seed=7)
    for e in [*gen.variants(), *gen.events(300)]:
        (event,) = caliper.parse_envelope(e.json())
        assert naming.event_name_from_body(event) == e.name


def test_with_a_canvas_model_submissions_exist_there_and_can_be_looked_up() -> None:
    from canvasbridge_emulators.canvas import CanvasModel

    dataset = ActivityDataset.generate("tiny", seed=1, today=TODAY)
    canvas = CanvasModel()
    dataset.load_canvas(canvas)
    gen = LiveEventGenerator(dataset, seed=8, canvas=canvas)
    quiz = gen.one("quiz_submitted", local_ids=True)
    found = canvas.get_quiz_submission(quiz.facts["submission_id"], quiz.facts["quiz_id"])
    assert found.user_id == quiz.facts["user_id"] and found.score == quiz.facts["score"]
    assert canvas.get_quiz(quiz.facts["quiz_id"], quiz.facts["course_id"]).title == quiz.facts["item_name"]
    assert quiz.event["object"]["id"] == f"urn:instructure:canvas:submission:{found.id}"
    graded = gen.one("grade_change", local_ids=True)
    submission = canvas.find_submission(graded.facts["assignment_id"], graded.facts["user_id"])
    assert submission is not None and submission.id == graded.facts["submission_id"]
    assert graded.event["generated"]["scoreGiven"] == submission.score == graded.facts["score"]
    topic = gen.one("discussion_entry_created", local_ids=True)
    assert (
        canvas.get_discussion_topic(topic.facts["topic_id"], topic.facts["course_id"]).title
        == topic.facts["item_name"]
    )


def test_submission_created_is_the_actors_own_submission_in_the_event_and_in_canvas() -> None:
    from canvasbridge_emulators.canvas import CanvasModel

    dataset = ActivityDataset.generate("tiny", seed=1, today=TODAY)
    canvas = CanvasModel()
    dataset.load_canvas(canvas)
    gen = LiveEventGenerator(dataset, seed=11, canvas=canvas)
    for _ in range(20):
        created = gen.one("submission_created", local_ids=True)
        obj = created.event["object"]
        actor_id = created.event["actor"]["extensions"]["com.instructure.canvas"]["entity_id"]
        assert obj["assignee"]["id"] == f"urn:instructure:canvas:user:{actor_id}"
        submission = canvas.find_submission(created.facts["assignment_id"], int(actor_id))
        assert submission is not None and submission.id == created.facts["submission_id"]


def test_with_a_canvas_model_the_activity_is_recorded_there_at_the_events_time() -> None:
    from canvasbridge_emulators.canvas import CanvasModel

    dataset = ActivityDataset.generate("tiny", seed=1, today=TODAY)
    canvas = CanvasModel()
    dataset.load_canvas(canvas)
    gen = LiveEventGenerator(dataset, seed=12, canvas=canvas)

    def second(event: dict) -> str:
        return event["eventTime"][:19] + "Z"

    login = gen.one("logged_in")
    [recorded] = canvas.authentication_events()
    assert (recorded.user_id, recorded.event_type, recorded.created_at) == (
        login.facts["user_id"],
        "login",
        second(login.event),
    )
    first = gen.one("submission_created", local_ids=True)
    submission = canvas.find_submission(first.facts["assignment_id"], first.facts["user_id"])
    assert submission is not None and submission.history[-1].submitted_at == second(first.event)
    assert first.event["object"]["count"] == submission.attempt
    graded = gen.one("grade_change", local_ids=True)
    [change] = canvas.grade_changes(graded.facts["course_id"])
    assert (
        change.created_at == second(graded.event)
        and change.grade_after == graded.event["object"]["extensions"]["com.instructure.canvas"]["grade"]
    )
    entry = gen.one("discussion_entry_created", local_ids=True)
    [posted] = canvas.discussion_entries(entry.facts["topic_id"])
    assert entry.event["object"]["id"] == f"urn:instructure:canvas:discussionEntry:{posted.id}"
    assert posted.created_at == second(entry.event)
    updated = gen.one("enrollment_updated", local_ids=True)
    enrollment = canvas.get_enrollment(updated.facts["enrollment_id"])
    assert enrollment.updated_at == second(updated.event)
    assert (
        updated.event["object"]["extensions"]["com.instructure.canvas"]["workflow_state"]
        == enrollment.workflow_state
    )
