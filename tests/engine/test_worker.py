"""Retries, dead letters, requeue and coalescing with a real Celery worker.

These run on the embedded default (SQLite broker and ledger, no servers); the same code
paths run on RabbitMQ and PostgreSQL in test_production_backends.py.
"""

import itertools
import json
import threading

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.ledger import CallState
from canvasbridge.engine.runtime import Runtime
from tests.engine.helpers import effect_lines, embedded_config, wait_for, wait_state


def test_transient_failures_are_retried_with_growing_delays_then_succeed(tmp_path):
    runtime = Runtime(embedded_config(tmp_path))
    (call,) = runtime.enqueue([TaskCall("flaky", {"key": "f", "effects_dir": str(tmp_path), "failures": 2})])
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), call.id, CallState.SUCCEEDED)
    record = runtime.ledger().get(call.id)
    assert record.attempts == 3 and record.result == {"attempts": 3}
    assert [a.outcome for a in runtime.ledger().attempts(call.id)] == ["retry", "retry"]
    times = [float(t) for t in (tmp_path / "f.times").read_text().split()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # backoff base 0.2 s, doubled
    assert gaps[1] > gaps[0]


def test_transient_failures_past_the_attempt_limit_become_a_dead_letter(tmp_path):
    runtime = Runtime(embedded_config(tmp_path))
    (call,) = runtime.enqueue([TaskCall("flaky", {"key": "g", "effects_dir": str(tmp_path), "failures": 99})])
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), call.id, CallState.DEAD)
    record = runtime.ledger().get(call.id)
    assert record.attempts == 4  # the policy's max_attempts
    assert "simulated outage 4/99" in record.last_error


def test_a_permanent_failure_is_a_dead_letter_at_once_with_full_context_and_requeue_runs_it_again(tmp_path):
    runtime = Runtime(embedded_config(tmp_path))
    params = {"key": "b", "effects_dir": str(tmp_path)}
    (call,) = runtime.enqueue([TaskCall("broken", params)])
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), call.id, CallState.DEAD)
        dead = runtime.ledger().get(call.id)
        assert dead.attempts == 1
        assert dead.task == "broken" and dead.params == params
        assert dead.last_error == "PermanentError: object b is missing in the source"
        assert "Traceback" in dead.last_traceback and "sample_tasks.py" in dead.last_traceback
        again = runtime.requeue(call.id)
        wait_state(runtime.ledger(), again.id, CallState.DEAD)
    assert (tmp_path / "b.count").read_text() == "2"
    assert runtime.ledger().get(again.id).requeued_from == call.id


def test_one_hundred_identical_calls_fold_into_far_fewer_executions(tmp_path):
    runtime = Runtime(embedded_config(tmp_path))
    params = {"key": "same", "effects_dir": str(tmp_path)}
    recorded = [runtime.enqueue([TaskCall("record", params)])[0] for _ in range(100)]
    assert len({r.id for r in recorded}) == 1 and sum(r.folded for r in recorded) == 99
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), recorded[0].id, CallState.SUCCEEDED)
    assert effect_lines(tmp_path) == ["same"]
    assert runtime.ledger().get(recorded[0].id).folded == 99


def test_identical_messages_arriving_while_work_runs_still_fold(tmp_path):
    runtime = Runtime(embedded_config(tmp_path))
    params = {"key": "busy", "effects_dir": str(tmp_path)}
    with runtime.in_process_worker():
        for _ in range(100):
            runtime.enqueue([TaskCall("record", params)])
        wait_for(lambda: runtime.ledger().stats()["by_state"]["queued"] == 0, what="queue to drain")
        wait_for(lambda: runtime.ledger().stats()["by_state"]["running"] == 0, what="runs to finish")
    executions = len(effect_lines(tmp_path))
    assert 1 <= executions < 50


def test_main_scenario_replayed_from_a_file_on_the_embedded_default(tmp_path):
    replay = tmp_path / "messages.jsonl"
    lines = [
        {
            "routing_key": "job.record",
            "body": {"task": "record", "params": {"key": f"k{i}", "effects_dir": str(tmp_path)}},
        }
        for i in range(20)
    ]
    lines.insert(5, {"routing_key": "job.record", "body": "not json at all"})
    replay.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    config = embedded_config(
        tmp_path,
        sources=[{"type": "file", "name": "replay", "path": str(replay)}],
        routes=[
            {
                "name": "jobs",
                "source": "replay",
                "match": {"routing_key": "^job\\."},
                "parser": "tests.engine.sample_tasks:parse_json",
            }
        ],
    )
    runtime = Runtime(config)
    with runtime.in_process_worker():
        runtime.consume(threading.Event())  # the file source stops at the end of the file
        wait_for(lambda: len(effect_lines(tmp_path)) == 20, what="20 tasks to run")
    assert sorted(effect_lines(tmp_path)) == sorted(f"k{i}" for i in range(20))
    (parked,) = runtime.ledger().parked()
    assert "not valid JSON" in parked.reason
    assert runtime.ledger().stats()["by_state"]["succeeded"] == 20


def test_an_identical_call_never_runs_alongside_its_running_twin(tmp_path):
    runtime = Runtime(embedded_config(tmp_path))
    params = {"key": "twin", "effects_dir": str(tmp_path), "seconds": 1.0}
    with runtime.in_process_worker(concurrency=4):
        (first,) = runtime.enqueue([TaskCall("hold", params)])
        wait_state(runtime.ledger(), first.id, CallState.RUNNING)
        (second,) = runtime.enqueue([TaskCall("hold", params)])
        assert second.id != first.id  # a started call absorbs nothing
        wait_state(runtime.ledger(), second.id, CallState.SUCCEEDED)
    lines = [line.split() for line in (tmp_path / "twin.runs").read_text().splitlines()]
    assert [kind for kind, _ in lines] == ["start", "end", "start", "end"]  # one after the other
    assert runtime.ledger().get(second.id).attempts == 1  # waiting is not an attempt


def test_calls_holding_one_object_take_turns_and_waiting_is_not_an_attempt(tmp_path):
    runtime = Runtime(embedded_config(tmp_path))
    common = {"obj": "olan", "effects_dir": str(tmp_path), "seconds": 1.0}
    with runtime.in_process_worker(concurrency=4):
        (first,) = runtime.enqueue([TaskCall("hold_object", {**common, "key": "by-person-id"})])
        wait_state(runtime.ledger(), first.id, CallState.RUNNING)
        (second,) = runtime.enqueue([TaskCall("hold_object", {**common, "key": "by-username"})])
        wait_state(runtime.ledger(), second.id, CallState.SUCCEEDED)
    lines = (tmp_path / "olan.runs").read_text().splitlines()
    assert lines == ["start by-person-id", "end by-person-id", "start by-username", "end by-username"]
    assert runtime.ledger().get(second.id).attempts == 1  # giving way is not an attempt
