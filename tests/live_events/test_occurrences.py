"""The record key is what happened: the same for a redelivery, for local and global ids, and
for the event a backfill rebuilds from REST (test_backfill.py checks that against the emulator)."""

from __future__ import annotations

import copy

import pytest

from canvasbridge.live_events.caliper import CaliperEvent
from canvasbridge.live_events.occurrences import neighbours, occurrence_key
from tests.live_events.factories import envelope


def event(name: str, *, count: int | None = None, **kwargs) -> CaliperEvent:
    data = envelope(name, **kwargs)["data"][0]
    if count is not None:
        data["object"]["count"] = count
    return CaliperEvent.model_validate(data)


@pytest.mark.parametrize(
    ("name", "extra", "key"),
    [
        ("quiz_submitted", {}, "quiz_submitted:77:101:20260304T101112Z"),
        ("submission_created", {"count": 3}, "submission_created:55:101:3"),
        ("grade_change", {}, "grade_change:55:101:20260304T101112Z"),
        ("logged_in", {}, "logged_in:101:20260304T101112Z"),
        ("logged_out", {}, "logged_out:101:20260304T101112Z"),
        ("discussion_entry_created", {}, "discussion_entry_created:32"),
        ("enrollment_created", {}, "enrollment_created:600"),
        ("enrollment_updated", {}, "enrollment_updated:600:20260304T101112Z"),
    ],
)
def test_each_recoverable_kind_is_keyed_by_local_ids_and_the_second(name, extra, key):
    assert occurrence_key(event(name, **extra), name) == key
    assert occurrence_key(event(name, local_ids=True, **extra), name) == key  # 565 or 42420000000000565


def test_an_enrollment_update_is_keyed_by_the_objects_modification_time_when_it_has_one():
    data = envelope("enrollment_updated")["data"][0]
    data["object"]["dateModified"] = "2026-03-04T10:11:11.000Z"  # a second before eventTime, as Canvas sends
    assert occurrence_key(CaliperEvent.model_validate(data), "enrollment_updated") == (
        "enrollment_updated:600:20260304T101111Z"
    )


def test_a_redelivered_event_has_the_same_key_and_two_distinct_ids_with_the_same_facts_share_one():
    first = envelope("logged_in", event_id="urn:uuid:00000000-0000-4000-8000-000000000001")["data"][0]
    again = copy.deepcopy(first)
    other_id = {**copy.deepcopy(first), "id": "urn:uuid:00000000-0000-4000-8000-000000000002"}
    keys = {occurrence_key(CaliperEvent.model_validate(d), "logged_in") for d in (first, again, other_id)}
    assert keys == {"logged_in:101:20260304T101112Z"}


def test_the_next_second_or_another_user_is_another_occurrence():
    base = occurrence_key(event("logged_in"), "logged_in")
    assert occurrence_key(event("logged_in", event_time="2026-03-04T10:11:13.001Z"), "logged_in") != base
    assert occurrence_key(event("logged_in", user=102), "logged_in") != base
    # fractions do not matter: REST times have none
    assert occurrence_key(event("logged_in", event_time="2026-03-04T10:11:12.999Z"), "logged_in") == base


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("submission_created", {}),  # no attempt count: nothing a backfill could match
        ("submission_created", {"count": 0}),
        ("submission_updated", {}),
        ("wiki_page_updated", {}),
        ("discussion_topic_created", {}),
        ("asset_accessed", {}),
    ],
)
def test_other_events_keep_their_event_id_as_the_key(name, extra):
    caliper = event(name, event_id="urn:uuid:0f0f0f0f-0000-4000-8000-000000000009", **extra)
    assert occurrence_key(caliper, name) == "urn:uuid:0f0f0f0f-0000-4000-8000-000000000009"


def test_a_system_login_without_a_person_keeps_its_event_id():
    data = envelope("logged_in", event_id="urn:uuid:0f0f0f0f-0000-4000-8000-00000000000a")["data"][0]
    data["actor"] = {"id": "https://canvas.test.example/", "type": "SoftwareApplication"}
    assert occurrence_key(CaliperEvent.model_validate(data), "logged_in") == data["id"]


def test_neighbours_are_the_same_key_a_second_either_side_for_timed_kinds_only():
    key = "logged_in:101:20260304T235959Z/a01"
    assert neighbours(key) == ["logged_in:101:20260304T235958Z/a01", "logged_in:101:20260305T000000Z/a01"]
    assert neighbours("quiz_submitted:7:9:20260304T101112Z/a0B") == [
        "quiz_submitted:7:9:20260304T101111Z/a0B",
        "quiz_submitted:7:9:20260304T101113Z/a0B",
    ]
    for untimed in ("submission_created:55:101:3/a01", "discussion_entry_created:32/a01", "0f0f-uuid/a01"):
        assert neighbours(untimed) == []
