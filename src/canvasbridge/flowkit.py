"""What every flow's tasks share that needs both the engine and the clients.

It sits between the flows and the engine/clients layers (see ``[tool.importlinter]``), so a
flow (ours or a user's) gets one process-wide counter of external calls without naming
another flow's resources.
"""

from __future__ import annotations

from canvasbridge.clients.http import CallStats
from canvasbridge.engine import TaskContext, metrics

CALL_STATS = "clients:call-stats"  # ctx.resource key: one counter per worker process, every flow


def call_stats(ctx: TaskContext) -> CallStats:
    """The process's call counter, shared by every client of every flow; it feeds the
    engine's ``canvasbridge_external_calls_total`` metrics."""
    return ctx.resource(CALL_STATS, lambda: CallStats(hooks=[metrics.external_call_hook]))
