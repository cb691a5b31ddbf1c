"""Canvas throttling: a requests adapter that paces, retries, counts and types every call.

Canvas meters each access token with a leaky bucket and tells us how much room is left in
``X-Rate-Limit-Remaining`` on every answer (reference §2.3). :class:`Throttle` is shared by
every client using the same token in this process and keeps us inside the bucket:

* at most ``max_concurrency`` requests in flight (each in-flight request holds Canvas's
  up-front cost, so parallelism itself drains the bucket);
* below ``low_water`` remaining, half as many in flight, after a pause that grows as the
  bucket empties (up to ``max_pause_s``); the limit grows back by one per round of good
  answers (additive increase, multiplicative decrease);
* on a throttled answer (429, or the older 403 "Rate Limit Exceeded") every thread on the
  token pauses for ``Retry-After`` or the backoff, drops to one request in flight, and
  the request is retried.

:class:`ThrottlingAdapter` is mounted on canvasapi's private ``requests.Session`` and on our
own, so canvasapi objects and the raw helpers share pacing, retries (throttling, 5xx,
timeouts and connection errors; not a POST whose answer timed out), the User-Agent, a default timeout, call counting and typed
errors from :mod:`canvasbridge.clients.http` (a 404 raises ``HttpNotFoundError`` before
canvasapi sees it).
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from canvasbridge.clients.http import (
    CallStats,
    HttpRateLimitedError,
    Redactor,
    RetryPolicy,
    endpoint_template,
    error_for_status,
    parse_retry_after,
    transport_error,
    transport_status,
)

DEFAULT_MAX_CONCURRENCY = 4  # requests in flight per token
DEFAULT_LOW_WATER = 200.0  # below this X-Rate-Limit-Remaining, go one at a time and pause
DEFAULT_MAX_PAUSE_S = 2.0  # pause before a request when the bucket is empty (seconds)
RATE_LIMIT_TEXT = "rate limit exceeded"


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


def is_rate_limited(response: requests.Response) -> bool:
    """429, or 403 with Canvas's "Rate Limit Exceeded" text (self-hosted and older Canvas)."""
    if response.status_code == 429:
        return True
    return response.status_code == 403 and RATE_LIMIT_TEXT in response.text[:200].lower()


class ThrottlingAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` adding pacing, retries, User-Agent, timeout, counting and typed errors."""

    def __init__(
        self,
        *,
        throttle: Throttle,
        stats: CallStats,
        retry: RetryPolicy,
        user_agent: str,
        timeout_s: float,
        redactor: Redactor,
        api_prefix: str = "/api/v1/",
        pool_maxsize: int = 10,
    ) -> None:
        super().__init__(pool_connections=2, pool_maxsize=pool_maxsize)
        self.throttle = throttle
        self.stats = stats
        self.retry_policy = retry
        self.user_agent = user_agent
        self.timeout_s = timeout_s
        self.redactor = redactor
        self.api_prefix = api_prefix

    def _template(self, url: str) -> str:
        path = urlsplit(url).path
        if self.api_prefix in path:
            path = path.split(self.api_prefix, 1)[1]
        return endpoint_template(path)

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        request.headers["User-Agent"] = self.user_agent
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout_s
        method = request.method or "GET"
        template = self._template(request.url or "")
        policy = self.retry_policy
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= policy.max_attempts
            self.throttle.acquire()
            started = time.perf_counter()
            try:
                response = super().send(request, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                self.stats.record(
                    "canvas", method, template, time.perf_counter() - started, transport_status(exc)
                )
                self.throttle.release()
                # a POST that timed out while reading may have been applied: do not send it twice
                sent = isinstance(exc, requests.ReadTimeout) and method == "POST"
                if last or sent:
                    raise transport_error(
                        exc, system="canvas", method=method, endpoint=template, redactor=self.redactor
                    ) from None
                time.sleep(policy.delay(attempt))
                continue
            elapsed = time.perf_counter() - started
            self.throttle.release()
            self.stats.record("canvas", method, template, elapsed, response.status_code)
            self.throttle.observe(_float(response.headers.get("X-Rate-Limit-Remaining")))
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if is_rate_limited(response):
                self.throttle.penalize(policy.delay(attempt, retry_after=retry_after))
                if not last:
                    response.close()
                    continue
                error = HttpRateLimitedError(
                    f"canvas {method} {template}: rate limit exceeded after {attempt} attempts",
                    retry_after=retry_after,
                )
                error._attach("canvas", method, template, response.status_code, None)
                raise error
            if response.status_code >= 500 and not last:
                response.close()
                time.sleep(policy.delay(attempt, retry_after=retry_after))
                continue
            if response.status_code >= 400:
                body: Any
                try:
                    body = response.json()
                except ValueError:
                    body = None
                raise error_for_status(
                    response.status_code,
                    system="canvas",
                    method=method,
                    endpoint=template,
                    text=response.text,
                    body=body,
                    retry_after=retry_after,
                    redactor=self.redactor,
                )
            return response


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
