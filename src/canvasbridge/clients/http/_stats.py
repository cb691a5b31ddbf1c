"""Call statistics: every HTTP request counted per system and endpoint template."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("canvasbridge.clients")


@dataclass
class EndpointStats:
    """Calls to one endpoint: how many, how many failed, total seconds spent."""

    calls: int = 0
    errors: int = 0
    seconds: float = 0.0

    @property
    def mean_ms(self) -> float:
        return 1000.0 * self.seconds / self.calls if self.calls else 0.0


#: ``hook(system, METHOD, template, seconds, status)``, called after every HTTP request;
#: ``status`` is the HTTP status (``"503"``) or, with no answer, ``"timeout"``, ``"connect"``
#: or ``"error"`` (see :func:`~canvasbridge.clients.http.transport_status`).
CallHook = Callable[[str, str, str, float, str], None]


@dataclass
class CallStats:
    """Counts every HTTP call made through the clients that share it (thread-safe).

    ``total`` is the number of HTTP requests sent (retries count); ``by_endpoint`` maps
    ``"<system> <METHOD> <template>"`` to :class:`EndpointStats`; ``by_system`` sums them.
    ``hooks`` are called after each request (e.g. to feed Prometheus); a failing hook is
    logged, never raised.
    """

    total: int = 0
    by_endpoint: dict[str, EndpointStats] = field(default_factory=dict)
    hooks: list[CallHook] = field(default_factory=list, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, system: str, method: str, template: str, seconds: float, status: int | str) -> None:
        """Count one request; ``status`` is its HTTP status, or why no answer came (a word)."""
        ok = isinstance(status, int) and status < 400
        key = f"{system} {method.upper()} {template}"
        with self._lock:
            self.total += 1
            entry = self.by_endpoint.setdefault(key, EndpointStats())
            entry.calls += 1
            entry.seconds += seconds
            if not ok:
                entry.errors += 1
        for hook in self.hooks:
            try:
                hook(system, method.upper(), template, seconds, str(status))
            except Exception:  # a metrics hook must never break a call
                log.exception("call hook %r failed", hook)

    @property
    def by_system(self) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for key, entry in self.by_endpoint.items():
                system = key.split(" ", 1)[0]
                out[system] = out.get(system, 0) + entry.calls
            return out

    def calls(self, system: str | None = None, contains: str = "") -> int:
        """Calls of one system (all when ``None``) whose key contains ``contains``."""
        with self._lock:
            return sum(
                e.calls
                for k, e in self.by_endpoint.items()
                if (system is None or k.startswith(system + " ")) and contains in k
            )

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_endpoint.clear()

    def take(self) -> dict[str, EndpointStats]:
        """The counts so far, and start again from zero (to hand them to another process)."""
        with self._lock:
            taken, self.by_endpoint = self.by_endpoint, {}
            self.total = 0
            return taken

    def absorb(self, counts: dict[str, EndpointStats]) -> None:
        """Add counts taken in another process. Hooks are not called: that process fed its own."""
        with self._lock:
            for key, theirs in counts.items():
                entry = self.by_endpoint.setdefault(key, EndpointStats())
                entry.calls += theirs.calls
                entry.errors += theirs.errors
                entry.seconds += theirs.seconds
                self.total += theirs.calls
