"""Waiting for a Canvas SIS import or account report with as few status calls as possible.

Every status call counts against the API budget, so instead of polling at a fixed interval
the waits grow geometrically (``first_s``, then ×``factor``, at most ``cap_s``). When Canvas
reports a ``progress`` between 0 and 100, the next wait is the estimated time left instead,
when that is shorter: from the progress made since the previous reading. Early progress says
little (a job may read its files at 0 %, or do its slowest rows first), so the first estimate
waits no longer than the time waited so far, and later ones no longer than the growing wait.
A job of *T* seconds therefore costs about ``log_factor(T / first_s) + 1`` status calls at
most, and one that reports its progress is noticed soon after it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from canvasbridge.errors import TransientError

DEFAULT_FACTOR = 3.0  # each wait this much longer than the last
DEFAULT_CAP_S = 60.0  # never wait longer than this between two status calls


def wait_until(
    fetch: Callable[[], Mapping[str, Any]],
    finished: Callable[[Mapping[str, Any]], bool],
    *,
    what: str,
    first_s: float,
    timeout_s: float,
    factor: float = DEFAULT_FACTOR,
    cap_s: float = DEFAULT_CAP_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Mapping[str, Any]:
    """Call ``fetch`` after growing pauses until ``finished`` says so; transient error on timeout."""
    started = clock()
    wait = first_s
    reading: tuple[float, float] | None = None  # (elapsed, progress) when progress was last reported
    while True:
        sleep(wait)
        state = fetch()
        if finished(state):
            return state
        elapsed = clock() - started
        if elapsed > timeout_s:
            raise TransientError(f"{what} still not finished after {elapsed:.0f}s (state {state!r:.200})")
        progress = state.get("progress")
        if isinstance(progress, int | float) and 0 < progress < 100:
            wait = _estimate(elapsed, float(progress), reading, wait * factor)
            reading = (elapsed, float(progress))
        else:
            wait *= factor
        wait = max(first_s, min(wait, cap_s, timeout_s - elapsed + first_s))


def _estimate(elapsed: float, progress: float, reading: tuple[float, float] | None, longest: float) -> float:
    """Seconds left at the rate since the previous reading (or since the start, then at most
    ``elapsed``); ``longest`` when the job has not moved."""
    if reading is None:
        return min(elapsed * (100 - progress) / progress, elapsed)
    then, before = reading
    if progress <= before or elapsed <= then:
        return longest
    return min((elapsed - then) * (100 - progress) / (progress - before), longest)
