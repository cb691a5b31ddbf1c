"""The main scenario on the production backends: RabbitMQ (source and broker), PostgreSQL, Redis."""

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pika
import pytest
import sqlalchemy as sa
import yaml

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallState, Ledger
from canvasbridge.engine.runtime import Runtime
from tests.engine.helpers import effect_lines, sample_tasks, wait_for, wait_state
from tests.services import unique_name

REPO = Path(__file__).resolve().parents[2]


def rabbit_config(rabbitmq_url, ledger_url, names, **extra):
    document = {
        "backends": {"broker_url": rabbitmq_url, "ledger_url": ledger_url, "queue": names["celery"]},
        "worker": {"pool": "threads", "concurrency": 2},
        "log": {"level": "WARNING"},
        "tasks": {
            **sample_tasks(),
            "record_in_postgres": {"path": "tests.engine.sample_tasks:record_in_postgres"},
        },
        **extra,
    }
    return document


def test_a_message_published_to_rabbitmq_reaches_a_task_whose_effect_is_visible_in_postgres(
    rabbitmq_url, postgres_url, monkeypatch
):
    monkeypatch.setenv("CB_TEST_AMQP_PASSWORD", "guest")
    names = {
        "celery": unique_name("cb-celery"),
        "exchange": unique_name("cb-ex"),
        "queue": unique_name("cb-in"),
    }
    document = rabbit_config(
        rabbitmq_url,
        postgres_url,
        names,
        sources=[
            {
                "type": "amqp",
                "name": "uio",
                "url": "amqp://guest@127.0.0.1:5672/%2F",
                "password": {"env": "CB_TEST_AMQP_PASSWORD"},
                "exchanges": [{"name": names["exchange"], "type": "topic", "durable": False}],
                "queues": [
                    {
                        "name": names["queue"],
                        "quorum": True,
                        "bindings": [{"exchange": names["exchange"], "routing_keys": ["job.#"]}],
                    }
                ],
            }
        ],
        routes=[
            {
                "name": "jobs",
                "source": "uio",
                "match": {"routing_key": r"^job\."},
                "parser": "tests.engine.sample_tasks:parse_json",
            }
        ],
    )
    effects = sa.create_engine(postgres_url)
    with effects.begin() as conn:
        conn.execute(sa.text("CREATE TABLE effects (key text)"))
    runtime = Runtime(parse_config(document))
    stop = threading.Event()
    consumer = threading.Thread(target=runtime.consume, args=(stop,), daemon=True)
    with runtime.in_process_worker():
        consumer.start()
        connection = pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F"))
        wait_for(lambda: _consumed(connection, names["queue"]), timeout=60, what="the source to consume")
        channel = connection.channel()
        channel.exchange_declare(names["exchange"], "topic", durable=False)
        for i in range(30):
            body = {"task": "record_in_postgres", "params": {"key": f"k{i}", "db_url": postgres_url}}
            channel.basic_publish(names["exchange"], "job.record", json.dumps(body).encode())
        channel.basic_publish(names["exchange"], "job.record", b"{broken")
        connection.close()
        ledger = runtime.ledger()
        wait_for(lambda: ledger.stats()["by_state"]["succeeded"] == 30, timeout=60, what="30 tasks")
        stop.set()
        consumer.join(timeout=30)
    with effects.connect() as conn:
        keys = sorted(conn.execute(sa.text("SELECT key FROM effects")).scalars())
    effects.dispose()
    assert keys == sorted(f"k{i}" for i in range(30))
    (parked,) = ledger.parked()
    assert "not valid JSON" in parked.reason and parked.routing_key == "job.record"
    assert ledger.get(1).origin_source == "uio"


def test_redis_also_works_as_the_broker(redis_url, tmp_path):
    document = {
        "backends": {
            "broker_url": redis_url,
            "ledger_url": f"sqlite:///{tmp_path / 'l.db'}",
            "queue": unique_name("cb-redis"),
        },
        "log": {"level": "WARNING"},
        "tasks": sample_tasks(),
    }
    runtime = Runtime(parse_config(document))
    with runtime.in_process_worker():
        (first,) = runtime.enqueue(
            [TaskCall("flaky", {"key": "r", "effects_dir": str(tmp_path), "failures": 1})]
        )
        (second,) = runtime.enqueue([TaskCall("record", {"key": "via-redis", "effects_dir": str(tmp_path)})])
        wait_state(runtime.ledger(), first.id, CallState.SUCCEEDED)
        wait_state(runtime.ledger(), second.id, CallState.SUCCEEDED)
    assert effect_lines(tmp_path) == ["via-redis"]
    assert runtime.ledger().get(first.id).attempts == 2


def start_worker_process(config_file: Path, tmp_path: Path) -> subprocess.Popen:
    code = (
        "from canvasbridge.engine.config import load_config;"
        "from canvasbridge.engine.runtime import Runtime;"
        f"Runtime(load_config({str(config_file)!r})).run_worker(concurrency=1, pool='prefork')"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    log = (tmp_path / "worker.log").open("w")
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.slow
def test_a_worker_killed_mid_task_runs_the_task_again_and_an_always_killing_task_ends_as_a_dead_letter(
    rabbitmq_url, postgres_url, tmp_path
):
    names = {"celery": unique_name("cb-kill")}
    document = rabbit_config(rabbitmq_url, postgres_url, names)
    config_file = tmp_path / "canvasbridge.yaml"
    config_file.write_text(yaml.safe_dump(document))
    runtime = Runtime(parse_config(document))
    effects = str(tmp_path / "effects")
    (once,) = runtime.enqueue([TaskCall("kill_worker", {"key": "once", "effects_dir": effects, "times": 1})])
    (always,) = runtime.enqueue(
        [TaskCall("kill_worker", {"key": "always", "effects_dir": effects, "times": -1})]
    )
    worker = start_worker_process(config_file, tmp_path)
    try:
        ledger = Ledger.open(postgres_url)
        wait_state(ledger, once.id, CallState.SUCCEEDED, timeout=90)
        wait_state(ledger, always.id, CallState.DEAD, timeout=90)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert ledger.get(once.id).attempts == 2 and ledger.get(once.id).result == {"attempts": 2}
    dead = ledger.get(always.id)
    assert dead.attempts == 4  # three starts allowed (max_attempts 3); the fourth claim gives up
    assert "did its worker die" in dead.last_error
    assert (Path(effects) / "always.count").read_text() == "3"


def test_on_rabbitmq_a_second_message_for_a_call_running_elsewhere_is_skipped(
    rabbitmq_url, postgres_url, tmp_path
):
    runtime = Runtime(
        parse_config(rabbit_config(rabbitmq_url, postgres_url, {"celery": unique_name("cb-dup")}))
    )
    ledger = runtime.ledger()
    (call,) = ledger.record([TaskCall("record", {"key": "dup", "effects_dir": str(tmp_path)})])
    assert ledger.claim(call.id, max_attempts=4).proceed  # another worker runs it right now
    runtime.publisher.publish([call], correlation_id=None)  # e.g. republished after a redelivery
    (after,) = runtime.enqueue([TaskCall("record", {"key": "after", "effects_dir": str(tmp_path)})])
    with runtime.in_process_worker(concurrency=1):  # one at a time: the duplicate comes first
        wait_state(ledger, after.id, CallState.SUCCEEDED)
    running = ledger.get(call.id)
    assert running.state is CallState.RUNNING and running.attempts == 1
    assert effect_lines(tmp_path) == ["after"]


def _consumed(connection: pika.BlockingConnection, queue: str) -> bool:
    """Whether the source has declared, bound and started consuming its queue (it binds first)."""
    channel = connection.channel()
    try:
        return channel.queue_declare(queue, passive=True).method.consumer_count > 0
    except pika.exceptions.ChannelClosedByBroker:  # not declared yet
        return False
    finally:
        if channel.is_open:
            channel.close()
