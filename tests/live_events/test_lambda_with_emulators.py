"""The Lambda handler against both emulators loaded with the activity dataset: real Canvas
lookups (quiz titles, course rosters) and the Salesforce rules, attendee marking included."""

import datetime as dt

import pytest

from canvasbridge.clients.canvas import CanvasSettings
from canvasbridge.clients.http import CallStats
from canvasbridge.clients.salesforce import SalesforceSettings
from canvasbridge.live_events.lambda_handler import handle_batch
from canvasbridge.live_events.runtime import build_processor
from canvasbridge.live_events.settings import LiveEventsSettings
from canvasbridge_emulators.caliper_feed import LiveEventGenerator
from canvasbridge_emulators.canvas import DEFAULT_TOKEN
from canvasbridge_emulators.canvas import create_app as canvas_app
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.salesforce import create_app as salesforce_app
from canvasbridge_emulators.university.activity import ActivityDataset
from tests.live_events.org import ambition_schema

TODAY = dt.date(2026, 3, 4)
pytestmark = pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly:UserWarning")


@pytest.fixture(scope="module")
def world():
    dataset = ActivityDataset.generate("tiny", seed=5, today=TODAY)
    canvas = canvas_app()
    dataset.load_canvas(canvas.model)
    sf_app, sf_model, _ = salesforce_app(schema=ambition_schema(), today=TODAY)
    dataset.load_salesforce(sf_model)
    servers = [ServerThread(canvas.app).start(), ServerThread(sf_app).start()]
    yield dataset, servers[0].url, sf_model, servers[1].url
    for server in servers:
        server.stop()


def test_quiz_submissions_of_participants_are_recorded_with_titles_and_mark_their_attendees(
    world, monkeypatch
):
    dataset, canvas_url, sf_model, sf_url = world
    c = sf_model.credentials
    monkeypatch.setenv("T_CANVAS", DEFAULT_TOKEN)
    monkeypatch.setenv("T_SF_PASSWORD", c.password)
    monkeypatch.setenv("T_SF_TOKEN", c.security_token)
    monkeypatch.setenv("T_SF_SECRET", c.consumer_secret)
    canvas_stats = CallStats()
    canvas = CanvasSettings(base_url=canvas_url, token={"env": "T_CANVAS"}).build(stats=canvas_stats)
    salesforce = SalesforceSettings.model_validate(
        {
            "login_url": sf_url,
            "username": c.username,
            "password": {"env": "T_SF_PASSWORD"},
            "security_token": {"env": "T_SF_TOKEN"},
            "consumer_key": c.consumer_key,
            "consumer_secret": {"env": "T_SF_SECRET"},
            "plain_http": True,
        }
    ).build()
    processor = build_processor(LiveEventsSettings(timezone="UTC"), canvas=canvas, salesforce=salesforce)
    processor._today = lambda: TODAY

    attended_before = {a["Id"] for a in sf_model.records("Attendees__c") if a["Event_Attended__c"]}
    generator = LiveEventGenerator(dataset, seed=5, mix={"quiz_submitted": 1})
    events = list(generator.events(60))
    records = [
        {
            "messageId": str(i),
            "body": e.json(),
            "attributes": {},
            "messageAttributes": {k: {"stringValue": v} for k, v in e.attributes.items()},
        }
        for i, e in enumerate(events)
    ]
    assert handle_batch(processor, {"Records": records}) == {"batchItemFailures": []}

    activities = sf_model.records("Canvas_Activitiy__c")
    assert activities, "some submitters are participants of active programmes"
    titled = [a for a in activities if '"' in a["Canvas_Activity_Detail__c"]]
    assert titled == activities  # every quiz title came from the Canvas emulator
    newly = [
        a
        for a in sf_model.records("Attendees__c")
        if a["Event_Attended__c"] and a["Id"] not in attended_before
    ]
    assert newly, "some submitted quizzes are FLIP events of their submitter"
    flip = {f["Id"]: f["Event_Name__c"] for f in sf_model.records("FLIP_Event__c")}
    contacts = {c["Id"]: c["Participant_UID__c"] for c in sf_model.records("Contact")}
    submitted = {(e.facts["user_sis_id"], e.facts["item_name"].casefold()) for e in events}
    for attendee in newly:  # only a submitter's attendee of the FLIP event named like the quiz
        assert (contacts[attendee["Contact__c"]], flip[attendee["FLIP_Event__c"]].casefold()) in submitted
    assert canvas_stats.total < len(events)  # cached: far fewer calls than events
