"""Holds: one writer per object, whichever parameters name it (engine/ledger/holds.py)."""

from __future__ import annotations

import threading
import time

import pytest

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.context import TaskContext
from canvasbridge.engine.ledger import CallState, Ledger
from canvasbridge.errors import ObjectBusy


def running(ledger: Ledger, task: str, **params: object) -> int:
    call = ledger.record([TaskCall(task, dict(params))])[0]
    assert ledger.claim(call.id, max_attempts=3).proceed
    return call.id


def test_a_running_call_holds_an_object_against_another_call_naming_it_differently(ledger):
    by_person = running(ledger, "ensure_user", person_id=7)
    by_name = running(ledger, "ensure_user", username="olan")
    assert ledger.holds.acquire("person:7", by_person) is None
    assert ledger.holds.acquire("person:7", by_name) == by_person
    assert ledger.holds.acquire("person:7", by_person) is None  # re-entrant
    assert ledger.holds.acquire("person:8", by_name) is None  # another object: no wait


def test_a_hold_passes_on_once_its_call_stops_running(ledger):
    first = running(ledger, "ensure_user", person_id=7)
    second = running(ledger, "ensure_user", username="olan")
    assert ledger.holds.acquire("person:7", first) is None
    ledger.succeed(first)
    assert ledger.holds.acquire("person:7", second) is None
    assert ledger.holds.holder("person:7") == second


def test_a_hold_of_a_call_running_past_the_lost_limit_is_taken_over(ledger):
    patient = Ledger.open(ledger.url, presume_lost_after_s=2.0)
    try:
        first = running(patient, "t", k=1)
        second = running(patient, "t", k=2)
        assert patient.holds.acquire("section:S", first) is None
        assert patient.holds.acquire("section:S", second) == first
        time.sleep(2.2)
        assert patient.holds.acquire("section:S", second) is None
    finally:
        patient.close()


def test_many_calls_racing_for_one_object_get_exactly_one_holder(ledger):
    calls = [running(ledger, "t", k=n) for n in range(8)]
    results: dict[int, int | None] = {}
    start = threading.Barrier(len(calls))

    def race(call_id: int) -> None:
        start.wait()
        results[call_id] = ledger.holds.acquire("course:C", call_id)

    threads = [threading.Thread(target=race, args=(c,)) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [c for c, holder in results.items() if holder is None]
    assert len(winners) == 1
    assert all(holder == winners[0] for c, holder in results.items() if c != winners[0])


def test_a_key_too_long_for_the_table_is_refused_not_cut(ledger):
    call = running(ledger, "t", k=1)
    with pytest.raises(ValueError, match="1 to 500 characters"):
        ledger.holds.acquire("x" * 501, call)


def test_a_task_context_raises_object_busy_naming_the_key_and_the_holder(ledger):
    first = running(ledger, "t", k=1)
    second = running(ledger, "t", k=2)
    TaskContext("t", {}, ledger_id=first, holds=ledger.holds).hold("user:olan")
    with pytest.raises(ObjectBusy) as busy:
        TaskContext("t", {}, ledger_id=second, holds=ledger.holds).hold("user:olan")
    assert busy.value.key == "user:olan" and busy.value.holder == first
    # outside a worker (no call id) and in a dry run, holding means nothing
    TaskContext("t", {}, holds=ledger.holds).hold("user:olan")
    TaskContext("t", {}, ledger_id=second, holds=ledger.holds, dry_run=True).hold("user:olan")


def test_giving_way_puts_the_call_back_in_the_queue_without_the_attempt(ledger):
    call = running(ledger, "ensure_user", username="olan")
    assert ledger.get(call).attempts == 1
    assert ledger.holds.give_way(call) is None
    record = ledger.get(call)
    assert record.state is CallState.QUEUED and record.attempts == 0
    assert ledger.claim(call, max_attempts=3).attempt == 1  # its next start is its first attempt


def test_giving_way_hands_the_call_to_an_identical_one_recorded_meanwhile(ledger):
    call = running(ledger, "ensure_user", username="olan")
    twin = ledger.record([TaskCall("ensure_user", {"username": "olan"})])[0]  # a started call absorbs nothing
    assert twin.id != call
    assert ledger.holds.give_way(call) == twin.id
    handed, pending = ledger.get(call), ledger.get(twin.id)
    assert handed.state is CallState.REQUEUED and handed.requeued_to == twin.id
    assert pending.state is CallState.QUEUED and pending.folded == 1
