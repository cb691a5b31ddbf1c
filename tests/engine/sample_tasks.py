"""Tasks and parsers used by the engine tests (referenced by import path from test configs).

Side effects go to files under the directory named by ``CB_TEST_EFFECTS`` (or the
``effects_dir`` parameter), so a test in another process can see them.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from canvasbridge.engine import BatchFailures, BatchItem, Envelope, TaskCall, TaskContext
from canvasbridge.errors import MessageError, PermanentError, TransientError


def _effects(directory: str) -> Path:
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _count(directory: str, name: str) -> int:
    marker = _effects(directory) / f"{name}.count"
    number = int(marker.read_text()) + 1 if marker.exists() else 1
    marker.write_text(str(number))
    return number


def record(ctx: TaskContext, key: str, effects_dir: str) -> dict[str, object]:
    """Append ``key`` to ``effects.log``: one line per execution."""
    with (_effects(effects_dir) / "effects.log").open("a") as handle:
        handle.write(key + "\n")
    return {"key": key, "attempt": ctx.attempt}


def record_pid(ctx: TaskContext, key: str, effects_dir: str) -> None:
    """Append ``key`` to ``<pid>.log``: which worker process ran which call."""
    with (_effects(effects_dir) / f"{os.getpid()}.log").open("a") as handle:
        handle.write(key + "\n")


def hold(ctx: TaskContext, key: str, effects_dir: str, seconds: float) -> None:
    """Write ``start``/``end`` lines with the time around a ``seconds`` pause, to ``<key>.runs``."""
    import time

    runs = _effects(effects_dir) / f"{key}.runs"
    with runs.open("a") as handle:
        handle.write(f"start {time.monotonic()}\n")
    time.sleep(seconds)
    with runs.open("a") as handle:
        handle.write(f"end {time.monotonic()}\n")


def hold_object(ctx: TaskContext, obj: str, key: str, effects_dir: str, seconds: float) -> None:
    """Hold ``object:<obj>``, then like :func:`hold` write ``start``/``end`` (with ``key``) to ``<obj>.runs``."""
    import time

    ctx.hold(f"object:{obj}")
    runs = _effects(effects_dir) / f"{obj}.runs"
    with runs.open("a") as handle:
        handle.write(f"start {key}\n")
    time.sleep(seconds)
    with runs.open("a") as handle:
        handle.write(f"end {key}\n")


def flaky(ctx: TaskContext, key: str, effects_dir: str, failures: int) -> dict[str, int]:
    """Fail transiently ``failures`` times, then succeed; attempt times go to ``<key>.times``."""
    import time

    with (_effects(effects_dir) / f"{key}.times").open("a") as handle:
        handle.write(f"{time.monotonic()}\n")
    attempt = _count(effects_dir, key)
    if attempt <= failures:
        raise TransientError(f"simulated outage {attempt}/{failures}")
    return {"attempts": attempt}


def gather_and_fail(ctx: TaskContext, key: str, lead: bool) -> None:
    """The ``lead`` call gathers the other pending calls of its task (once) and always fails
    transiently; the others succeed when they run on their own."""
    if not lead:
        return
    if ctx.attempt == 1:
        ctx.gather([c.id for c in ctx.pending_calls(limit=100)])
    raise TransientError(f"simulated outage at the upload, attempt {ctx.attempt}")


def fail_once_at_gate(ctx: TaskContext, key: str, effects_dir: str) -> dict[str, int]:
    """Write ``<key>.started``, wait for ``<key>.gate``; the first run then fails transiently."""
    import time

    directory = _effects(effects_dir)
    attempt = _count(effects_dir, key)
    (directory / f"{key}.started").touch()
    while not (directory / f"{key}.gate").exists():
        time.sleep(0.02)
    if attempt == 1:
        raise TransientError("simulated outage on the first run")
    return {"run": attempt}


def spin(ctx: TaskContext, key: str, effects_dir: str, seconds: float) -> dict[str, int]:
    """Work in Python for ``seconds`` (short sleeps, so an interruption lands at once)."""
    import time

    attempt = _count(effects_dir, key)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.01)
    return {"attempt": attempt}


def broken(ctx: TaskContext, key: str, effects_dir: str) -> None:
    _count(effects_dir, key)
    raise PermanentError(f"object {key} is missing in the source")


def kill_worker(ctx: TaskContext, key: str, effects_dir: str, times: int) -> dict[str, int]:
    """SIGKILL the worker process on the first ``times`` executions (-1: always)."""
    attempt = _count(effects_dir, key)
    if times < 0 or attempt <= times:
        os.kill(os.getpid(), signal.SIGKILL)
    return {"attempts": attempt}


def parse_json(envelope: Envelope) -> list[TaskCall]:
    """Body ``{"task": ..., "params": {...}}`` → one call; anything else is a MessageError."""
    data = envelope.json()
    if not isinstance(data, dict) or "task" not in data:
        raise MessageError("body must be an object with a 'task' key")
    return [TaskCall(str(data["task"]), dict(data.get("params", {})))]


def parse_nothing(envelope: Envelope) -> list[TaskCall]:
    return []


def dump(data: object) -> bytes:
    return json.dumps(data).encode()


def record_in_postgres(ctx: TaskContext, key: str, db_url: str) -> None:
    """Insert ``key`` into the ``effects`` table (created by the test) of the database at ``db_url``."""
    import sqlalchemy as sa

    engine = ctx.resource(f"pg:{db_url}", lambda: sa.create_engine(db_url))
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO effects (key) VALUES (:key)"), {"key": key})


def batch_record(ctx: TaskContext, items: list[BatchItem]) -> dict[str, object]:
    """A batch task: each item ``{key, effects_dir, fail?}`` appends ``key attempt`` to
    ``batch.log``. ``fail: permanent`` fails the item until ``<effects_dir>/fixed`` exists;
    ``fail: transient`` fails it transiently on the batch's first attempt."""
    failures: dict[int, BaseException] = {}
    for item in items:
        directory = str(item.params["effects_dir"])
        with (_effects(directory) / "batch.log").open("a") as handle:
            handle.write(f"{item.params['key']} {ctx.attempt}\n")
        fail = item.params.get("fail")
        if fail == "permanent" and not (_effects(directory) / "fixed").exists():
            failures[item.index] = PermanentError(f"item {item.params['key']} is refused")
        elif fail == "transient" and ctx.attempt == 1:
            failures[item.index] = TransientError(f"item {item.params['key']}: try again")
    if failures:
        raise BatchFailures(failures)
    return {"items": len(items)}
