"""Dead letters: a call that failed for good is kept with its error, for a person to act on.

A failure no earlier middleware settled (not retried: a permanent error, or a transient one
out of attempts) is recorded as the call's last attempt and the call becomes a *dead
letter* in the ledger (state ``dead``) with the error text and traceback, secrets scrubbed
(:data:`~.base.MAX_ERROR_CHARS` characters of error, the last
:data:`~.base.MAX_TRACEBACK_CHARS` of traceback). It is listed, requeued and discarded
through the admin API and ``canvasbridge tasks``. A call the claim found out of attempts
(its last run never finished: its worker died) is already a dead letter; this middleware
logs it.

Turn it off only in favour of another middleware that settles final failures: without any,
the worker's core still records them as dead letters, but without the traceback and log
line. No parameters.
"""

from __future__ import annotations

import logging

from canvasbridge.engine.ledger import CallState, Claim
from canvasbridge.engine.middleware.base import Middleware, Run, RunOutcome, describe
from canvasbridge.engine.retries import is_transient

log = logging.getLogger(__name__)


class DeadLetters(Middleware):
    def after_skip(self, run: Run, claim: Claim) -> None:
        if claim.attempt and not claim.wait:  # out of attempts: the claim made it a dead letter
            log.error("task %s#%d: %s", run.task_name, claim.call_id, claim.reason)

    def after_failure(self, run: Run, error: Exception) -> None:
        if run.outcome is not None:
            return
        assert run.ledger is not None
        text, trace = describe(error)
        state = run.ledger.fail_attempt(
            run.call_id,
            attempt=run.attempt,
            error=text,
            traceback=trace,
            retry_in=None,
            started_at=run.started,
        )
        assert state is CallState.DEAD
        run.outcome = RunOutcome.DEAD
        kind = "transient, out of attempts" if is_transient(error) else "permanent"
        log.error(
            "task %s#%d is a dead letter after attempt %d (%s): %s",
            run.task_name,
            run.call_id,
            run.attempt,
            kind,
            text,
        )
