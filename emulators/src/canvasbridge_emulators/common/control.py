"""The ``/_emulator`` control surface shared by every emulator.

``GET/PUT /_emulator/faults``   read or replace the fault settings (see :class:`Faults`)
``GET /_emulator/stats``        requests counted per ``METHOD path-template`` and status
``DELETE /_emulator/stats``     zero the counters
``POST /_emulator/reset``       restore the emulator's data to its seeded state, clear faults and stats
``GET /_emulator/state``        a summary of the emulator's data (the emulator decides what)

Emulators add their own keys to :attr:`Faults.extra` (for example Canvas's throttle or
Salesforce's token expiry) and read them from there.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CONTROL_PREFIX = "/_emulator"


class ErrorRule(BaseModel):
    """Answer matching requests with an error instead of the real response."""

    path: str = Field(description="regular expression searched in the request path")
    method: str | None = Field(default=None, description="only this HTTP method; any when absent")
    status: int = 503
    body: Any = None
    content_type: str = "application/json"
    rate: float = Field(default=1.0, ge=0.0, le=1.0, description="share of matching requests hit")
    count: int | None = Field(
        default=None, ge=0, description="stop after this many hits; no limit when absent"
    )


class Faults(BaseModel):
    """Fault settings. ``latency_ms`` delays every request; ``errors`` are tried in order."""

    latency_ms: float = Field(default=0.0, ge=0.0)
    errors: list[ErrorRule] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict)


class EmulatorControl:
    """Fault settings and request counters for one emulator, safe across threads."""

    def __init__(
        self,
        name: str,
        *,
        reset: Callable[[], None] | None = None,
        state: Callable[[], dict[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self._reset = reset
        self._state = state
        self._lock = threading.Lock()
        self.faults = Faults()
        self._stats: Counter[tuple[str, str, int]] = Counter()
        self._rule_hits: Counter[int] = Counter()

    def record(self, method: str, template: str, status: int) -> None:
        with self._lock:
            self._stats[(method, template, status)] += 1

    def stats(self) -> dict[str, Any]:
        """Counts keyed ``"GET /api/v1/users/{id}"`` → ``{"200": n, ...}``, plus a total."""
        with self._lock:
            items = list(self._stats.items())
        by_route: dict[str, dict[str, int]] = {}
        total = 0
        for (method, template, status), n in items:
            by_route.setdefault(f"{method} {template}", {})[str(status)] = n
            total += n
        return {"emulator": self.name, "total": total, "requests": by_route}

    def count(self, method: str | None = None, template_contains: str = "") -> int:
        """Requests seen, optionally of one method and with a template containing a string."""
        with self._lock:
            return sum(
                n
                for (m, t, _s), n in self._stats.items()
                if (method is None or m == method) and template_contains in t
            )

    def clear_stats(self) -> None:
        with self._lock:
            self._stats.clear()

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self.faults = faults
            self._rule_hits.clear()

    def take_error_rule(self, method: str, path: str, draw: float) -> ErrorRule | None:
        """The first error rule that fires for this request, counting its hit."""

        with self._lock:
            for index, rule in enumerate(self.faults.errors):
                if rule.method and rule.method.upper() != method.upper():
                    continue
                if not re.search(rule.path, path):
                    continue
                if rule.count is not None and self._rule_hits[index] >= rule.count:
                    continue
                if draw >= rule.rate:
                    continue
                self._rule_hits[index] += 1
                return rule
        return None

    def reset(self) -> None:
        if self._reset is not None:
            self._reset()
        self.set_faults(Faults())
        self.clear_stats()

    def state(self) -> dict[str, Any]:
        return self._state() if self._state is not None else {}


def control_routes(control: EmulatorControl) -> list[Route]:
    """Starlette routes for the control surface of ``control``."""

    async def get_faults(request: Request) -> JSONResponse:
        return JSONResponse(control.faults.model_dump())

    async def put_faults(request: Request) -> JSONResponse:
        try:
            faults = Faults.model_validate(await request.json())
        except (ValidationError, ValueError) as exc:
            return JSONResponse({"error": "invalid faults", "detail": str(exc)}, status_code=422)
        control.set_faults(faults)
        return JSONResponse(faults.model_dump())

    async def get_stats(request: Request) -> JSONResponse:
        return JSONResponse(control.stats())

    async def delete_stats(request: Request) -> JSONResponse:
        control.clear_stats()
        return JSONResponse(control.stats())

    async def post_reset(request: Request) -> JSONResponse:
        control.reset()
        return JSONResponse({"reset": True})

    async def get_state(request: Request) -> JSONResponse:
        return JSONResponse(control.state())

    return [
        Route(f"{CONTROL_PREFIX}/faults", get_faults, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/faults", put_faults, methods=["PUT", "POST"]),
        Route(f"{CONTROL_PREFIX}/stats", get_stats, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/stats", delete_stats, methods=["DELETE"]),
        Route(f"{CONTROL_PREFIX}/reset", post_reset, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/state", get_state, methods=["GET"]),
    ]
