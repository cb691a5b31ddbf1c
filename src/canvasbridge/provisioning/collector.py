"""Pausing CPython's cyclic garbage collector while a full resync builds its state.

A university resync builds about a million objects that all live until it ends: Canvas's
snapshot, FS's collections, the desired snapshot, the plan. CPython runs a full collection
whenever the objects that outlived the young generations have grown by a quarter since the
last one, so a heap growing from nothing to a million objects is scanned whole 5-12 times;
each scan took ~0.5 s of CPU at that size, about half of the service's CPU for reading FS,
deciding the courses and enrollments and planning. They find next to nothing: what a resync
builds is freed by reference counting once it is dropped (~16,000 objects in reference cycles
were left over after the university dry run).

:func:`paused` turns automatic collection off for a block and back on after it, if it was on.
Holders are counted, so nested or concurrent blocks turn it back on when the last one leaves.
Garbage in reference cycles that any thread makes meanwhile waits until then.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pause:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holders = 0
        self._was_enabled = False

    def enter(self) -> None:
        with self._lock:
            if self._holders == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._holders += 1

    def leave(self) -> None:
        with self._lock:
            self._holders -= 1
            if self._holders == 0 and self._was_enabled:
                gc.enable()


_PAUSE = _Pause()


@contextmanager
def paused() -> Iterator[None]:
    """No automatic cyclic garbage collection in this process while the block runs."""
    _PAUSE.enter()
    try:
        yield
    finally:
        _PAUSE.leave()
