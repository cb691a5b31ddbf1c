"""Two processes writing the same record key: the org's Unique field keeps one record.

Content keys (occurrences.py) can be shared by two different deliveries on two workers or
after a restart; neither writer's seen-set knows the other's, so Salesforce's
``DUPLICATE_VALUE`` answer is what resolves the second write.
"""

from canvasbridge.clients.salesforce import SalesforceSettings
from canvasbridge.live_events.rules import PlannedRecord, RecordPlan
from canvasbridge.live_events.settings import SalesforceSchema
from canvasbridge.live_events.writer import ActivityWriter

SCHEMA = SalesforceSchema()
KEY = "content:discussion_entry_created/101/2026-03-04T10:00:00Z"


def plan(participant_id, detail):
    fields = {
        "Canvas_Activity__c": "Posted in discussion",
        "Canvas_Activity_Detail__c": detail,
        "Programme_Participant__c": participant_id,
        "Caliper_Event_Id__c": KEY,
    }
    return RecordPlan(records=(PlannedRecord(key=KEY, fields=fields, participant_id=participant_id),))


def test_two_writers_with_separate_seen_sets_write_one_record_for_one_key(org):
    participant = org.ids["participant:S-IN:0"]
    tickets = []
    for detail in ("first worker", "second worker"):
        client = SalesforceSettings.model_validate(org.settings()).build()
        writer = ActivityWriter(client, SCHEMA)
        tickets.append(writer.submit(plan(participant, detail)))
        writer.flush()
    for ticket in tickets:
        ticket.wait(0)
    assert [t.error for t in tickets] == [None, None]
    assert [t.skipped_as_duplicate for t in tickets] == [0, 1]
    records = [r for r in org.activities() if r["Caliper_Event_Id__c"] == KEY]
    assert [r["Canvas_Activity_Detail__c"] for r in records] == ["first worker"]
