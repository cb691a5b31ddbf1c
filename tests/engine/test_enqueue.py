"""Publishing happens inside the recording transaction: nothing a message produced is lost,
and nothing that never reached the queue is left for later calls to fold into."""

import threading
import time

import pytest

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallState
from canvasbridge.engine.runtime import Runtime
from tests.engine.helpers import effect_lines, embedded_config, sample_tasks, wait_for, wait_state


class BrokerDown(ConnectionError):
    pass


def test_a_failed_publish_records_nothing_and_raises(tmp_path, monkeypatch):
    runtime = Runtime(embedded_config(tmp_path))

    def refuse(calls, *, correlation_id):
        raise BrokerDown("broker unreachable")

    monkeypatch.setattr(runtime.publisher, "publish", refuse)
    with pytest.raises(BrokerDown):
        runtime.enqueue([TaskCall("record", {"key": "a", "effects_dir": str(tmp_path)})])
    assert runtime.ledger().count() == 0  # the source will redeliver; nothing phantom to fold into


def test_an_identical_call_waits_for_a_failing_publish_and_then_queues_itself(tmp_path, monkeypatch):
    runtime = Runtime(embedded_config(tmp_path))
    params = {"key": "shared", "effects_dir": str(tmp_path)}
    real_publish = runtime.publisher.publish
    inside, release = threading.Event(), threading.Event()

    def first_publish_fails(calls, *, correlation_id):
        if threading.current_thread().name == "first":
            inside.set()
            release.wait(5)
            raise BrokerDown("broker went away")
        real_publish(calls, correlation_id=correlation_id)

    monkeypatch.setattr(runtime.publisher, "publish", first_publish_fails)
    outcome = {}

    def first():
        try:
            runtime.enqueue([TaskCall("record", params)])
        except BrokerDown as exc:
            outcome["first"] = exc

    def second():
        outcome["second"] = runtime.enqueue([TaskCall("record", params)])

    threads = [threading.Thread(target=first, name="first"), threading.Thread(target=second, name="second")]
    threads[0].start()
    assert inside.wait(5)
    threads[1].start()
    time.sleep(0.3)  # the second message's recording waits for the first transaction
    release.set()
    for thread in threads:
        thread.join(10)
    assert isinstance(outcome["first"], BrokerDown)
    (call,) = outcome["second"]
    assert not call.folded  # it did not fold into the call whose publish failed
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), call.id, CallState.SUCCEEDED)
    assert effect_lines(tmp_path) == ["shared"]
    assert runtime.ledger().count() == 1


def test_a_worker_meeting_a_call_before_its_recording_commits_waits_for_it(
    postgres_url, tmp_path, monkeypatch
):
    config = parse_config(
        {
            "backends": {
                "ledger_url": postgres_url,
                "broker_url": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
            },
            "worker": {"pool": "threads"},
            "log": {"level": "WARNING"},
            "tasks": sample_tasks(),
        }
    )
    runtime = Runtime(config)
    real_publish = runtime.publisher.publish

    def slow_commit(calls, *, correlation_id):
        real_publish(calls, correlation_id=correlation_id)
        time.sleep(1.5)  # the worker gets the message while the row is not committed

    with runtime.in_process_worker():
        monkeypatch.setattr(runtime.publisher, "publish", slow_commit)
        (call,) = runtime.enqueue([TaskCall("record", {"key": "early", "effects_dir": str(tmp_path)})])
        wait_state(runtime.ledger(), call.id, CallState.SUCCEEDED, timeout=30)
        wait_for(lambda: effect_lines(tmp_path), what="the task to run")
    assert effect_lines(tmp_path) == ["early"]
    assert runtime.ledger().count() == 1  # waited for the row instead of recreating it
