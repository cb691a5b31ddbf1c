import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from canvasbridge.engine import Envelope, ParseContext
from canvasbridge.errors import MessageError
from canvasbridge.live_events.caliper import parse_envelope
from canvasbridge.live_events.parser import TASK
from canvasbridge.live_events.parser import parse as parse_with
from tests.live_events.factories import envelope, event


def context(**live_events):
    return ParseContext("canvas-live-events", {"live_events": live_events})


def parse(message, ctx=None):
    return parse_with(message, ctx or context())


def parsed_count(outcome, name):
    labels = {"outcome": outcome, "event": name}
    return REGISTRY.get_sample_value("canvasbridge_live_events_parsed_total", labels) or 0.0


def message(body, attributes=None, delivery_count=1):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Envelope(
        body=raw,
        source="live-events",
        message_id="m1",
        attributes=attributes or {},
        delivery_count=delivery_count,
    )


def test_a_handled_event_becomes_one_task_call_whose_event_round_trips():
    body = envelope("quiz_submitted")
    [call] = parse(message(body, {"event_name": "quiz_submitted"}))
    assert call.task == TASK and call.params["event_name"] == "quiz_submitted"
    assert call.params["redelivered"] is False
    call.canonical_params()  # JSON-serialisable
    [again] = parse_envelope({"data": [call.params["event"]]})
    assert again == parse_envelope(body)[0]


def test_redelivery_is_passed_on():
    [call] = parse(message(envelope("logged_in"), delivery_count=3))
    assert call.params["redelivered"] is True


def test_unhandled_events_are_counted_and_acknowledged():
    before = parsed_count("unhandled", "course_created")
    assert parse(message(envelope("course_created"))) == []
    assert parsed_count("unhandled", "course_created") == before + 1


def test_asset_accessed_is_skipped_by_default_and_queued_when_the_section_enables_it():
    before = parsed_count("disabled", "asset_accessed")
    assert parse(message(envelope("asset_accessed"))) == []
    assert parsed_count("disabled", "asset_accessed") == before + 1
    enabled = context(enable=["asset_accessed"])
    assert [c.params["event_name"] for c in parse(message(envelope("asset_accessed")), enabled)] == [
        "asset_accessed"
    ]


def test_a_handler_the_section_disables_is_never_queued():
    assert [c.params["event_name"] for c in parse(message(envelope("logged_in")))] == ["logged_in"]
    assert parse(message(envelope("logged_in")), context(disable=["logged_in"])) == []


def test_several_events_in_one_envelope_each_get_a_call_and_the_attribute_is_ignored():
    body = envelope("logged_in")
    body["data"].append(event("logged_out"))
    calls = parse(message(body, {"event_name": "logged_in"}))
    assert [c.params["event_name"] for c in calls] == ["logged_in", "logged_out"]


def test_unmapped_and_malformed_bodies_raise_message_errors_for_parking():
    body = envelope("enrollment_created")
    body["data"][0]["object"]["id"] = "urn:instructure:canvas:mystery:1"
    with pytest.raises(MessageError, match="id segment=mystery"):
        parse(message(body))
    with pytest.raises(MessageError, match="not valid JSON"):
        parse(message(b"{"))


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=15),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
            max_leaves=15,
        ).map(lambda v: json.dumps(v).encode()),
    )
)
def test_fuzzed_messages_give_calls_or_a_message_error_never_anything_else(raw):
    try:
        calls = parse(message(raw))
    except MessageError as exc:
        assert str(exc)
    else:
        assert isinstance(calls, list)
