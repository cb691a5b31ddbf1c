"""record_live_events, the batch task: each event's outcome is the writer's result for it."""

from __future__ import annotations

import pytest

from canvasbridge.engine import BatchFailures, BatchItem, TaskContext
from canvasbridge.errors import TransientError
from canvasbridge.live_events.caliper import CaliperEvent
from canvasbridge.live_events.occurrences import occurrence_key
from canvasbridge.live_events.tasks import RESOURCE, SALESFORCE, record_live_events
from tests.live_events.factories import envelope
from tests.live_events.fakes import FakeSalesforce
from tests.live_events.test_lambda_handler import offline_processor

BAD_ID = "urn:uuid:00000000-0000-4000-8000-0000000000bb"
# a login's record key is what happened (user and second), then the participant
BAD_KEY = (
    occurrence_key(CaliperEvent.model_validate(envelope("logged_in", sis="S3")["data"][0]), "logged_in")
    + "/a0S3"
)


def context(sf: FakeSalesforce) -> TaskContext:
    sf.api_usage = None  # type: ignore[attr-defined]
    return TaskContext(
        "record_live_event",
        sections={
            "systems": {
                "salesforce": {
                    "instance_url": "https://sf.example",
                    "session_id": {"env": "UNUSED_SF_SESSION"},
                }
            },
            "live_events": {},
        },
        resources={RESOURCE: offline_processor(sf), SALESFORCE: sf},
    )


def items(*bodies: dict) -> list[BatchItem]:
    return [
        BatchItem(i, {"event": body["data"][0], "event_name": "logged_in"}, {"message_id": f"m{i}"})
        for i, body in enumerate(bodies)
    ]


def test_the_events_of_a_batch_are_written_in_one_collection():
    sf = FakeSalesforce()
    summary = record_live_events(
        context(sf), items(envelope("logged_in", sis="S1"), envelope("logged_in", sis="S2"))
    )
    assert summary["written"] == 2 and summary["events"] == 2
    assert sf.calls == ["create_many"]


def test_a_refused_record_fails_only_its_own_event_permanently():
    sf = FakeSalesforce(refuse={BAD_KEY})
    batch = items(envelope("logged_in", sis="S1"), envelope("logged_in", sis="S3", event_id=BAD_ID))
    with pytest.raises(BatchFailures) as caught:
        record_live_events(context(sf), batch)
    assert list(caught.value.failures) == [1]
    assert not caught.value.transient  # the item becomes a dead letter, the batch is not retried
    assert len(sf.records["Canvas_Activitiy__c"]) == 1


def test_a_failed_salesforce_call_fails_its_events_transiently():
    sf = FakeSalesforce(fail_with=TransientError("Salesforce is down"))
    with pytest.raises(BatchFailures) as caught:
        record_live_events(
            context(sf), items(envelope("logged_in", sis="S1"), envelope("logged_in", sis="S2"))
        )
    assert sorted(caught.value.failures) == [0, 1]
    assert caught.value.transient  # the whole batch runs again
