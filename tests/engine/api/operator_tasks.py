"""Tasks for the admin API tests, referenced by import path from their configs.

``mendable`` fails permanently until someone "fixes the data" by creating
``<effects_dir>/<key>.fixed``: the shape of a real dead letter an operator requeues after
correcting the source. ``touch_user`` is a sync task taking only its key; it writes to the
directory named in ``systems.effects.dir``.
"""

from __future__ import annotations

from pathlib import Path

from canvasbridge.engine import TaskContext
from canvasbridge.errors import PermanentError


def mendable(ctx: TaskContext, key: str, effects_dir: str) -> dict[str, object]:
    directory = Path(effects_dir)
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "runs.log").open("a") as handle:
        handle.write(f"{key} {ctx.attempt}\n")
    if not (directory / f"{key}.fixed").exists():
        raise PermanentError(f"{key} is missing its home account in the source")
    return {"key": key}


def touch_user(ctx: TaskContext, username: str) -> dict[str, str]:
    directory = Path(ctx.sections["systems"]["effects"]["dir"])
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "synced.log").open("a") as handle:
        handle.write(username + "\n")
    return {"username": username}
