"""``/metrics`` of ``canvasbridge api`` adds up what ``consume`` and the worker's prefork pool
children counted, with no metrics variable set: the executable puts its counters in files of
a per-user directory by itself (here under a private ``XDG_RUNTIME_DIR``, its default's root)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pika
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from canvasbridge.engine.ledger import Ledger
from tests.cli.conftest import EXECUTABLE, run
from tests.cli.test_processes import free_port, start, stop
from tests.engine.helpers import wait_for
from tests.services import unique_name

MESSAGES = 40
TOKEN = "metrics-test-read-token-1234"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _picked(samples: dict[Any, float], expected: dict[Any, int]) -> dict[Any, float | None]:
    return {key: samples.get(key) for key in expected}


@pytest.mark.slow
def test_api_metrics_add_up_the_consumer_and_the_pool_children(
    tmp_path: Path, rabbitmq_url: str, postgres_url: str
) -> None:
    assert "canvasbridge.cli.entry" in EXECUTABLE.read_text(), (
        f"{EXECUTABLE} predates canvasbridge.cli.entry: reinstall (pip install -e .)"
    )
    source_queue = unique_name("cb-metrics-in")
    document = {
        "backends": {
            "broker_url": rabbitmq_url,
            "ledger_url": postgres_url,
            "queue": unique_name("cb-metrics"),
        },
        "worker": {"pool": "prefork", "concurrency": 2},
        "log": {"level": "WARNING"},
        "admin": {"tokens": [{"name": "scraper", "role": "read", "token": {"env": "CB_METRICS_TOKEN"}}]},
        "sources": [
            {
                "type": "amqp",
                "name": "feed",
                "url": "amqp://guest@127.0.0.1:5672/%2F",
                "password": {"env": "CB_TEST_AMQP_PASSWORD"},
                "queues": [{"name": source_queue}],
            }
        ],
        "routes": [{"name": "all", "source": "feed", "parser": "tests.engine.sample_tasks:parse_json"}],
        "tasks": {"record_pid": {"path": "tests.engine.sample_tasks:record_pid"}},
    }
    config_file = tmp_path / "canvasbridge.yaml"
    config_file.write_text(yaml.safe_dump(document))
    runtime_dir = tmp_path / "run"
    runtime_dir.mkdir(mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(runtime_dir), "CB_METRICS_TOKEN": TOKEN, "CB_TEST_AMQP_PASSWORD": "guest"}
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ and "CANVASBRIDGE_METRICS_DIR" not in os.environ
    ledger = Ledger.open(postgres_url)  # the schema, before three processes start on it
    effects = tmp_path / "effects"

    feed = (("source", "feed"),)
    task = (("task", "record_pid"),)
    expected = {
        ("canvasbridge_messages_received_total", feed): MESSAGES,  # counted in the consumer
        ("canvasbridge_messages_routed_total", (("route", "all"), ("source", "feed"))): MESSAGES,
        ("canvasbridge_tasks_queued_total", task): MESSAGES,
        ("canvasbridge_tasks_succeeded_total", task): MESSAGES,  # counted in the pool children
        ("canvasbridge_task_duration_seconds_count", task): MESSAGES,
        ("canvasbridge_task_calls", (("state", "succeeded"), ("task", "record_pid"))): MESSAGES,  # ledger
    }
    port = free_port()
    api = start("api", "--config", str(config_file), "--port", str(port), env=env)
    consumer = start("consume", "--config", str(config_file), env=env)
    worker = start("worker", "--config", str(config_file), "--pool", "prefork", "-c", "2", env=env)
    processes = [api, consumer, worker]

    def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = httpx.get(
            f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        return _samples(response.text)

    def answering() -> bool:
        assert all(p.poll() is None for p in processes), [p.poll() for p in processes]
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_for(answering, timeout=90, what="the API to answer")
        connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare(source_queue, durable=True)
        for i in range(MESSAGES):
            body = {"task": "record_pid", "params": {"key": f"k{i}", "effects_dir": str(effects)}}
            channel.basic_publish("", source_queue, json.dumps(body).encode())
        connection.close()
        wait_for(
            lambda: ledger.stats()["by_state"].get("succeeded", 0) == MESSAGES,
            timeout=120,
            interval=0.5,
            what=f"{MESSAGES} calls to succeed",
        )
        # a child counts a success just after the ledger records it: wait for the last ones
        wait_for(lambda: _picked(scrape(), expected) == expected, timeout=30, what="the counters")
        for process in (worker, consumer):
            code, output = stop(process, timeout=60)
            assert code == 0, output
        stopped = scrape()
    finally:
        for process in processes:
            if process.poll() is None:
                stop(process, timeout=60)

    # the tasks ran in the pool's children, not in the worker's main process
    ran_in = {int(log.stem) for log in effects.glob("*.log")}
    assert ran_in and worker.pid not in ran_in
    assert sum(len(log.read_text().splitlines()) for log in effects.glob("*.log")) == MESSAGES

    assert _picked(stopped, expected) == expected  # stopped processes' counts are kept, once
    assert stopped[("canvasbridge_task_last_success_timestamp_seconds", task)] > 0

    # the stopped processes folded their files into the archive; only the API's are left
    directory = runtime_dir / "canvasbridge-metrics"
    own = {path.stem.rpartition("_")[2] for path in directory.glob("*.db")}
    assert own <= {"archive"} | {ident for ident in own if f"-{api.pid}-" in ident}, own


@pytest.mark.slow
def test_a_worker_serves_its_own_metrics_on_metrics_port(
    tmp_path: Path, rabbitmq_url: str, postgres_url: str
) -> None:
    from canvasbridge.engine import TaskCall
    from canvasbridge.engine.config import load_config
    from canvasbridge.engine.runtime import Runtime

    port = free_port()
    document = {
        "backends": {
            "broker_url": rabbitmq_url,
            "ledger_url": postgres_url,
            "queue": unique_name("cb-mport"),
        },
        "log": {"level": "WARNING"},
        "admin": {"tokens": [{"name": "scraper", "role": "read", "token": {"env": "CB_METRICS_TOKEN"}}]},
        "metrics": {"port": port},
        "tasks": {"record_pid": {"path": "tests.engine.sample_tasks:record_pid"}},
    }
    config_file = tmp_path / "canvasbridge.yaml"
    config_file.write_text(yaml.safe_dump(document))
    runtime_dir = tmp_path / "run"
    runtime_dir.mkdir(mode=0o700)
    env = {"XDG_RUNTIME_DIR": str(runtime_dir), "CB_METRICS_TOKEN": TOKEN}
    ledger = Ledger.open(postgres_url)
    runtime = Runtime(load_config(config_file))
    calls = 12
    runtime.enqueue(
        [TaskCall("record_pid", {"key": f"k{i}", "effects_dir": str(tmp_path / "fx")}) for i in range(calls)]
    )
    worker = start("worker", "--config", str(config_file), "--pool", "prefork", "-c", "2", env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: ledger.stats()["by_state"].get("succeeded", 0) == calls,
            timeout=120,
            interval=0.5,
            what=f"{calls} calls to succeed",
        )
        assert worker.poll() is None
        refused = httpx.get(f"{url}/metrics", timeout=10)
        wrong = httpx.get(
            f"{url}/metrics", headers={"Authorization": "Bearer not-the-token-at-all"}, timeout=10
        )
        elsewhere = httpx.get(f"{url}/tasks", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
        succeeded = ("canvasbridge_tasks_succeeded_total", (("task", "record_pid"),))

        def served() -> float | None:
            answer = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
            assert answer.status_code == 200, answer.text
            return _samples(answer.text).get(succeeded)

        # counted in the pool children (just after the ledger records each), summed by the
        # worker's main process
        wait_for(lambda: served() == calls, timeout=30, what=f"{calls} successes in the worker's /metrics")
    finally:
        code, output = stop(worker, timeout=60)
    assert code == 0, output
    assert (refused.status_code, refused.headers["www-authenticate"]) == (401, "Bearer")
    assert (wrong.status_code, elsewhere.status_code) == (401, 404)
    assert worker.pid not in {int(log.stem) for log in (tmp_path / "fx").glob("*.log")}
    assert TOKEN not in output


def test_metrics_port_without_a_token_is_refused(config_file: Path, tmp_path: Path) -> None:
    document = yaml.safe_load(config_file.read_text())
    document["admin"] = {"tokens": []}
    document["metrics"] = {"port": free_port()}
    config_file.write_text(yaml.safe_dump(document))
    result = run("worker", "--config", str(config_file), env={"XDG_RUNTIME_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "metrics.port: /metrics needs a token; add one to admin.tokens (any role)"
    ), result.stderr
