"""Prometheus multiprocess mode: the API serves the sum of what every worker process counted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.engine.api.conftest import READ, build_api

ROOT = Path(__file__).resolve().parents[3]

# A worker process of its own: one call through the real engine (embedded broker and ledger).
WORKER = """
import sys
from pathlib import Path
from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.ledger import CallState
from canvasbridge.engine.runtime import Runtime
from tests.engine.helpers import embedded_config, wait_state

data = Path(sys.argv[1])
runtime = Runtime(embedded_config(data))
(call,) = runtime.enqueue([TaskCall("record", {"key": "k", "effects_dir": str(data)})])
with runtime.in_process_worker():
    wait_state(runtime.ledger(), call.id, CallState.SUCCEEDED)
"""


def test_metrics_add_up_the_counters_of_every_worker_process(tmp_path, postgres_url, monkeypatch):
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    workers = []
    for n in range(2):
        data = tmp_path / f"worker-{n}"
        data.mkdir()
        command = [sys.executable, "-c", WORKER, str(data)]
        workers.append(subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True))
    for worker in workers:
        _, errors = worker.communicate(timeout=120)
        assert worker.returncode == 0, errors

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    api = build_api(tmp_path / "api", postgres_url)
    try:
        response = api.client.get("/metrics", headers=READ)
    finally:
        api.client.close()
        api.runtime.ledger().close()
    assert response.status_code == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert samples[("canvasbridge_tasks_succeeded_total", (("task", "record"),))] == 2
    assert samples[("canvasbridge_tasks_queued_total", (("task", "record"),))] == 2
