"""Publishing failures: nothing a message produced is lost, nothing phantom is left to fold into."""

from dataclasses import replace

import pytest

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.ledger import CallState
from canvasbridge.engine.runtime import Runtime
from tests.engine.helpers import embedded_config, wait_state


class BrokerDown(ConnectionError):
    pass


def test_a_failed_publish_removes_the_fresh_call_and_raises(tmp_path, monkeypatch):
    runtime = Runtime(embedded_config(tmp_path))

    def refuse(groups):
        raise BrokerDown("broker unreachable")

    monkeypatch.setattr(runtime.publisher, "publish_many", refuse)
    with pytest.raises(BrokerDown):
        runtime.enqueue([TaskCall("record", {"key": "a", "effects_dir": str(tmp_path)})])
    assert runtime.ledger().count() == 0  # the source will redeliver; nothing phantom to fold into


def test_a_call_someone_folded_into_is_kept_and_published_with_the_next_enqueue(tmp_path, monkeypatch):
    runtime = Runtime(embedded_config(tmp_path))
    params = {"key": "shared", "effects_dir": str(tmp_path)}
    real_publish = runtime.publisher.publish_many
    folded_by_other_message = []

    def fold_then_fail(groups):
        if groups and not folded_by_other_message:
            folded_by_other_message.extend(runtime.ledger().record([TaskCall("record", params)]))
            raise BrokerDown("broker went away")
        real_publish(groups)

    monkeypatch.setattr(runtime.publisher, "publish_many", fold_then_fail)
    with pytest.raises(BrokerDown):
        runtime.enqueue([TaskCall("record", params)])
    (other,) = folded_by_other_message
    assert other.folded and runtime.ledger().get(other.id).state is CallState.QUEUED
    runtime.enqueue([TaskCall("record", {"key": "next", "effects_dir": str(tmp_path)})])
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), other.id, CallState.SUCCEEDED)


def test_a_redelivered_message_publishes_again_the_queued_call_its_first_delivery_recorded(tmp_path):
    runtime = Runtime(embedded_config(tmp_path))
    params = {"key": "orphan", "effects_dir": str(tmp_path)}
    first = Envelope(b"{}", source="s", message_id="m-1", delivery_count=1)
    # The first delivery's consumer recorded the call and died before publishing it.
    (orphan,) = runtime.ledger().record([TaskCall("record", params)], origin=first)
    again = runtime.enqueue([TaskCall("record", params)], origin=replace(first, delivery_count=2))
    assert again[0].id == orphan.id and again[0].folded
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), orphan.id, CallState.SUCCEEDED)


def test_a_first_delivery_folding_into_a_queued_call_publishes_nothing_more(tmp_path, monkeypatch):
    runtime = Runtime(embedded_config(tmp_path))
    params = {"key": "shared", "effects_dir": str(tmp_path)}
    published = []
    monkeypatch.setattr(
        runtime.publisher,
        "publish_many",
        lambda groups: published.extend(c for calls, _ in groups for c in calls),
    )
    runtime.enqueue([TaskCall("record", params)], origin=Envelope(b"{}", source="s", message_id="a"))
    runtime.enqueue([TaskCall("record", params)], origin=Envelope(b"{}", source="s", message_id="b"))
    assert len(published) == 1
