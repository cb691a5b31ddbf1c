"""Group commit: many threads' writes to the ledger go to the database in one statement.

A worker running tasks on many threads claims and finishes calls at the same moments. Each
write alone costs a round trip and a statement's overhead in the driver, which is most of
the engine's cost per task. :class:`GroupCommit` lets a caller hand over its item and wait;
one background thread writes whatever has accumulated while the previous write ran, so a
lone caller waits no longer than before, and under load one statement serves many callers.
Nothing is delayed on purpose: there is no timer, only the natural batch.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH = 200  # items written by one statement at most


class GroupCommit(Generic[T, R]):
    def __init__(
        self, flush: Callable[[Sequence[T]], Sequence[R]], *, name: str, max_batch: int = MAX_BATCH
    ) -> None:
        self._flush = flush
        self._name = name
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[T, Future[R]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pid = 0

    def __call__(self, item: T) -> R:
        """Write ``item`` with whatever else is waiting; its result, or the flush's exception."""
        self._ensure_thread()
        future: Future[R] = Future()
        self._queue.put((item, future))
        return future.result()

    def _ensure_thread(self) -> None:
        # A forked worker process inherits the object but not the thread.
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()
                threading.Thread(target=self._run, name=f"ledger-{self._name}", daemon=True).start()
                self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            items = [item for item, _ in batch]
            try:
                results = self._flush(items)
            except BaseException as exc:  # every waiting caller gets the failure
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)
