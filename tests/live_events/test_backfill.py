"""Backfill: events rebuilt from Canvas's REST API write exactly what the live path would have.

A day of generated activity is recorded in the Canvas emulator as the events are emitted
(the generator, given the model). One Salesforce org receives every event (lossless), the
other 70 % of them; a backfill of the day over REST must leave the second org with exactly the
records of the first, and a second backfill must write nothing.

The day's mix holds the kinds a backfill recovers (quiz_submitted, submission_created,
grade_change, discussion_entry_created, enrollment_updated, logged_in, logged_out) plus
asset_accessed (off by default, so never written). Each enrollment is updated at most once:
REST keeps only an enrollment's latest update, which the docs say.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from canvasbridge.cli.main import app
from canvasbridge.clients.canvas import CanvasSettings
from canvasbridge.clients.salesforce import SalesforceSettings
from canvasbridge.live_events.backfill import KINDS, ActivityReader, Window
from canvasbridge.live_events.backfill_command import run_backfill
from canvasbridge.live_events.caliper import parse_envelope
from canvasbridge.live_events.lambda_handler import handle_batch
from canvasbridge.live_events.occurrences import occurrence_key
from canvasbridge.live_events.runtime import build_processor
from canvasbridge.live_events.settings import LiveEventsSettings
from canvasbridge_emulators.caliper_feed import GeneratedEvent, LiveEventGenerator
from canvasbridge_emulators.canvas import DEFAULT_TOKEN
from canvasbridge_emulators.canvas import create_app as canvas_app
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.salesforce import create_app as salesforce_app
from canvasbridge_emulators.university.activity import ActivityDataset
from tests.live_events.org import ambition_schema

TODAY = dt.date(2026, 3, 4)
MIDNIGHT = dt.datetime.combine(TODAY, dt.time(), dt.UTC)
DAY = Window(MIDNIGHT, MIDNIGHT + dt.timedelta(days=1))
MIX = {
    "quiz_submitted": 7,
    "submission_created": 7,
    "grade_change": 5,
    "discussion_entry_created": 4,
    "logged_in": 8,
    "logged_out": 4,
    "asset_accessed": 10,
}
EVENTS = 700
ENROLLMENT_UPDATES = 12
FIELDS = (
    "Caliper_Event_Id__c",
    "Canvas_Activity__c",
    "Canvas_Activity_Detail__c",
    "Date__c",
    "Time__c",
    "Programme_Participant__c",
)
SETTINGS = LiveEventsSettings(timezone="UTC")
pytestmark = pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly:UserWarning")


class World:
    def __init__(self, monkeypatch: Any) -> None:
        self.dataset = ActivityDataset.generate("tiny", seed=5, today=TODAY)
        self.canvas = canvas_app()
        self.dataset.load_canvas(self.canvas.model)
        self.servers = [ServerThread(self.canvas.app).start()]
        monkeypatch.setenv("T_CANVAS", DEFAULT_TOKEN)
        self.orgs: list[tuple[Any, Any]] = []
        for name in ("lossy", "lossless"):
            app, model, _ = salesforce_app(schema=ambition_schema(), today=TODAY)
            self.dataset.load_salesforce(model)
            server = ServerThread(app).start()
            self.servers.append(server)
            c = model.credentials
            for var, value in (
                ("PASSWORD", c.password),
                ("TOKEN", c.security_token),
                ("SECRET", c.consumer_secret),
            ):
                monkeypatch.setenv(f"T_{name.upper()}_{var}", value)
            settings = {
                "login_url": server.url,
                "username": c.username,
                "password": {"env": f"T_{name.upper()}_PASSWORD"},
                "security_token": {"env": f"T_{name.upper()}_TOKEN"},
                "consumer_key": c.consumer_key,
                "consumer_secret": {"env": f"T_{name.upper()}_SECRET"},
                "plain_http": True,
            }
            self.orgs.append((model, settings))

    def canvas_client(self) -> Any:
        return CanvasSettings(base_url=self.servers[0].url, token={"env": "T_CANVAS"}).build()

    def salesforce(self, index: int) -> Any:
        return SalesforceSettings.model_validate(self.orgs[index][1]).build()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def world(monkeypatch):
    made = World(monkeypatch)
    yield made
    made.stop()


def a_day(world: World) -> list[GeneratedEvent]:
    total = EVENTS + ENROLLMENT_UPDATES
    gen = LiveEventGenerator(
        world.dataset,
        seed=7,
        canvas=world.canvas.model,
        mix=MIX,
        start=MIDNIGHT,
        interval_ms=0.9 * 86_400_000 / total,
    )
    events = list(gen.events(EVENTS))
    pairs = sorted(
        {(e.course_key, e.user_key) for e in world.dataset.enrollments if e.type == "StudentEnrollment"}
    )
    courses = {c.key: c for c in world.dataset.courses}
    users = {u.key: u for u in world.dataset.users}
    for course_key, user_key in random.Random(3).sample(pairs, ENROLLMENT_UPDATES):
        events.append(gen.one("enrollment_updated", course=courses[course_key], subject=users[user_key]))
    times = [parse_envelope(e.json())[0].event_time for e in events]
    assert all(DAY.since <= t < DAY.until for t in times), "the generated activity fits in the day"
    return events


def deliver(world: World, index: int, events: list[GeneratedEvent]) -> None:
    processor = build_processor(SETTINGS, canvas=world.canvas_client(), salesforce=world.salesforce(index))
    processor._today = lambda: TODAY
    for start in range(0, len(events), 10):  # SQS batches of 10
        records = [
            {
                "messageId": f"m{start + i}",
                "body": e.json(),
                "attributes": {},
                "messageAttributes": {k: {"stringValue": v} for k, v in e.attributes.items()},
            }
            for i, e in enumerate(events[start : start + 10])
        ]
        assert handle_batch(processor, {"Records": records}) == {"batchItemFailures": []}


def held(world: World, index: int) -> list[tuple[Any, ...]]:
    model = world.orgs[index][0]
    return sorted(tuple(r[f] for f in FIELDS) for r in model.records("Canvas_Activitiy__c"))


def attended(world: World, index: int) -> set[str]:
    return {a["Id"] for a in world.orgs[index][0].records("Attendees__c") if a["Event_Attended__c"]}


def test_a_backfill_after_30_percent_loss_leaves_exactly_the_records_of_a_lossless_run(world):
    events = a_day(world)
    keep = random.Random(11)
    delivered = [e for e in events if keep.random() >= 0.3]
    assert 0.6 * len(events) < len(delivered) < 0.8 * len(events)
    attended_before = attended(world, 0)
    deliver(world, 1, events)
    deliver(world, 0, delivered)
    lossless = held(world, 1)
    assert len(held(world, 0)) < len(lossless), "the loss cost records"
    kinds = {name for name, *_ in (r[0].split(":") for r in lossless)}
    assert kinds == set(KINDS) - {"enrollment_created"}, "every recoverable kind has records"

    first = run_backfill(SETTINGS, world.canvas_client(), world.salesforce(0), DAY, show_progress=False)
    assert first.errors == []
    assert held(world, 0) == lossless
    assert attended(world, 0) == attended(world, 1) != attended_before
    assert first.total("written") + first.total("present") == len(lossless)
    assert first.total("present") > 0 and first.total("skipped") > 0

    again = run_backfill(SETTINGS, world.canvas_client(), world.salesforce(0), DAY, show_progress=False)
    assert again.total("written") == 0 and again.total("found") == first.total("found")
    assert again.total("present") == len(lossless)
    assert held(world, 0) == lossless


def test_a_dry_run_counts_what_it_would_write_and_writes_nothing(world):
    events = a_day(world)
    deliver(world, 0, events[::2])
    before = held(world, 0)
    result = run_backfill(
        SETTINGS, world.canvas_client(), world.salesforce(0), DAY, dry_run=True, show_progress=False
    )
    assert held(world, 0) == before
    assert result.total("present") == len(before) and result.total("written") > 0
    wet = run_backfill(SETTINGS, world.canvas_client(), world.salesforce(0), DAY, show_progress=False)
    assert (wet.total("written"), wet.total("present")) == (result.total("written"), result.total("present"))


def test_each_kind_rebuilt_from_rest_has_the_key_of_its_live_event(world):
    gen = LiveEventGenerator(
        world.dataset, seed=9, canvas=world.canvas.model, start=MIDNIGHT, local_id_rate=0.5
    )
    live: dict[str, set[str]] = {}
    for name in KINDS:
        if name == "enrollment_created":
            continue  # the generator records no new enrollments (REST key tested below)
        for _ in range(3):
            event = gen.one(name)
            [caliper] = parse_envelope(event.json())
            live.setdefault(name, set()).add(occurrence_key(caliper, name))
    reader = ActivityReader(world.canvas_client(), DAY)
    rebuilt: dict[str, set[str]] = {}
    recovered = reader.sessions()
    for course in reader.courses():
        recovered += reader.course(course)
    for item in recovered:
        rebuilt.setdefault(item.name, set()).add(occurrence_key(item.event, item.name))
    for name, keys in live.items():
        assert keys <= rebuilt.get(name, set()), name
        assert all(not key.startswith("urn:") for key in keys), name


def test_an_enrollment_created_in_the_window_is_keyed_by_its_id(world):
    model = world.canvas.model
    course = world.dataset.courses[0]
    user = model.add_user("Late Joiner", unique_id="late", sis_user_id="LATE-1")
    enrollment = model.enroll(user.id, course_id=course.id, state="invited")
    when = dt.datetime.fromisoformat(enrollment.created_at.replace("Z", "+00:00"))
    reader = ActivityReader(world.canvas_client(), Window(when, when + dt.timedelta(seconds=1)))
    created = {
        occurrence_key(i.event, i.name): i
        for i in reader.enrollments(str(course.id))
        if i.name == "enrollment_created"
    }
    item = created[f"enrollment_created:{enrollment.id}"]  # the dataset's enrollments share the second
    assert item.event.object.canvas["workflow_state"] == "invited"
    assert item.event.object.canvas["user_id"] == f"urn:instructure:canvas:user:{user.id}"


def test_the_command_shows_a_table_per_kind_and_a_second_run_writes_nothing(world, tmp_path):
    events = a_day(world)
    deliver(world, 0, events[::3])
    present = len(held(world, 0))
    config = tmp_path / "canvasbridge.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "systems": {
                    "canvas": {"base_url": world.servers[0].url, "token": {"env": "T_CANVAS"}},
                    "salesforce": world.orgs[0][1],
                },
                "live_events": {"timezone": "UTC"},
            }
        )
    )
    args = ["events", "backfill", "--since", "2026-03-04", "--until", "2026-03-05", "--config", str(config)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    print(first.output)  # the figures in docs/live-events.md
    rows = {
        line.split("│")[1].strip(): line.split("│")[2:7] for line in first.output.splitlines() if "│" in line
    }
    assert set(KINDS) | {"total"} <= set(rows)
    found, already, written, skipped, failed = (int(cell) for cell in rows["total"])
    assert already == present and written == len(held(world, 0)) - present and failed == 0
    assert found > 0 and skipped > 0
    second = CliRunner().invoke(app, args)
    rows = {
        line.split("│")[1].strip(): line.split("│")[2:7] for line in second.output.splitlines() if "│" in line
    }
    assert [int(cell) for cell in rows["total"]] == [found, already + written, 0, skipped, 0]
    bad = CliRunner().invoke(app, ["events", "backfill", "--since", "yesterday", "--config", str(config)])
    assert bad.exit_code == 2 and "not an ISO 8601 date" in bad.output


def test_replies_at_any_depth_are_recovered_from_the_topic_view(world):
    model = world.canvas.model
    course = world.dataset.courses[0]
    [topic, *_] = model.discussion_topics(course.id)
    student = next(e.user_id for e in model.enrollments(course_id=course.id, types=["StudentEnrollment"]))
    first = model.add_discussion_entry(topic.id, student, "<p>a</p>", at="2026-03-04T08:00:00Z")
    reply = model.add_discussion_entry(
        topic.id, student, "<p>b</p>", at="2026-03-04T08:01:00Z", parent_id=first.id
    )
    deeper = model.add_discussion_entry(
        topic.id, student, "<p>c</p>", at="2026-03-04T08:02:00Z", parent_id=reply.id
    )
    model.add_discussion_entry(topic.id, student, "<p>d</p>", at="2026-03-05T08:00:00Z", parent_id=first.id)
    reader = ActivityReader(world.canvas_client(), DAY)
    keys = {occurrence_key(i.event, i.name) for i in reader.discussion_entries(str(course.id))}
    assert keys == {f"discussion_entry_created:{e.id}" for e in (first, reply, deeper)}


def test_a_rest_time_a_second_off_the_events_still_finds_the_live_record(world):
    gen = LiveEventGenerator(
        world.dataset,
        seed=4,
        canvas=world.canvas.model,
        mix={"logged_in": 1},
        start=MIDNIGHT,
        interval_ms=60_000,
    )
    deliver(world, 0, list(gen.events(60)))
    written = held(world, 0)
    assert written
    for event in world.canvas.model.authentication_events():  # Canvas stamped the log a second later
        moment = dt.datetime.fromisoformat(event.created_at.replace("Z", "+00:00")) + dt.timedelta(seconds=1)
        event.created_at = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    result = run_backfill(SETTINGS, world.canvas_client(), world.salesforce(0), DAY, show_progress=False)
    assert (result.total("written"), result.total("present")) == (0, len(written))
    assert held(world, 0) == written
