"""The one retry policy: which errors are worth another try, and how long to wait before it.

Every client (inside one call) and the engine (between attempts of a task) use
:class:`RetryPolicy`; only their defaults differ (a client waits seconds, the engine minutes).

**The rule.** After failed attempt number ``n`` (1-based) the wait is::

    backoff(n) = min(backoff_cap_s, backoff_base_s * 2 ** (n - 1))   # drawn from [b/2, b] with jitter
    wait(n)    = max(backoff(n), min(retry_after, backoff_cap_s))    # when the server sent Retry-After

The server's ``Retry-After`` is a floor: we never come back sooner than it asked, and never
sooner than our own backoff; no wait exceeds ``backoff_cap_s``. A server asking for longer
than the cap gets the cap (a client then gives the error, with its ``retry_after``, to the
engine, whose cap is longer).

**Retry-After** is read in both of its forms (RFC 9110 §10.2.3): delta-seconds (``120``) and
an HTTP-date (``Wed, 21 Oct 2026 07:28:00 GMT``), the latter as seconds from now (0 if past).

**Worth retrying** (:func:`is_transient`): a :class:`~canvasbridge.errors.TransientError`, or an
``OSError`` (refused connection, timeout); never a
:class:`~canvasbridge.errors.PermanentError`.

Parameters (a ``retry:`` block in the configuration):

* ``max_attempts`` (int): tries in total, the first included.
* ``backoff_base_s`` (float): seconds before the first retry; doubled for each later one.
* ``backoff_cap_s`` (float): the longest single wait, in seconds.
* ``jitter`` (bool): wait a random time between half and all of the backoff, so calls that
  failed together do not retry together. Turn it off only in tests.

    policy = RetryPolicy(max_attempts=4, backoff_base_s=0.5, backoff_cap_s=10)
    policy.delay(3, retry_after=parse_retry_after("4"))   # 4.0 (backoff would be 1-2 s)
    policy.run(lambda: client.get_json("personer/1"))     # retries transient errors (tenacity)

This module imports nothing of canvasbridge but :mod:`canvasbridge.errors`, so every layer may use it.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import tenacity
from pydantic import BaseModel, ConfigDict, Field

from canvasbridge.errors import PermanentError, TransientError

log = logging.getLogger("canvasbridge.retry")

DEFAULT_MAX_ATTEMPTS = 4  # tries of one client call, counting the first
DEFAULT_BACKOFF_BASE_S = 0.5  # a client's first retry waits about this long (seconds)
DEFAULT_BACKOFF_CAP_S = 10.0  # no single wait of a client is longer (seconds)
MAX_EXPONENT = 32  # 2**32 * base is past any cap; keeps the float finite for huge attempt numbers

T = TypeVar("T")

_DELTA_SECONDS = re.compile(r"^\d+(\.\d+)?$")  # RFC form is digits; some servers add a fraction


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, in either form; ``None`` if absent or bad.

    ``now`` (epoch seconds, default the clock) is what an HTTP-date is measured from.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _DELTA_SECONDS.match(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_s(
    attempt: int, base_s: float, cap_s: float, *, jitter: bool = True, rng: random.Random | None = None
) -> float:
    """Exponential backoff after failed attempt ``attempt`` (1-based), capped, with optional jitter."""
    raw = min(cap_s, base_s * 2.0 ** min(max(0, attempt - 1), MAX_EXPONENT))
    if jitter and raw > 0:
        raw = float((rng or random).uniform(raw / 2, raw))
    return raw


def is_transient(error: BaseException) -> bool:
    """True when trying again later may succeed."""
    if isinstance(error, PermanentError):
        return False
    return isinstance(error, TransientError | OSError)


def retry_after_hint(error: BaseException | None) -> float | None:
    """The server's ``Retry-After`` (seconds) carried by an error, if any."""
    return error.retry_after if isinstance(error, TransientError) else None


class RetryPolicy(BaseModel):
    """How many tries, and how long between them (see the module docstring for the rule)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(
        default=DEFAULT_MAX_ATTEMPTS, ge=1, le=100, description="tries, counting the first"
    )
    backoff_base_s: float = Field(default=DEFAULT_BACKOFF_BASE_S, ge=0.0, description="first wait, seconds")
    backoff_cap_s: float = Field(default=DEFAULT_BACKOFF_CAP_S, ge=0.0, description="longest wait, seconds")
    jitter: bool = True

    def delay(
        self, attempt: int, *, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        wait = backoff_s(attempt, self.backoff_base_s, self.backoff_cap_s, jitter=self.jitter, rng=rng)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.backoff_cap_s))
        return wait

    def has_attempts_left(self, attempts_made: int) -> bool:
        return attempts_made < self.max_attempts

    def retrying(
        self,
        *,
        retry: tenacity.retry_base | None = None,
        hint: Callable[[tenacity.RetryCallState], float | None] | None = None,
        **options: Any,
    ) -> tenacity.Retrying:
        """A :class:`tenacity.Retrying` that follows this policy.

        ``retry`` decides what is retried (default: :func:`is_transient` errors); ``hint``
        reads a ``Retry-After`` from an attempt's outcome (default: the error's
        ``retry_after``). ``options`` go to tenacity (e.g. ``retry_error_callback``).
        """
        read_hint = hint or _error_hint

        def wait(state: tenacity.RetryCallState) -> float:
            return self.delay(state.attempt_number, retry_after=read_hint(state))

        settings: dict[str, Any] = {"reraise": True, "before_sleep": _log_retry, **options}
        return tenacity.Retrying(
            retry=retry or tenacity.retry_if_exception(is_transient),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=wait,
            **settings,
        )

    def run(self, call: Callable[[], T], *, retry_if: Callable[[BaseException], bool] = is_transient) -> T:
        """Run ``call``, retrying errors that ``retry_if`` accepts; re-raise the last one.

        The first attempt runs bare (tenacity's bookkeeping costs more than a small HTTP call);
        a failure worth retrying is handed to tenacity as its first attempt's outcome.
        """
        try:
            return call()
        except BaseException as exc:
            if self.max_attempts <= 1 or not retry_if(exc):
                raise
            first: list[BaseException] = [exc]

        def again() -> T:
            if first:
                raise first.pop()
            return call()

        result: T = self.retrying(retry=tenacity.retry_if_exception(retry_if))(again)
        return result


def _error_hint(state: tenacity.RetryCallState) -> float | None:
    return retry_after_hint(state.outcome.exception() if state.outcome and state.outcome.failed else None)


def _log_retry(state: tenacity.RetryCallState) -> None:
    outcome = state.outcome
    what = outcome.exception() if outcome is not None and outcome.failed else "an answer worth retrying"
    wait = state.next_action.sleep if state.next_action else 0.0
    log.info("retrying in %.2fs after attempt %d: %s", wait, state.attempt_number, what)
