"""A worker failing over to another broker node resumes: it declares no exclusive queue (a
dead connection's copy can outlive it for a moment on the surviving nodes), and a channel
error while its consumer starts is retried instead of ending its consuming."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from celery.utils.nodenames import anon_nodename
from kombu import Connection, Queue

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallState
from canvasbridge.engine.runtime import Runtime
from tests.engine.helpers import effect_lines, sample_tasks, wait_state
from tests.services import unique_name


def _runtime(rabbitmq_url: str, postgres_url: str, queue: str) -> Runtime:
    document = {
        "backends": {"broker_url": rabbitmq_url, "ledger_url": postgres_url, "queue": queue},
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
