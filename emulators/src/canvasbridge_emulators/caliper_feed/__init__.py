"""A Canvas Live Events source: Caliper 1.1 envelopes for activity in the synthetic university.

    from canvasbridge_emulators.caliper_feed import LiveEventGenerator, SqsSink, WebhookSink, JsonlSink, emit
    gen = LiveEventGenerator(dataset, seed=1)                    # dataset: university.activity.ActivityDataset
    emit(gen.events(500), SqsSink(queue_url, endpoint_url=moto_url), rate=100)
    keys = SigningKeys()                                         # signed HTTPS delivery ("Sign Payload")
    emit(gen.events(10), WebhookSink(url, signer=keys))          # JWKS: ServerThread(jwks_app(keys))

Every event in ``reference/caliper.md`` (the 27 mapped ones, with ``grade_change`` as Canvas
spells it, and the five extra) with the documented variants; see :mod:`.caliper` for the
shapes and :mod:`.generator` for the knobs. Ids are the dataset's Canvas ids (users,
courses, quizzes, assignments, topics, pages); submission, entry, enrollment, group and
attachment ids are generated (from 5001 up) because the Canvas emulator keeps no such objects.
"""

from canvasbridge_emulators.caliper_feed.caliper import ASSET_TYPES, EVENT_NAMES, Site
from canvasbridge_emulators.caliper_feed.generator import DEFAULT_MIX, GeneratedEvent, LiveEventGenerator
from canvasbridge_emulators.caliper_feed.signing import SigningKeys, jwks_app
from canvasbridge_emulators.caliper_feed.sinks import JsonlSink, SqsSink, WebhookSink, emit

__all__ = [
    "ASSET_TYPES",
    "DEFAULT_MIX",
    "EVENT_NAMES",
    "GeneratedEvent",
    "JsonlSink",
    "LiveEventGenerator",
    "SigningKeys",
    "Site",
    "SqsSink",
    "WebhookSink",
    "emit",
    "jwks_app",
]
