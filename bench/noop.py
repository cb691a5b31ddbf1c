"""The no-op tasks and parsers the benchmarks route messages to: ``parse``/``noop`` for the engine
benchmark, ``parse_timed``/``noop_timed`` (calls that carry their send time) for the soak."""

from __future__ import annotations

import json
import threading

from canvasbridge.engine import Envelope, TaskCall, TaskContext

#: released once per run, so the benchmark can wait as cheaply as raw Celery's no-op does
RAN = threading.Semaphore(0)


def noop(ctx: TaskContext, n: int) -> None:
    """Does nothing: the benchmark measures the engine around it."""
    RAN.release()


def parse(envelope: Envelope) -> list[TaskCall]:
    return [TaskCall("noop", {"n": int(envelope.text())})]


def noop_timed(ctx: TaskContext, n: int, sent: float) -> None:
    """Does nothing: the soak benchmark reads each call's latency from the ledger (``sent`` →
    ``finished_at``)."""


def parse_timed(envelope: Envelope) -> list[TaskCall]:
    body = json.loads(envelope.text())
    return [TaskCall("noop_timed", {"n": int(body["n"]), "sent": float(body["sent"])})]
