"""Batch tasks (docs/architecture.md, "Batch tasks"): many messages' items in one ledger call
and one Celery message; per-item dead letters, whole-batch retries, per-item folding, and
flushes by size and by wait. On the embedded backends with a real in-process worker."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from canvasbridge.engine import Envelope, metrics
from canvasbridge.engine.batch_collector import BatchCollector
from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import BatchSpec
from canvasbridge.engine.ledger import CallFilter, CallState, RecordedCall
from canvasbridge.engine.runtime import Runtime
from canvasbridge.errors import ConfigError
from tests.engine.helpers import SAMPLE, embedded_config, sample_tasks, wait_state

POLICY = {"max_attempts": 3, "backoff_base_s": 0.2, "backoff_cap_s": 1.0, "jitter": False}


def batch_runtime(tmp_path: Path, *, max_items: int = 500, max_wait_s: float = 0.3) -> Runtime:
    tasks = {
        **sample_tasks(),
        "batch_record": {
            "path": f"{SAMPLE}:batch_record",
            "retry": POLICY,
            "batch": {"max_items": max_items, "max_wait_s": max_wait_s},
        },
    }
    return Runtime(
        embedded_config(
            tmp_path / "data",
            tasks=tasks,
            sources=[{"type": "file", "name": "feed", "path": str(tmp_path / "unused.jsonl")}],
            routes=[{"name": "all", "source": "feed", "parser": f"{SAMPLE}:parse_json"}],
        )
    )


def message(tmp_path: Path, key: str, *, message_id: str | None = None, **params: Any) -> Envelope:
    body = {"task": "batch_record", "params": {"key": key, "effects_dir": str(tmp_path / "fx"), **params}}
    return Envelope(
        body=json.dumps(body).encode(), source="feed", message_id=message_id or f"m-{key}", routing_key="rk"
    )


def batch_log(tmp_path: Path) -> list[str]:
    path = tmp_path / "fx" / "batch.log"
    return path.read_text().splitlines() if path.exists() else []


def the_calls(results: list[Any]) -> set[int]:
    return {call.id for result in results for call in result.calls}


def test_the_messages_of_one_dispatch_become_one_batch_call_whose_items_keep_their_origins(tmp_path):
    runtime = batch_runtime(tmp_path)
    results = runtime.dispatcher().dispatch_many([message(tmp_path, k) for k in ("a", "b", "c")])
    (call_id,) = the_calls(results)
    record = runtime.ledger().get(call_id)
    assert record is not None and record.task == "batch_record"
    items = record.params["items"]
    assert [item["params"]["key"] for item in items] == ["a", "b", "c"]
    assert [item["origin"]["message_id"] for item in items] == ["m-a", "m-b", "m-c"]
    assert items[0]["origin"]["source"] == "feed" and items[0]["origin"]["routing_key"] == "rk"
    with runtime.in_process_worker():
        assert wait_state(runtime.ledger(), call_id, CallState.SUCCEEDED) is CallState.SUCCEEDED
    assert sorted(batch_log(tmp_path)) == ["a 1", "b 1", "c 1"]


def test_a_permanently_failed_item_becomes_its_own_dead_letter_with_its_origin_requeueable_alone(tmp_path):
    runtime = batch_runtime(tmp_path)
    envelopes = [message(tmp_path, "a"), message(tmp_path, "bad", fail="permanent"), message(tmp_path, "c")]
    (call_id,) = the_calls(runtime.dispatcher().dispatch_many(envelopes))
    ledger = runtime.ledger()
    with runtime.in_process_worker():
        assert wait_state(ledger, call_id, CallState.SUCCEEDED, CallState.DEAD) is CallState.SUCCEEDED
        batch = ledger.get(call_id)
        assert batch is not None and batch.result is not None
        assert batch.result["failed"] == 1
        (dead_id,) = batch.result["dead_letters"]
        dead = ledger.get(dead_id)
        assert dead is not None and dead.state is CallState.DEAD
        assert [item["params"]["key"] for item in dead.params["items"]] == ["bad"]
        assert dead.origin_message_id == "m-bad" and dead.origin_source == "feed"
        assert dead.origin_routing_key == "rk"
        assert "PermanentError: item bad is refused" in (dead.last_error or "")
        assert batch_log(tmp_path).count("bad 1") == 1  # a permanent failure is not retried
        assert ledger.count(CallFilter(states=(CallState.DEAD,))) == 1

        (tmp_path / "fx" / "fixed").touch()
        again = runtime.requeue(dead_id)
        assert wait_state(ledger, again.id, CallState.SUCCEEDED) is CallState.SUCCEEDED
    # requeued alone: only the failed item ran again
    assert sorted(batch_log(tmp_path)) == ["a 1", "bad 1", "bad 1", "c 1"]
    assert ledger.count(CallFilter(states=(CallState.DEAD,))) == 0


def test_a_transient_item_failure_retries_the_whole_batch(tmp_path):
    runtime = batch_runtime(tmp_path)
    envelopes = [message(tmp_path, "a"), message(tmp_path, "blip", fail="transient")]
    (call_id,) = the_calls(runtime.dispatcher().dispatch_many(envelopes))
    ledger = runtime.ledger()
    with runtime.in_process_worker():
        assert wait_state(ledger, call_id, CallState.SUCCEEDED, CallState.DEAD) is CallState.SUCCEEDED
    record = ledger.get(call_id)
    assert record is not None and record.attempts == 2
    assert sorted(batch_log(tmp_path)) == ["a 1", "a 2", "blip 1", "blip 2"]
    assert ledger.count(CallFilter(states=(CallState.DEAD,))) == 0


def test_identical_items_in_an_open_batch_are_folded_and_counted(tmp_path):
    runtime = batch_runtime(tmp_path)
    folded = metrics.TASKS_FOLDED.labels("batch_record")
    before = folded._value.get()
    envelopes = [
        message(tmp_path, "same", message_id="first"),
        message(tmp_path, "other"),
        message(tmp_path, "same", message_id="second"),
    ]
    results = runtime.dispatcher().dispatch_many(envelopes)
    (call_id,) = the_calls(results)
    assert all(result.calls for result in results)  # every message queued (and so acked)
    record = runtime.ledger().get(call_id)
    assert record is not None
    assert [item["params"]["key"] for item in record.params["items"]] == ["same", "other"]
    assert record.params["items"][0]["origin"]["message_id"] == "first"
    assert folded._value.get() == before + 1


def test_a_batch_is_flushed_when_it_holds_max_items_without_waiting_for_max_wait(tmp_path):
    runtime = batch_runtime(tmp_path, max_items=3, max_wait_s=60)
    started = time.monotonic()
    results = runtime.dispatcher().dispatch_many([message(tmp_path, str(k)) for k in range(6)])
    assert time.monotonic() - started < 30  # well before the 60 s deadline
    calls = the_calls(results)
    assert len(calls) == 2
    sizes = sorted(len(runtime.ledger().get(c).params["items"]) for c in calls)  # type: ignore[union-attr]
    assert sizes == [3, 3]


def test_a_batch_that_does_not_fill_is_flushed_after_max_wait_with_the_items_of_concurrent_dispatches(
    tmp_path,
):
    runtime = batch_runtime(tmp_path, max_items=500, max_wait_s=0.5)
    dispatch = runtime.dispatcher()
    results: dict[str, Any] = {}

    def send(key: str) -> None:
        t0 = time.monotonic()
        results[key] = (dispatch(message(tmp_path, key)), time.monotonic() - t0)

    threads = [threading.Thread(target=send, args=(key,)) for key in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    (call_id,) = {call.id for result, _ in results.values() for call in result.calls}
    record = runtime.ledger().get(call_id)
    assert record is not None
    assert sorted(item["params"]["key"] for item in record.params["items"]) == ["x", "y"]
    # neither dispatch returned before its batch was flushed at the deadline
    assert min(elapsed for _, elapsed in results.values()) >= 0.4


def test_a_failed_publish_fails_every_dispatch_waiting_on_the_batch_and_leaves_nothing_queued(
    tmp_path, monkeypatch
):
    runtime = batch_runtime(tmp_path)

    def refuse(groups: Any) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(runtime.publisher, "publish_many", refuse)
    with pytest.raises(ConnectionError):
        runtime.dispatcher().dispatch_many([message(tmp_path, "a"), message(tmp_path, "b")])
    assert runtime.ledger().count(CallFilter()) == 0  # forgotten: redelivery records it anew


def test_a_batch_call_and_a_plain_call_from_one_message_are_both_queued(tmp_path):
    runtime = batch_runtime(tmp_path)
    recorded = runtime.enqueue(
        [
            TaskCall("record", {"key": "plain", "effects_dir": str(tmp_path / "fx")}),
            TaskCall("batch_record", {"key": "b", "effects_dir": str(tmp_path / "fx")}),
        ]
    )
    assert [call.task for call in recorded] == ["record", "batch_record"]
    assert recorded[1].params["items"][0]["params"]["key"] == "b"


def test_collector_flushes_at_the_deadline_by_the_waiting_caller(tmp_path):
    now = [0.0]
    flushed: list[TaskCall] = []

    def flush(call: TaskCall) -> RecordedCall:
        flushed.append(call)
        return RecordedCall(len(flushed), call.task, call.params, folded=False)

    collector = BatchCollector("t", BatchSpec(max_items=10, max_wait_s=5), flush, clock=lambda: now[0])
    batches = collector.add([(TaskCall("t", {"n": 1, "text": "ø"}), {"message_id": "m"})])
    assert flushed == []  # open until full or due
    now[0] = 5.0
    [call] = collector.wait(batches)
    assert call.params["items"] == [{"params": {"n": 1, "text": "ø"}, "origin": {"message_id": "m"}}]
    # the canonical JSON joined from the items' is exactly what dumping the whole gives
    assert flushed[0].canonical_params() == TaskCall("t", flushed[0].params).canonical_params()


def test_batch_settings_are_validated():
    with pytest.raises(ConfigError, match=r"tasks\.t\.batch\.max_items"):
        from canvasbridge.engine.config import parse_config

        parse_config({"tasks": {"t": {"path": "a.b:c", "batch": {"max_items": 0}}}})


def test_a_failed_batch_does_not_leave_the_callers_other_batch_open(tmp_path):
    flushed: list[TaskCall] = []

    def flush(call: TaskCall) -> RecordedCall:
        flushed.append(call)
        if len(flushed) == 1:
            raise ConnectionError("broker went away")
        return RecordedCall(len(flushed), call.task, call.params, folded=False)

    collector = BatchCollector("t", BatchSpec(max_items=2, max_wait_s=0.05), flush)
    # three items: the first batch fills (and fails), the second stays open until its deadline
    batches = collector.add([(TaskCall("t", {"n": n}), {}) for n in range(3)])
    with pytest.raises(ConnectionError):
        collector.wait(batches)
    assert [len(call.params["items"]) for call in flushed] == [2, 1]  # the open one was flushed too
