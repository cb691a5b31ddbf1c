"""The no-op task and parser the engine benchmark routes messages to."""

from __future__ import annotations

import threading

from canvasbridge.engine import Envelope, TaskCall, TaskContext

#: released once per run, so the benchmark can wait as cheaply as raw Celery's no-op does
RAN = threading.Semaphore(0)


def noop(ctx: TaskContext, n: int) -> None:
    """Does nothing: the benchmark measures the engine around it."""
    RAN.release()


def parse(envelope: Envelope) -> list[TaskCall]:
    return [TaskCall("noop", {"n": int(envelope.text())})]
