"""Batch items: a batch task receives its items, and each failed item is settled on its own.

For a task declared with ``batch:`` (see :mod:`canvasbridge.engine.batch_tasks`), this
middleware hands the task function :class:`~canvasbridge.engine.batch_tasks.BatchItem`
objects instead of the call's JSON, and settles a
:class:`~canvasbridge.engine.batch_tasks.BatchFailures` the function raised:

* some item failed transiently and the batch has attempts left: left to :mod:`.retries`,
  which runs the whole batch again;
* otherwise each failed item becomes a dead letter of its own (a batch call of that one
  item, with the item's origin and error), requeueable alone, and the batch call is recorded
  as succeeded with a summary naming those dead letters.

Any other exception fails the batch as a whole, like any task's. It must come after
:mod:`.retries` and :mod:`.dead_letters` in the chain (its ``after_failure`` runs first).
No parameters; it acts only on the batch tasks named by ``is_batch``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from canvasbridge.engine.batch_tasks import ITEMS, BatchFailures, BatchItem, items_of
from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.middleware.base import Middleware, Run, RunOutcome, describe

log = logging.getLogger(__name__)
ITEM_DEAD_SOURCE = "batch item"  # a dead item's origin source when its item names none


class BatchItems(Middleware):
    def __init__(self, is_batch: Callable[[str], bool]) -> None:
        self._is_batch = is_batch

    def before_process(self, run: Run) -> None:
        if self._is_batch(run.task_name):
            try:
                run.params = {ITEMS: items_of(run.params)}
            except (TypeError, AttributeError) as exc:  # the task itself then fails on it
                log.error("task %s#%d: not a batch call: %s", run.task_name, run.call_id, exc)

    def after_failure(self, run: Run, error: Exception) -> None:
        if (
            run.outcome is not None
            or not isinstance(error, BatchFailures)
            or not self._is_batch(run.task_name)
        ):
            return
        if error.transient and run.policy.has_attempts_left(run.attempt):
            return  # the retries middleware runs the batch again
        assert run.ledger is not None
        items: list[BatchItem] = run.params[ITEMS]
        dead: dict[int, int] = {}
        for index, item_error in sorted(error.failures.items()):
            item = items[index]
            text, _ = describe(item_error)
            dead[index] = run.ledger.record_dead(
                TaskCall(run.task_name, {ITEMS: [item.to_json()]}),
                error=text,
                origin_source=str(item.origin.get("source") or ITEM_DEAD_SOURCE),
                origin_message_id=_text(item.origin.get("message_id")),
                origin_routing_key=_text(item.origin.get("routing_key")),
                correlation_id=_text(item.origin.get("correlation_id")),
            )
            log.error(
                "task %s#%d: item %d is dead letter #%d: %s",
                run.task_name,
                run.call_id,
                index,
                dead[index],
                text,
            )
        summary = {"items": len(items), "failed": len(dead), "dead_letters": list(dead.values())}
        run.ledger.succeed(run.call_id, summary)
        run.outcome = RunOutcome.SUCCEEDED


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
