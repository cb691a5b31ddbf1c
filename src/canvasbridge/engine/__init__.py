"""The generic engine (the UiO design's "tofh"): it knows nothing of Canvas.

Messages arrive from *sources* (AMQP, SQS, HTTP webhook, file replay) as an
:class:`Envelope`; *routes* (regular expressions on routing key and attributes) pick a
*parser* (an import path from config) that turns the envelope into :class:`TaskCall`\\ s;
the calls are recorded in the *ledger* and queued on Celery; *workers* run the *tasks*
(import paths from config) with retries, and what keeps failing becomes a dead letter.

Public API for parsers and tasks::

    from canvasbridge.engine import Envelope, TaskCall, TaskContext

    def parse(envelope: Envelope) -> list[TaskCall]: ...
    def ensure_user(ctx: TaskContext, username: str) -> dict | None: ...
    def record_all(ctx: TaskContext, items: list[BatchItem]) -> dict: ...  # a batch task

"""

from canvasbridge.engine.batch_tasks import BatchFailures, BatchItem
from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.context import TaskContext
from canvasbridge.engine.envelope import Envelope

__all__ = ["BatchFailures", "BatchItem", "Envelope", "TaskCall", "TaskContext"]
