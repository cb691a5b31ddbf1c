"""``worker.send_task_events``: Celery's task events for Flower and celery-exporter."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallState, Ledger
from canvasbridge.engine.runtime import Runtime
from canvasbridge.errors import ConfigError
from tests.cli.test_processes import start, stop
from tests.engine.helpers import sample_tasks, wait_for, wait_state
from tests.services import unique_name


def _events_of(runtime: Runtime, seen: list[dict[str, Any]], ready: threading.Event, stop_: threading.Event):
    """Celery's own event receiver (what Flower runs), collecting every event into ``seen``."""
    with runtime.celery.connection_for_read() as connection:
        receiver = runtime.celery.events.Receiver(connection, handlers={"*": seen.append})
        opened = receiver.on_consume_ready

        def on_ready(*args: Any, **kwargs: Any) -> None:
            opened(*args, **kwargs)
            ready.set()

        receiver.on_consume_ready = on_ready  # type: ignore[method-assign]
        threading.Thread(
            target=lambda: (stop_.wait(), setattr(receiver, "should_stop", True)), daemon=True
        ).start()
        receiver.capture(limit=None, timeout=None, wakeup=False)


@pytest.mark.slow
def test_with_task_events_on_celerys_event_receiver_sees_a_call_succeed(
    rabbitmq_url: str, postgres_url: str, tmp_path: Path
) -> None:
    document = {
        "backends": {
            "broker_url": rabbitmq_url,
            "ledger_url": postgres_url,
            "queue": unique_name("cb-events"),
        },
        "worker": {"pool": "threads", "concurrency": 1, "send_task_events": True},
        "log": {"level": "WARNING"},
        "tasks": sample_tasks(),
    }
    config_file = tmp_path / "canvasbridge.yaml"
    config_file.write_text(yaml.safe_dump(document))
    runtime = Runtime(parse_config(document))
    seen: list[dict[str, Any]] = []
    ready, done = threading.Event(), threading.Event()
    listener = threading.Thread(target=_events_of, args=(runtime, seen, ready, done), daemon=True)
    listener.start()
    assert ready.wait(30), "the event receiver did not start"
    node = f"{unique_name('events')}@{socket.gethostname()}"
    worker = start("worker", "--config", str(config_file), "-n", node)
    try:
        (call,) = runtime.enqueue([TaskCall("record", {"key": "e1", "effects_dir": str(tmp_path)})])
        wait_state(Ledger.open(postgres_url), call.id, CallState.SUCCEEDED, timeout=90)

        def succeeded() -> list[dict[str, Any]]:
            return [e for e in list(seen) if e["type"] == "task-succeeded" and e.get("hostname") == node]

        (event,) = wait_for(succeeded, timeout=30, what="a task-succeeded event from our worker")
    finally:
        done.set()
        code, stderr = stop(worker, timeout=60)
        listener.join(timeout=10)
    assert code == 0, stderr
    ours = {e["type"] for e in seen if e.get("hostname") == node}
    assert {"worker-online", "task-received", "task-started", "task-succeeded"} <= ours
    received = next(e for e in seen if e["type"] == "task-received" and e.get("hostname") == node)
    assert received["uuid"] == event["uuid"] and received["name"] == "canvasbridge.execute"
    assert str(call.id) in received["args"]


def test_task_events_need_a_broker_that_carries_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"worker.send_task_events: needs a RabbitMQ or Redis broker"):
        parse_config({"backends": {"data_dir": str(tmp_path)}, "worker": {"send_task_events": True}})
