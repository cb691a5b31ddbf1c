"""End to end on the engine: Caliper bodies → moto's SQS → consume → parser → Celery
(embedded SQLite broker) → worker → record_live_event → the Salesforce emulator."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading

import boto3
import pytest
from moto.server import ThreadedMotoServer

from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallState
from canvasbridge.engine.runtime import Runtime
from canvasbridge_emulators.canvas import DEFAULT_TOKEN
from canvasbridge_emulators.canvas import create_app as canvas_app
from canvasbridge_emulators.common import ServerThread
from tests.engine.helpers import wait_for
from tests.live_events.factories import envelope
from tests.live_events.org import Org
from tests.services import unique_name

REGION = "eu-west-2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_endpoint():
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def canvas():
    emulator = canvas_app()
    course = emulator.model.add_course("Leading Teaching")
    quiz = emulator.model.add_quiz(course.id, "Module 1 Quiz")
    server = ServerThread(emulator.app).start()
    yield server.url, course.id, quiz.id
    server.stop()


@pytest.fixture
def real_today_org(monkeypatch, canvas):
    _, course, _ = canvas
    org = Org(today=dt.datetime.now(dt.UTC).date(), course=course)  # workers use the real date (UTC)
    for name, value in org.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TEST_CANVAS_TOKEN", DEFAULT_TOKEN)
    yield org
    org.stop()


def send(sqs, queue_url, body, event_name=None):
    attributes = {"event_name": {"DataType": "String", "StringValue": event_name}} if event_name else {}
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=body if isinstance(body, str) else json.dumps(body),
        MessageAttributes=attributes,
    )


TASKS = {
    "one task per event": {"path": "canvasbridge.live_events.tasks:record_live_event"},
    "batch task": {
        "path": "canvasbridge.live_events.tasks:record_live_events",
        "batch": {"max_items": 50, "max_wait_s": 0.5},
    },
}


def items_of(call):
    return call.params.get("items", [call.params])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly:UserWarning")
@pytest.mark.parametrize("task", sorted(TASKS))
def test_sqs_to_salesforce_through_the_engine(tmp_path, moto_endpoint, aws, real_today_org, canvas, task):
    org = real_today_org
    canvas_url, course, quiz = canvas
    sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_endpoint)
    queue_url = sqs.create_queue(QueueName=unique_name("canvas-live-events"))["QueueUrl"]
    config = parse_config(
        {
            "backends": {"data_dir": str(tmp_path)},
            "worker": {"pool": "threads", "concurrency": 8},
            "log": {"level": "WARNING"},
            "sources": [
                {
                    "type": "sqs",
                    "name": "live-events",
                    "queue_url": queue_url,
                    "region": REGION,
                    "endpoint_url": moto_endpoint,
                    "wait_time_seconds": 1,
                    "workers": 2,
                }
            ],
            "routes": [
                {
                    "name": "caliper",
                    "source": "live-events",
                    "parser": "canvasbridge.live_events.parser:parse",
                }
            ],
            "tasks": {
                "record_live_event": {
                    **TASKS[task],
                    "retry": {"max_attempts": 3, "backoff_base_s": 0.2, "jitter": False},
                }
            },
            "systems": {
                "salesforce": org.settings(),
                "canvas": {"base_url": canvas_url, "token": {"env": "TEST_CANVAS_TOKEN"}},
            },
            "live_events": {"timezone": "UTC", "writer": {"flush_window_s": 0.3}},
        }
    )
    repeated = envelope("logged_in", sis="S-IN", event_id="urn:uuid:e2e00000-0000-4000-8000-000000000001")
    send(sqs, queue_url, repeated, "logged_in")
    send(sqs, queue_url, repeated, "logged_in")  # delivered twice: one record
    send(
        sqs, queue_url, envelope("discussion_topic_created", sis="S-IN", course=course)
    )  # no attribute: inferred
    send(
        sqs, queue_url, envelope("wiki_page_updated", sis="S-OTHER", course=course), "wiki_page_updated"
    )  # mismatch
    quiz_body = envelope(
        "quiz_submitted", sis="S-IN", course=course, quiz=quiz
    )  # title from Canvas → attendee
    send(sqs, queue_url, quiz_body, "quiz_submitted")
    send(sqs, queue_url, envelope("logged_out", sis="S-OLD"), "logged_out")  # programme ended
    send(sqs, queue_url, envelope("logged_out", sis="S-TWO"), "logged_out")  # two programmes
    send(sqs, queue_url, envelope("asset_accessed", sis="S-IN"), "asset_accessed")  # off by default
    send(sqs, queue_url, "{not caliper")  # parked

    runtime = Runtime(config)
    stop = threading.Event()
    consumer = threading.Thread(target=runtime.consume, args=(stop,), daemon=True)
    with runtime.in_process_worker(concurrency=8):
        consumer.start()
        try:
            wait_for(lambda: len(org.activities()) >= 5, timeout=60, what="five activity records")
            wait_for(
                lambda: (
                    sum(len(items_of(c)) for c in runtime.ledger().calls(limit=50)) >= 6
                    and all(
                        r.state in (CallState.SUCCEEDED, CallState.DEAD)
                        for r in runtime.ledger().calls(limit=50)
                    )
                ),
                timeout=60,
                what="every task call to finish",
            )
            wait_for(lambda: runtime.ledger().parked(), timeout=30, what="the malformed message to be parked")
        finally:
            stop.set()
            consumer.join(timeout=30)
    labels = sorted((r["Canvas_Activity__c"], r["Programme_Participant__c"]) for r in org.activities())
    assert labels == sorted(
        [
            ("Logged In", org.ids["participant:S-IN:0"]),
            ("Discussion Created", org.ids["participant:S-IN:0"]),
            ("Quiz Submitted", org.ids["participant:S-IN:0"]),
            ("Logged Out", org.ids["participant:S-TWO:0"]),
            ("Logged Out", org.ids["participant:S-TWO:1"]),
        ]
    )
    [quiz_record] = [r for r in org.activities() if r["Canvas_Activity__c"] == "Quiz Submitted"]
    assert '"Module 1 Quiz" in course "Leading Teaching"' in quiz_record["Canvas_Activity_Detail__c"]
    [attendee] = [a for a in org.model.records("Attendees__c") if a["Id"] == org.ids["attendee:S-IN"]]
    assert attendee["Event_Attended__c"] is True
    calls = runtime.ledger().calls(limit=50)
    assert {c.state for c in calls} == {CallState.SUCCEEDED}
    # asset_accessed never queued; the repeat may fold into its twin
    assert sum(len(items_of(c)) for c in calls) in (6, 7)
    [parked] = runtime.ledger().parked()
    assert "not valid JSON" in parked.reason
    # the org's daily allowance left, as Sforce-Limit-Info last said, is a metric
    from prometheus_client import REGISTRY

    left = REGISTRY.get_sample_value("canvasbridge_rate_limit_remaining", {"system": "salesforce"})
    assert left is not None and 0 < left < org.model.api_max
