"""Running one recorded call inside a Celery worker: the core, with middleware around it.

The core claims the call in the ledger, runs the task function with a :class:`TaskContext`
and records a success; the Celery message is acknowledged only after the ledger says what
happened. The claim decides first: a call that is already final is skipped (a duplicate
delivery), a call out of attempts became a dead letter without running, and a call whose
identical twin (same task and parameters) is running waits and is tried again shortly.

Everything else is middleware (:mod:`canvasbridge.engine.middleware`), called through the
hooks of :mod:`canvasbridge.engine.middleware.base`: the logging context, metrics, retries
(a transient failure runs again after a backoff), dead letters (a final failure kept with
its error) and time limits. If the ledger or the broker fails around the task, the call is
put back on the queue to run again once they answer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import celery.exceptions

from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import AppConfig
from canvasbridge.engine.context import TaskContext
from canvasbridge.engine.ledger import Ledger
from canvasbridge.engine.logging import scrub
from canvasbridge.engine.middleware import Middleware, Run, RunOutcome, default_middleware
from canvasbridge.engine.middleware.base import describe, overriding
from canvasbridge.engine.registry import TaskRegistry
from canvasbridge.engine.run_gate import RunGate
from canvasbridge.errors import ObjectBusy

log = logging.getLogger(__name__)
INFRASTRUCTURE_RETRY_S = 5.0  # wait before re-queueing a call whose ledger writes failed
IDENTICAL_CALL_WAIT_S = 1.0  # first wait before trying again a call held back by another running one
IDENTICAL_CALL_MAX_WAIT_S = 30.0  # the waits double up to this


class Executor:
    def __init__(
        self,
        config: AppConfig,
        registry: TaskRegistry,
        ledger: Callable[[], Ledger],
        resources: dict[str, Any],
        middleware: Sequence[Middleware] | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self._ledger = ledger
        self.resources = resources
        self._sections = config.flow_sections()
        self._gate = RunGate()
        # Only AMQP brokers tell a first delivery from a redelivery reliably (Celery reports
        # ``redelivered: False`` for every message of kombu's SQLAlchemy transport).
        self._broker_flags_redelivery = config.backends.broker_is_rabbitmq
        self.middleware = list(default_middleware(config) if middleware is None else middleware)
        # per hook, only the middleware that override it; after-hooks in reverse order
        self._before_claim = overriding(self.middleware, "before_claim")
        self._before_process = overriding(self.middleware, "before_process")
        self._task_scope = overriding(self.middleware, "task_scope")
        self._after_skip = overriding(self.middleware, "after_skip")[::-1]
        self._after_process = overriding(self.middleware, "after_process")[::-1]
        self._after_failure = overriding(self.middleware, "after_failure")[::-1]
        self._after_call = overriding(self.middleware, "after_call")[::-1]

    def __call__(
        self,
        celery_task: Any,
        call_id: int,
        task_name: str,
        params: dict[str, Any],
        correlation_id: str | None = None,
    ) -> None:
        run = Run(
            celery_task, call_id, task_name, params, correlation_id, self.config.retry_policy(task_name)
        )
        try:
            for middleware in self._before_claim:
                middleware.before_claim(run)
            self._run(run)
        except celery.exceptions.Retry:
            raise
        except Exception as exc:
            # The ledger (or the broker) failed around the task, not the task itself.
            # Celery would acknowledge a failed message; put it back instead, so the call
            # runs again once the ledger answers. Tasks are idempotent.
            log.error("task %s#%d: bookkeeping failed, re-queueing: %s", task_name, call_id, scrub(str(exc)))
            raise celery_task.retry(countdown=INFRASTRUCTURE_RETRY_S, max_retries=None, exc=exc) from exc
        finally:
            for middleware in self._after_call:
                middleware.after_call(run)

    def _run(self, run: Run) -> None:
        ledger = run.ledger = self._ledger()
        claim = run.claim = ledger.claim(
            run.call_id,
            max_attempts=run.policy.max_attempts,
            recover=TaskCall(run.task_name, run.params),
            correlation_id=run.correlation_id,
            duplicate_if_running=self._first_delivery(run.celery_task),
            shares_process=self._shares_process(),
        )
        if claim.call_id != run.call_id:
            log.warning("task %s#%d: %s as #%d", run.task_name, run.call_id, claim.reason, claim.call_id)
            run.call_id = claim.call_id
        if claim.wait or not claim.proceed:
            for middleware in self._after_skip:
                middleware.after_skip(run, claim)
            if claim.wait:
                wait = _held_back_wait(run.celery_task)
                log.debug("task %s#%d waits %.0fs: %s", run.task_name, run.call_id, wait, claim.reason)
                raise run.celery_task.retry(countdown=wait, max_retries=None)
            if not claim.attempt:
                log.info("task %s#%d skipped: %s", run.task_name, run.call_id, claim.reason)
            return
        if not self._shares_process():
            self._execute(run, ledger)
        elif claim.alone:
            with self._gate.alone():
                ledger.mark_alone(run.call_id, claim.attempt)
                log.warning(
                    "task %s#%d runs alone: its last run was lost with its worker process",
                    run.task_name,
                    run.call_id,
                )
                self._execute(run, ledger)
        else:
            with self._gate.shared():
                self._execute(run, ledger)

    def _execute(self, run: Run, ledger: Ledger) -> None:
        run.started = datetime.now(UTC)
        run.clock = time.perf_counter()
        for middleware in self._before_process:
            middleware.before_process(run)
        context = TaskContext(
            task_name=run.task_name,
            sections=self._sections,
            resources=self.resources,
            ledger_id=run.call_id,
            correlation_id=run.correlation_id,
            attempt=run.attempt,
            holds=ledger.holds,
            waiting=ledger,
        )
        try:
            function = self.registry.get(run.task_name)
            if not self._task_scope:
                result = function(context, **run.params)
            else:
                with contextlib.ExitStack() as scope:
                    for middleware in self._task_scope:
                        scope.enter_context(middleware.task_scope(run))
                    result = function(context, **run.params)
        except ObjectBusy as busy:
            self._give_way(run, ledger, busy)
            return
        except Exception as exc:
            self._failed(run, ledger, exc)
            return
        ledger.succeed(run.call_id, result if isinstance(result, dict | list | str | int | float) else None)
        run.outcome = RunOutcome.SUCCEEDED
        for middleware in self._after_process:
            middleware.after_process(run, result)
        log.info("task %s#%d succeeded (attempt %d)", run.task_name, run.call_id, run.attempt)

    def _failed(self, run: Run, ledger: Ledger, error: Exception) -> None:
        for middleware in self._after_failure:
            middleware.after_failure(run, error)
        if run.outcome is None:  # no middleware settled it: it must not stay running
            text, trace = describe(error)
            ledger.fail_attempt(
                run.call_id,
                attempt=run.attempt,
                error=text,
                traceback=trace,
                retry_in=None,
                started_at=run.started,
            )
            run.outcome = RunOutcome.DEAD
        if run.outcome is not RunOutcome.RETRYING:  # no retry of it will apply what it gathered
            released = ledger.release(run.call_id, describe(error)[0])
            if released:
                log.warning(
                    "task %s#%d: %d gathered calls became dead letters", run.task_name, run.call_id, released
                )
        if run.outcome is RunOutcome.RETRYING:
            raise run.celery_task.retry(countdown=run.retry_in, max_retries=None, exc=error)

    def _give_way(self, run: Run, ledger: Ledger, busy: ObjectBusy) -> None:
        """Another running call holds the object: try again later, no attempt charged."""
        twin = ledger.holds.give_way(run.call_id)
        if twin is not None:
            log.info(
                "task %s#%d: %s; handed over to the identical pending call #%d",
                run.task_name,
                run.call_id,
                busy,
                twin,
            )
            return
        wait = _held_back_wait(run.celery_task)
        log.debug("task %s#%d waits %.0fs: %s", run.task_name, run.call_id, wait, busy)
        raise run.celery_task.retry(countdown=wait, max_retries=None)

    @staticmethod
    def _shares_process() -> bool:
        """Whether calls run beside others in this process: the thread pool runs each in a
        thread of its own; prefork and solo run one at a time in the main thread."""
        return threading.current_thread() is not threading.main_thread()

    def _first_delivery(self, celery_task: Any) -> bool:
        """Whether the broker says this message was never delivered before and Celery never
        re-sent it: then a call found running is being run by someone else right now."""
        if not self._broker_flags_redelivery:
            return False
        request = celery_task.request
        return (request.delivery_info or {}).get("redelivered") is False and not request.retries


def _held_back_wait(celery_task: Any) -> float:
    """Seconds before trying again a call held back by another running one: 1, 2, 4… up to 30."""
    return min(
        IDENTICAL_CALL_WAIT_S * 2 ** min(celery_task.request.retries or 0, 10), IDENTICAL_CALL_MAX_WAIT_S
    )
