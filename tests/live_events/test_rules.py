from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from canvasbridge.live_events.handlers import Activity
from canvasbridge.live_events.rules import (
    Attendee,
    Participant,
    ParticipantDirectory,
    ParticipantDirectoryCache,
    attendee_soql,
    load_directory,
    participant_soql,
    plan,
)
from canvasbridge.live_events.settings import LiveEventsSettings, SalesforceSchema

SCHEMA = SalesforceSchema()
LONDON = ZoneInfo("Europe/London")
TODAY = date(2026, 3, 4)


def activity(**overrides):
    values = dict(
        event_id="urn:uuid:11111111-2222-3333-4444-555555555555",
        event_name="quiz_submitted",
        label="Quiz Submitted",
        summary='submitted the quiz "Module 1"',
        participant_uid="S1",
        event_time=datetime(2026, 3, 4, 10, 11, 12, 345000, tzinfo=UTC),
        user_id="9",
        course_id="565",
        course_scoped=True,
        match_name="Module 1",
    )
    values.update(overrides)
    return Activity(**values)


def participant(pid="a01", start=date(2026, 1, 1), end=date(2026, 12, 31), course="565", name="Ada"):
    return Participant(pid, "S1", name, start, end, course)


def run(directory, act=None, marks=True, today=TODAY):
    return plan(act or activity(), directory, today, SCHEMA, LONDON, marks_attendance=marks)


def test_active_participant_on_the_course_gets_one_record_with_the_original_fields():
    result = run(ParticipantDirectory.build([participant()], []))
    [record] = result.records
    assert record.fields == {
        "Canvas_Activity__c": "Quiz Submitted",
        "Canvas_Activity_Detail__c": 'Ada submitted the quiz "Module 1" on 2026-03-04',
        "Date__c": "2026-03-04T10:11:12.000Z",  # to the second, as Canvas's REST API has it
        "Time__c": "10:11:12.000Z",
        "Programme_Participant__c": "a01",
        "Caliper_Event_Id__c": "11111111-2222-3333-4444-555555555555/a01",
    }


def test_the_record_key_is_what_happened_when_the_handler_says_so():
    [record] = run(
        ParticipantDirectory.build([participant()], []), activity(key="quiz_submitted:7:9:20260304T101112Z")
    ).records
    assert record.key == record.fields["Caliper_Event_Id__c"] == "quiz_submitted:7:9:20260304T101112Z/a01"


@pytest.mark.parametrize(
    ("start", "end", "active"),
    [
        (date(2026, 3, 4), date(2026, 3, 4), True),  # both bounds inclusive
        (date(2026, 1, 1), date(2026, 3, 4), True),  # the original's strict end would refuse this
        (date(2026, 3, 5), date(2026, 12, 1), False),
        (date(2025, 1, 1), date(2026, 3, 3), False),
        (None, date(2026, 12, 1), False),
    ],
)
def test_programme_window_is_inclusive(start, end, active):
    result = run(ParticipantDirectory.build([participant(start=start, end=end)], []))
    assert bool(result.records) is active
    if not active:
        assert "active" in result.reason


def test_course_mismatch_writes_nothing_and_says_why():
    result = run(ParticipantDirectory.build([participant(course="999")], []))
    assert not result.records and "course 565" in result.reason


def test_non_course_events_need_only_an_active_programme():
    result = run(
        ParticipantDirectory.build([participant(course="999")], []),
        activity(course_id=None, course_scoped=False),
    )
    assert len(result.records) == 1


def test_each_participant_gets_its_own_detail():
    directory = ParticipantDirectory.build(
        [participant("a01", name="Ada"), participant("a02", name="Grace")], []
    )
    details = [r.fields["Canvas_Activity_Detail__c"] for r in run(directory).records]
    assert details[0].startswith("Ada ") and details[1].startswith("Grace ")
    assert len({r.key for r in run(directory).records}) == 2


def test_attendee_with_matching_flip_event_name_is_marked_case_and_space_insensitive():
    attendees = [
        Attendee("att1", "S1", " module 1 ", date(2026, 1, 1), date(2026, 3, 4)),
        Attendee("att2", "S1", "Module 2", date(2026, 1, 1), date(2026, 12, 1)),
        Attendee("att3", "S1", "Module 1", date(2025, 1, 1), date(2025, 2, 1)),
    ]
    result = run(ParticipantDirectory.build([], attendees))
    assert result.attendee_ids == ("att1",)
    assert not result.records
    assert run(ParticipantDirectory.build([], attendees), marks=False).attendee_ids == ()


def test_no_sis_id_means_no_record():
    result = run(ParticipantDirectory.build([participant()], []), activity(participant_uid=None))
    assert not result.records and "SIS id" in result.reason


def test_today_is_taken_in_the_configured_time_zone():
    settings = LiveEventsSettings(timezone="Pacific/Auckland")
    assert settings.zone.key == "Pacific/Auckland"
    with pytest.raises(ValueError, match="unknown time zone"):
        LiveEventsSettings(timezone="Mars/Olympus")


def test_bulk_queries_contain_no_event_values_and_one_day_of_margin():
    text = participant_soql(SCHEMA, TODAY)
    assert "FROM Programme_Participant__c" in text
    assert (
        "Programme__r.LMS_Start_Date__c <= 2026-03-05" in text
        and "Programme__r.LMS_End_Date__c >= 2026-03-03" in text
    )
    text = attendee_soql(SCHEMA, TODAY)
    assert "Event_Attended__c = false" in text and "FLIP_Event__r.Send_to_LMS__c = true" in text


def test_configured_names_are_validated():
    with pytest.raises(ValueError, match="API name"):
        SalesforceSchema(activity_object="Canvas_Activitiy__c; DELETE")


def test_directory_parses_nested_relationship_rows_and_caches():
    rows = {
        "participants": [
            {
                "Id": "a01",
                "Participant_UID__c": "S1",
                "ParticipantName__c": "Ada",
                "Programme__r": {
                    "LMS_Start_Date__c": "2026-01-01",
                    "LMS_End_Date__c": "2026-12-31",
                    "LMS_Course_Id__c": 565.0,
                },
            }
        ],
        "attendees": [
            {
                "Id": "att1",
                "Contact__r": {"Participant_UID__c": "S1"},
                "FLIP_Event__r": {
                    "Event_Name__c": "Module 1",
                    "Cohort_lkp__r": {"LMS_Start_Date__c": "2026-01-01", "LMS_End_Date__c": "2026-12-31"},
                },
            }
        ],
    }
    calls = []

    def query_all(soql):
        calls.append(soql)
        return {
            "records": rows[
                "participants" if "Programme_Participant__c" in soql.split("FROM")[1] else "attendees"
            ]
        }

    now = [0.0]
    cache = ParticipantDirectoryCache(
        lambda today: load_directory(query_all, SCHEMA, today),
        refresh_s=300,
        today=lambda: TODAY,
        clock=lambda: now[0],
    )
    directory = cache.get()
    assert directory.participants["S1"][0].course_id == "565"
    assert directory.attendees["S1"][0].event_name == "Module 1"
    cache.get()
    assert len(calls) == 2  # served from the cache
    now[0] = 301
    cache.get()
    assert len(calls) == 4
    cache.forget_attendees(["att1"])
    assert cache.get().attendees["S1"] == []
