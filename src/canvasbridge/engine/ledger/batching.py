"""Group commit: many threads' writes to the ledger go to the database in one statement batch.

A worker running tasks on many threads claims and finishes calls at the same moments. Each
write alone costs a round trip and a statement's overhead in the driver, which is most of
the engine's cost per task. :class:`GroupCommit` queues a caller's item; one caller at a time
(the writer) writes everything queued. While it writes, later callers queue up and sleep,
each on a lock of its own; when the batch is written the writer wakes the callers it served
and hands its role to the first caller still queued, so under load one batch serves many
callers and every caller is woken once. A lone caller writes its own item at once, on its
own thread: nothing is delayed on purpose and no thread is handed the work (a hand-off costs
more than a small statement).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 200  # items written by one statement batch at most


class _Entry(Generic[T, R]):
    __slots__ = ("done", "error", "item", "result", "wake")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None
        self.wake = threading.Lock()  # held until the caller may go on: done, or its turn to write
        self.wake.acquire()


class GroupCommit(Generic[T, R]):
    def __init__(
        self, flush: Callable[[Sequence[T]], Sequence[R]], *, name: str, max_batch: int = MAX_BATCH
    ) -> None:
        self._flush = flush
        self.name = name
        self._max_batch = max_batch
        self._pending: list[_Entry[T, R]] = []
        self._lock = threading.Lock()  # guards _pending and _writing
        self._writing = False  # a caller is the writer

    def __call__(self, item: T) -> R:
        """Write ``item`` with whatever else is waiting; its result, or the flush's exception."""
        entry: _Entry[T, R] = _Entry(item)
        with self._lock:
            self._pending.append(entry)
            writer = not self._writing
            self._writing = True
        if not writer:
            entry.wake.acquire()  # the writer wakes this caller once: served, or the writer now
        while not entry.done:
            self._write_batch(entry)
        if entry.error is not None:
            raise entry.error
        return entry.result  # type: ignore[return-value]

    def _write_batch(self, own: _Entry[T, R]) -> None:
        """Write the oldest queued items; wake their callers, and once ``own`` is written hand
        the writer's role to the first caller still queued."""
        with self._lock:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
        try:
            results = self._flush([entry.item for entry in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"{self.name}: {len(results)} results for {len(batch)} items")
        except BaseException as exc:  # every caller of this batch gets the failure
            for entry in batch:
                entry.error = exc
                entry.done = True
        else:
            for entry, result in zip(batch, results, strict=True):
                entry.result = result
                entry.done = True
        successor = None
        if own.done:
            with self._lock:
                if self._pending:
                    successor = self._pending[0]
                else:
                    self._writing = False
        for entry in batch:
            if entry is not own:
                entry.wake.release()
        if successor is not None:
            successor.wake.release()
