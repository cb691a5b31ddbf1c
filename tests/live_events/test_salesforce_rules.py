"""The rules and the writer against the Salesforce emulator, through our SalesforceClient."""

import json

import pytest

from canvasbridge.clients.http import CallStats
from canvasbridge.clients.salesforce import SalesforceSettings
from canvasbridge.live_events.runtime import build_processor
from canvasbridge.live_events.settings import LiveEventsSettings
from tests.live_events.factories import envelope
from tests.live_events.fakes import FakeLookups
from tests.live_events.org import TODAY


@pytest.fixture
def make(org):
    def build(**lookups):
        stats = CallStats()
        client = SalesforceSettings.model_validate(org.settings()).build(stats=stats)
        processor = build_processor(LiveEventsSettings(), canvas=None, salesforce=client)
        processor.use_lookups(FakeLookups(**lookups))
        processor._today = lambda: TODAY
        return processor, stats

    return build


def send(processor, name, *, redelivered=False, body=None, **kwargs):
    outcomes = processor.submit_body(
        json.dumps(body or envelope(name, **kwargs)), {"event_name": name}, maybe_written=redelivered
    )
    processor.writer.flush()
    for outcome in outcomes:
        if outcome.ticket:
            outcome.ticket.wait(0)
    return outcomes


def test_participant_inside_the_window_on_the_course_gets_a_record(org, make):
    processor, _ = make()
    [outcome] = send(processor, "discussion_topic_created", sis="S-IN")
    assert outcome.status == "queued"
    [record] = org.activities()
    assert record["Canvas_Activity__c"] == "Discussion Created"
    assert record["Programme_Participant__c"] == org.ids["participant:S-IN:0"]
    assert record["Canvas_Activity_Detail__c"].startswith("Name of S-IN #0 created the discussion")
    assert record["Time__c"] == "10:11:12.000Z"  # to the second, as Canvas's REST API has it


@pytest.mark.parametrize("uid", ["S-OLD", "S-SOON", "S-NOBODY"])
def test_participants_outside_the_window_get_nothing(org, make, uid):
    processor, _ = make()
    [outcome] = send(processor, "logged_in", sis=uid)
    assert outcome.status == "skipped" and outcome.reason
    assert org.activities() == []


def test_course_mismatch_gets_nothing_but_a_session_event_counts_anywhere(org, make):
    processor, _ = make()
    [outcome] = send(processor, "wiki_page_updated", sis="S-OTHER")
    assert outcome.status == "skipped" and "course 565" in outcome.reason
    send(processor, "logged_out", sis="S-OTHER")
    assert [r["Canvas_Activity__c"] for r in org.activities()] == ["Logged Out"]


def test_two_programmes_give_two_records_each_with_its_own_name(org, make):
    processor, _ = make()
    send(processor, "logged_in", sis="S-TWO")
    details = sorted(r["Canvas_Activity_Detail__c"] for r in org.activities())
    assert details[0].startswith("Name of S-TWO #0 ") and details[1].startswith("Name of S-TWO #1 ")


def test_quiz_matching_a_flip_event_marks_the_attendee(org, make):
    processor, _ = make(quiz_title="module 1 quiz ")
    send(processor, "quiz_submitted", sis="S-IN")
    [attendee] = [r for r in org.model.records("Attendees__c") if r["Id"] == org.ids["attendee:S-IN"]]
    assert attendee["Event_Attended__c"] is True
    assert len(org.activities()) == 1


def test_a_redelivered_event_makes_no_duplicate_even_in_a_new_process(org, make):
    body = envelope("logged_in", sis="S-IN", event_id="urn:uuid:0f0f0f0f-0000-4000-8000-000000000001")
    first, _ = make()
    send(first, "logged_in", body=body)
    send(first, "logged_in", body=body)  # same process: remembered
    fresh, _ = make()
    send(fresh, "logged_in", body=body, redelivered=True)  # new process: asks Salesforce once
    assert len(org.activities()) == 1


def test_a_quiz_name_cannot_inject_soql(org, make):
    evil = "x' OR Participant_UID__c != null OR Name = 'y\\"
    processor, _ = make(quiz_title=evil)
    send(processor, "quiz_submitted", sis="S-IN")
    # a second attempt, a second later (one quiz submission per user and second: occurrences.py)
    send(
        processor,
        "quiz_submitted",
        sis="S-IN",
        title=evil,
        redelivered=True,
        event_time="2026-03-04T10:11:13.345Z",
    )
    attendees = org.model.records("Attendees__c")
    assert all(a["Event_Attended__c"] is False for a in attendees)  # no name matched, nothing widened
    records = org.activities()
    assert len(records) == 2 and all(evil in r["Canvas_Activity_Detail__c"] for r in records)


def test_steady_load_costs_far_below_a_call_per_event(org, make):
    processor, stats = make()
    for i in range(400):
        processor.submit_body(
            envelope(
                "logged_in",
                sis="S-IN" if i % 2 else "S-TWO",
                event_time=f"2026-03-04T10:{i // 60:02d}:{i % 60:02d}.000Z",  # one login a second
            ),
            {"event_name": "logged_in"},
        )
    processor.writer.flush()
    assert len(org.activities()) == 600
    # 2 logins? plus 2 bulk directory queries plus 3 collections of 200
    assert stats.total / 400 <= 0.02


def test_names_are_looked_up_only_for_people_something_could_be_written_for(org, make):
    processor, _ = make()
    send(processor, "quiz_submitted", sis="S-NOBODY")
    send(processor, "assignment_updated", sis="TEACHER-1")
    assert processor.lookups.calls == {}
    send(processor, "quiz_submitted", sis="S-OTHER")  # a participant (other course): worth naming
    assert processor.lookups.calls["quiz_title"] == 1
