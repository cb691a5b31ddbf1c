"""The in-process worker (tests, benchmarks, the demo) on RabbitMQ: it stops when asked.

Asleep, Celery's event loop polls for up to 10 s; the worker's shutdown wakes it, so leaving
``in_process_worker`` no longer waits that out (nor runs into the join timeout and fails).
"""

import time

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.ledger import CallState
from canvasbridge.engine.runtime import Runtime
from tests.engine.helpers import embedded_config, wait_state
from tests.services import unique_name


def test_leaving_an_in_process_worker_on_rabbitmq_stops_it_at_once(rabbitmq_url, tmp_path):
    backends = {"broker_url": rabbitmq_url, "data_dir": str(tmp_path), "queue": unique_name("inproc")}
    runtime = Runtime(embedded_config(tmp_path, backends=backends))
    (call,) = runtime.enqueue([TaskCall("record", {"key": "k", "effects_dir": str(tmp_path)})])
    with runtime.in_process_worker():
        wait_state(runtime.ledger(), call.id, CallState.SUCCEEDED)
        time.sleep(1.5)  # let the event loop fall asleep in its long poll
        asked = time.monotonic()
    assert time.monotonic() - asked < 5  # it was 9-10 s: the loop slept until its next timer
