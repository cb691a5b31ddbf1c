"""The parser and task deploy/check-image runs in the image: a message ``probe.N`` becomes one
call of ``probe`` that answers with the name of the container whose worker ran it."""

from __future__ import annotations

import socket
import time

from canvasbridge.engine import Envelope, TaskCall, TaskContext


def parse(envelope: Envelope) -> list[TaskCall]:
    return [TaskCall("probe", {"n": int(envelope.text())})]


def run(ctx: TaskContext, n: int) -> dict[str, object]:
    time.sleep(0.2)  # long enough that both workers get a share of the messages
    return {"n": n, "worker": socket.gethostname()}
