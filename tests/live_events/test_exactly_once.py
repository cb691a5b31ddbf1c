"""Exactly one record per event id, whatever the id holds, across processes.

Each event is written once, then redelivered to a fresh writer (new client, empty seen-set)
and to a fresh Python process, against the Salesforce emulator over HTTP. The events are
``discussion_topic_created``, whose record key is still the event id (occurrences.py: no
REST source, so no content key); content keys are made of ids and times only.
"""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from canvasbridge.clients.salesforce import SalesforceSettings
from canvasbridge.live_events.runtime import build_processor
from canvasbridge.live_events.settings import LiveEventsSettings
from tests.live_events.factories import envelope
from tests.live_events.fakes import FakeLookups
from tests.live_events.org import TODAY

ROOT = Path(__file__).resolve().parents[2]
NAME = "discussion_topic_created"  # keyed by its event id

AWKWARD_IDS = [
    "urn:uuid:0f0f0f0f-0000-4000-8000-000000000001",
    "it's a quote",
    'say "hello"',
    "spaces  in   between",
    "naïve-ünïcødé-事件-🎓",
    "x' OR Caliper_Event_Id__c != null OR Name = 'y",
    "') OR Id IN ('a','b') OR Name LIKE ('%",
    "back\\slash\\'escape",
    "50% _like_ wildcards%",
    "Case-Only",
    "case-only",  # another event: SOQL's = ignores case, the key must not
    "line\nbreak\ttab",
    "bell\x07",
    " leading space",
    "sha256:not-a-digest",
    "x" * 300,
]


def build(org_settings):
    client = SalesforceSettings.model_validate(org_settings).build()
    processor = build_processor(LiveEventsSettings(), canvas=None, salesforce=client)
    processor.use_lookups(FakeLookups())
    processor._today = lambda: TODAY
    return processor


def deliver(processor, event_ids, *, redelivered):
    tickets = []
    for event_id in event_ids:
        body = json.dumps(envelope(NAME, sis="S-IN", event_id=event_id))
        for outcome in processor.submit_body(body, {"event_name": NAME}, maybe_written=redelivered):
            assert outcome.status == "queued", outcome.reason
            tickets.append(outcome.ticket)
    processor.writer.flush()
    for ticket in tickets:
        ticket.wait(0)
    return tickets


def keys_written(org):
    return Counter(record["Caliper_Event_Id__c"] for record in org.activities())


def test_each_awkward_id_gets_one_record_after_a_redelivery_to_a_fresh_writer(org):
    deliver(build(org.settings()), AWKWARD_IDS, redelivered=False)
    first = keys_written(org)
    assert len(first) == len(AWKWARD_IDS) and set(first.values()) == {1}

    fresh = build(org.settings())
    tickets = deliver(fresh, AWKWARD_IDS, redelivered=True)
    assert keys_written(org) == first
    assert sum(ticket.skipped_as_duplicate for ticket in tickets) == len(AWKWARD_IDS)
    assert fresh.writer.stats.by_call == {"query": 1}


def test_a_redelivered_batch_still_writes_the_events_not_yet_written(org):
    deliver(build(org.settings()), AWKWARD_IDS[::2], redelivered=False)
    deliver(build(org.settings()), AWKWARD_IDS, redelivered=True)
    counts = keys_written(org)
    assert len(counts) == len(AWKWARD_IDS) and set(counts.values()) == {1}


def test_redelivery_to_a_new_python_process_writes_nothing(org, tmp_path):
    deliver(build(org.settings()), AWKWARD_IDS, redelivered=False)
    before = keys_written(org)
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps({"settings": org.settings(), "ids": AWKWARD_IDS}))
    script = (
        "import json, sys\n"
        "from tests.live_events.test_exactly_once import build, deliver\n"
        "spec = json.load(open(sys.argv[1]))\n"
        "tickets = deliver(build(spec['settings']), spec['ids'], redelivered=True)\n"
        "print(sum(t.skipped_as_duplicate for t in tickets), sum(t.written for t in tickets))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(ids_file)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(len(AWKWARD_IDS)), "0"]
    assert keys_written(org) == before


def test_long_unicode_keys_are_asked_in_queries_that_fit_a_url(org):
    count = 200
    ids = [f"事件-{'ü' * 20}-{i}" for i in range(count)]
    deliver(build(org.settings()), ids, redelivered=False)
    fresh = build(org.settings())
    deliver(fresh, ids, redelivered=True)
    assert len(org.activities()) == count
    assert fresh.writer.stats.by_call["query"] > 1 and "create_many" not in fresh.writer.stats.by_call
