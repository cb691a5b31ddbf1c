"""A task's retry policy: the shared rule of :mod:`canvasbridge.backoff`, with the engine's defaults.

A task call is retried when it raises a *transient* error (:func:`is_transient`) and it has
attempts left. Any other error is *permanent*: the call becomes a dead letter at once. Every
start of a call counts as an attempt, including one whose worker died, so a task that kills
its worker ends as a dead letter after ``max_attempts`` instead of looping forever (with the
thread pool only a run alone in its process counts when the process dies: see
:mod:`canvasbridge.engine.run_gate`).

The wait before the next attempt is :meth:`~canvasbridge.backoff.RetryPolicy.delay`: the
exponential backoff, or the server's ``Retry-After`` when that is longer, never past the cap.

Parameters (config ``tasks.<name>.retry`` or ``task_defaults.retry``) are those of
:class:`canvasbridge.backoff.RetryPolicy`; only the defaults differ (below).
"""

from __future__ import annotations

from pydantic import Field

from canvasbridge.backoff import RetryPolicy, is_transient, retry_after_hint

DEFAULT_MAX_ATTEMPTS = 6  # about 1 + 2 + 4 + 8 + 16 s of waiting with the default base
DEFAULT_BACKOFF_BASE_S = 1.0  # seconds before a task's first retry
DEFAULT_BACKOFF_CAP_S = 300.0  # never wait more than five minutes between attempts

__all__ = ["TaskRetryPolicy", "is_transient", "retry_after_hint"]


class TaskRetryPolicy(RetryPolicy):
    """:class:`~canvasbridge.backoff.RetryPolicy` with the engine's (longer) defaults."""

    max_attempts: int = Field(
        default=DEFAULT_MAX_ATTEMPTS, ge=1, le=100, description="tries, counting the first"
    )
    backoff_base_s: float = Field(default=DEFAULT_BACKOFF_BASE_S, ge=0.0, description="first wait, seconds")
    backoff_cap_s: float = Field(default=DEFAULT_BACKOFF_CAP_S, ge=0.0, description="longest wait, seconds")
