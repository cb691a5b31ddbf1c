"""Group commit: many threads' writes to the ledger go to the database in one statement batch.

A worker running tasks on many threads claims and finishes calls at the same moments. Each
write alone costs a round trip and a statement's overhead in the driver, which is most of
the engine's cost per task. :class:`GroupCommit` queues a caller's item and lets one caller
at a time write everything queued (flat combining): while it writes, later callers queue
up, and the next one to get the turn writes them all together, so under load one batch
serves many callers. A lone caller writes its own item at once, on its own thread: nothing
is delayed on purpose and no thread is handed the work (a hand-off costs more than a small
statement).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 200  # items written by one statement batch at most


class _Entry(Generic[T, R]):
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    def __init__(
        self, flush: Callable[[Sequence[T]], Sequence[R]], *, name: str, max_batch: int = MAX_BATCH
    ) -> None:
        self._flush = flush
        self.name = name
        self._max_batch = max_batch
        self._pending: list[_Entry[T, R]] = []
        self._pending_lock = threading.Lock()
        self._turn = threading.Lock()  # held by the caller writing a batch

    def __call__(self, item: T) -> R:
        """Write ``item`` with whatever else is waiting; its result, or the flush's exception."""
        entry: _Entry[T, R] = _Entry(item)
        with self._pending_lock:
            self._pending.append(entry)
        while not entry.done:
            with self._turn:
                if not entry.done:  # nobody wrote it while this caller waited for its turn
                    self._write_pending()
        if entry.error is not None:
            raise entry.error
        return entry.result  # type: ignore[return-value]

    def _write_pending(self) -> None:
        with self._pending_lock:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
        try:
            results = self._flush([entry.item for entry in batch])
        except BaseException as exc:  # every caller of this batch gets the failure
            for entry in batch:
                entry.error = exc
                entry.done = True
            return
        for entry, result in zip(batch, results, strict=True):
            entry.result = result
            entry.done = True
