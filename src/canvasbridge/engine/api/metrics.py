"""``GET /metrics``: Prometheus text format. Needs a token (any role).

Served from two registries: the engine's counters of every process sharing this one's
metrics directory (:mod:`canvasbridge.engine.metrics_files`: consumers, workers and their
pool children on this host), and gauges read from the ledger at scrape time, which are true
for the whole deployment whatever process answers:

* ``canvasbridge_task_calls{task,state}`` - calls in the ledger per task and state;
* ``canvasbridge_task_seconds_since_last_success{task}`` - freshness;
* ``canvasbridge_oldest_pending_seconds`` - age of the oldest queued or retrying call;
* ``canvasbridge_parked_messages`` - messages parked with a reason.

Why a token: the task names and volumes tell an outsider what the service manages.
Prometheus sends one with ``authorization: {type: Bearer, credentials_file: …}``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from canvasbridge.engine import metrics_files

from . import operations as ops
from .auth import Principal, require_read
from .errors import responses

router = APIRouter(tags=["metrics"])
log = logging.getLogger(__name__)


class FilesCollector(Collector):
    """The metrics every process wrote to the directory, added up (folding dead ones first)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def collect(self) -> Iterable[Metric]:
        return metrics_files.collect(self.directory)


class LedgerCollector(Collector):
    """Gauges computed from the ledger each time Prometheus scrapes."""

    def __init__(self, operations: ops.Operations) -> None:
        self.operations = operations

    def collect(self) -> Iterable[Metric]:
        try:
            stats = self.operations.stats(queue_depth=False)
        except Exception as exc:  # a scrape must not fail because the database blinked
            log.warning("metrics: cannot read the ledger: %s", type(exc).__name__)
            return []
        calls = GaugeMetricFamily("canvasbridge_task_calls", "Calls in the ledger", labels=["task", "state"])
        for task, states in sorted(stats.by_task.items()):
            for state, number in sorted(states.items()):
                calls.add_metric([task, state], number)
        fresh = GaugeMetricFamily(
            "canvasbridge_task_seconds_since_last_success",
            "Seconds since the task last succeeded (absent if it never did)",
            labels=["task"],
        )
        for entry in stats.freshness:
            if entry.seconds_since is not None:
                fresh.add_metric([entry.task], entry.seconds_since)
        oldest = GaugeMetricFamily(
            "canvasbridge_oldest_pending_seconds", "Age of the oldest queued or retrying call (0 if none)"
        )
        oldest.add_metric([], stats.oldest_pending_age_s or 0.0)
        parked = GaugeMetricFamily("canvasbridge_parked_messages", "Messages parked with a reason")
        parked.add_metric([], stats.parked)
        return [calls, fresh, oldest, parked]


def ledger_registry(operations: ops.Operations) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(operations))
    return registry


def process_registry() -> CollectorRegistry:
    """The engine's counters: all processes' in multiprocess mode, else this process's."""
    directory = metrics_files.active_dir()
    if directory is None:
        return REGISTRY
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FilesCollector(directory))
    return registry


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **responses(401, 403)},
)
def metrics(request: Request, _: Annotated[Principal, Depends(require_read)]) -> Response:
    """Prometheus metrics in the text exposition format."""
    ledger_side: CollectorRegistry = request.app.state.metrics_registry
    body = generate_latest(process_registry()) + generate_latest(ledger_side)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
