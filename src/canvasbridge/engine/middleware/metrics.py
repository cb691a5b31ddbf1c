"""Metrics: Prometheus counters and timings of task calls, per task name.

Counts ``canvasbridge_tasks_succeeded_total``, ``_retried_total`` and ``_dead_total`` (a
call out of attempts at its claim included), observes ``canvasbridge_task_duration_seconds``
(seconds from the task function's start to its end, failures included) and sets
``canvasbridge_task_last_success_timestamp_seconds`` (Unix time). It only reads how the
other middleware settled a call, so it comes before them in the list (its after-hooks run
after theirs). See :mod:`canvasbridge.engine.metrics` for the registry and its export.

Turn it off when nothing scrapes the worker's metrics and every microsecond per call counts.
No parameters.
"""

from __future__ import annotations

import time
from typing import Any

from canvasbridge.engine import metrics
from canvasbridge.engine.ledger import Claim
from canvasbridge.engine.middleware.base import Middleware, Run, RunOutcome


class Metrics(Middleware):
    def after_skip(self, run: Run, claim: Claim) -> None:
        if claim.attempt and not claim.wait:
            metrics.TASKS_DEAD.labels(run.task_name).inc()

    def after_process(self, run: Run, result: Any) -> None:
        metrics.TASK_DURATION.labels(run.task_name).observe(time.perf_counter() - run.clock)
        metrics.TASKS_SUCCEEDED.labels(run.task_name).inc()
        metrics.TASK_LAST_SUCCESS.labels(run.task_name).set(time.time())

    def after_failure(self, run: Run, error: Exception) -> None:
        metrics.TASK_DURATION.labels(run.task_name).observe(time.perf_counter() - run.clock)
        if run.outcome in (RunOutcome.RETRYING, RunOutcome.HANDED_OVER):  # it runs again
            metrics.TASKS_RETRIED.labels(run.task_name).inc()
        elif run.outcome is RunOutcome.DEAD:
            metrics.TASKS_DEAD.labels(run.task_name).inc()
