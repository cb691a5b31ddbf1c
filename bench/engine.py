"""Engine overhead: messages/s through AMQP → route → parse → ledger → Celery → worker → ledger,
against raw Celery (send_task + a no-op task) on the same RabbitMQ broker, in the same run.

    .venv/bin/python -m bench.engine [--messages 3000] [--concurrency 4]

Needs RabbitMQ on 127.0.0.1:5672 and PostgreSQL on 127.0.0.1:5432 (a scratch database is
created and dropped). Prints a table and the ratio; the goal is ≥ 0.7×.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import threading
import time
import uuid

import pika
import sqlalchemy as sa
from celery import Celery
from celery.contrib.testing.worker import start_worker
from rich.console import Console
from rich.table import Table

from bench import noop
from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallFilter, CallState
from canvasbridge.engine.runtime import Runtime

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
PIKA_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def raw_celery(messages: int, concurrency: int) -> float:
    """Raw Celery: publish ``messages`` no-op tasks with confirms while a worker runs them."""
    queue = f"bench-raw-{uuid.uuid4().hex[:8]}"
    app = Celery("bench-raw", broker=AMQP_URL, set_as_current=False)
    app.conf.update(
        task_ignore_result=True,
        task_acks_late=True,
        task_default_queue=queue,
        broker_transport_options={"confirm_publish": True},
        worker_prefetch_multiplier=4,
        worker_hijack_root_logger=False,
    )
    done = threading.Semaphore(0)

    @app.task(name="bench.noop", shared=False)
    def noop(n: int) -> None:
        done.release()

    def publish(numbers: range) -> None:
        for i in numbers:
            app.send_task("bench.noop", args=[i], queue=queue)

    with start_worker(
        app,
        pool="threads",
        concurrency=concurrency,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=30,
    ):
        start = time.perf_counter()
        # as many publishing threads as the canvasbridge consumer has dispatch threads
        publishers = [
            threading.Thread(target=publish, args=(range(k, messages, concurrency),))
            for k in range(concurrency)
        ]
        for thread in publishers:
            thread.start()
        for _ in range(messages):
            done.acquire()
        elapsed = time.perf_counter() - start
    _delete_queue(queue)
    return messages / elapsed


def canvasbridge_engine(messages: int, concurrency: int, ledger_url: str) -> float:
    """canvasbridge: pre-load the source queue, then time consume → … → ledger succeeded."""
    exchange, source_queue, celery_queue = (
        f"bench-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("ex", "in", "cel")
    )
    os.environ["CB_BENCH_AMQP_PASSWORD"] = "guest"
    config = parse_config(
        {
            "backends": {"broker_url": AMQP_URL, "ledger_url": ledger_url, "queue": celery_queue},
            "worker": {"pool": "threads", "concurrency": concurrency},
            "log": {"level": "WARNING"},
            "sources": [
                {
                    "type": "amqp",
                    "name": "bench",
                    "url": "amqp://guest@127.0.0.1:5672/%2F",
                    "password": {"env": "CB_BENCH_AMQP_PASSWORD"},
                    "prefetch": 200,
                    "workers": concurrency,
                    "exchanges": [{"name": exchange, "durable": False}],
                    "queues": [
                        {
                            "name": source_queue,
                            "bindings": [{"exchange": exchange, "routing_keys": ["bench.#"]}],
                        }
                    ],
                }
            ],
            "routes": [
                {
                    "name": "bench",
                    "source": "bench",
                    "match": {"routing_key": "^bench\\."},
                    "parser": "bench.noop:parse",
                }
            ],
            "tasks": {"noop": {"path": "bench.noop:noop"}},
        }
    )
    connection = pika.BlockingConnection(pika.URLParameters(PIKA_URL))
    channel = connection.channel()
    channel.exchange_declare(exchange, "topic", durable=False)
    channel.queue_declare(source_queue, durable=True)
    channel.queue_bind(source_queue, exchange, "bench.#")
    for i in range(messages):
        channel.basic_publish(exchange, "bench.noop", str(i).encode())
    connection.close()

    runtime = Runtime(config)
    ledger = runtime.ledger()
    stop = threading.Event()
    with runtime.in_process_worker(concurrency=concurrency):
        start = time.perf_counter()
        consumer = threading.Thread(target=runtime.consume, args=(stop,), daemon=True)
        consumer.start()
        # Wait as raw Celery does (a semaphore the task releases), then until the ledger
        # holds every success: counting ledger rows all along would load the run itself.
        for _ in range(messages):
            noop.RAN.acquire()
        done = CallFilter(states=[CallState.SUCCEEDED])
        while ledger.count(done) < messages:
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        stop.set()
        consumer.join(timeout=30)
    for queue in (source_queue, celery_queue):
        _delete_queue(queue)
    return messages / elapsed


def _delete_queue(name: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(PIKA_URL))
    connection.channel().queue_delete(name)
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--switch-interval-ms",
        type=float,
        default=None,
        help="the interpreter's thread switch interval for both pipelines (default: Python's 5 ms)",
    )
    args = parser.parse_args()
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1000)
    database = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    try:
        raw = raw_celery(args.messages, args.concurrency)
        ours = canvasbridge_engine(
            args.messages, args.concurrency, POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{database}"
        )
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    table = Table(title=f"Engine overhead: {args.messages} messages, concurrency {args.concurrency}")
    table.add_column("pipeline")
    table.add_column("messages/s", justify="right")
    table.add_row("raw Celery (send_task + no-op, RabbitMQ, confirms)", f"{raw:,.0f}")
    table.add_row("canvasbridge (AMQP → route → parse → ledger → Celery → worker → ledger)", f"{ours:,.0f}")
    table.add_row("ratio", f"{ours / raw:.2f}×  (goal ≥ 0.70×)")
    console = Console()
    console.print(table)
    console.print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
