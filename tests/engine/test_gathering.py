"""Gathering: a running call takes over pending calls of its task and settles each one
(engine/ledger/gathering.py, TaskContext.pending_calls / gather / settle)."""

from __future__ import annotations

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.context import TaskContext
from canvasbridge.engine.ledger import CallState, Ledger


def queued(ledger: Ledger, task: str, **params: object) -> int:
    return ledger.record([TaskCall(task, dict(params))])[0].id


def running_ctx(ledger: Ledger, task: str, **params: object) -> TaskContext:
    """A claimed call with the context a worker gives it."""
    call_id = queued(ledger, task, **params)
    assert ledger.claim(call_id, max_attempts=3).proceed
    return TaskContext(task, {}, ledger_id=call_id, holds=ledger.holds, waiting=ledger)


def test_pending_calls_are_the_other_waiting_calls_of_the_same_task_oldest_first(ledger):
    ctx = running_ctx(ledger, "sync", key="a")
    b = queued(ledger, "sync", key="b")
    c = queued(ledger, "sync", key="c")
    queued(ledger, "other", key="d")
    d = queued(ledger, "sync", key="d")
    done = queued(ledger, "sync", key="e")
    assert ledger.claim(done, max_attempts=3).proceed
    ledger.succeed(done)

    pending = ctx.pending_calls(limit=10)
    assert [(p.id, p.params) for p in pending] == [(b, {"key": "b"}), (c, {"key": "c"}), (d, {"key": "d"})]
    assert [p.id for p in ctx.pending_calls(limit=2)] == [b, c]


def test_a_gathered_call_folds_no_newer_call_and_its_own_message_is_skipped(ledger):
    ctx = running_ctx(ledger, "sync", key="a")
    b = queued(ledger, "sync", key="b")
    c = queued(ledger, "sync", key="c")
    assert ledger.claim(c, max_attempts=3).proceed  # a worker got to c first

    gathered = ctx.gather([b, c])
    assert [g.id for g in gathered] == [b]
    record = ledger.get(b)
    assert record.state is CallState.REQUEUED and record.requeued_to == ctx.ledger_id
    assert ledger.get(c).state is CallState.RUNNING

    later = ledger.record([TaskCall("sync", {"key": "b"})])[0]  # a notification after the gathering
    assert later.id != b and not later.folded  # a call of its own: it runs after, reading afresh
    claim = ledger.claim(b, max_attempts=3, duplicate_if_running=True)  # b's own queue message
    assert not claim.proceed and not claim.wait


def test_settle_records_each_gathered_calls_own_outcome_and_a_dead_one_requeues_alone(ledger):
    ctx = running_ctx(ledger, "sync", key="a")
    b, c = queued(ledger, "sync", key="b"), queued(ledger, "sync", key="c")
    not_mine = queued(ledger, "sync", key="x")
    ctx.gather([b, c])

    ctx.settle(succeeded={b: {"done": 3}}, failed={c: "row refused", not_mine: "must not land"})

    ok, dead = ledger.get(b), ledger.get(c)
    assert ok.state is CallState.SUCCEEDED and ok.result == {"done": 3} and ok.attempts == 1
    assert dead.state is CallState.DEAD and dead.last_error == "row refused" and dead.attempts == 1
    assert [(a.outcome, a.error) for a in ledger.attempts(c)] == [("dead", "row refused")]
    assert ledger.get(not_mine).state is CallState.QUEUED  # never gathered: untouched
    assert ctx.gathered() == []  # nothing left unsettled

    again = ledger.requeue(c)
    assert again.params == {"key": "c"} and ledger.get(again.id).state is CallState.QUEUED


def test_a_rerun_after_a_lost_run_finds_the_calls_it_gathered(ledger):
    ctx = running_ctx(ledger, "sync", key="a")
    b = queued(ledger, "sync", key="b")
    ctx.gather([b])
    # the worker died; the same call runs again (a lost run is claimed again)
    assert ledger.claim(ctx.ledger_id, max_attempts=3).proceed
    rerun = TaskContext("sync", {}, ledger_id=ctx.ledger_id, holds=ledger.holds, waiting=ledger)
    assert [g.id for g in rerun.gathered()] == [b]


def test_a_requeued_dead_letter_pointing_at_a_call_is_not_taken_for_one_it_gathered(ledger):
    dead = queued(ledger, "sync", key="a")
    assert ledger.claim(dead, max_attempts=3).proceed
    ledger.fail_attempt(dead, attempt=1, error="boom", traceback=None, retry_in=None)
    new = ledger.requeue(dead)
    assert ledger.claim(new.id, max_attempts=3).proceed
    ctx = TaskContext("sync", {}, ledger_id=new.id, holds=ledger.holds, waiting=ledger)
    assert ctx.gathered() == []
    ctx.settle(succeeded={dead: {}}, failed={})
    assert ledger.get(dead).state is CallState.REQUEUED


def test_outside_a_worker_nothing_is_pending_and_every_hold_is_granted(ledger):
    queued(ledger, "sync", key="b")
    ctx = TaskContext("sync", {})
    assert ctx.pending_calls(limit=10) == [] and ctx.gather([1]) == [] and ctx.gathered() == []
    assert ctx.try_hold("section:S")


def test_try_hold_says_no_while_another_running_call_holds_the_object(ledger):
    first = running_ctx(ledger, "sync", key="a")
    second = running_ctx(ledger, "sync", key="b")
    assert first.try_hold("section:S")
    assert not second.try_hold("section:S")
    assert second.try_hold("section:T")


def test_a_call_holding_gathered_calls_is_not_gathered_and_its_retry_finds_them(ledger):
    first = running_ctx(ledger, "sync", key="a")
    b = queued(ledger, "sync", key="b")
    first.gather([b])
    # a transient failure: first waits for its retry, still holding b
    ledger.fail_attempt(first.ledger_id, attempt=1, error="503", traceback=None, retry_in=0)
    other = running_ctx(ledger, "sync", key="c")
    assert first.ledger_id in [p.id for p in other.pending_calls(limit=10)]

    assert other.gather([first.ledger_id]) == []  # else b would be left behind, gathered by nobody
    assert ledger.get(first.ledger_id).state is CallState.RETRYING
    assert ledger.claim(first.ledger_id, max_attempts=3).proceed
    rerun = TaskContext("sync", {}, ledger_id=first.ledger_id, attempt=2, holds=ledger.holds, waiting=ledger)
    assert [g.id for g in rerun.gathered()] == [b]


def test_a_gathering_call_ending_without_a_retry_makes_what_it_still_holds_dead_letters(ledger):
    ctx = running_ctx(ledger, "sync", key="a")
    b, c = queued(ledger, "sync", key="b"), queued(ledger, "sync", key="c")
    ctx.gather([b, c])
    ctx.settle(succeeded={b: {}}, failed={})

    assert ledger.release(ctx.ledger_id, "TransientError: Canvas answered 503") == 1

    dead = ledger.get(c)
    assert dead.state is CallState.DEAD and f"call #{ctx.ledger_id}" in (dead.last_error or "")
    assert "503" in (dead.last_error or "")
    assert ledger.get(b).state is CallState.SUCCEEDED
    assert ledger.release(ctx.ledger_id, "again") == 0


def test_a_gathering_call_given_up_after_lost_runs_makes_what_it_holds_dead_letters(ledger):
    ctx = running_ctx(ledger, "sync", key="a")
    b = queued(ledger, "sync", key="b")
    ctx.gather([b])
    # its worker died with it, every time: redelivered until it is out of attempts
    for _ in range(2):
        assert ledger.claim(ctx.ledger_id, max_attempts=3).proceed
    given_up = ledger.claim(ctx.ledger_id, max_attempts=3)
    assert not given_up.proceed and "gave up" in given_up.reason

    assert ledger.get(ctx.ledger_id).state is CallState.DEAD
    dead = ledger.get(b)  # not left requeued to a call that will never run again
    assert dead.state is CallState.DEAD
    assert f"call #{ctx.ledger_id}" in (dead.last_error or "") and "gave up" in (dead.last_error or "")
    assert ledger.release(ctx.ledger_id, "again") == 0
