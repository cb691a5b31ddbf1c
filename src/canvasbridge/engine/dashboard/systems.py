"""External systems as the engine's metrics see them: rate-limit headroom and call counts.

The flows report through :mod:`canvasbridge.engine.metrics` (``set_rate_limit_remaining``,
``observe_external_call``); the engine names no system itself. The figures are those of
the processes whose metrics this API process can read: those sharing its metrics directory
(:mod:`canvasbridge.engine.metrics_files`; see operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from canvasbridge.engine.api.metrics import process_registry

OK_STATUSES = {"ok", "200", "201", "202", "204"}


@dataclass
class SystemUse:
    """One external system: what it said is left, of how much, and the calls made to it."""

    system: str
    remaining: float | None = None
    limit: float | None = None
    calls: int = 0
    failed: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def used_percent(self) -> float | None:
        if self.remaining is None or not self.limit:
            return None
        return round(100.0 * (self.limit - self.remaining) / self.limit, 1)


def system_use(registry: CollectorRegistry | None = None) -> list[SystemUse]:
    """Every system any metric names, by name. Of several processes' gauges the least
    headroom counts (they share one allowance; the most recent report is the lowest)."""
    found: dict[str, SystemUse] = {}
    for metric in (registry or process_registry()).collect():
        for sample in metric.samples:
            system = sample.labels.get("system")
            if system is None:
                continue
            use = found.setdefault(system, SystemUse(system))
            if sample.name == "canvasbridge_rate_limit_remaining":
                use.remaining = sample.value if use.remaining is None else min(use.remaining, sample.value)
            elif sample.name == "canvasbridge_rate_limit":
                use.limit = sample.value if use.limit is None else max(use.limit, sample.value)
            elif sample.name == "canvasbridge_external_calls_total":
                status = sample.labels.get("status", "?")
                count = int(sample.value)
                use.calls += count
                use.by_status[status] = use.by_status.get(status, 0) + count
                if status not in OK_STATUSES:
                    use.failed += count
    return [found[name] for name in sorted(found)]
