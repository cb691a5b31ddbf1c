"""The worker's middleware seam: which hooks run, in what order, with what they see; each
concern can be left out; the per-task time limit. With a real Celery worker on the
embedded default (SQLite broker and ledger)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.dispatch import Dispatcher
from canvasbridge.engine.ledger import CallState, Claim
from canvasbridge.engine.logging import current_correlation_id
from canvasbridge.engine.middleware import (
    DeadLetters,
    LoggingContext,
    Metrics,
    Middleware,
    Retries,
    Run,
    default_middleware,
)
from canvasbridge.engine.middleware.time_limit import TimeLimit
from canvasbridge.engine.runtime import Runtime
from canvasbridge.engine.sources import BatchDispatch
from tests.engine.helpers import embedded_config, sample_tasks, wait_for, wait_state


class Recording(Middleware):
    """Writes down each hook it sees, with the run's outcome and correlation id at the time."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def before_claim(self, run: Run) -> None:
        self.events.append(("before_claim", run.task_name, current_correlation_id()))

    def after_skip(self, run: Run, claim: Claim) -> None:
        self.events.append(("after_skip", claim.reason))

    def before_process(self, run: Run) -> None:
        self.events.append(("before_process", run.attempt, run.started is not None))

    @contextlib.contextmanager
    def task_scope(self, run: Run) -> Iterator[None]:
        self.events.append(("enter",))
        try:
            yield
        finally:
            self.events.append(("exit",))

    def after_process(self, run: Run, result: Any) -> None:
        self.events.append(("after_process", result, run.outcome))

    def after_failure(self, run: Run, error: Exception) -> None:
        self.events.append(("after_failure", type(error).__name__, run.outcome))

    def after_call(self, run: Run) -> None:
        self.events.append(("after_call", current_correlation_id()))


def recorded_runtime(tmp_path: Path, *, last: bool = False) -> tuple[Runtime, Recording]:
    """A runtime whose middleware is the default with :class:`Recording` first (or last)."""
    config = embedded_config(tmp_path)
    recording = Recording()
    chain = default_middleware(config)
    chain = [*chain, recording] if last else [recording, *chain]
    return Runtime(config, middleware=chain), recording


def test_hooks_run_in_order_around_a_success_inside_the_logging_context(tmp_path: Path) -> None:
    runtime, recording = recorded_runtime(tmp_path, last=True)
    (call,) = runtime.enqueue(
        [TaskCall("record", {"key": "a", "effects_dir": str(tmp_path)})], correlation_id="msg-42"
    )
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), call.id, CallState.SUCCEEDED)
        time.sleep(0.2)  # after_call runs once the ledger is written
    assert recording.events == [
        ("before_claim", "record", "msg-42"),  # last in the list: the context is already set
        ("before_process", 1, True),
        ("enter",),
        ("exit",),
        ("after_process", {"key": "a", "attempt": 1}, "succeeded"),
        ("after_call", "msg-42"),  # after-hooks in reverse: it sees the context still set
    ]


def test_after_failure_hooks_run_in_reverse_so_the_first_sees_how_later_ones_settled_it(
    tmp_path: Path,
) -> None:
    runtime, recording = recorded_runtime(tmp_path)  # first: its after_failure runs last
    (call,) = runtime.enqueue([TaskCall("flaky", {"key": "f", "effects_dir": str(tmp_path), "failures": 1})])
    (broken,) = runtime.enqueue([TaskCall("broken", {"key": "b", "effects_dir": str(tmp_path)})])
    with runtime.in_process_worker(concurrency=1):
        wait_state(runtime.ledger(), call.id, CallState.SUCCEEDED)
        wait_state(runtime.ledger(), broken.id, CallState.DEAD)
        time.sleep(0.2)
    failures = [e for e in recording.events if e[0] == "after_failure"]
    assert ("after_failure", "TransientError", "retrying") in failures
    assert ("after_failure", "PermanentError", "dead") in failures
    assert recording.events[0] == ("before_claim", "flaky", None)  # before the logging context


def test_a_duplicate_delivery_is_skipped_through_after_skip(tmp_path: Path) -> None:
    runtime, recording = recorded_runtime(tmp_path)
    (call,) = runtime.enqueue([TaskCall("record", {"key": "d", "effects_dir": str(tmp_path)})])
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), call.id, CallState.SUCCEEDED)
        runtime.publisher.publish([call], correlation_id=None)  # the same call once more
        deadline = time.monotonic() + 10
        while not any(e[0] == "after_skip" for e in recording.events) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert ("after_skip", "call is already succeeded") in recording.events
    assert [e[0] for e in recording.events].count("before_process") == 1


def test_without_retries_a_transient_failure_is_a_dead_letter_at_once(tmp_path: Path) -> None:
    config = embedded_config(tmp_path)
    runtime = Runtime(config, middleware=[LoggingContext(), Metrics(), DeadLetters()])
    (call,) = runtime.enqueue([TaskCall("flaky", {"key": "n", "effects_dir": str(tmp_path), "failures": 1})])
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), call.id, CallState.DEAD)
    record = runtime.ledger().get(call.id)
    assert record.attempts == 1 and "simulated outage 1/1" in (record.last_error or "")
    assert record.last_traceback and "TransientError" in record.last_traceback


def test_with_no_middleware_a_failure_still_ends_as_a_dead_letter_not_running(tmp_path: Path) -> None:
    runtime = Runtime(embedded_config(tmp_path), middleware=[])
    (call,) = runtime.enqueue([TaskCall("broken", {"key": "x", "effects_dir": str(tmp_path)})])
    (ok,) = runtime.enqueue([TaskCall("record", {"key": "y", "effects_dir": str(tmp_path)})])
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), call.id, CallState.DEAD)
        wait_state(runtime.ledger(), ok.id, CallState.SUCCEEDED)
    assert "object x is missing" in (runtime.ledger().get(call.id).last_error or "")


def limited_runtime(tmp_path: Path, limit: float) -> Runtime:
    tasks = sample_tasks()
    tasks["spin"]["time_limit_s"] = limit
    return Runtime(embedded_config(tmp_path, tasks=tasks))


def test_a_run_past_its_time_limit_is_interrupted_retried_then_a_dead_letter(tmp_path: Path) -> None:
    runtime = limited_runtime(tmp_path, 0.5)
    assert any(isinstance(m, TimeLimit) for m in runtime.executor.middleware)
    (call,) = runtime.enqueue([TaskCall("spin", {"key": "s", "effects_dir": str(tmp_path), "seconds": 30})])
    started = time.monotonic()
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), call.id, CallState.DEAD, timeout=25)
    assert time.monotonic() - started < 20  # two runs of 0.5 s, not of 30 s
    record = runtime.ledger().get(call.id)
    assert record.attempts == 2  # spin's max_attempts: the limit is transient, so retried once
    assert "TimeLimitExceeded: the task ran past its time limit of 0.5 s" in (record.last_error or "")
    assert [a.outcome for a in runtime.ledger().attempts(call.id)] == ["retry", "dead"]
    assert (tmp_path / "s.count").read_text() == "2"


def test_runs_within_their_time_limit_succeed_and_no_interruption_leaks_after_them(tmp_path: Path) -> None:
    runtime = limited_runtime(tmp_path, 0.3)
    calls = runtime.enqueue(
        [TaskCall("spin", {"key": f"q{i}", "effects_dir": str(tmp_path), "seconds": 0.25}) for i in range(6)]
        + [TaskCall("record", {"key": f"r{i}", "effects_dir": str(tmp_path)}) for i in range(6)]
    )
    with runtime.in_process_worker():
        for call in calls:
            wait_state(runtime.ledger(), call.id, CallState.SUCCEEDED, CallState.DEAD, CallState.RETRYING)
        time.sleep(0.5)  # past every timer: a leaked interruption would hit the next run
        (late,) = runtime.enqueue([TaskCall("record", {"key": "late", "effects_dir": str(tmp_path)})])
        wait_state(runtime.ledger(), late.id, CallState.SUCCEEDED)
    states = {runtime.ledger().get(c.id).state for c in calls if c.task == "record"}
    assert states == {CallState.SUCCEEDED}


def test_the_time_limit_key_is_per_task_with_a_default_and_must_be_positive(tmp_path: Path) -> None:
    tasks = sample_tasks()
    tasks["spin"]["time_limit_s"] = 2.5
    config = embedded_config(tmp_path, tasks=tasks, task_defaults={"time_limit_s": 60})
    assert config.time_limit("spin") == 2.5 and config.time_limit("record") == 60
    assert embedded_config(tmp_path).time_limit("record") is None
    assert not any(isinstance(m, TimeLimit) for m in default_middleware(embedded_config(tmp_path)))
    tasks["spin"]["time_limit_s"] = 0
    try:
        embedded_config(tmp_path, tasks=tasks)
    except Exception as exc:
        assert "tasks.spin.time_limit_s" in str(exc)
    else:
        raise AssertionError("a zero time limit was accepted")


def test_the_dispatcher_is_a_batch_dispatch_as_the_source_contract_declares(tmp_path: Path) -> None:
    dispatcher = Runtime(embedded_config(tmp_path)).dispatcher()
    assert isinstance(dispatcher, Dispatcher) and isinstance(dispatcher, BatchDispatch)
    assert not isinstance(lambda envelope: None, BatchDispatch)


def test_retries_is_in_the_default_chain_before_time_limit(tmp_path: Path) -> None:
    tasks = sample_tasks()
    tasks["spin"]["time_limit_s"] = 1
    chain = [type(m) for m in default_middleware(embedded_config(tmp_path, tasks=tasks))]
    assert chain == [LoggingContext, Metrics, DeadLetters, Retries, TimeLimit]


def test_a_failed_call_with_an_identical_call_waiting_hands_over_to_it_instead_of_retrying(
    tmp_path: Path,
) -> None:
    runtime = Runtime(embedded_config(tmp_path))
    params = {"key": "twin", "effects_dir": str(tmp_path)}
    (first,) = runtime.enqueue([TaskCall("fail_once_at_gate", params)])
    with runtime.in_process_worker(concurrency=2):
        wait_for(lambda: (tmp_path / "twin.started").exists(), timeout=30)
        (second,) = runtime.enqueue([TaskCall("fail_once_at_gate", params)])  # a running call absorbs nothing
        assert second.id != first.id
        (tmp_path / "twin.gate").touch()
        wait_state(runtime.ledger(), second.id, CallState.SUCCEEDED)
        wait_state(runtime.ledger(), first.id, CallState.REQUEUED)
    ledger = runtime.ledger()
    handed, twin = ledger.get(first.id), ledger.get(second.id)
    assert handed.requeued_to == second.id and twin.folded == 1
    assert [(a.number, a.outcome) for a in ledger.attempts(first.id)] == [(1, "retry")]
    assert (tmp_path / "twin.count").read_text() == "2"  # the failed run, then the twin's: no third


def test_a_gathering_call_out_of_attempts_makes_the_calls_it_still_holds_dead_letters(tmp_path: Path) -> None:
    runtime = Runtime(embedded_config(tmp_path, worker={"pool": "threads", "concurrency": 1}))
    (lead,) = runtime.enqueue([TaskCall("gather_and_fail", {"key": "lead", "lead": True})])
    others = runtime.enqueue([TaskCall("gather_and_fail", {"key": k, "lead": False}) for k in "ab"])
    with runtime.in_process_worker(concurrency=1):
        wait_state(runtime.ledger(), lead.id, CallState.DEAD)
        for call in others:
            wait_state(runtime.ledger(), call.id, CallState.DEAD)
    ledger = runtime.ledger()
    assert [a.outcome for a in ledger.attempts(lead.id)] == ["retry", "dead"]  # retried while holding them
    for call in others:
        error = ledger.get(call.id).last_error or ""
        assert f"gathered by call #{lead.id}" in error and "attempt 2" in error, error
