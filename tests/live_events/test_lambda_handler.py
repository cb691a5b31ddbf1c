import json
import logging
from datetime import date

import pytest

from canvasbridge.live_events import lambda_handler as module
from canvasbridge.live_events.lambda_handler import handle_batch, lambda_handler
from canvasbridge.live_events.lookups import OfflineLookups
from canvasbridge.live_events.processor import LiveEventProcessor
from canvasbridge.live_events.rules import Participant, ParticipantDirectory, ParticipantDirectoryCache
from canvasbridge.live_events.settings import LiveEventsSettings
from canvasbridge.live_events.writer import ActivityWriter
from tests.live_events.factories import envelope
from tests.live_events.fakes import FakeSalesforce
from tests.live_events.org import TODAY


def sqs_record(message_id, body, event_name=None, receive_count=1):
    record = {
        "messageId": message_id,
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
    }
    if event_name:
        record["messageAttributes"]["event_name"] = {"stringValue": event_name, "dataType": "String"}
    return record


def offline_processor(sf):
    settings = LiveEventsSettings()
    participants = [
        Participant(f"a0{uid}", uid, uid, date(2026, 1, 1), date(2026, 12, 31), "565")
        for uid in ("S1", "S2", "S3")
    ]
    directory = ParticipantDirectoryCache(
        lambda today: ParticipantDirectory.build(participants, []), refresh_s=300, today=lambda: TODAY
    )
    writer = ActivityWriter(sf, settings.salesforce, settings.writer)
    return LiveEventProcessor(settings, OfflineLookups(), directory, writer, today=lambda: TODAY)


def test_a_mixed_batch_reports_exactly_the_failed_records():
    bad_write = envelope(  # keyed by its event id (occurrences.py)
        "discussion_topic_created", sis="S3", event_id="urn:uuid:00000000-0000-4000-8000-0000000000bb"
    )
    sf = FakeSalesforce(refuse={"00000000-0000-4000-8000-0000000000bb/a0S3"})
    processor = offline_processor(sf)
    unmapped = envelope("enrollment_created")
    unmapped["data"][0]["object"]["id"] = "urn:instructure:canvas:mystery:1"
    batch = {
        "Records": [
            sqs_record("ok-1", envelope("logged_in", sis="S1"), "logged_in"),
            sqs_record("malformed", "{not json"),
            sqs_record("ok-2", envelope("discussion_topic_created", sis="S2")),  # no attribute: inferred
            sqs_record("unmapped", unmapped),
            sqs_record("write-refused", bad_write, "discussion_topic_created"),
            sqs_record(
                "no-participant", envelope("logged_in", sis="NOBODY"), "logged_in"
            ),  # skipped, not failed
            sqs_record("no-handler", envelope("course_created"), "course_created"),  # counted and acked
        ]
    }
    result = handle_batch(processor, batch)
    assert {item["itemIdentifier"] for item in result["batchItemFailures"]} == {
        "malformed",
        "unmapped",
        "write-refused",
    }
    assert len(sf.records["Canvas_Activitiy__c"]) == 2
    assert sf.calls == ["create_many"]
    assert processor.counts["unhandled:course_created"] == 1 and processor.counts["malformed"] == 1
    assert processor.counts["unmapped"] == 1 and processor.counts["skipped"] == 1


def test_malformed_messages_can_be_dropped_instead_of_failed():
    processor = offline_processor(FakeSalesforce())
    result = handle_batch(processor, {"Records": [sqs_record("m", "[]")]}, drop_malformed=True)
    assert result == {"batchItemFailures": []}


def test_a_salesforce_outage_fails_every_record_that_had_something_to_write():
    processor = offline_processor(FakeSalesforce(fail_with=ConnectionError("down")))
    batch = {
        "Records": [
            sqs_record("a", envelope("logged_in", sis="S1")),
            sqs_record("b", envelope("logged_in", sis="S2")),
            sqs_record("c", envelope("logged_in", sis="NOBODY")),
        ]
    }
    assert [i["itemIdentifier"] for i in handle_batch(processor, batch)["batchItemFailures"]] == ["a", "b"]


def test_unmapped_events_are_logged_at_error_with_what_a_mapping_needs(caplog):
    processor = offline_processor(FakeSalesforce())
    body = envelope("enrollment_created")
    body["data"][0]["object"]["id"] = "urn:instructure:canvas:mystery:1"
    handle_batch(processor, {"Records": [sqs_record("u", body)]})
    [entry] = [r for r in caplog.records if r.levelname == "ERROR" and "unmapped" in r.getMessage()]
    for part in (
        "type=Event",
        "action=Created",
        "object.type=Entity",
        "id segment=mystery",
        "workflow_state",
    ):
        assert part in entry.getMessage()


@pytest.fixture
def lambda_env(org, monkeypatch):
    monkeypatch.setattr(module, "_processor", None)
    c = org.model.credentials
    for name, value in {
        "SALESFORCE_LOGIN_URL": org.url,
        "SALESFORCE_USER": c.username,
        "SALESFORCE_PASSWORD": c.password,
        "SALESFORCE_SECURITY_TOKEN": c.security_token,
        "SALESFORCE_CONSUMER_KEY": c.consumer_key,
        "SALESFORCE_CONSUMER_SECRET": c.consumer_secret,
        "SALESFORCE_PLAIN_HTTP": "true",
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CANVAS_URL", raising=False)
    level = logging.getLogger().level
    yield org
    logging.getLogger().setLevel(level)
    monkeypatch.setattr(module, "_processor", None)


def test_lambda_handler_from_the_environment_writes_to_the_emulator(lambda_env, monkeypatch):
    module._processor = module.build_from_env()
    module._processor._today = lambda: TODAY
    batch = {
        "Records": [
            sqs_record("1", envelope("logged_in", sis="S-IN"), "logged_in"),
            sqs_record("2", envelope("logged_in", sis="S-OLD"), "logged_in"),
        ]
    }
    assert lambda_handler(batch, None) == {"batchItemFailures": []}
    assert len(lambda_env.activities()) == 1
    assert logging.getLogger().level == logging.WARNING  # LOG_LEVEL honoured


def test_a_directory_that_cannot_load_fails_every_record_for_a_retry():
    from canvasbridge.errors import TransientError

    def broken(today):
        raise TransientError("Salesforce is down")

    processor = offline_processor(FakeSalesforce())
    processor.directory = ParticipantDirectoryCache(broken, refresh_s=300, today=lambda: TODAY)
    batch = {
        "Records": [
            sqs_record("a", envelope("logged_in", sis="S1")),
            sqs_record("b", envelope("course_created")),
        ]
    }
    # b has no handler, so it needs no directory and is acknowledged
    assert [i["itemIdentifier"] for i in handle_batch(processor, batch)["batchItemFailures"]] == ["a"]
