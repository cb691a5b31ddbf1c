import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvasbridge.errors import MessageError
from canvasbridge.live_events.caliper import CaliperError, parse_envelope
from tests.live_events.factories import envelope, event


def test_envelope_with_one_event_parses():
    [parsed] = parse_envelope(json.dumps(envelope("quiz_submitted")).encode())
    assert parsed.type == "AssessmentEvent"
    assert parsed.object.assignable is not None
    assert parsed.event_time.tzinfo is not None
    assert parsed.event_uuid == parsed.id.removeprefix("urn:uuid:")


def test_envelope_with_several_events_gives_all_in_order():
    body = envelope("logged_in")
    body["data"].append(event("logged_out"))
    assert [e.action for e in parse_envelope(body)] == ["LoggedIn", "LoggedOut"]


def test_bare_list_and_single_event_are_accepted_for_old_samples():
    assert len(parse_envelope([event("logged_in"), event("logged_out")])) == 2
    assert len(parse_envelope(event("logged_in"))) == 1


def test_missing_field_is_named_with_its_path():
    body = envelope("quiz_submitted")
    del body["data"][0]["actor"]["id"]
    with pytest.raises(CaliperError, match=r"data\[0\]\.actor\.id: Field required"):
        parse_envelope(body)


def test_wrong_types_and_bad_time_are_named():
    body = envelope("quiz_submitted")
    body["data"][0]["eventTime"] = "yesterday"
    body["data"][0]["object"]["extensions"] = ["not", "an", "object"]
    with pytest.raises(CaliperError) as info:
        parse_envelope(body)
    assert "data[0].eventTime" in str(info.value)
    assert "data[0].object.extensions" in str(info.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe", "not valid UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"42", "must be a JSON object"),
        (b'{"data": []}', "data: List should have at least 1 item"),
        (b'{"metadata": {}, "body": {}}', "raw live-event format"),
    ],
)
def test_unreadable_bodies_get_a_clear_error(body, reason):
    with pytest.raises(CaliperError, match=reason) as info:
        parse_envelope(body)
    assert isinstance(info.value, MessageError)  # so the engine parks it


def test_unknown_extra_fields_are_kept_not_refused():
    body = envelope("logged_in")
    body["data"][0]["brandNewCanvasField"] = {"x": 1}
    [parsed] = parse_envelope(body)
    assert parsed.model_extra["brandNewCanvasField"] == {"x": 1}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_fuzzed_json_never_crashes_only_clear_errors(value):
    try:
        events = parse_envelope(json.dumps(value))
    except CaliperError as exc:
        assert str(exc)
    else:
        assert events


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_fuzzed_bytes_never_crash(raw):
    try:
        parse_envelope(raw)
    except CaliperError as exc:
        assert str(exc)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_real_envelopes_never_crash(data):
    body = envelope(
        data.draw(st.sampled_from(["quiz_submitted", "enrollment_created", "logged_in", "grade_change"]))
    )
    target = body["data"][0]
    for _ in range(data.draw(st.integers(1, 4))):
        key = data.draw(st.sampled_from(sorted(target)))
        if data.draw(st.booleans()):
            target.pop(key)
        else:
            target[key] = data.draw(json_values)
        if not target:
            break
    try:
        parse_envelope(body)
    except CaliperError as exc:
        assert "data[0]" in str(exc) or "body" in str(exc) or "data" in str(exc)
