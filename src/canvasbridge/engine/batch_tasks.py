"""The batch task protocol: what a task declared with ``batch:`` receives and reports.

A batch task is called once for many items (see docs/architecture.md, "Batch tasks")::

    def record_all(ctx: TaskContext, items: list[BatchItem]) -> dict:
        failures = {}
        for item in items:
            try:
                ...  # item.params are the parameters a parser gave this item
            except Exception as exc:
                failures[item.index] = exc
        if failures:
            raise BatchFailures(failures)
        return {"done": len(items)}

Returning means every item succeeded. Raising :class:`BatchFailures` names the items that
failed, each with its error; the others succeeded. Raising anything else fails the whole
batch (retried when transient, else the batch is one dead letter). The engine then settles
each failed item on its own: while one of them failed transiently and the batch has
attempts left, the whole batch runs again; otherwise each failed item becomes a dead letter
of its own, a batch call of that one item with the item's origin, requeueable alone.

In the ledger and on the queue a batch call is one call whose parameters are
``{"items": [{"params": {...}, "origin": {...}}, ...]}``; the origin of an item names the
source message it came from (``source``, ``message_id``, ``routing_key``,
``correlation_id``). The worker hands the task :class:`BatchItem` objects instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from canvasbridge.backoff import is_transient
from canvasbridge.engine.envelope import Envelope

ITEMS = "items"  # the one parameter of a batch call


@dataclass(frozen=True)
class BatchItem:
    """One item of a batch call: its position, its parameters and where it came from."""

    index: int
    params: dict[str, Any]
    origin: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"params": self.params, "origin": self.origin}


class BatchFailures(Exception):
    """Raised by a batch task: the items (by :attr:`BatchItem.index`) that failed, with their errors."""

    def __init__(self, failures: Mapping[int, BaseException]) -> None:
        self.failures = dict(failures)
        shown = "; ".join(f"item {i}: {type(e).__name__}: {e}" for i, e in sorted(self.failures.items())[:3])
        more = f" (+{len(self.failures) - 3} more)" if len(self.failures) > 3 else ""
        super().__init__(f"{len(self.failures)} item(s) failed: {shown}{more}")

    @property
    def transient(self) -> bool:
        """Whether trying the batch again may help: some item failed with a transient error."""
        return any(is_transient(error) for error in self.failures.values())


def item_origin(origin: Envelope | None, correlation_id: str | None) -> dict[str, Any]:
    """Where an item came from, as a batch call's parameters keep it."""
    described: dict[str, Any] = {}
    if origin is not None:
        described = {
            "source": origin.source,
            "message_id": origin.message_id,
            "routing_key": origin.routing_key,
        }
    if correlation_id:
        described["correlation_id"] = correlation_id
    return described


def items_of(params: Mapping[str, Any]) -> list[BatchItem]:
    """A batch call's parameters as the items its task receives."""
    raw = params.get(ITEMS)
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise TypeError(f"a batch call's parameters must hold a list under {ITEMS!r}")
    return [
        BatchItem(index, dict(item.get("params") or {}), dict(item.get("origin") or {}))
        for index, item in enumerate(raw)
    ]
