"""Retention: finished calls leave the ledger after their time; nothing awaiting work does."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.janitor import LedgerJanitor
from canvasbridge.engine.ledger import CallState, Ledger
from canvasbridge.engine.ledger.schema import task_calls
from tests.engine.helpers import wait_for

DAY = timedelta(days=1)


def age(ledger: Ledger, call_id: int, days: float) -> None:
    """Move a call's timestamps ``days`` into the past."""
    then = datetime.now(UTC) - timedelta(days=days)
    with ledger.engine.begin() as connection:
        connection.execute(
            sa.update(task_calls)
            .where(task_calls.c.id == call_id)
            .values(
                created_at=then,
                finished_at=sa.case((task_calls.c.finished_at.is_not(None), then), else_=None),
            )
        )


def call_in_state(ledger: Ledger, state: CallState, key: str) -> int:
    (call,) = ledger.record([TaskCall("t", {"k": key})])
    if state is CallState.QUEUED:
        return call.id
    ledger.claim(call.id, max_attempts=3)
    if state is CallState.SUCCEEDED:
        ledger.succeed(call.id)
    elif state in (CallState.DEAD, CallState.DISCARDED):
        ledger.fail_attempt(call.id, attempt=1, error="gone", traceback=None, retry_in=None)
        if state is CallState.DISCARDED:
            ledger.discard(call.id)
    return call.id


def test_prune_deletes_finished_calls_past_retention_and_keeps_what_awaits_work(ledger: Ledger) -> None:
    old = {
        state: call_in_state(ledger, state, f"old-{state}")
        for state in CallState
        if state is not CallState.RETRYING and state is not CallState.REQUEUED
    }
    dead_to_requeue = call_in_state(ledger, CallState.DEAD, "requeued")
    ledger.requeue(dead_to_requeue)
    for call_id in [*old.values(), dead_to_requeue]:
        age(ledger, call_id, 40)
    recent = call_in_state(ledger, CallState.SUCCEEDED, "recent")
    parked = ledger.park(Envelope(b"{}", source="s", message_id="m"), reason="no route matched")

    before = datetime.now(UTC) - 30 * DAY
    assert ledger.prunable(before) == 3  # succeeded, discarded, requeued
    assert sum(ledger.prune(before, batch=2)) == 3

    gone = {old[CallState.SUCCEEDED], old[CallState.DISCARDED], dead_to_requeue}
    for call_id in gone:
        assert ledger.get(call_id) is None
        assert ledger.attempts(call_id) == []
    for state in (CallState.QUEUED, CallState.RUNNING, CallState.DEAD):
        assert ledger.get(old[state]).state is state  # awaiting work or an operator: kept
    assert ledger.get(recent).state is CallState.SUCCEEDED
    assert ledger.parked_message(parked) is not None
    assert ledger.prunable(before) == 0 and sum(ledger.prune(before)) == 0


def test_prune_goes_in_batches(ledger: Ledger) -> None:
    for n in range(5):
        age(ledger, call_in_state(ledger, CallState.SUCCEEDED, f"b{n}"), 10)
    assert list(ledger.prune(datetime.now(UTC) - DAY, batch=2)) == [2, 2, 1]


def test_prune_drops_holds_of_stopped_calls_and_keeps_a_running_calls(ledger: Ledger) -> None:
    running = call_in_state(ledger, CallState.RUNNING, "r")
    finished = call_in_state(ledger, CallState.RUNNING, "f")
    assert ledger.holds.acquire("user:a", running) is None
    assert ledger.holds.acquire("user:b", finished) is None
    ledger.succeed(finished)
    list(ledger.prune(datetime.now(UTC) + DAY))  # every hold is older than this
    assert ledger.holds.holder("user:a") == running
    assert ledger.holds.holder("user:b") is None


def test_the_janitor_prunes_in_its_thread_until_stopped(ledger: Ledger) -> None:
    age(ledger, call_in_state(ledger, CallState.SUCCEEDED, "j"), 3)
    kept = call_in_state(ledger, CallState.SUCCEEDED, "k")
    stop = threading.Event()
    thread = LedgerJanitor(ledger, keep_days=2, first_after_s=0.01, every_s=0.05).start(stop)
    wait_for(lambda: ledger.prunable(datetime.now(UTC)) == 1, timeout=10, what="the old call pruned")
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert ledger.get(kept) is not None
