"""Running one recorded call inside a Celery worker: claim, run, record the outcome.

The claim in the ledger comes first: a call that is already final is skipped (a duplicate
delivery), a call out of attempts becomes a dead letter without running, and a call whose
identical twin (same task and parameters) is running waits and is tried again shortly. Then the task
function runs with a :class:`TaskContext`. On a transient error with attempts left the call
is marked ``retrying`` and Celery re-publishes it with a countdown (the backoff); any
other failure makes it a dead letter holding the error and traceback. Either way the
Celery message is acknowledged only after the ledger says what happened.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import celery.exceptions

from canvasbridge.engine import metrics
from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.config import AppConfig
from canvasbridge.engine.context import TaskContext
from canvasbridge.engine.ledger import CallState, Claim, Ledger
from canvasbridge.engine.logging import correlation, scrub
from canvasbridge.engine.registry import TaskRegistry
from canvasbridge.engine.retries import TaskRetryPolicy, is_transient, retry_after_hint
from canvasbridge.engine.run_gate import RunGate
from canvasbridge.errors import ObjectBusy

log = logging.getLogger(__name__)
INFRASTRUCTURE_RETRY_S = 5.0  # wait before re-queueing a call whose ledger writes failed
IDENTICAL_CALL_WAIT_S = 1.0  # first wait before trying again a call held back by another running one
IDENTICAL_CALL_MAX_WAIT_S = 30.0  # the waits double up to this
MAX_ERROR_CHARS = 4000  # error text kept per attempt
MAX_TRACEBACK_CHARS = 20_000


class Executor:
    def __init__(
        self,
        config: AppConfig,
        registry: TaskRegistry,
        ledger: Callable[[], Ledger],
        resources: dict[str, Any],
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

    def __call__(
        self,
        celery_task: Any,
        call_id: int,
        task_name: str,
        params: dict[str, Any],
        correlation_id: str | None = None,
    ) -> None:
        with correlation(correlation_id):
            try:
                self._run(celery_task, call_id, task_name, params, correlation_id)
            except celery.exceptions.Retry:
                raise
            except Exception as exc:
                # The ledger (or the broker) failed around the task, not the task itself.
                # Celery would acknowledge a failed message; put it back instead, so the call
                # runs again once the ledger answers. Tasks are idempotent.
                log.error(
                    "task %s#%d: bookkeeping failed, re-queueing: %s", task_name, call_id, scrub(str(exc))
                )
                raise celery_task.retry(countdown=INFRASTRUCTURE_RETRY_S, max_retries=None, exc=exc) from exc

    def _run(
        self,
        celery_task: Any,
        call_id: int,
        task_name: str,
        params: dict[str, Any],
        correlation_id: str | None,
    ) -> None:
        ledger = self._ledger()
        policy = self.config.retry_policy(task_name)
        claim = ledger.claim(
            call_id,
            max_attempts=policy.max_attempts,
            recover=TaskCall(task_name, params),
            correlation_id=correlation_id,
            duplicate_if_running=self._first_delivery(celery_task),
            shares_process=self._shares_process(),
        )
        if claim.call_id != call_id:
            log.warning("task %s#%d: %s as #%d", task_name, call_id, claim.reason, claim.call_id)
            call_id = claim.call_id
        if claim.wait:
            wait = _held_back_wait(celery_task)
            log.debug("task %s#%d waits %.0fs: %s", task_name, call_id, wait, claim.reason)
            raise celery_task.retry(countdown=wait, max_retries=None)
        if not claim.proceed:
            if claim.attempt:  # out of attempts: the claim made it a dead letter
                metrics.TASKS_DEAD.labels(task_name).inc()
                log.error("task %s#%d: %s", task_name, call_id, claim.reason)
            else:
                log.info("task %s#%d skipped: %s", task_name, call_id, claim.reason)
            return
        if not self._shares_process():
            self._execute(celery_task, ledger, call_id, task_name, params, correlation_id, claim, policy)
        elif claim.alone:
            with self._gate.alone():
                ledger.mark_alone(call_id, claim.attempt)
                log.warning(
                    "task %s#%d runs alone: its last run was lost with its worker process", task_name, call_id
                )
                self._execute(celery_task, ledger, call_id, task_name, params, correlation_id, claim, policy)
        else:
            with self._gate.shared():
                self._execute(celery_task, ledger, call_id, task_name, params, correlation_id, claim, policy)

    def _execute(
        self,
        celery_task: Any,
        ledger: Ledger,
        call_id: int,
        task_name: str,
        params: dict[str, Any],
        correlation_id: str | None,
        claim: Claim,
        policy: TaskRetryPolicy,
    ) -> None:
        started = datetime.now(UTC)
        clock = time.perf_counter()
        context = TaskContext(
            task_name=task_name,
            sections=self._sections,
            resources=self.resources,
            ledger_id=call_id,
            correlation_id=correlation_id,
            attempt=claim.attempt,
            holds=ledger.holds,
        )
        try:
            function = self.registry.get(task_name)
            result = function(context, **params)
        except ObjectBusy as busy:
            self._give_way(celery_task, ledger, call_id, task_name, busy)
            return
        except Exception as exc:
            metrics.TASK_DURATION.labels(task_name).observe(time.perf_counter() - clock)
            self._failed(celery_task, ledger, call_id, task_name, claim.attempt, policy, exc, started)
            return
        metrics.TASK_DURATION.labels(task_name).observe(time.perf_counter() - clock)
        ledger.succeed(call_id, result if isinstance(result, dict | list | str | int | float) else None)
        metrics.TASKS_SUCCEEDED.labels(task_name).inc()
        metrics.TASK_LAST_SUCCESS.labels(task_name).set(time.time())
        log.info("task %s#%d succeeded (attempt %d)", task_name, call_id, claim.attempt)

    @staticmethod
    def _shares_process() -> bool:
        """Whether calls run beside others in this process: the thread pool runs each in a
        thread of its own; prefork and solo run one at a time in the main thread."""
        return threading.current_thread() is not threading.main_thread()

    def _give_way(
        self, celery_task: Any, ledger: Ledger, call_id: int, task_name: str, busy: ObjectBusy
    ) -> None:
        """Another running call holds the object: try again later, no attempt charged."""
        twin = ledger.holds.give_way(call_id)
        if twin is not None:
            log.info(
                "task %s#%d: %s; handed over to the identical pending call #%d",
                task_name,
                call_id,
                busy,
                twin,
            )
            return
        wait = _held_back_wait(celery_task)
        log.debug("task %s#%d waits %.0fs: %s", task_name, call_id, wait, busy)
        raise celery_task.retry(countdown=wait, max_retries=None)

    def _first_delivery(self, celery_task: Any) -> bool:
        """Whether the broker says this message was never delivered before and Celery never
        re-sent it: then a call found running is being run by someone else right now."""
        if not self._broker_flags_redelivery:
            return False
        request = celery_task.request
        return (request.delivery_info or {}).get("redelivered") is False and not request.retries

    def _failed(
        self,
        celery_task: Any,
        ledger: Ledger,
        call_id: int,
        task_name: str,
        attempt: int,
        policy: Any,
        error: Exception,
        started: datetime,
    ) -> None:
        text = scrub(f"{type(error).__name__}: {error}")[:MAX_ERROR_CHARS]
        trace = scrub("".join(traceback.format_exception(error)))[-MAX_TRACEBACK_CHARS:]
        if is_transient(error) and policy.has_attempts_left(attempt):
            delay = policy.delay(attempt, retry_after=retry_after_hint(error))
            ledger.fail_attempt(
                call_id, attempt=attempt, error=text, traceback=trace, retry_in=delay, started_at=started
            )
            metrics.TASKS_RETRIED.labels(task_name).inc()
            log.warning(
                "task %s#%d attempt %d failed, retrying in %.1fs: %s",
                task_name,
                call_id,
                attempt,
                delay,
                text,
            )
            raise celery_task.retry(countdown=delay, max_retries=None, exc=error)
        state = ledger.fail_attempt(
            call_id, attempt=attempt, error=text, traceback=trace, retry_in=None, started_at=started
        )
        assert state is CallState.DEAD
        metrics.TASKS_DEAD.labels(task_name).inc()
        kind = "transient, out of attempts" if is_transient(error) else "permanent"
        log.error(
            "task %s#%d is a dead letter after attempt %d (%s): %s", task_name, call_id, attempt, kind, text
        )


def _held_back_wait(celery_task: Any) -> float:
    """Seconds before trying again a call held back by another running one: 1, 2, 4… up to 30."""
    return min(
        IDENTICAL_CALL_WAIT_S * 2 ** min(celery_task.request.retries or 0, 10), IDENTICAL_CALL_MAX_WAIT_S
    )
