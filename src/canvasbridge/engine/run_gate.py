"""Running a call alone in its process, for the thread pool.

With ``pool: threads`` a worker process runs several calls at once, so when one of them
kills the process the others die with it, and nothing tells which one did. The ledger
therefore does not count a run lost beside other calls; the call runs again *alone*: it
waits until the calls running in its process have finished, and none starts until it
ends. A death during a run alone is that run's own and counts as an attempt, so a call
that kills its process still becomes a dead letter after its ``max_attempts``.

Under ``prefork`` and ``solo`` each process runs one call at a time: every run is alone,
and the gate is never asked.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class RunGate:
    """Shared runs go together; a run alone waits for them to end and holds off new ones."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = 0  # shared runs in progress
        self._alone_waiting = 0
        self._alone = False

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._changed:
            while self._alone or self._alone_waiting:
                self._changed.wait()
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                if self._alone_waiting and not self._running:
                    self._changed.notify_all()

    @contextlib.contextmanager
    def alone(self) -> Iterator[None]:
        with self._changed:
            self._alone_waiting += 1
            try:
                while self._alone or self._running:
                    self._changed.wait()
            finally:
                self._alone_waiting -= 1
            self._alone = True
        try:
            yield
        finally:
            with self._changed:
                self._alone = False
                self._changed.notify_all()
