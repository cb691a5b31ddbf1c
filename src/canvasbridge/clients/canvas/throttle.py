"""Canvas throttling: an httpx transport that paces every call on one access token.

Canvas meters each access token with a leaky bucket and tells us how much room is left in
``X-Rate-Limit-Remaining`` on every answer (reference §2.3). :class:`Throttle` is shared by
every client using the same token in this process and keeps us inside the bucket:

* at most ``max_concurrency`` requests in flight (each in-flight request holds Canvas's
  up-front cost, so parallelism itself drains the bucket);
* below ``low_water`` remaining, half as many in flight, after a pause that grows as the
  bucket empties (up to ``max_pause_s``); the limit grows back by one per round of good
  answers (additive increase, multiplicative decrease);
* on a throttled answer (429, or the older 403 "Rate Limit Exceeded") every thread on the
  token pauses for ``Retry-After`` or the backoff and drops to one request in flight.

:class:`ThrottledTransport` applies it under the shared :class:`~canvasbridge.clients.http.HttpClient`,
so each try (first or retry) waits its turn; the retries themselves are the client's
(:mod:`canvasbridge.backoff`), and :func:`raise_if_rate_limited` turns a throttled answer
into a :class:`~canvasbridge.clients.http.HttpRateLimitedError` they retry.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

import httpx

from canvasbridge.backoff import RetryPolicy, parse_retry_after
from canvasbridge.clients.http import HttpRateLimitedError, endpoint_template

DEFAULT_MAX_CONCURRENCY = 4  # requests in flight per token
DEFAULT_LOW_WATER = 200.0  # below this X-Rate-Limit-Remaining, go one at a time and pause
DEFAULT_MAX_PAUSE_S = 2.0  # pause before a request when the bucket is empty (seconds)
RATE_LIMIT_TEXT = "rate limit exceeded"
API_PREFIX = "/api/v1/"


class Throttle:
    """Pacing state for one access token, shared by threads (see module docstring)."""

    def __init__(
        self,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        low_water: float = DEFAULT_LOW_WATER,
        max_pause_s: float = DEFAULT_MAX_PAUSE_S,
    ) -> None:
        self.max_concurrency = max_concurrency
        self.low_water = low_water
        self.max_pause_s = max_pause_s
        self._cond = threading.Condition()
        self._in_flight = 0
        self._limit = max_concurrency
        self._good = 0  # good answers in a row since the limit last changed
        self._not_before = 0.0
        self.remaining: float | None = None  # last X-Rate-Limit-Remaining seen
        self.throttled = 0  # throttled answers seen
        self.paused_s = 0.0  # total time requests waited for the bucket
        self.max_in_flight = 0  # the most requests ever in flight at once

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def acquire(self) -> None:
        """Wait for a slot and for any pause to end."""
        started = time.monotonic()
        with self._cond:
            while True:
                now = time.monotonic()
                if now < self._not_before:
                    self._cond.wait(self._not_before - now)
                    continue
                if self._in_flight < self._limit:
                    self._in_flight += 1
                    self.max_in_flight = max(self.max_in_flight, self._in_flight)
                    break
                self._cond.wait()
            self.paused_s += time.monotonic() - started

    def release(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    def observe(self, remaining: float | None) -> None:
        """Adapt to the room left in the bucket after an answer.

        Below ``low_water``: halve the concurrency and pause in proportion to how empty
        the bucket is. Above it: after ``limit`` good answers in a row, allow one more
        request in flight (additive increase, multiplicative decrease, as TCP does).
        """
        if remaining is None:
            return
        with self._cond:
            self.remaining = remaining
            if remaining < self.low_water:
                self._good = 0
                self._limit = max(1, self._limit // 2)
                share = (self.low_water - max(remaining, 0.0)) / self.low_water if self.low_water else 1.0
                self._not_before = max(self._not_before, time.monotonic() + share * self.max_pause_s)
            elif self._limit < self.max_concurrency:
                self._good += 1
                if self._good >= self._limit:
                    self._good = 0
                    self._limit += 1
            self._cond.notify_all()

    def penalize(self, seconds: float) -> None:
        """A throttled answer: everyone on this token waits ``seconds``, then one at a time."""
        with self._cond:
            self.throttled += 1
            self._limit = 1
            self._good = 0
            self._not_before = max(self._not_before, time.monotonic() + seconds)
            self._cond.notify_all()


_throttles: dict[str, Throttle] = {}
_throttles_lock = threading.Lock()


def throttle_for(base_url: str, token: str, **settings: Any) -> Throttle:
    """The process-wide throttle of one token on one Canvas (created on first use)."""
    key = hashlib.sha256(f"{base_url}\0{token}".encode()).hexdigest()
    with _throttles_lock:
        if key not in _throttles:
            _throttles[key] = Throttle(**settings)
        return _throttles[key]


def is_rate_limited(response: httpx.Response) -> bool:
    """429, or 403 with Canvas's "Rate Limit Exceeded" text (self-hosted and older Canvas)."""
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    response.read()  # a 403 body is short; the text tells throttling from a refused permission
    return RATE_LIMIT_TEXT in response.text[:200].lower()


def raise_if_rate_limited(response: httpx.Response) -> None:
    """The ``check_response`` of Canvas's client: a throttled answer is a rate-limit error."""
    if is_rate_limited(response):
        method = response.request.method
        template = endpoint_template(response.request.url.path.split(API_PREFIX, 1)[-1])
        error = HttpRateLimitedError(
            f"canvas {method} {template}: HTTP {response.status_code} rate limit exceeded",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
        error._attach("canvas", method, template, response.status_code, None)
        raise error


class ThrottledTransport(httpx.BaseTransport):
    """Sends each request through ``inner`` once the :class:`Throttle` lets it go."""

    def __init__(self, throttle: Throttle, retry: RetryPolicy, inner: httpx.BaseTransport) -> None:
        self.throttle = throttle
        self.retry = retry
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.throttle.acquire()
        try:
            response = self.inner.handle_request(request)
        finally:
            self.throttle.release()
        self.throttle.observe(_float(response.headers.get("X-Rate-Limit-Remaining")))
        if is_rate_limited(response):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            self.throttle.penalize(self.retry.delay(1, retry_after=retry_after))
        return response

    def close(self) -> None:
        self.inner.close()


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
