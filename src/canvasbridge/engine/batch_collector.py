"""The consumer's side of batch tasks: many messages' items gathered into one call.

One :class:`BatchCollector` per batch task (``tasks.<name>.batch``) keeps an *open batch*.
A dispatch adds its items to it and then waits until the batch holding them is recorded in
the ledger and confirmed by the broker (one ledger row, one Celery message for the lot);
only then does it return, so its source message is acknowledged only once its items are
durably queued. If recording or publishing the batch fails, every dispatch waiting on it
raises, and the sources redeliver their messages.

A batch is flushed when it holds ``max_items`` (by the dispatch that filled it) or when its
first item has waited ``max_wait_s`` (by the first waiting dispatch that sees the deadline
pass). No thread of its own: every open batch has a dispatch waiting on it. An item whose
parameters equal those of an item already in the open batch is folded into it (counted in
``canvasbridge_tasks_folded_total``); its message is acknowledged with the batch.

Throughput is bounded by what the sources keep in flight: a batch fills only if at least
``max_items`` messages are being dispatched at once (the AMQP source's ``prefetch``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from canvasbridge.engine import metrics
from canvasbridge.engine.batch_tasks import ITEMS
from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import BatchSpec
from canvasbridge.engine.ledger import RecordedCall

Flush = Callable[[TaskCall], RecordedCall]  # record and publish one batch call


class _OpenBatch:
    __slots__ = ("deadline", "done", "error", "folded", "items", "keys", "recorded")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.items: list[tuple[TaskCall, dict[str, Any]]] = []
        self.keys: set[str] = set()
        self.folded = 0
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.recorded: RecordedCall | None = None


class BatchCollector:
    def __init__(
        self, task: str, spec: BatchSpec, flush: Flush, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.task = task
        self.spec = spec
        self._flush_call = flush
        self._clock = clock
        self._lock = threading.Lock()
        self._open: _OpenBatch | None = None

    def add(self, items: Sequence[tuple[TaskCall, dict[str, Any]]]) -> list[_OpenBatch]:
        """Put ``items`` (each a call of this task and its origin, see
        :func:`~.batch_tasks.item_origin`) in the open batch, flushing each batch they fill;
        the batches holding them, to :meth:`wait` for."""
        held: list[_OpenBatch] = []
        full: list[_OpenBatch] = []
        with self._lock:
            for item in items:
                batch = self._open
                if batch is None:
                    batch = self._open = _OpenBatch(self._clock() + self.spec.max_wait_s)
                if not held or held[-1] is not batch:
                    held.append(batch)
                key = item[0].canonical_params()  # computed once, by the dispatcher's check
                if key in batch.keys:
                    batch.folded += 1
                    metrics.TASKS_FOLDED.labels(self.task).inc()
                    continue
                batch.keys.add(key)
                batch.items.append(item)
                if len(batch.items) >= self.spec.max_items:
                    self._open = None
                    full.append(batch)
        for batch in full:
            self._flush(batch)
        return held

    def wait(self, batches: Sequence[_OpenBatch]) -> list[RecordedCall]:
        """Return once ``batches`` are durably queued (flushing those past their deadline):
        their calls. Raises if one could not be queued."""
        recorded: list[RecordedCall] = []
        for batch in batches:
            while not batch.done.is_set():
                remaining = batch.deadline - self._clock()
                if remaining > 0:
                    batch.done.wait(remaining)
                    continue
                with self._lock:
                    mine = self._open is batch
                    if mine:
                        self._open = None
                if mine:
                    self._flush(batch)
                else:  # being flushed by another dispatch, which sets ``done`` when it ends
                    batch.done.wait()
        for batch in batches:  # each waited for (and flushed when due) before any failure is raised
            if batch.error is not None:
                raise batch.error
            assert batch.recorded is not None
            recorded.append(batch.recorded)
        return recorded

    def _flush(self, batch: _OpenBatch) -> None:
        try:
            batch.recorded = self._flush_call(self._batch_call(batch.items))
        except BaseException as exc:  # every dispatch waiting on this batch gets it
            batch.error = exc
        finally:
            batch.done.set()

    def _batch_call(self, items: Sequence[tuple[TaskCall, dict[str, Any]]]) -> TaskCall:
        """The batch call, its canonical JSON joined from its items' (no second dump of them)."""
        params = {ITEMS: [{"origin": origin, "params": call.params} for call, origin in items]}
        texts = [
            f'{{"origin":{_canonical(origin)},"params":{call.canonical_params()}}}' for call, origin in items
        ]
        return TaskCall.with_canonical(self.task, params, f'{{"{ITEMS}":[{",".join(texts)}]}}')


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
