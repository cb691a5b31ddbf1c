"""Worker middleware: everything around running a call that is not the core.

The core (:mod:`canvasbridge.engine.worker`) claims a call in the ledger, runs its task
function and records a success. Each cross-cutting concern is a module here with one
:class:`~.base.Middleware`, called through the hooks of :mod:`.base`:

* :mod:`.logging_context` - the correlation id on every log line of the call;
* :mod:`.metrics` - counters and timings per task;
* :mod:`.dead_letters` - a final failure kept with its error for a person;
* :mod:`.retries` - a transient failure runs again after a backoff;
* :mod:`.batches` - a batch task gets its items, and each failed item is settled alone;
* :mod:`.time_limit` - a run past its limit is interrupted.

:func:`default_middleware` gives them in that order (the after-hooks run in reverse).
Adding a concern means adding a module and putting its middleware in the list.
"""

from __future__ import annotations

from canvasbridge.engine.config import AppConfig
from canvasbridge.engine.middleware.base import Middleware, Run, RunOutcome
from canvasbridge.engine.middleware.batches import BatchItems
from canvasbridge.engine.middleware.dead_letters import DeadLetters
from canvasbridge.engine.middleware.logging_context import LoggingContext
from canvasbridge.engine.middleware.metrics import Metrics
from canvasbridge.engine.middleware.retries import Retries
from canvasbridge.engine.middleware.time_limit import TimeLimit


def default_middleware(config: AppConfig) -> list[Middleware]:
    """The worker's middleware for ``config``, in order (a time limit only when one is set)."""
    chain: list[Middleware] = [LoggingContext(), Metrics(), DeadLetters(), Retries()]
    batch_tasks = {name for name, spec in config.tasks.items() if spec.batch is not None}
    if batch_tasks:
        chain.append(BatchItems(batch_tasks.__contains__))
    if config.task_defaults.time_limit_s is not None or any(t.time_limit_s for t in config.tasks.values()):
        chain.append(TimeLimit(config.time_limit))
    return chain


__all__ = [
    "BatchItems",
    "DeadLetters",
    "LoggingContext",
    "Metrics",
    "Middleware",
    "Retries",
    "Run",
    "RunOutcome",
    "TimeLimit",
    "default_middleware",
]
