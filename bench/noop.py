"""The no-op task and parser the engine benchmark routes messages to."""

from __future__ import annotations

from canvasbridge.engine import Envelope, TaskCall, TaskContext


def noop(ctx: TaskContext, n: int) -> None:
    """Does nothing: the benchmark measures the engine around it."""


def parse(envelope: Envelope) -> list[TaskCall]:
    return [TaskCall("noop", {"n": int(envelope.text())})]
