"""Engine overhead: messages/s through AMQP → route → parse → ledger → Celery → worker → ledger,
against raw Celery (send_task + a no-op task) on the same RabbitMQ broker, in the same run.

    .venv/bin/python -m bench.engine [--messages 3000] [--concurrency 4] [--topology both] [--smoke]

Each pipeline runs with its worker in a process of its own (as deployed) and all in one
process. Needs RabbitMQ on 127.0.0.1:5672 and PostgreSQL on 127.0.0.1:5432 (a scratch
database per run is created and dropped). Prints a table and the ratios; the goal is ≥ 0.7×.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import platform
import resource
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pika
import sqlalchemy as sa
from celery import Celery
from celery.contrib.testing.worker import start_worker
from rich.console import Console
from rich.table import Table

from bench import noop
from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallFilter, CallState
from canvasbridge.engine.runtime import Runtime, wake_for_shutdown

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
PIKA_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STALL_S = 120.0  # a run in which no task ran for this long has failed (a call died)


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


def _pid_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_now(worker_pid: int | None = None) -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    python = usage.ru_utime + usage.ru_stime
    return {
        "Python": python + (_pid_cpu_s(worker_pid) if worker_pid else 0.0),
        "RabbitMQ": _process_cpu_s("beam.smp"),
        "PostgreSQL": _process_cpu_s("postgres"),
    }


def _cpu_per_message(
    before: dict[str, float], messages: int, worker_pid: int | None = None
) -> dict[str, float]:
    after = _cpu_now(worker_pid)
    return {name: 1000 * (after[name] - before[name]) / messages for name in before}


class _WorkerProcess:
    """A worker in a process of its own (as deployed): it says "ready" once its Celery worker
    runs, "done" once ``messages`` tasks ran, and waits for "stop" so its CPU time can be read."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child_end = context.Pipe()
        self.process = context.Process(target=target, args=(*args, child_end), daemon=True)

    def __enter__(self) -> _WorkerProcess:
        self.process.start()
        self.expect("ready")
        return self

    def expect(self, word: str) -> None:
        if not self._pipe.poll(STALL_S + 60):
            raise RuntimeError(f"the worker process did not say {word!r} within {STALL_S + 60:.0f} s")
        said = self._pipe.recv()
        if said != word:
            raise RuntimeError(f"the worker process said {said!r}, not {word!r}")

    def __exit__(self, *exc: object) -> None:
        self._pipe.send("stop")
        self.process.join(timeout=60)


def _acquire(ran: threading.Semaphore, messages: int) -> None:
    for done in range(messages):
        if not ran.acquire(timeout=STALL_S):
            raise RuntimeError(f"stalled: {done} of {messages} no-op tasks ran, none for {STALL_S:.0f} s")


def _raw_app(queue: str) -> tuple[Celery, threading.Semaphore]:
    app = Celery("bench-raw", broker=AMQP_URL, set_as_current=False)
    app.conf.update(
        task_ignore_result=True,
        task_acks_late=True,
        task_default_queue=queue,
        broker_transport_options={"confirm_publish": True},
        worker_prefetch_multiplier=4,
        worker_hijack_root_logger=False,
    )
    ran = threading.Semaphore(0)

    @app.task(name="bench.noop", shared=False)
    def noop(n: int) -> None:
        ran.release()

    return app, ran


@contextlib.contextmanager
def _raw_worker(app: Celery, concurrency: int) -> Iterator[Any]:
    with start_worker(
        app,
        pool="threads",
        concurrency=concurrency,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=30,
    ) as worker:
        try:
            yield worker
        finally:
            wake_for_shutdown(worker)  # as the engine's in-process worker does


def _raw_worker_process(queue: str, concurrency: int, messages: int, pipe: Connection) -> None:
    app, ran = _raw_app(queue)
    with _raw_worker(app, concurrency):
        pipe.send("ready")
        _acquire(ran, messages)
        pipe.send("done")
        pipe.recv()


def raw_celery(messages: int, concurrency: int, *, split: bool) -> Run:
    """Raw Celery: publish ``messages`` no-op tasks with confirms while a worker runs them,
    in this process or (``split``) in a worker process of its own."""
    queue = f"bench-raw-{uuid.uuid4().hex[:8]}"
    app, ran = _raw_app(queue)

    def publish(numbers: range) -> None:
        for i in numbers:
            app.send_task("bench.noop", args=[i], queue=queue)

    def timed(wait: Callable[[], None], worker_pid: int | None = None) -> Run:
        cpu = _cpu_now(worker_pid)
        start = time.perf_counter()
        # as many publishing threads as the canvasbridge consumer has dispatch threads
        publishers = [
            threading.Thread(target=publish, args=(range(k, messages, concurrency),))
            for k in range(concurrency)
        ]
        for thread in publishers:
            thread.start()
        wait()
        elapsed = time.perf_counter() - start
        return Run(messages / elapsed, _cpu_per_message(cpu, messages, worker_pid))

    if split:
        with _WorkerProcess(_raw_worker_process, queue, concurrency, messages) as worker:
            run = timed(lambda: worker.expect("done"), worker.process.pid)
    else:
        with _raw_worker(app, concurrency):
            run = timed(lambda: _acquire(ran, messages))
    _delete_queue(queue)
    return run


def _engine_document(
    ledger_url: str,
    concurrency: int,
    source_workers: int,
    exchange: str,
    source_queue: str,
    celery_queue: str,
) -> dict[str, Any]:
    return {
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


def _wait_for_engine(runtime: Runtime, messages: int) -> None:
    """Until every no-op ran and the ledger holds every success. The wait is a semaphore, as
    raw Celery's; counting ledger rows all along would load the run."""
    _acquire(noop.RAN, messages)
    done = CallFilter(states=[CallState.SUCCEEDED])
    deadline = time.monotonic() + STALL_S
    while runtime.ledger().count(done) < messages:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"every no-op ran, but the ledger holds {runtime.ledger().count(done)} successes"
            )
        time.sleep(0.01)


def _engine_worker_process(
    document: dict[str, Any], concurrency: int, messages: int, pipe: Connection
) -> None:
    runtime = Runtime(parse_config(document))
    runtime.ledger()
    with runtime.in_process_worker(concurrency=concurrency):
        pipe.send("ready")
        _wait_for_engine(runtime, messages)
        pipe.send("done")
        pipe.recv()


def canvasbridge_engine(
    messages: int, concurrency: int, ledger_url: str, source_workers: int = 2, *, split: bool = False
) -> Run:
    """canvasbridge: pre-load the source queue, then time consume → … → ledger succeeded, the
    worker in this process or (``split``) in a process of its own, as ``canvasbridge worker``."""
    exchange, source_queue, celery_queue = (
        f"bench-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("ex", "in", "cel")
    )
    os.environ["CB_BENCH_AMQP_PASSWORD"] = "guest"
    document = _engine_document(ledger_url, concurrency, source_workers, exchange, source_queue, celery_queue)
    connection = pika.BlockingConnection(pika.URLParameters(PIKA_URL))
    channel = connection.channel()
    channel.exchange_declare(exchange, "topic", durable=False)
    channel.queue_declare(source_queue, durable=True)
    channel.queue_bind(source_queue, exchange, "bench.#")
    for i in range(messages):
        channel.basic_publish(exchange, "bench.noop", str(i).encode())
    connection.close()

    runtime = Runtime(parse_config(document))
    runtime.ledger()
    stop = threading.Event()
    consumer = threading.Thread(target=runtime.consume, args=(stop,), daemon=True)

    def timed(wait: Callable[[], None], worker_pid: int | None = None) -> Run:
        cpu = _cpu_now(worker_pid)
        start = time.perf_counter()
        consumer.start()
        wait()
        elapsed = time.perf_counter() - start
        run = Run(messages / elapsed, _cpu_per_message(cpu, messages, worker_pid))
        stop.set()  # the consumer first: with it still running, the in-process worker's shutdown stalled
        consumer.join(timeout=30)
        return run

    if split:
        with _WorkerProcess(_engine_worker_process, document, concurrency, messages) as worker:
            run = timed(lambda: worker.expect("done"), worker.process.pid)
    else:
        with runtime.in_process_worker(concurrency=concurrency):
            run = timed(lambda: _wait_for_engine(runtime, messages))
    for queue in (source_queue, celery_queue):
        _delete_queue(queue)
    return run


def _delete_queue(name: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(PIKA_URL))
    connection.channel().queue_delete(name)
    connection.close()


# --smoke: a few seconds, to show the benchmark still runs end to end (CI runs it)
SMOKE = {"messages": 50, "concurrency": 2}


def main(argv: list[str] | None = None) -> int:
    """Runs both pipelines and prints the table. A run ends only once every call succeeded;
    one that stalls (a call failed, nothing left to run) raises after ``STALL_S``."""
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
    parser.add_argument(
        "--topology",
        choices=["processes", "one-process", "both"],
        default="both",
        help="processes: the worker in a process of its own, as deployed (publisher or consumer in "
        "another); one-process: everything in one interpreter; both (default): each, in turn",
    )
    parser.add_argument("--smoke", action="store_true", help=f"smoke sizes (seconds; CI runs it): {SMOKE}")
    args = parser.parse_args(argv)
    if args.smoke:  # smoke sizes as defaults: options given still win
        parser.set_defaults(**SMOKE)
        args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error("--messages must be at least 1")
    if args.switch_interval_ms is not None:
        sys.setswitchinterval(args.switch_interval_ms / 1000)
    topologies = {"processes": [True], "one-process": [False], "both": [True, False]}[args.topology]
    table = Table(
        title=f"Engine overhead: {args.messages} messages, concurrency {args.concurrency}",
        caption="raw: send_task + no-op task, RabbitMQ with confirms; canvasbridge: AMQP → route → "
        "parse → ledger → Celery → worker → ledger. CPU per message in the timed window "
        "(Python: the benchmark's process and, with processes, the worker's).",
    )
    table.add_column("pipeline")
    table.add_column("messages/s", justify="right")
    for name in ("Python", "RabbitMQ", "PostgreSQL", "total"):
        table.add_column(f"CPU ms/msg {name}", justify="right")
    for split in topologies:
        raw = raw_celery(args.messages, args.concurrency, split=split)
        with _scratch_database() as ledger_url:
            ours = canvasbridge_engine(
                args.messages, args.concurrency, ledger_url, args.source_workers, split=split
            )
        where = "worker process of its own" if split else "all in one process"
        for label, run in ((f"raw Celery, {where}", raw), (f"canvasbridge, {where}", ours)):
            cpu = [f"{value:.2f}" for value in run.cpu_ms.values()]
            table.add_row(label, f"{run.rate:,.0f}", *cpu, f"{sum(run.cpu_ms.values()):.2f}")
        table.add_row("ratio", f"{ours.rate / raw.rate:.2f}×  (goal ≥ 0.70×)", end_section=True)
    console = Console(width=max(Console().width, 110))
    console.print(table)
    console.print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    return 0


@contextlib.contextmanager
def _scratch_database() -> Iterator[str]:
    """A new PostgreSQL database for one run's ledger, dropped afterwards."""
    database = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    try:
        yield POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{database}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
