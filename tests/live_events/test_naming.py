import json
from pathlib import Path

import pytest

from canvasbridge.live_events.caliper import parse_envelope
from canvasbridge.live_events.naming import (
    KNOWN_EVENTS,
    SIGNATURES,
    UnmappedEventError,
    event_name,
    event_name_from_body,
)
from tests.live_events.factories import FIXTURES, envelope

OWN_FIXTURES = sorted(FIXTURES.glob("*.json"))


def _examples(path: Path):
    document = json.loads(path.read_text())
    for example in document.get("examples", []):
        payload = example["payload"]
        if isinstance(payload, dict) and "data" in payload:
            yield payload


def test_every_reference_example_maps_to_its_file_name_with_and_without_the_attribute(shared_reference):
    files = sorted((shared_reference / "caliper-examples").glob("*.json"))
    checked = 0
    for path in files:
        expected = path.stem
        for payload in _examples(path):
            for caliper_event in parse_envelope(json.dumps(payload)):
                assert event_name_from_body(caliper_event) == expected, path.name
                assert event_name(caliper_event, {"event_name": expected}) == expected
                checked += 1
    assert checked >= 70  # 33 event files, asset_accessed alone has 40 examples


def test_our_fixtures_cover_every_known_event():
    assert {path.stem for path in OWN_FIXTURES} == KNOWN_EVENTS
    assert len(KNOWN_EVENTS) == 32


@pytest.mark.parametrize("path", OWN_FIXTURES, ids=lambda p: p.stem)
def test_each_own_fixture_maps_with_and_without_the_attribute(path):
    payloads = list(_examples(path))
    assert payloads
    for payload in payloads:
        [caliper_event] = parse_envelope(payload)
        assert event_name_from_body(caliper_event) == path.stem
        assert event_name(caliper_event, {"event_name": path.stem}) == path.stem


def test_the_attribute_wins_and_grade_changed_is_read_as_grade_change():
    [caliper_event] = parse_envelope(envelope("submission_updated"))
    assert event_name(caliper_event, {"event_name": "something_new"}) == "something_new"
    assert event_name(caliper_event, {"event_name": "grade_changed"}) == "grade_change"
    assert event_name(caliper_event, {"event_name": "  "}) == "submission_updated"


@pytest.mark.parametrize(
    ("name", "field", "value"),
    [
        ("logged_in", "type", "Event"),
        ("logged_out", "type", "Event"),
        ("discussion_topic_created", "type", "Event"),
        ("discussion_entry_created", "action", "Created"),
    ],
)
def test_documented_variants_are_accepted(name, field, value):
    body = envelope(name)
    body["data"][0][field] = value
    [caliper_event] = parse_envelope(body)
    assert event_name_from_body(caliper_event) == name


def test_shared_triples_are_told_apart_by_segment_and_extension_keys():
    names = {}
    for name in (
        "enrollment_created",
        "enrollment_state_created",
        "assignment_override_created",
        "group_category_created",
        "user_account_association_created",
    ):
        [caliper_event] = parse_envelope(envelope(name))
        assert (caliper_event.type, caliper_event.action, caliper_event.object.type) == (
            "Event",
            "Created",
            "Entity",
        )
        names[name] = event_name_from_body(caliper_event)
    assert names == {name: name for name in names}


def test_unmapped_event_error_names_what_a_mapping_needs():
    body = envelope("enrollment_created")
    body["data"][0]["object"]["id"] = "urn:instructure:canvas:rubricAssessment:42420000000000009"
    [caliper_event] = parse_envelope(body)
    with pytest.raises(UnmappedEventError) as info:
        event_name(caliper_event)
    text = str(info.value)
    for part in (
        "type=Event",
        "action=Created",
        "object.type=Entity",
        "id segment=rubricAssessment",
        "course_id",
    ):
        assert part in text
    assert info.value.details["id_segment"] == "rubricAssessment"


def test_enrollment_without_telling_keys_is_unmapped_not_guessed():
    body = envelope("enrollment_created")
    body["data"][0]["object"]["extensions"] = {"com.instructure.canvas": {"entity_id": "1"}}
    [caliper_event] = parse_envelope(body)
    with pytest.raises(UnmappedEventError, match="no Canvas event matches"):
        event_name_from_body(caliper_event)


def test_every_signature_has_a_distinct_name():
    assert len({row.event_name for row in SIGNATURES}) == len(SIGNATURES)
