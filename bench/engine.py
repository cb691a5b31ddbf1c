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
import resource
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

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


@dataclass
class Run:
    rate: float  # messages per second
    cpu_ms: dict[str, float]  # CPU milliseconds per message, by process


def _process_cpu_s(command: str) -> float:
    """CPU seconds used so far by every process named ``command`` (0 where /proc is missing)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if text[text.index("(") + 1 : text.rindex(")")] == command:
            fields = text[text.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _cpu_now() -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "Python": usage.ru_utime + usage.ru_stime,
        "RabbitMQ": _process_cpu_s("beam.smp"),
        "PostgreSQL": _process_cpu_s("postgres"),
    }


def _cpu_per_message(before: dict[str, float], messages: int) -> dict[str, float]:
    after = _cpu_now()
    return {name: 1000 * (after[name] - before[name]) / messages for name in before}


def raw_celery(messages: int, concurrency: int) -> Run:
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
        cpu = _cpu_now()
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
        cpu_ms = _cpu_per_message(cpu, messages)
    _delete_queue(queue)
    return Run(messages / elapsed, cpu_ms)


def canvasbridge_engine(messages: int, concurrency: int, ledger_url: str, source_workers: int = 2) -> Run:
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
                    "workers": source_workers,
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
        cpu = _cpu_now()
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
        cpu_ms = _cpu_per_message(cpu, messages)
        stop.set()
        consumer.join(timeout=30)
    for queue in (source_queue, celery_queue):
        _delete_queue(queue)
    return Run(messages / elapsed, cpu_ms)


def _delete_queue(name: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(PIKA_URL))
    connection.channel().queue_delete(name)
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--source-workers",
        type=int,
        default=2,
        help="the AMQP source's dispatch threads; each takes a batch, so two keep the pipeline full",
    )
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
            args.messages,
            args.concurrency,
            POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{database}",
            args.source_workers,
        )
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    table = Table(
        title=f"Engine overhead: {args.messages} messages, concurrency {args.concurrency}",
        caption="raw: send_task + no-op task, RabbitMQ with confirms; canvasbridge: AMQP → route → "
        "parse → ledger → Celery → worker → ledger. CPU per message in the timed window.",
    )
    table.add_column("pipeline")
    table.add_column("messages/s", justify="right")
    for name in raw.cpu_ms:
        table.add_column(f"CPU ms/msg {name}", justify="right")
    table.add_column("CPU ms/msg total", justify="right")
    for label, run in (
        ("raw Celery", raw),
        ("canvasbridge", ours),
    ):
        cpu = [f"{value:.2f}" for value in run.cpu_ms.values()]
        table.add_row(label, f"{run.rate:,.0f}", *cpu, f"{sum(run.cpu_ms.values()):.2f}")
    table.add_row("ratio", f"{ours.rate / raw.rate:.2f}×  (goal ≥ 0.70×)")
    console = Console(width=max(Console().width, 110))
    console.print(table)
    console.print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    main()
