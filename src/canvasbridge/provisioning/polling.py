"""Waiting for a Canvas SIS import or account report with as few status calls as possible.

Every status call counts against the API budget, so instead of polling at a fixed interval
the waits grow geometrically (``first_s``, then ×``factor``, at most ``cap_s``); when Canvas
reports a ``progress`` between 0 and 100 the next wait is the estimated time left instead.
A job of *T* seconds therefore costs about ``log_factor(T / first_s) + 1`` status calls.
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
            wait = elapsed * (100 - progress) / progress
        else:
            wait *= factor
        wait = max(first_s, min(wait, cap_s, timeout_s - elapsed + first_s))
