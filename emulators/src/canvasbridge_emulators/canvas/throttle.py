"""Canvas's leaky-bucket request throttle, one bucket per access token.

Each request adds ``up_front_cost`` to its token's bucket while it is in flight and,
when it ends, swaps that for its real ``cost``. The bucket drains at ``outflow``
units per second and never holds more than ``maximum``. A request arriving while
the bucket is at or above ``hwm`` is refused. Responses carry ``X-Request-Cost``
(left out when refused) and ``X-Rate-Limit-Remaining`` (``hwm - count``, ``0.0`` when
refused). Hosted Canvas answers 429 since late 2025; older and open-source builds
answer 403 ``text/plain`` ``403 Forbidden (Rate Limit Exceeded)``.

Settings come from ``Faults.extra["throttle"]`` (PUT ``/_emulator/faults``)::

    {"throttle": {"enabled": true, "status": 403, "hwm": 700, "maximum": 800,
                  "outflow": 10, "up_front_cost": 50, "cost": 0.02}}

Turn it off with ``"enabled": false`` when a benchmark should measure the service
rather than Canvas's limits. The real cost is CPU plus database seconds; the default
``cost`` (units per request) is a typical simple read.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, fields
from typing import Any

DEFAULT_HWM = 700.0  # hosted Canvas's high-water mark (open-source default is 600)
DEFAULT_MAXIMUM = 800.0  # the bucket never holds more than this
DEFAULT_OUTFLOW = 10.0  # units drained per second
DEFAULT_UP_FRONT_COST = 50.0  # units held while a request is in flight
DEFAULT_COST = 0.02  # units a finished request costs
DEFAULT_STATUS = 403  # 403 (open source) or 429 (hosted since 2025)


@dataclass(frozen=True)
class ThrottleSettings:
    enabled: bool = True
    status: int = DEFAULT_STATUS
    hwm: float = DEFAULT_HWM
    maximum: float = DEFAULT_MAXIMUM
    outflow: float = DEFAULT_OUTFLOW
    up_front_cost: float = DEFAULT_UP_FRONT_COST
    cost: float = DEFAULT_COST

    @classmethod
    def from_extra(cls, value: Any) -> ThrottleSettings:
        if not isinstance(value, dict):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in known})


class Throttle:
    """The buckets of every token; safe across threads."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, list[float]] = {}  # token -> [count, last update]

    def _leak(self, token: str, settings: ThrottleSettings) -> list[float]:
        now = self._clock()
        bucket = self._buckets.get(token)
        if bucket is None:
            bucket = self._buckets[token] = [0.0, now]
        else:
            bucket[0] = max(0.0, bucket[0] - (now - bucket[1]) * settings.outflow)
            bucket[1] = now
        return bucket

    def begin(self, token: str, settings: ThrottleSettings) -> bool:
        """Admit a request (charging the up-front cost), or refuse it."""
        with self._lock:
            bucket = self._leak(token, settings)
            if bucket[0] >= settings.hwm:
                return False
            bucket[0] = min(settings.maximum, bucket[0] + settings.up_front_cost)
            return True

    def end(self, token: str, settings: ThrottleSettings, cost: float) -> float:
        """Finish an admitted request; returns the remaining allowance (``hwm - count``)."""
        with self._lock:
            bucket = self._leak(token, settings)
            bucket[0] = min(settings.maximum, max(0.0, bucket[0] - settings.up_front_cost + cost))
            return settings.hwm - bucket[0]

    def level(self, token: str) -> float:
        with self._lock:
            bucket = self._buckets.get(token)
            return bucket[0] if bucket else 0.0

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
