"""Mutated but schema-valid events through naming, every handler and the rules: an outcome or a
MessageError, never a crash (a crash would fail the message again and again)."""

import json
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from canvasbridge.errors import MessageError
from canvasbridge.live_events.lookups import OfflineLookups
from canvasbridge.live_events.processor import LiveEventProcessor
from canvasbridge.live_events.rules import Participant, ParticipantDirectory, ParticipantDirectoryCache
from canvasbridge.live_events.settings import LiveEventsSettings
from tests.live_events.factories import envelope
from tests.live_events.naming_names import NAMES

URN_IDS = st.sampled_from(
    [
        "urn:instructure:canvas:course:565",
        "urn:instructure:canvas:user:42420000000000101",
        "urn:instructure:canvas:quizzes:quiz:7",
        "urn:instructure:canvas:course:5:section:6:Learner:7",
        "urn:instructure:canvas:",
        "http://canvas.test.example/",
        "",
        "urn:instructure:canvas:user:abc",
        "urn:instructure:canvas:course:99999999999999999999999",
    ]
)
TEXT = st.text(max_size=12)
EXT_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), TEXT, URN_IDS)


def processor():
    settings = LiveEventsSettings(enable=["asset_accessed"])
    participants = [Participant("a01", "S1001", "Ada", date(2026, 1, 1), date(2026, 12, 31), "565")]
    directory = ParticipantDirectoryCache(
        lambda today: ParticipantDirectory.build(participants, []),
        refresh_s=300,
        today=lambda: date(2026, 3, 4),
    )
    return LiveEventProcessor(settings, OfflineLookups(), directory, None, today=lambda: date(2026, 3, 4))


PROCESSOR = processor()


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_mutated_events_give_an_outcome_or_a_message_error(data):
    body = envelope(data.draw(st.sampled_from(NAMES)))
    event = body["data"][0]
    for _ in range(data.draw(st.integers(1, 5))):
        target = data.draw(st.sampled_from(["event", "object", "actor", "group", "object_ext", "actor_ext"]))
        if target == "event":
            event[data.draw(st.sampled_from(["type", "action", "referrer"]))] = data.draw(TEXT)
        elif target in ("object", "actor", "group"):
            entity = event.setdefault(target, {"id": "x", "type": "Entity"})
            key = data.draw(st.sampled_from(["id", "type", "name"]))
            entity[key] = data.draw(URN_IDS if key == "id" else TEXT)
        else:
            entity = event["object" if target == "object_ext" else "actor"]
            ext = entity.setdefault("extensions", {}).setdefault("com.instructure.canvas", {})
            key = data.draw(
                st.sampled_from(
                    [
                        "entity_id",
                        "user_sis_id",
                        "user_id",
                        "course_id",
                        "type",
                        "state",
                        "asset_type",
                        "asset_name",
                        "grade",
                        "is_announcement",
                    ]
                )
            )
            ext[key] = data.draw(EXT_VALUES)
    attributes = data.draw(st.sampled_from([{}, {"event_name": data.draw(st.sampled_from(NAMES))}]))
    try:
        named = PROCESSOR.events(json.dumps(body), attributes)
    except MessageError:
        return
    for caliper_event, name in named:
        outcome = PROCESSOR.prepare(caliper_event, name)
        assert outcome.status in {"queued", "skipped", "unhandled", "disabled"}
