"""Retries: a call that failed with a transient error runs again later, up to its limit.

When the task function raises an error that is *transient* (a
:class:`~canvasbridge.errors.TransientError`, or an ``OSError`` such as a refused connection
or a timeout) and the call has attempts left, this middleware records the attempt as failed
and the call as ``retrying``; the worker's core then has Celery deliver it again after the
wait. The wait is the task's retry policy's (:meth:`TaskRetryPolicy.delay`: exponential
backoff with jitter, a server's ``Retry-After`` honoured when longer, never past the cap).
Any other failure is left to the next middleware (:mod:`.dead_letters`).

Turn it off when every failure should be final at once (its absence makes a blip a dead
letter). Parameters are per task, in ``tasks.<name>.retry`` or ``task_defaults.retry``:

* ``max_attempts`` (int): runs allowed in total, the first included.
* ``backoff_base_s`` (float): seconds before the first retry, doubled for each later one.
* ``backoff_cap_s`` (float): the longest wait, in seconds.
* ``jitter`` (bool): wait a random time between half and all of the computed delay.
"""

from __future__ import annotations

import logging

from canvasbridge.engine.batch_tasks import BatchFailures
from canvasbridge.engine.ledger import CallState
from canvasbridge.engine.middleware.base import Middleware, Run, RunOutcome, describe
from canvasbridge.engine.retries import is_transient, retry_after_hint

log = logging.getLogger(__name__)


class Retries(Middleware):
    def after_failure(self, run: Run, error: Exception) -> None:
        # a batch task's failed items: transient when one of them is (see .batches)
        transient = error.transient if isinstance(error, BatchFailures) else is_transient(error)
        if run.outcome is not None or not transient or not run.policy.has_attempts_left(run.attempt):
            return
        assert run.ledger is not None
        delay = run.policy.delay(run.attempt, retry_after=retry_after_hint(error))
        text, trace = describe(error)
        state = run.ledger.fail_attempt(
            run.call_id,
            attempt=run.attempt,
            error=text,
            traceback=trace,
            retry_in=delay,
            started_at=run.started,
        )
        if state is CallState.REQUEUED:
            run.outcome = RunOutcome.HANDED_OVER
            log.warning(
                "task %s#%d attempt %d failed; an identical waiting call will do its work: %s",
                run.task_name,
                run.call_id,
                run.attempt,
                text,
            )
            return
        run.outcome, run.retry_in = RunOutcome.RETRYING, delay
        log.warning(
            "task %s#%d attempt %d failed, retrying in %.1fs: %s",
            run.task_name,
            run.call_id,
            run.attempt,
            delay,
            text,
        )
