"""Helpers shared by the client tests: an emulator's control surface, spoken over HTTP."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from canvasbridge.clients.http import RetryPolicy

#: Quick retries so the tests stay fast; the behaviour is the same as with production waits.
FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base_s=0.01, backoff_cap_s=0.05, jitter=False)


class EmulatorHandle:
    """``/_emulator/faults|stats|reset`` of one running emulator."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def faults(
        self, *, errors: list[dict[str, Any]] | None = None, latency_ms: float = 0.0, **extra: Any
    ) -> None:
        """Replace the fault settings: error rules, latency, and emulator-specific ``extra``."""
        body = {"errors": errors or [], "latency_ms": latency_ms, "extra": extra}
        httpx.put(f"{self.url}/_emulator/faults", json=body, timeout=5).raise_for_status()

    def stats(self) -> dict[str, Any]:
        """Request counts once the last answer is recorded (the middleware counts after sending)."""
        previous: dict[str, Any] | None = None
        deadline = time.monotonic() + 2.0
        while True:
            current: dict[str, Any] = httpx.get(f"{self.url}/_emulator/stats", timeout=5).json()
            if current == previous or time.monotonic() > deadline:
                return current
            previous = current
            time.sleep(0.02)

    def count(self, route_contains: str = "", status: int | None = None) -> int:
        """Requests whose ``METHOD template`` contains ``route_contains`` (of one status, or all)."""
        total = 0
        for route, by_status in self.stats()["requests"].items():
            if route_contains in route:
                total += sum(n for s, n in by_status.items() if status is None or s == str(status))
        return total

    def clear_stats(self) -> None:
        httpx.delete(f"{self.url}/_emulator/stats", timeout=5).raise_for_status()

    def reset(self) -> None:
        httpx.post(f"{self.url}/_emulator/reset", timeout=5).raise_for_status()


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return FAST_RETRY
