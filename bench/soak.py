"""Soak: ``canvasbridge consume``, two ``canvasbridge worker``s and ``canvasbridge api``, each a
process of its own on RabbitMQ and PostgreSQL, fed a steady message rate for a long time.

    .venv/bin/python -m bench.soak [--minutes 30] [--rate 100] [--window-s 300] [--warmup-s 60]
    .venv/bin/python -m bench.soak --smoke     # 45 s in 15 s windows: what CI runs

Per window (by send time) it reports messages sent, latency p50/p99/max (publish → success
recorded in the ledger), the RSS of each process, and the largest backlog seen: source
queue, task queue (from the API's ``/stats``) and pending calls in the ledger. The API is
asked for ``/stats`` and ``/health/ready`` at every sample, as a monitor would.

Goals, checked after warm-up: the RSS of each process within 10 % of its value at the end
of warm-up; the backlog flat (never more than 5 s of traffic waiting). Completion, checked
always: every message has exactly one call, succeeded at its first attempt; nothing parked;
every API request answered 200; every process alive to the end and exiting 0 on SIGTERM.
Exit code 1 if completion fails; 2 if a goal is missed (never for ``--smoke``, whose short
windows say nothing about leaks). Needs RabbitMQ on 127.0.0.1:5672 and PostgreSQL on
127.0.0.1:5432; a scratch database, exchange and queues per run are removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pika
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from bench.engine import PIKA_URL, _scratch_database

ROOT = Path(__file__).resolve().parent.parent
CANVASBRIDGE = str(Path(sys.executable).with_name("canvasbridge"))
RSS_TOLERANCE = 0.10  # a process's RSS may move this far from its post-warm-up value
BACKLOG_LIMIT_S = 5.0  # "flat": never more than this many seconds of traffic waiting
PENDING = ("queued", "running", "retrying")


@dataclass
class Sample:
    at: float  # seconds since the first message was sent
    rss_mib: dict[str, float]
    source_depth: int
    task_depth: int
    pending: int

    @property
    def backlog(self) -> int:
        return self.source_depth + self.task_depth + self.pending


@dataclass
class Soak:
    rate: float
    seconds: float
    window_s: float
    warmup_s: float
    sample_s: float
    name: str = field(default_factory=lambda: f"soak-{uuid.uuid4().hex[:8]}")
    samples: list[Sample] = field(default_factory=list)
    api_failures: list[str] = field(default_factory=list)
    sent: int = 0
    started: float = 0.0  # time.time() of the first send


def _config(soak: Soak, ledger_url: str, port: int) -> dict[str, Any]:
    return {
        "backends": {
            "broker_url": "amqp://guest@127.0.0.1:5672//",
            "broker_password": {"env": "SOAK_AMQP_PASSWORD"},
            "ledger_url": ledger_url,
            "queue": f"{soak.name}-tasks",
        },
        "worker": {"pool": "threads", "concurrency": 4},
        "log": {"level": "WARNING"},
        "admin": {
            "host": "127.0.0.1",
            "port": port,
            "tokens": [{"name": "soak", "role": "read", "token": {"env": "SOAK_ADMIN_TOKEN"}}],
        },
        "sources": [
            {
                "type": "amqp",
                "name": "soak",
                "url": "amqp://guest@127.0.0.1:5672/%2F",
                "password": {"env": "SOAK_AMQP_PASSWORD"},
                "prefetch": 200,
                "exchanges": [{"name": soak.name, "durable": False}],
                "queues": [
                    {
                        "name": f"{soak.name}-in",
                        "bindings": [{"exchange": soak.name, "routing_keys": ["soak.#"]}],
                    }
                ],
            }
        ],
        "routes": [
            {
                "name": "soak",
                "source": "soak",
                "match": {"routing_key": "^soak\\."},
                "parser": "bench.noop:parse_timed",
            }
        ],
        "tasks": {"noop_timed": {"path": "bench.noop:noop_timed"}},
    }


class Processes:
    """The four canvasbridge processes, started with one configuration, logs in ``directory``."""

    def __init__(self, config: Path, env: dict[str, str], directory: Path) -> None:
        self.config, self.env, self.directory = config, env, directory
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, role: str, *args: str) -> None:
        log = (self.directory / f"{role}.log").open("wb")
        self.running[role] = subprocess.Popen(
            [CANVASBRIDGE, *args, "--config", str(self.config)],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def rss_mib(self) -> dict[str, float]:
        return {role: _rss_kib(process.pid) / 1024 for role, process in self.running.items()}

    def dead(self) -> list[str]:
        return [role for role, process in self.running.items() if process.poll() is not None]

    def stop(self) -> dict[str, int | None]:
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for role, process in self.running.items():
            try:
                codes[role] = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[role] = None
        return codes

    def tail(self, role: str, lines: int = 20) -> str:
        text = (self.directory / f"{role}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def _rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # exited: the soak's main loop notices and fails
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(what: str, predicate: Any, timeout_s: float, processes: Processes) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if dead := processes.dead():
            raise RuntimeError(f"{dead} exited while waiting for {what}:\n{processes.tail(dead[0])}")
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _consumers(queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(PIKA_URL))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.consumer_count)
    finally:
        if connection.is_open:
            connection.close()


def _publish(soak: Soak, stop: threading.Event) -> None:
    """Send at ``soak.rate`` messages/s, each slot at its planned time (no catching up in bursts
    beyond a late slot), with publisher confirms, until ``soak.seconds`` have passed."""
    connection = pika.BlockingConnection(pika.URLParameters(PIKA_URL))
    channel = connection.channel()
    channel.confirm_delivery()
    soak.started = time.time()
    start = time.monotonic()
    total = int(soak.rate * soak.seconds)
    for n in range(total):
        if stop.is_set():
            break
        delay = start + n / soak.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        body = json.dumps({"n": n, "sent": time.time()}).encode()
        channel.basic_publish(soak.name, f"soak.{n}", body, mandatory=True)
        soak.sent = n + 1
    connection.close()


def _sample(soak: Soak, processes: Processes, api: httpx.Client, stop: threading.Event) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(PIKA_URL))
    channel = connection.channel()
    while not stop.wait(soak.sample_s):
        rss = processes.rss_mib()
        source_depth = int(channel.queue_declare(f"{soak.name}-in", passive=True).method.message_count)
        stats: dict[str, Any] = {}
        for path in ("/health/ready", "/stats"):
            try:
                response = api.get(path)
            except httpx.HTTPError as exc:
                soak.api_failures.append(f"{path}: {type(exc).__name__}: {exc}")
                continue
            if response.status_code != 200:
                soak.api_failures.append(f"{path}: HTTP {response.status_code} {response.text[:200]}")
            elif path == "/stats":
                stats = response.json()
        by_state = stats.get("by_state", {})
        soak.samples.append(
            Sample(
                at=time.time() - soak.started,
                rss_mib=rss,
                source_depth=source_depth,
                task_depth=int(stats.get("queue_depth") or 0),
                pending=sum(int(by_state.get(state, 0)) for state in PENDING),
            )
        )
    connection.close()


@dataclass
class DispatchOutcome:
    latencies: list[tuple[float, float]]  # (send time since start, seconds to success)
    problems: list[str]


def _read_ledger(soak: Soak, ledger: sa.Engine) -> DispatchOutcome:
    problems: list[str] = []
    with ledger.connect() as conn:
        rows = conn.execute(sa.text("SELECT params, state, attempts, finished_at FROM task_calls")).all()
        parked = conn.execute(sa.text("SELECT count(*) FROM parked_messages")).scalar_one()
    seen: set[int] = set()
    latencies = []
    not_clean = 0
    for params, state, attempts, finished_at in rows:
        values = json.loads(params)
        seen.add(values["n"])
        if state != "succeeded" or attempts != 1:
            not_clean += 1
            continue
        latencies.append((values["sent"] - soak.started, finished_at.timestamp() - values["sent"]))
    if len(rows) != soak.sent or len(seen) != soak.sent:
        problems.append(f"{soak.sent} messages sent, {len(rows)} calls in the ledger for {len(seen)} of them")
    if not_clean:
        problems.append(f"{not_clean} calls not succeeded at their first attempt")
    if parked:
        problems.append(f"{parked} messages parked")
    return DispatchOutcome(sorted(latencies), problems)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(soak: Soak) -> tuple[DispatchOutcome, dict[str, int | None], int]:
    """Start everything, soak, drain, stop; the ledger's outcome, exit codes, database bytes."""
    token = uuid.uuid4().hex
    port = _free_port()
    env = {**os.environ, "SOAK_AMQP_PASSWORD": "guest", "SOAK_ADMIN_TOKEN": token}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with (
        _scratch_database() as ledger_url,
        tempfile.TemporaryDirectory(prefix=f"{soak.name}-") as scratch,
        contextlib.ExitStack() as cleanup,
    ):
        config = Path(scratch) / "canvasbridge.yaml"
        config.write_text(json.dumps(_config(soak, ledger_url, port)))  # JSON is YAML
        processes = Processes(config, env, Path(scratch))
        cleanup.callback(_delete_broker_objects, soak.name)
        cleanup.callback(processes.stop)
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"})
        cleanup.callback(api.close)

        # the API first: its readiness check opens (and so migrates) the ledger
        processes.start("api", "api")
        _wait("the API's /health/ready", lambda: api.get("/health/ready").status_code == 200, 120, processes)
        processes.start("worker-1", "worker")
        processes.start("worker-2", "worker")
        processes.start("consume", "consume")
        _wait("two workers on the task queue", lambda: _consumers(f"{soak.name}-tasks") == 2, 120, processes)
        _wait("the consumer on the source queue", lambda: _consumers(f"{soak.name}-in") >= 1, 120, processes)

        stop = threading.Event()
        publisher = threading.Thread(target=_publish, args=(soak, stop), name="publisher")
        sampler = threading.Thread(target=_sample, args=(soak, processes, api, stop), name="sampler")
        publisher.start()
        while not soak.started:
            time.sleep(0.01)
        sampler.start()
        ledger = sa.create_engine(ledger_url)
        cleanup.callback(ledger.dispose)
        try:
            while publisher.is_alive():
                publisher.join(timeout=1)
                if dead := processes.dead():
                    raise RuntimeError(f"{dead} exited during the soak:\n{processes.tail(dead[0])}")

            def settled() -> bool:
                with ledger.connect() as conn:
                    states = dict(
                        conn.execute(sa.text("SELECT state, count(*) FROM task_calls GROUP BY state")).all()
                    )
                return sum(states.values()) >= soak.sent and not any(states.get(s) for s in PENDING)

            _wait("the last calls to finish", settled, 120, processes)
        finally:
            stop.set()
            publisher.join()
            sampler.join()
        outcome = _read_ledger(soak, ledger)
        with ledger.connect() as conn:
            database_bytes = int(
                conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
            )
        ledger.dispose()
        codes = processes.stop()
    return outcome, codes, database_bytes


def _delete_broker_objects(name: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(PIKA_URL))
    for queue in (f"{name}-in", f"{name}-tasks"):
        connection.channel().queue_delete(queue)
    connection.channel().exchange_delete(name)
    connection.close()


def _report(soak: Soak, outcome: DispatchOutcome, database_bytes: int, console: Console) -> list[str]:
    """Print the per-window table; return the goals missed."""
    roles = list(soak.samples[0].rss_mib) if soak.samples else []
    table = Table(
        title=f"Soak: {soak.rate:g} messages/s for {soak.seconds / 60:g} min, windows of {soak.window_s:g} s "
        f"(warm-up {soak.warmup_s:g} s)",
        caption="latency: publish → success recorded in the ledger; backlog: the largest sampled source "
        "queue + task queue + pending calls; RSS in MiB at the window's last sample",
    )
    for column in (
        "window",
        "sent",
        "p50 ms",
        "p99 ms",
        "max ms",
        "backlog max",
        *(f"RSS {r}" for r in roles),
    ):
        table.add_column(column, justify="right")
    windows = max(1, int(-(-soak.seconds // soak.window_s)))
    for k in range(windows):
        low, high = k * soak.window_s, (k + 1) * soak.window_s
        latencies = [1000 * lat for sent, lat in outcome.latencies if low <= sent < high]
        samples = [s for s in soak.samples if low <= s.at < high]
        cells = [f"{_percentile(latencies, q):.0f}" for q in (0.5, 0.99, 1.0)] if latencies else ["-"] * 3
        rss = [f"{samples[-1].rss_mib[r]:.1f}" for r in roles] if samples else ["-"] * len(roles)
        backlog = str(max(s.backlog for s in samples)) if samples else "-"
        table.add_row(f"{low:g}-{high:g} s", str(len(latencies)), *cells, backlog, *rss)
    console.print(table)

    missed = []
    after = [s for s in soak.samples if s.at >= soak.warmup_s]
    if not after:
        return ["no samples after warm-up"]
    baseline = after[0].rss_mib
    for role in roles:
        worst = max(abs(s.rss_mib[role] - baseline[role]) / baseline[role] for s in after)
        verdict = "met" if worst <= RSS_TOLERANCE else "MISSED"
        console.print(
            f"RSS {role}: {baseline[role]:.1f} MiB after warm-up, at most {100 * worst:.1f} % away later "
            f"(goal ≤ {100 * RSS_TOLERANCE:.0f} %): {verdict}"
        )
        if worst > RSS_TOLERANCE:
            missed.append(f"RSS of {role}")
    backlog = max(s.backlog for s in after)
    limit = soak.rate * BACKLOG_LIMIT_S
    verdict = "met" if backlog <= limit else "MISSED"
    console.print(
        f"backlog after warm-up: at most {backlog} (goal ≤ {limit:.0f}, {BACKLOG_LIMIT_S:g} s of traffic): {verdict}"
    )
    if backlog > limit:
        missed.append("flat backlog")
    console.print(
        f"ledger database: {database_bytes / 2**20:.1f} MiB, {database_bytes / max(soak.sent, 1):.0f} bytes per call"
    )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long messages are sent")
    parser.add_argument("--rate", type=float, default=100.0, help="messages per second")
    parser.add_argument("--window-s", type=float, default=300.0, help="report window, seconds")
    parser.add_argument("--warmup-s", type=float, default=60.0, help="RSS baseline is taken after this")
    parser.add_argument(
        "--sample-s", type=float, default=10.0, help="how often RSS, queues and /stats are read"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="45 s, 15 s windows, 10 s warm-up, samples every 2 s"
    )
    args = parser.parse_args()
    if args.smoke:
        args.minutes, args.window_s, args.warmup_s, args.sample_s = 0.75, 15.0, 10.0, 2.0
    soak = Soak(args.rate, args.minutes * 60, args.window_s, args.warmup_s, args.sample_s)
    console = Console(width=max(Console().width, 120))
    try:
        outcome, codes, database_bytes = run(soak)
    except RuntimeError as exc:
        console.print(f"soak FAILED: {exc}")
        return 1
    missed = _report(soak, outcome, database_bytes, console)
    problems = list(outcome.problems)
    problems += [f"API: {failure}" for failure in soak.api_failures[:5]]
    problems += [f"{role} exited with {code} on SIGTERM" for role, code in codes.items() if code != 0]
    console.print(
        f"{soak.sent} messages sent, {len(outcome.latencies)} calls succeeded at their first attempt; "
        f"{len(soak.api_failures)} failed API requests; exit codes {codes}"
    )
    console.print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}"
    )
    if problems:
        console.print("soak FAILED:\n  " + "\n  ".join(problems))
        return 1
    if missed and not args.smoke:
        console.print(f"goals missed: {', '.join(missed)}")
        return 2
    console.print("soak passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
