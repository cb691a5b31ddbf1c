"""The emulator's live-event generator (written independently) against our naming and handlers."""

import datetime as dt

from canvasbridge.live_events.caliper import parse_envelope
from canvasbridge.live_events.handlers import HANDLERS, HandlerContext
from canvasbridge.live_events.naming import event_name, event_name_from_body
from canvasbridge_emulators.caliper_feed import LiveEventGenerator
from canvasbridge_emulators.university.activity import ActivityDataset
from tests.live_events.fakes import FakeLookups


def test_every_generated_event_and_variant_maps_and_is_handled():
    generator = LiveEventGenerator(
        ActivityDataset.generate("tiny", seed=3, today=dt.date(2026, 3, 4)), seed=3
    )
    generated = generator.every_event() + generator.variants() + list(generator.events(300))
    for item in generated:
        [caliper_event] = parse_envelope(item.json())
        assert event_name_from_body(caliper_event) == item.name
        assert event_name(caliper_event, item.attributes) == item.name
        spec = HANDLERS.get(item.name)
        if spec is not None:
            activity = spec.handler(caliper_event, item.name, HandlerContext(FakeLookups()))
            if "course_id" in item.facts and activity.course_scoped:
                assert activity.course_id == str(item.facts["course_id"]), item.name
