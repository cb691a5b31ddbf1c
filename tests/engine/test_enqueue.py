"""Publishing failures: nothing a message produced is lost, nothing phantom is left to fold into."""

import pytest

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.ledger import CallState
from canvasbridge.engine.runtime import Runtime
from tests.engine.helpers import embedded_config, wait_state


class BrokerDown(ConnectionError):
    pass


def test_a_failed_publish_removes_the_fresh_call_and_raises(tmp_path, monkeypatch):
    runtime = Runtime(embedded_config(tmp_path))

    def refuse(calls, *, correlation_id):
        raise BrokerDown("broker unreachable")

    monkeypatch.setattr(runtime.publisher, "publish", refuse)
    with pytest.raises(BrokerDown):
        runtime.enqueue([TaskCall("record", {"key": "a", "effects_dir": str(tmp_path)})])
    assert runtime.ledger().count() == 0  # the source will redeliver; nothing phantom to fold into


def test_a_call_someone_folded_into_is_kept_and_published_with_the_next_enqueue(tmp_path, monkeypatch):
    runtime = Runtime(embedded_config(tmp_path))
    params = {"key": "shared", "effects_dir": str(tmp_path)}
    real_publish = runtime.publisher.publish
    folded_by_other_message = []

    def fold_then_fail(calls, *, correlation_id):
        if calls and not folded_by_other_message:
            folded_by_other_message.extend(runtime.ledger().record([TaskCall("record", params)]))
            raise BrokerDown("broker went away")
        real_publish(calls, correlation_id=correlation_id)

    monkeypatch.setattr(runtime.publisher, "publish", fold_then_fail)
    with pytest.raises(BrokerDown):
        runtime.enqueue([TaskCall("record", params)])
    (other,) = folded_by_other_message
    assert other.folded and runtime.ledger().get(other.id).state is CallState.QUEUED
    runtime.enqueue([TaskCall("record", {"key": "next", "effects_dir": str(tmp_path)})])
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), other.id, CallState.SUCCEEDED)
