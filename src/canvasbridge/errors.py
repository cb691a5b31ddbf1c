"""The exception tree every layer shares, so callers catch by meaning, not by message.

Two branches, as httpx separates "could not talk" from "the server said no":

* :class:`TransientError` - may succeed if tried again later (connection refused, timeout,
  HTTP 5xx, 429, 403 rate limit). The engine retries these with backoff.
* :class:`PermanentError` - will fail the same way again (validation, object missing in
  the source, bad request). The engine dead-letters these at once.

Clients raise subclasses of both; the engine only looks at which branch an error is on.
This module imports nothing else of canvasbridge, so every layer may use it.
"""

from __future__ import annotations


class CanvasbridgeError(Exception):
    """Base of every error canvasbridge raises on purpose."""


class TransientError(CanvasbridgeError):
    """Worth retrying. ``retry_after`` (seconds) is a hint from the server, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TimeLimitExceeded(TransientError):
    """A task function ran past its time limit and was interrupted (see the engine's
    ``middleware/time_limit.py``). Transient: the next attempt may finish in time."""


class ObjectBusy(TransientError):
    """Another running call holds the object this task is about to change (see the engine's
    ``ledger/holds.py``). The worker tries the call again later; waiting is not an attempt."""

    def __init__(self, key: str, holder: int) -> None:
        super().__init__(f"{key} is held by running call #{holder}", retry_after=1.0)
        self.key = key
        self.holder = holder


class RateLimitedError(TransientError):
    """The remote system throttled us (HTTP 429, Canvas 403 "Rate Limit Exceeded")."""


class PermanentError(CanvasbridgeError):
    """Retrying will not help; needs a person or a change in the data."""


class NotFoundError(PermanentError):
    """The object asked for does not exist in the system asked."""


class ConfigError(CanvasbridgeError):
    """The configuration is invalid; the message names the offending key."""


class CheckFailed(CanvasbridgeError):
    """A check of ``canvasbridge doctor`` found a problem; ``remedy`` says what to do about it."""

    def __init__(self, problem: str, remedy: str) -> None:
        super().__init__(problem)
        self.remedy = remedy


class MessageError(PermanentError):
    """A source message cannot be routed or parsed; it is parked with this reason."""
