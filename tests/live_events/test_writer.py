import threading

import pytest

from canvasbridge.errors import PermanentError, TransientError
from canvasbridge.live_events.rules import PlannedRecord, RecordPlan
from canvasbridge.live_events.settings import SalesforceSchema, WriterSettings
from canvasbridge.live_events.writer import ActivityWriter
from tests.live_events.fakes import FakeSalesforce

SCHEMA = SalesforceSchema()


def plan_for(n, prefix="e", attendees=()):
    records = tuple(
        PlannedRecord(
            key=f"{prefix}{i}/a01",
            fields={"Canvas_Activity__c": "X", "Caliper_Event_Id__c": f"{prefix}{i}/a01"},
            participant_id="a01",
        )
        for i in range(n)
    )
    return RecordPlan(records=records, attendee_ids=tuple(attendees))


def test_records_are_sent_in_collections_of_at_most_200():
    sf = FakeSalesforce()
    writer = ActivityWriter(sf, SCHEMA, WriterSettings(batch_size=200))
    tickets = [writer.submit(plan_for(1, prefix=f"p{i}-")) for i in range(450)]
    writer.flush()
    assert sf.calls == ["create_many", "create_many", "create_many"]
    assert len(sf.records["Canvas_Activitiy__c"]) == 450
    assert all(t.done and t.error is None for t in tickets)


def test_a_redelivered_event_creates_no_duplicate():
    sf = FakeSalesforce()
    first = ActivityWriter(sf, SCHEMA)
    first.submit(plan_for(2))
    first.flush()
    # another process (empty seen-set) gets the same event again, marked as a redelivery
    second = ActivityWriter(sf, SCHEMA)
    ticket = second.submit(plan_for(2), maybe_written=True)
    second.flush()
    ticket.wait(0)
    assert len(sf.records["Canvas_Activitiy__c"]) == 2
    assert ticket.skipped_as_duplicate == 2 and sf.calls[-1] == "query"
    # the same process remembers what it wrote, without asking
    calls = len(sf.calls)
    again = first.submit(plan_for(2))
    first.flush()
    assert again.skipped_as_duplicate == 2 and len(sf.calls) == calls


def test_one_refused_record_fails_only_its_own_event():
    sf = FakeSalesforce(refuse={"bad0/a01"})
    writer = ActivityWriter(sf, SCHEMA)
    good = writer.submit(plan_for(1, "good"))
    bad = writer.submit(plan_for(1, "bad"))
    writer.flush()
    good.wait(0)
    with pytest.raises(PermanentError, match="FIELD_CUSTOM_VALIDATION_EXCEPTION"):
        bad.wait(0)


def test_a_failed_call_fails_every_event_in_the_batch_as_transient():
    sf = FakeSalesforce(fail_with=ConnectionError("reset"))
    writer = ActivityWriter(sf, SCHEMA)
    tickets = [writer.submit(plan_for(1, f"x{i}")) for i in range(3)]
    writer.flush()
    for ticket in tickets:
        with pytest.raises(TransientError):
            ticket.wait(0)


def test_attendees_are_marked_in_one_update_and_forgotten():
    sf = FakeSalesforce()
    forgotten = []
    writer = ActivityWriter(sf, SCHEMA, on_attended=forgotten.extend)
    ticket = writer.submit(plan_for(0, attendees=["att1", "att2"]))
    writer.flush()
    ticket.wait(0)
    assert sf.updates == [
        ("Attendees__c", {"Id": "att1", "Event_Attended__c": True}),
        ("Attendees__c", {"Id": "att2", "Event_Attended__c": True}),
    ]
    assert forgotten == ["att1", "att2"] and ticket.attendees_marked == 2


def test_an_event_with_nothing_to_write_is_done_at_once():
    assert ActivityWriter(FakeSalesforce(), SCHEMA).submit(RecordPlan(reason="none")).done


def test_background_mode_flushes_after_the_window_and_groups_concurrent_events():
    sf = FakeSalesforce()
    writer = ActivityWriter(sf, SCHEMA, WriterSettings(flush_window_s=0.2)).start()
    try:
        tickets = []
        threads = [
            threading.Thread(target=lambda i=i: tickets.append(writer.submit(plan_for(1, f"t{i}"))))
            for i in range(50)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for ticket in list(tickets):
            ticket.wait(5)
        assert sf.calls.count("create_many") <= 2
    finally:
        writer.close()
