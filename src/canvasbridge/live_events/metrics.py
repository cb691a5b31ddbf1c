"""The Live Events flow's Prometheus metrics (served with the engine's at ``/metrics``).

``canvasbridge_live_events_parsed_total{outcome, event}`` counts what the engine parser did
with each Caliper event: ``queued`` (a ``record_live_event`` call), ``disabled`` (its
handler is off in ``live_events``), ``unhandled`` (a known Canvas event without a handler)
or ``unmapped`` (no Canvas event name found; ``event`` is ``-``).
"""

from __future__ import annotations

from prometheus_client import Counter

PARSED = Counter(
    "canvasbridge_live_events_parsed_total",
    "Caliper events seen by the Live Events parser, by what it did with them",
    ["outcome", "event"],
)
