"""Retry policy: which errors are worth another try, and how long to wait before it.

A task call is retried when it raises a *transient* error (:class:`TransientError`, or an
``OSError`` such as a refused connection or a timeout) and it has attempts left. Any other
error is *permanent*: the call becomes a dead letter at once. Every start of a call counts
as an attempt, including one whose worker died, so a task that kills its worker ends as a
dead letter after ``max_attempts`` instead of looping forever.

Parameters (config ``tasks.<name>.retry`` or ``task_defaults.retry``):

* ``max_attempts`` (int): starts allowed in total, the first included.
* ``backoff_base_s`` (float): seconds before the first retry; doubled for each later one.
* ``backoff_cap_s`` (float): the longest wait, in seconds.
* ``jitter`` (bool): wait a random time between half and all of the computed delay, so
  retries of many calls that failed together do not hit the target together.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field

from canvasbridge.errors import PermanentError, TransientError

DEFAULT_MAX_ATTEMPTS = 6  # about 1 + 2 + 4 + 8 + 16 s of waiting with the default base
DEFAULT_BACKOFF_BASE_S = 1.0
DEFAULT_BACKOFF_CAP_S = 300.0  # never wait more than five minutes between attempts


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, le=100)
    backoff_base_s: float = Field(default=DEFAULT_BACKOFF_BASE_S, ge=0.0)
    backoff_cap_s: float = Field(default=DEFAULT_BACKOFF_CAP_S, ge=0.0)
    jitter: bool = True

    def delay(
        self, attempt: int, *, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        A server's ``retry_after`` hint is honoured when it asks for longer.
        """
        raw: float = min(self.backoff_cap_s, self.backoff_base_s * 2.0 ** max(0, attempt - 1))
        if self.jitter and raw > 0:
            raw = float((rng or random).uniform(raw / 2, raw))
        if retry_after is not None:
            raw = max(raw, min(retry_after, self.backoff_cap_s))
        return raw

    def has_attempts_left(self, attempts_made: int) -> bool:
        return attempts_made < self.max_attempts


def is_transient(error: BaseException) -> bool:
    """True when trying again later may succeed."""
    if isinstance(error, PermanentError):
        return False
    return isinstance(error, TransientError | OSError)


def retry_after_hint(error: BaseException) -> float | None:
    return error.retry_after if isinstance(error, TransientError) else None
