"""The ledger behaves the same on SQLite (embedded) and PostgreSQL (production)."""

import time

import pytest
from prometheus_client import REGISTRY

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.ledger import CallFilter, CallState, Ledger


def test_identical_pending_calls_fold_into_one(ledger):
    first, second, other = ledger.record(
        [
            TaskCall("ensure_user", {"username": "olan"}),
            TaskCall("ensure_user", {"username": "olan"}),
            TaskCall("ensure_user", {"username": "kari"}),
        ]
    )
    assert not first.folded and second.folded and second.id == first.id
    assert other.id != first.id
    assert ledger.get(first.id).folded == 1
    assert ledger.count() == 2


def test_parameter_order_does_not_defeat_folding(ledger):
    a = ledger.record([TaskCall("t", {"a": 1, "b": 2})])[0]
    b = ledger.record([TaskCall("t", {"b": 2, "a": 1})])[0]
    assert b.folded and b.id == a.id


def test_a_started_call_no_longer_absorbs_new_calls(ledger):
    first = ledger.record([TaskCall("t", {"k": 1})])[0]
    assert ledger.claim(first.id, max_attempts=3).proceed
    again = ledger.record([TaskCall("t", {"k": 1})])[0]
    assert not again.folded and again.id != first.id


def test_a_call_waits_while_its_identical_twin_runs_and_starts_once_it_ends(ledger):
    first = ledger.record([TaskCall("t", {"k": 1})])[0]
    assert ledger.claim(first.id, max_attempts=3).proceed
    twin, other = ledger.record([TaskCall("t", {"k": 1}), TaskCall("t", {"k": 2})])
    held = ledger.claim(twin.id, max_attempts=3)
    assert held.wait and not held.proceed and held.reason == "an identical call is running"
    assert ledger.get(twin.id).state is CallState.QUEUED and ledger.get(twin.id).attempts == 0
    assert ledger.record([TaskCall("t", {"k": 1})])[0].id == twin.id  # still absorbs new calls
    assert ledger.claim(other.id, max_attempts=3).proceed  # other parameters: no wait
    ledger.succeed(first.id)
    started = ledger.claim(twin.id, max_attempts=3)
    assert started.proceed and not started.wait and started.attempt == 1


def test_a_twin_running_longer_than_the_lost_limit_no_longer_holds_a_call_back(ledger):
    patient = Ledger.open(ledger.url, presume_lost_after_s=2.0)
    try:
        first = patient.record([TaskCall("t", {"k": 1})])[0]
        assert patient.claim(first.id, max_attempts=3).proceed
        twin = patient.record([TaskCall("t", {"k": 1})])[0]
        assert patient.claim(twin.id, max_attempts=3).wait
        time.sleep(2.2)
        assert patient.claim(twin.id, max_attempts=3).proceed
        # the first one's message comes back (its worker was lost): now it waits for the twin
        again = patient.claim(first.id, max_attempts=3)
        assert again.wait and patient.get(first.id).attempts == 1
    finally:
        patient.close()


def test_claim_counts_attempts_and_gives_up_past_the_limit(ledger):
    call = ledger.record([TaskCall("t", {})])[0]
    assert ledger.claim(call.id, max_attempts=2).attempt == 1
    # the worker died: the call is still "running" and is claimed again
    assert ledger.claim(call.id, max_attempts=2).attempt == 2
    third = ledger.claim(call.id, max_attempts=2)
    assert not third.proceed and "exceed the limit of 2" in third.reason
    record = ledger.get(call.id)
    assert record.state is CallState.DEAD
    assert [a.outcome for a in ledger.attempts(call.id)] == ["lost"]


def test_final_calls_are_not_claimed_again(ledger):
    call = ledger.record([TaskCall("t", {})])[0]
    ledger.claim(call.id, max_attempts=3)
    ledger.succeed(call.id, {"changed": 0})
    claim = ledger.claim(call.id, max_attempts=3)
    assert not claim.proceed and claim.reason == "call is already succeeded"
    assert ledger.get(call.id).result == {"changed": 0}


def test_dead_letter_keeps_error_origin_and_can_be_requeued_as_a_new_chain(ledger):
    origin = Envelope(b'{"sub": "x"}', source="uio", message_id="msg-1", routing_key="no.uio.x")
    call = ledger.record([TaskCall("t", {"k": 1})], origin=origin, correlation_id="msg-1")[0]
    ledger.claim(call.id, max_attempts=3)
    state = ledger.fail_attempt(
        call.id, attempt=1, error="PermanentError: gone", traceback="tb", retry_in=None
    )
    assert state is CallState.DEAD
    dead = ledger.get(call.id)
    assert dead.last_error == "PermanentError: gone" and dead.last_traceback == "tb"
    assert dead.origin_message_id == "msg-1" and dead.origin_message["body"] == '{"sub": "x"}'
    again = ledger.requeue(call.id)
    assert again.id != call.id
    fresh = ledger.get(again.id)
    assert fresh.state is CallState.QUEUED and fresh.requeued_from == call.id and fresh.attempts == 0
    with pytest.raises(ValueError, match="only dead or discarded"):
        ledger.requeue(again.id)


def test_a_requeued_dead_letter_is_no_longer_dead_and_points_to_its_new_call(ledger):
    call_id = ledger.record_dead(TaskCall("t", {"k": 3}), error="gone", origin_source="s")
    again = ledger.requeue(call_id)
    old = ledger.get(call_id)
    assert (old.state, old.requeued_to) == (CallState.REQUEUED, again.id)
    assert ledger.count(CallFilter(states=(CallState.DEAD,))) == 0
    assert ledger.stats()["by_state"]["dead"] == 0 and ledger.stats()["by_state"]["requeued"] == 1
    with pytest.raises(ValueError, match="only dead or discarded"):
        ledger.requeue(call_id)  # once: a second requeue would run the work twice
    with pytest.raises(KeyError):
        ledger.discard(call_id)


def test_a_requeue_folded_into_a_pending_call_points_to_that_call(ledger):
    call_id = ledger.record_dead(TaskCall("t", {"k": 4}), error="gone", origin_source="s")
    [pending] = ledger.record([TaskCall("t", {"k": 4})])
    again = ledger.requeue(call_id)
    assert again.folded and again.id == pending.id
    assert ledger.get(call_id).requeued_to == pending.id


def test_undo_requeue_restores_the_old_state_for_a_later_requeue(ledger):
    call_id = ledger.record_dead(TaskCall("t", {"k": 5}), error="gone", origin_source="s")
    ledger.discard(call_id)
    again = ledger.requeue(call_id)
    ledger.forget([again.id])
    ledger.undo_requeue(call_id, again.id, CallState.DISCARDED)
    old = ledger.get(call_id)
    assert (old.state, old.requeued_to) == (CallState.DISCARDED, None)
    assert ledger.get(ledger.requeue(call_id).id).requeued_from == call_id


def test_a_call_failed_outside_a_worker_is_recorded_dead_and_requeueable(ledger):
    dead_before = REGISTRY.get_sample_value("canvasbridge_tasks_dead_total", {"task": "t"}) or 0
    call_id = ledger.record_dead(
        TaskCall("t", {"k": 2}), error="sis import row 3: bad term", origin_source="sis_import:41"
    )
    dead = ledger.get(call_id)
    assert dead.state is CallState.DEAD and dead.params == {"k": 2}
    assert dead.last_error == "sis import row 3: bad term" and dead.origin_source == "sis_import:41"
    assert [(a.number, a.outcome) for a in ledger.attempts(call_id)] == [(1, "dead")]
    assert REGISTRY.get_sample_value("canvasbridge_tasks_dead_total", {"task": "t"}) == dead_before + 1
    # A dead letter does not absorb new identical calls: they run on their own.
    assert not ledger.record([TaskCall("t", {"k": 2})])[0].folded
    assert ledger.get(ledger.requeue(call_id).id).state is CallState.QUEUED


def test_retrying_call_records_each_failed_attempt(ledger):
    call = ledger.record([TaskCall("t", {})])[0]
    ledger.claim(call.id, max_attempts=3)
    assert (
        ledger.fail_attempt(call.id, attempt=1, error="e1", traceback=None, retry_in=5) is CallState.RETRYING
    )
    assert ledger.get(call.id).next_attempt_at is not None
    ledger.claim(call.id, max_attempts=3)
    ledger.succeed(call.id)
    assert [(a.number, a.outcome, a.error) for a in ledger.attempts(call.id)] == [(1, "retry", "e1")]


def test_filters_and_stats(ledger):
    origin = Envelope(b"{}", source="sqs", message_id="m-9")
    a, b = ledger.record([TaskCall("x", {"n": 1}), TaskCall("y", {"n": 2})], origin=origin)
    ledger.claim(a.id, max_attempts=3)
    ledger.succeed(a.id)
    assert [r.id for r in ledger.calls(CallFilter(states=[CallState.QUEUED]))] == [b.id]
    assert ledger.count(CallFilter(task="x")) == 1
    assert ledger.count(CallFilter(origin="m-9")) == 2 and ledger.count(CallFilter(origin="sqs")) == 2
    stats = ledger.stats()
    assert stats["by_state"]["succeeded"] == 1 and stats["by_state"]["queued"] == 1
    assert set(stats["last_success"]) == {"x"} and stats["oldest_pending_at"] is not None


def test_parked_message_keeps_body_and_reason(ledger):
    envelope = Envelope(
        b"\xff not json", source="uio", message_id="bad-1", routing_key="k", attributes={"a": "b"}
    )
    ledger.park(envelope, reason="body is not valid UTF-8", route="r")
    (parked,) = ledger.parked()
    assert parked.body == b"\xff not json" and parked.reason == "body is not valid UTF-8"
    assert parked.attributes == {"a": "b"} and ledger.stats()["parked"] == 1


def test_a_call_whose_record_was_lost_is_recreated_from_its_queue_message(ledger):
    claim = ledger.claim(12345, max_attempts=3, recover=TaskCall("t", {"k": 1}), correlation_id="m-1")
    assert claim.proceed and claim.call_id != 12345 and claim.attempt == 1
    record = ledger.get(claim.call_id)
    assert record.task == "t" and record.params == {"k": 1} and record.state is CallState.RUNNING
    assert record.correlation_id == "m-1"
    assert not ledger.claim(999999, max_attempts=3).proceed  # without the message there is nothing to run


def test_records_claims_and_successes_from_many_threads_are_written_together_correctly(ledger):
    import threading

    claims = {}

    def one(n):
        call = ledger.record([TaskCall("t", {"n": n}), TaskCall("t", {"n": n})])
        claims[n] = ledger.claim(call[0].id, max_attempts=3)
        ledger.succeed(call[0].id, {"n": n})

    threads = [threading.Thread(target=one, args=(n,)) for n in range(60)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(claim.proceed and claim.attempt == 1 for claim in claims.values())
    assert len({claim.call_id for claim in claims.values()}) == 60
    for n, claim in claims.items():
        record = ledger.get(claim.call_id)
        assert record.params == {"n": n} and record.result == {"n": n}
        assert record.state is CallState.SUCCEEDED and record.attempts == 1 and record.folded == 1


def test_a_connection_the_database_dropped_fails_one_write_and_the_next_write_reconnects(postgres_url):
    import psycopg
    import sqlalchemy as sa

    ledger = Ledger.open(postgres_url)
    try:
        ledger.record([TaskCall("t", {"n": 1})])
        killer = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with killer.connect() as connection:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        killer.dispose()
        with pytest.raises((psycopg.OperationalError, sa.exc.OperationalError)):
            ledger.record([TaskCall("t", {"n": 2})])
        (again,) = ledger.record([TaskCall("t", {"n": 2})])
    finally:
        ledger.close()
    reader = Ledger(postgres_url)
    assert reader.get(again.id).params == {"n": 2}
    reader.close()


def test_one_batch_of_a_worker_writes_successes_and_claims_together(ledger):
    from datetime import UTC, datetime, timedelta

    from canvasbridge.engine.ledger.hot import HotStatements

    done, lost, fresh = (ledger.record([TaskCall("t", {"n": n})])[0] for n in range(3))
    ledger.claim(done.id, max_attempts=3)
    ledger.claim(lost.id, max_attempts=3)  # its worker died: the redelivery claims it again
    statements = HotStatements(ledger.engine.dialect)
    now = datetime.now(UTC)
    with ledger.engine.begin() as connection:
        rows = statements.succeed_and_claim(
            connection, [(done.id, '{"ok": 1}')], [fresh.id], [lost.id], now, now - timedelta(minutes=15)
        )
    assert sorted(tuple(row) for row in rows) == [(lost.id, 2), (fresh.id, 1)]
    assert ledger.get(done.id).state is CallState.SUCCEEDED and ledger.get(done.id).result == {"ok": 1}
    assert [ledger.get(c.id).state for c in (lost, fresh)] == [CallState.RUNNING] * 2
    with ledger.engine.begin() as connection:  # successes alone, and claims alone
        assert statements.succeed_and_claim(connection, [(lost.id, None)], [], [], now, now) == []
        assert statements.succeed_and_claim(connection, [], [done.id], [], now, now) == []  # final
    assert ledger.get(lost.id).state is CallState.SUCCEEDED and ledger.get(lost.id).result is None


def test_a_retry_while_an_identical_call_waits_hands_over_to_that_call(ledger):
    call = ledger.record([TaskCall("t", {"k": "x"})])[0]
    ledger.claim(call.id, max_attempts=3)
    twin = ledger.record([TaskCall("t", {"k": "x"})])[0]  # recorded while the first runs
    state = ledger.fail_attempt(call.id, attempt=1, error="503", traceback=None, retry_in=5)
    assert state is CallState.REQUEUED
    handed, waiting = ledger.get(call.id), ledger.get(twin.id)
    assert handed.state is CallState.REQUEUED and handed.requeued_to == twin.id
    assert waiting.state is CallState.QUEUED and waiting.folded == 1
    assert [(a.number, a.outcome, a.error) for a in ledger.attempts(call.id)] == [(1, "retry", "503")]
