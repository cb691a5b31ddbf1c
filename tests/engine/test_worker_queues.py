"""A worker failing over to another broker node resumes: it declares no exclusive queue (a
dead connection's copy can outlive it for a moment on the surviving nodes), a channel error
while its consumer starts is retried instead of ending its consuming, and it does not first
retry Celery's delayed-delivery setup on every node (retries on quorum queues work without)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from celery.utils.nodenames import anon_nodename
from kombu import Connection, Queue
from kombu.utils.imports import symbol_by_name

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.celery_consumer import DELAYED_DELIVERY_STEP
from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallState
from canvasbridge.engine.runtime import Runtime
from tests.engine.helpers import effect_lines, sample_tasks, wait_state
from tests.services import unique_name


def _runtime(rabbitmq_url: str, postgres_url: str, queue: str, **backends: Any) -> Runtime:
    document = {
        "backends": {"broker_url": rabbitmq_url, "ledger_url": postgres_url, "queue": queue, **backends},
        "worker": {"pool": "threads", "concurrency": 1},
        "log": {"level": "WARNING"},
        "tasks": sample_tasks(),
    }
    return Runtime(parse_config(document))


@pytest.mark.timeout(90)  # a worker locked out never starts: fail rather than hang
def test_a_worker_runs_calls_while_a_lost_connection_still_holds_its_node_queue(
    rabbitmq_url: str, postgres_url: str, tmp_path: Path
) -> None:
    runtime = _runtime(rabbitmq_url, postgres_url, unique_name("cb-lock"))
    (call,) = runtime.enqueue([TaskCall("record", {"key": "ran", "effects_dir": str(tmp_path)})])
    with Connection(rabbitmq_url) as lingering:
        # what a connection to a just-killed node leaves behind: the exclusive queue Celery's
        # remote control declares for the worker's node name (here the in-process worker's)
        Queue(f"{anon_nodename()}.celery.pidbox", exclusive=True, auto_delete=True)(
            lingering.default_channel
        ).declare()
        with runtime.in_process_worker(concurrency=1):
            wait_state(runtime.ledger(), call.id, CallState.SUCCEEDED)
    assert effect_lines(tmp_path) == ["ran"]


@pytest.mark.timeout(90)
def test_a_worker_whose_queue_declare_fails_on_start_retries_and_then_runs_calls(
    rabbitmq_url: str, postgres_url: str, tmp_path: Path
) -> None:
    queue = unique_name("cb-conflict")
    runtime = _runtime(rabbitmq_url, postgres_url, queue)
    with Connection(rabbitmq_url) as other:
        channel = other.default_channel
        # a queue of that name the worker cannot declare (not durable): PRECONDITION_FAILED,
        # a channel error, until it is gone
        Queue(queue, durable=False, auto_delete=False)(channel).declare()
        gone = threading.Timer(3.0, lambda: Queue(queue)(other.channel()).delete())
        gone.start()
        try:
            with runtime.in_process_worker(concurrency=1):
                (call,) = runtime.enqueue([TaskCall("record", {"key": "ran", "effects_dir": str(tmp_path)})])
                wait_state(runtime.ledger(), call.id, CallState.SUCCEEDED)
        finally:
            gone.cancel()
            gone.join()
    assert effect_lines(tmp_path) == ["ran"]


@pytest.mark.timeout(90)
def test_on_a_quorum_queue_a_call_retried_after_a_countdown_runs_again_without_delayed_delivery(
    rabbitmq_url: str, postgres_url: str, tmp_path: Path
) -> None:
    runtime = _runtime(rabbitmq_url, postgres_url, unique_name("cb-quorum"), quorum_queue=True)
    steps = symbol_by_name(runtime.celery.conf.worker_consumer).Blueprint.default_steps
    assert DELAYED_DELIVERY_STEP not in steps and "celery.worker.consumer.tasks:Tasks" in steps
    (call,) = runtime.enqueue([TaskCall("flaky", {"key": "q", "effects_dir": str(tmp_path), "failures": 2})])
    with runtime.in_process_worker(concurrency=1):
        wait_state(runtime.ledger(), call.id, CallState.SUCCEEDED)
    assert runtime.ledger().get(call.id).attempts == 3
