"""The duplicate key: verbatim where the External ID field can hold the id, a digest otherwise."""

from hypothesis import given
from hypothesis import strategies as st

from canvasbridge.live_events.keys import record_key

PARTICIPANT = "a0B000000000001AAA"


def test_a_caliper_uuid_is_kept_as_it_is_without_its_urn_prefix():
    key = record_key("urn:uuid:0f0f0f0f-0000-4000-8000-000000000001", PARTICIPANT, 80)
    assert key == f"0f0f0f0f-0000-4000-8000-000000000001/{PARTICIPANT}"


def test_printable_ids_with_quotes_spaces_unicode_and_operators_are_kept():
    for event_id in ["it's", 'say "hi"', "a b c", "事件-ü-🎓", "x' OR Id != null OR 'y", "50% _a_"]:
        assert record_key(event_id, PARTICIPANT, 80) == f"{event_id}/{PARTICIPANT}"


def test_ids_a_text_field_cannot_hold_become_a_digest_that_fits():
    for event_id in ["x" * 62, "line\nbreak", "\x01", " leading", "lone \ud800", "sha256:0123"]:
        key = record_key(event_id, PARTICIPANT, 80)
        assert key.startswith("sha256:") and key.endswith(f"/{PARTICIPANT}") and len(key) <= 80
    assert record_key("x" * 61, PARTICIPANT, 80) == "x" * 61 + f"/{PARTICIPANT}"


@given(st.text(min_size=1), st.integers(min_value=64, max_value=255))
def test_every_key_fits_the_field_and_is_the_same_in_every_process(event_id, length):
    key = record_key(event_id, PARTICIPANT, length)
    assert len(key) <= length
    assert key == record_key(event_id, PARTICIPANT, length)


@given(st.text(min_size=1), st.text(min_size=1))
def test_two_ids_never_share_a_key(first, second):
    if first.removeprefix("urn:uuid:") != second.removeprefix("urn:uuid:"):
        assert record_key(first, PARTICIPANT, 80) != record_key(second, PARTICIPANT, 80)
