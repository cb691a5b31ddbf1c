"""Prometheus metrics of the engine. Served at ``/metrics`` by the admin API.

The ``canvasbridge`` command counts in files (:mod:`canvasbridge.engine.metrics_files`), so
the API adds up every process of its host; each gauge says how its processes' values
combine (``multiprocess_mode``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_RECEIVED = Counter("canvasbridge_messages_received_total", "Messages received", ["source"])
MESSAGES_ROUTED = Counter(
    "canvasbridge_messages_routed_total", "Messages matched by a route", ["source", "route"]
)
MESSAGES_UNMATCHED = Counter("canvasbridge_messages_unmatched_total", "Messages no route matched", ["source"])
MESSAGES_PARKED = Counter(
    "canvasbridge_messages_parked_total", "Messages parked with a reason", ["source", "route", "cause"]
)
REQUESTS_REFUSED = Counter(
    "canvasbridge_requests_refused_total",
    "HTTP source requests refused with 401 (bearer token, or a signed body that does not verify), by reason",
    ["source", "reason"],
)
TASKS_QUEUED = Counter("canvasbridge_tasks_queued_total", "Task calls queued", ["task"])
TASKS_FOLDED = Counter("canvasbridge_tasks_folded_total", "Task calls folded into a pending one", ["task"])
TASKS_SUCCEEDED = Counter("canvasbridge_tasks_succeeded_total", "Task calls that succeeded", ["task"])
TASKS_RETRIED = Counter(
    "canvasbridge_tasks_retried_total", "Task attempts that failed and will retry", ["task"]
)
TASKS_DEAD = Counter("canvasbridge_tasks_dead_total", "Task calls that became dead letters", ["task"])
TASK_DURATION = Histogram(
    "canvasbridge_task_duration_seconds",
    "Time spent running one task attempt",
    ["task"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
TASK_LAST_SUCCESS = Gauge(
    "canvasbridge_task_last_success_timestamp_seconds",
    "Unix time of the last success per task",
    ["task"],
    multiprocess_mode="max",
)

# -- external systems --------------------------------------------------------------------
# Clients may not import the engine, so the flows that own them report through these two
# functions. ``endpoint`` must be a route template ("GET /api/v1/users/:id"), never a URL
# with ids in it: every distinct value becomes a time series.

EXTERNAL_CALLS = Counter(
    "canvasbridge_external_calls_total",
    "Calls to external systems by system, endpoint template and HTTP status (or error class)",
    ["system", "endpoint", "status"],
)
EXTERNAL_CALL_DURATION = Histogram(
    "canvasbridge_external_call_duration_seconds",
    "Time per call to an external system",
    ["system", "endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RATE_LIMIT_REMAINING = Gauge(
    "canvasbridge_rate_limit_remaining",
    "What the system last reported as left of its rate limit (Canvas: X-Rate-Limit-Remaining; "
    "Salesforce: daily API requests left)",
    ["system"],
    multiprocess_mode="mostrecent",
)

RATE_LIMIT = Gauge(
    "canvasbridge_rate_limit",
    "The whole allowance, when the system says it (Salesforce: daily API requests)",
    ["system"],
    multiprocess_mode="mostrecent",
)


def observe_external_call(system: str, endpoint: str, status: int | str, seconds: float) -> None:
    """Count one call to ``system`` and its duration.

    ``status`` is the HTTP status, or a short error class ("timeout", "connect") when no
    response came back; ``seconds`` is the wall time of the call.
    """
    EXTERNAL_CALLS.labels(system, endpoint, str(status)).inc()
    EXTERNAL_CALL_DURATION.labels(system, endpoint).observe(max(seconds, 0.0))


def external_call_hook(system: str, method: str, template: str, seconds: float, status: str) -> None:
    """A client call hook (``clients.http.CallHook``) that feeds :func:`observe_external_call`.

    ``status`` is the HTTP status (``"503"``), or ``timeout``/``connect``/``error`` when no
    answer came back.
    """
    observe_external_call(system, f"{method} {template}", status, seconds)


def set_rate_limit_remaining(system: str, value: float, *, limit: float | None = None) -> None:
    """Record the rate-limit allowance ``system`` reported with its last response, and the
    whole allowance (``limit``) when it says that too; the dashboard shows how much is used."""
    RATE_LIMIT_REMAINING.labels(system).set(value)
    if limit is not None:
        RATE_LIMIT.labels(system).set(limit)
