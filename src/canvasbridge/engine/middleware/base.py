"""The hook protocol between the worker's core and its middleware.

The core (:mod:`canvasbridge.engine.worker`) runs one recorded call: claim it in the ledger,
run the task function, record the outcome. Everything else - retries, dead letters, metrics,
the logging context, time limits - is a :class:`Middleware`: an object whose hooks the core
calls at fixed points, each with the :class:`Run` being handled. A hook a middleware does not
override costs nothing (the core only calls the overridden ones).

Order of the calls for one delivery::

    before_claim          every middleware, in list order
    (claim)               -> after_skip, reverse order, when the claim says not to run
    before_process        list order
    task_scope            entered in list order around the task function only
    (the task function)
    after_process         reverse order, after the ledger recorded the success
    after_failure         reverse order, when the function raised
    after_call            reverse order, always, last

"Reverse order" makes the list an onion: the first middleware sees a call first and last.
A failure is *settled* when a middleware recorded it in the ledger (``run.outcome`` set); if
none did, the core records it as a dead letter, so a call never stays ``running``.
A hook must not raise: an exception from a hook is a bookkeeping failure, and the core puts
the call back on the queue to run again later.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from canvasbridge.engine.ledger import Claim, Ledger
from canvasbridge.engine.logging import scrub
from canvasbridge.engine.retries import TaskRetryPolicy

MAX_ERROR_CHARS = 4000  # error text kept per attempt
MAX_TRACEBACK_CHARS = 20_000  # the end of the traceback kept per attempt


class RunOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"  # failed; runs again after ``Run.retry_in`` seconds
    DEAD = "dead"  # failed for good: a dead letter
    HANDED_OVER = "handed over"  # failed; an identical waiting call will do its work


@dataclass
class Run:
    """One delivery of a recorded call, as the hooks see it.

    ``claim`` is set once the ledger answered; ``started`` and ``clock`` (``time.perf_counter``)
    when the task function starts. Middleware write ``outcome`` and ``retry_in`` (seconds)
    when they settle a failure, and may keep their own values in ``state``.
    """

    celery_task: Any
    call_id: int
    task_name: str
    params: dict[str, Any]
    correlation_id: str | None
    policy: TaskRetryPolicy
    ledger: Ledger | None = None
    claim: Claim | None = None
    started: datetime | None = None
    clock: float = 0.0
    outcome: RunOutcome | None = None
    retry_in: float | None = None
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def attempt(self) -> int:
        return self.claim.attempt if self.claim is not None else 0


class Middleware:
    """Base class: every hook does nothing. Override the ones you need."""

    def before_claim(self, run: Run) -> None:
        """A delivery arrived; the ledger has not been asked yet."""

    def after_skip(self, run: Run, claim: Claim) -> None:
        """The claim said not to run now (``claim.reason`` says why; ``claim.wait``: later;
        ``claim.attempt`` set: out of attempts, the claim made it a dead letter)."""

    def before_process(self, run: Run) -> None:
        """The task function is about to run (``run.claim`` and ``run.started`` are set)."""

    @contextlib.contextmanager
    def task_scope(self, run: Run) -> Iterator[None]:
        """Wraps the task function alone (no ledger work inside); may raise into it."""
        yield

    def after_process(self, run: Run, result: Any) -> None:
        """The task function returned ``result`` and the ledger recorded the success."""

    def after_failure(self, run: Run, error: Exception) -> None:
        """The task function raised ``error``; settle it (``run.outcome``) or look at how an
        earlier middleware in the reverse order settled it."""

    def after_call(self, run: Run) -> None:
        """Always called last, whatever happened (also after a bookkeeping failure)."""


def describe(error: BaseException) -> tuple[str, str]:
    """The error's text and traceback as the ledger keeps them: secrets scrubbed, shortened."""
    text = scrub(f"{type(error).__name__}: {error}")[:MAX_ERROR_CHARS]
    trace = scrub("".join(traceback.format_exception(error)))[-MAX_TRACEBACK_CHARS:]
    return text, trace


HOOKS = (
    "before_claim",
    "after_skip",
    "before_process",
    "task_scope",
    "after_process",
    "after_failure",
    "after_call",
)


def overriding(middleware: list[Middleware], hook: str) -> list[Middleware]:
    """The middleware that override ``hook``, in list order."""
    return [m for m in middleware if getattr(type(m), hook) is not getattr(Middleware, hook)]
