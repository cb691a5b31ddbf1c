"""Any number of workers on one broker: three ``canvasbridge worker`` processes on one host
(one named with ``-n``, two by default) share the queue, and stopping one loses nothing."""

from __future__ import annotations

import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from canvasbridge.engine import TaskCall
from canvasbridge.engine.config import load_config
from canvasbridge.engine.ledger import Ledger
from canvasbridge.engine.runtime import Runtime
from tests.cli.test_processes import start, stop
from tests.engine.helpers import wait_for
from tests.services import unique_name

CALLS = 2000


def _config(tmp_path: Path, rabbitmq_url: str, postgres_url: str) -> Path:
    document = {
        "backends": {"broker_url": rabbitmq_url, "ledger_url": postgres_url, "queue": unique_name("cb-many")},
        "worker": {"pool": "threads", "concurrency": 2},
        "log": {"level": "WARNING"},
        "tasks": {"record_pid": {"path": "tests.engine.sample_tasks:record_pid"}},
    }
    path = tmp_path / "canvasbridge.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _consumers(runtime: Runtime) -> int:
    """How many consumers the Celery queue has (each worker is one; workers have no remote
    control to ping, see canvasbridge.engine.queue)."""
    with runtime.celery.connection_for_read() as connection:
        queue = runtime.celery.amqp.queues[runtime.config.backends.queue]
        try:
            return int(queue(connection.default_channel).queue_declare(passive=True).consumer_count)
        except connection.channel_errors:  # not declared yet
            return 0


@pytest.mark.slow
def test_three_workers_on_one_host_share_the_queue_and_a_stopped_one_loses_nothing(
    tmp_path: Path, rabbitmq_url: str, postgres_url: str
) -> None:
    config_file = _config(tmp_path, rabbitmq_url, postgres_url)
    runtime = Runtime(load_config(config_file))
    ledger = Ledger.open(postgres_url)
    chosen = f"{unique_name('scale')}@%h"
    workers = [
        start("worker", "--config", str(config_file), "-c", "2", "-n", chosen),
        start("worker", "--config", str(config_file)),
        start("worker", "--config", str(config_file), "--concurrency", "2"),
    ]
    effects = tmp_path / "effects"
    stopped: subprocess.Popen[str] = workers[1]
    try:
        wait_for(lambda: _consumers(runtime) == 3, timeout=90, interval=0.5, what="three workers consuming")
        runtime.enqueue(
            [TaskCall("record_pid", {"key": f"k{i}", "effects_dir": str(effects)}) for i in range(CALLS)]
        )
        stopped_log = effects / f"{stopped.pid}.log"
        wait_for(
            lambda: stopped_log.exists() and len(stopped_log.read_text().splitlines()) >= 100,
            timeout=120,
            what="the worker to be stopped to have run 100 calls",
        )
        code, stderr = stop(stopped, timeout=60)  # mid-stream: Celery's warm shutdown
        assert code == 0, stderr
        ran_before_stop = len(stopped_log.read_text().splitlines())
        wait_for(
            lambda: ledger.stats()["by_state"].get("succeeded", 0) == CALLS,
            timeout=180,
            interval=0.5,
            what=f"{CALLS} calls to succeed",
        )
    finally:
        for worker in workers:
            if worker.poll() is None:
                stop(worker, timeout=60)
    runs: Counter[str] = Counter()
    per_worker = {}
    for worker in workers:
        log = effects / f"{worker.pid}.log"
        keys = log.read_text().splitlines() if log.exists() else []
        per_worker[worker.pid] = len(keys)
        runs.update(keys)
    assert runs == Counter({f"k{i}": 1 for i in range(CALLS)})  # each call ran exactly once
    assert all(per_worker.values()), per_worker  # spread over all three
    assert per_worker[stopped.pid] == ran_before_stop  # nothing ran there after the stop
    assert {s: n for s, n in ledger.stats()["by_state"].items() if n} == {"succeeded": CALLS}
    assert {record.attempts for record in ledger.calls(limit=CALLS)} == {1}
    assert len(list(effects.glob("*.log"))) == 3
    print(f"\ncalls per worker: {sorted(per_worker.values())}")
