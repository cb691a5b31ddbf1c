"""A 3-node RabbitMQ cluster losing a node in the middle of 5,000 messages loses none.

``canvasbridge consume`` and two ``canvasbridge worker`` processes get the three nodes' URLs
(``;``-separated) and all start on the first node; the source queue and the Celery queue
are quorum queues with a delivery limit. Once a third of the calls have run, the first node
is stopped (``rabbitmqctl stop``) or, in the other run, SIGKILLed. Every message must end
with a succeeded call; duplicates only where at-least-once allows them (a redelivered
message whose call had already run, a task whose acknowledgement was lost with the node).
The figures are printed (run with ``-s``) and recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pika
import pytest
import sqlalchemy as sa
import yaml

from tests.cli.conftest import EXECUTABLE, REPO, child_env
from tests.engine.helpers import wait_for
from tests.services import unique_name
from tests.services.private_rabbitmq import RabbitCluster

# A run takes 1-2 minutes (the first also boots the cluster, 1-3 minutes on a busy machine);
# the waits below fail a stalled run within about 8 minutes, so CI stays bounded.
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(900)]

MESSAGES = 5000
FAULT_AFTER = MESSAGES // 3  # succeeded calls when the node goes
SOURCE_PREFETCH = 100
WORKERS, CONCURRENCY, PREFETCH_MULTIPLIER = 2, 4, 4
# At-least-once bound: a message or task in flight when the node went may run again; no
# more can be in flight than the source's prefetch and the workers' reservations.
MAX_DUPLICATES = SOURCE_PREFETCH + WORKERS * CONCURRENCY * PREFETCH_MULTIPLIER


def _document(cluster: RabbitCluster, postgres_url: str, names: dict[str, str]) -> dict:
    celery_urls = ";".join(f"amqp://guest@127.0.0.1:{node.amqp_port}//" for node in cluster.nodes)
    source_urls = ";".join(f"amqp://guest@127.0.0.1:{node.amqp_port}/%2F" for node in cluster.nodes)
    return {
        "backends": {
            "broker_url": celery_urls,
            "broker_password": {"env": "CB_CLUSTER_PASSWORD"},
            "ledger_url": postgres_url,
            "queue": names["celery"],
            "quorum_queue": True,
            "queue_delivery_limit": 20,
        },
        "worker": {"pool": "threads", "concurrency": CONCURRENCY, "prefetch_multiplier": PREFETCH_MULTIPLIER},
        "log": {"level": "WARNING"},
        "sources": [
            {
                "type": "amqp",
                "name": "cluster",
                "url": source_urls,
                "password": {"env": "CB_CLUSTER_PASSWORD"},
                "prefetch": SOURCE_PREFETCH,
                "queues": [{"name": names["source"], "quorum": True, "delivery_limit": 50}],
                "nack_delay_s": 0.2,
                "nack_delay_cap_s": 2.0,
                "reconnect_backoff_base_s": 0.5,
                "reconnect_backoff_cap_s": 5.0,
            }
        ],
        "routes": [{"name": "all", "source": "cluster", "parser": "tests.engine.sample_tasks:parse_json"}],
        "tasks": {"record": {"path": "tests.engine.sample_tasks:record"}},
    }


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # a file: a pipe nobody reads would stall the process
        return subprocess.Popen(
            [str(EXECUTABLE), *args],
            cwd=REPO,
            env=child_env({"CB_CLUSTER_PASSWORD": "guest"}),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop(process: subprocess.Popen[bytes], timeout: float = 90) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def _publish(cluster: RabbitCluster, queue: str, effects: Path) -> None:
    """The 5,000 messages, through the last node (the first is the one that goes)."""
    node = cluster.nodes[-1]
    connection = pika.BlockingConnection(
        pika.URLParameters(f"amqp://guest:guest@127.0.0.1:{node.amqp_port}/%2F")
    )
    channel = connection.channel()
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 50})
    channel.confirm_delivery()
    for i in range(MESSAGES):
        body = {"task": "record", "params": {"key": f"k{i}", "effects_dir": str(effects)}}
        channel.basic_publish("", queue, json.dumps(body).encode(), pika.BasicProperties(message_id=f"m{i}"))
    assert channel.queue_declare(queue, passive=True).method.message_count == MESSAGES
    connection.close()


def _counts(ledger: sa.Engine) -> dict[str, int]:
    with ledger.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT count(*) AS calls,"
                " count(DISTINCT origin_message_id) FILTER (WHERE state = 'succeeded') AS done,"
                " count(*) FILTER (WHERE state IN ('queued', 'retrying', 'running')) AS pending,"
                " count(*) FILTER (WHERE state = 'dead') AS dead,"
                " coalesce(sum(folded), 0) AS folded,"
                " count(*) FILTER (WHERE attempts > 1) AS retried"
                " FROM task_calls"
            )
        ).one()
    return dict(row._mapping)


@pytest.mark.parametrize("fault", ["stop", "kill"])
def test_losing_a_node_mid_stream_loses_no_message(
    rabbit_cluster: RabbitCluster, postgres_url: str, tmp_path: Path, fault: str
) -> None:
    cluster = rabbit_cluster
    cluster.ensure_running()  # the node an earlier run took down is back (and rejoined)
    names = {"source": unique_name("cb-cluster-in"), "celery": unique_name("cb-cluster-celery")}
    effects = tmp_path / "effects"
    document = _document(cluster, postgres_url, names)
    config_file = tmp_path / "canvasbridge.yaml"
    config_file.write_text(yaml.safe_dump(document))
    _publish(cluster, names["source"], effects)
    ledger = sa.create_engine(postgres_url)
    victim = cluster.nodes[0]
    processes = [
        _start(["worker", "--config", str(config_file)], tmp_path / f"worker{n}.log") for n in range(WORKERS)
    ]
    started = time.monotonic()
    processes.append(_start(["consume", "--config", str(config_file)], tmp_path / "consume.log"))
    try:
        wait_for(
            lambda: _counts(ledger)["done"] >= FAULT_AFTER if _has_ledger(ledger) else False,
            timeout=180,
            interval=0.5,
            what=f"{FAULT_AFTER} calls before the fault",
        )
        fault_at = time.monotonic()
        if fault == "stop":
            cluster.stop_node(victim)
        else:
            cluster.kill_node(victim)
        wait_for(
            lambda: _counts(ledger)["done"] == MESSAGES and _counts(ledger)["pending"] == 0,
            timeout=240,
            interval=1.0,
            what=f"all {MESSAGES} calls to succeed",
        )
        finished = time.monotonic()
    finally:
        codes = [_stop(process) for process in processes]
    logs = {path.name: path.read_text()[-2000:] for path in tmp_path.glob("*.log")}
    assert codes == [0] * len(processes), (codes, logs)
    counts = _counts(ledger)
    ledger.dispose()
    executions = Counter((effects / "effects.log").read_text().splitlines())
    assert set(executions) == {f"k{i}" for i in range(MESSAGES)}  # every message's call ran
    assert counts["dead"] == 0 and counts["pending"] == 0
    duplicates = sum(executions.values()) - MESSAGES
    assert duplicates <= MAX_DUPLICATES, (duplicates, counts)
    figures = {
        "fault": fault,
        "seconds_total": round(finished - started, 1),
        "seconds_after_fault": round(finished - fault_at, 1),
        "duplicate_executions": duplicates,
        "calls_recorded": counts["calls"],
        "redelivered_source_messages_folded": counts["folded"],
        "calls_claimed_again": counts["retried"],
    }
    print(f"\ncluster figures: {json.dumps(figures)}")


def _has_ledger(ledger: sa.Engine) -> bool:
    return sa.inspect(ledger).has_table("task_calls")
