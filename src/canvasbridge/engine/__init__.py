"""The generic engine (the UiO design's "tofh"): it knows nothing of Canvas.

Messages arrive from *sources* (AMQP, SQS, HTTP webhook, file replay) as an
:class:`Envelope`; *routes* (regular expressions on routing key and attributes) pick a
*parser* (an import path from config) that turns the envelope into :class:`TaskCall`\\ s;
the calls are recorded in the *ledger* and queued on Celery; *workers* run the *tasks*
(import paths from config) with retries, and what keeps failing becomes a dead letter.

Public API for flows, parsers and tasks::

    from canvasbridge.engine import Envelope, Flow, ParseContext, TaskCall, TaskContext

    def parse(envelope: Envelope, ctx: ParseContext) -> list[TaskCall]: ...   # ctx optional
    def ensure_user(ctx: TaskContext, username: str) -> dict | None: ...
    def record_all(ctx: TaskContext, items: list[BatchItem]) -> dict: ...  # a batch task
    FLOW = Flow(name="attendance", sections={"attendance": AttendanceSettings}, ...)

"""

from canvasbridge.engine.batch_tasks import BatchFailures, BatchItem
from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.context import ParseContext, TaskContext
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.flows import DoctorCheck, DoctorInput, Flow, SystemNeed

__all__ = [
    "BatchFailures",
    "BatchItem",
    "DoctorCheck",
    "DoctorInput",
    "Envelope",
    "Flow",
    "ParseContext",
    "SystemNeed",
    "TaskCall",
    "TaskContext",
]
