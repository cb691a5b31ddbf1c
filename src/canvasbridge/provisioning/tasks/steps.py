"""The step every provisioning task ends with: apply a plan (unless dry run) and summarise it."""

from __future__ import annotations

from typing import Any

from canvasbridge.engine import TaskContext
from canvasbridge.errors import PermanentError
from canvasbridge.provisioning.plan import Operation
from canvasbridge.provisioning.plan_view import change_record
from canvasbridge.provisioning.rest import ApplyReport, RestExecutor

#: at most this many operation descriptions go into a ledger summary
SUMMARY_OPS = 20


def carry_out(ctx: TaskContext, executor: RestExecutor, ops: list[Operation]) -> dict[str, Any]:
    """Apply ``ops`` (unless dry run) and summarise; permanent failures raise after the rest ran."""
    summary: dict[str, Any] = {
        "planned": len(ops),
        "operations": [op.describe() for op in ops[:SUMMARY_OPS]],
        "changes": [change_record(op) for op in ops[:SUMMARY_OPS]],  # as in a resync's plan document
        "dry_run": ctx.dry_run,
    }
    if ctx.dry_run or not ops:
        return summary
    report: ApplyReport = executor.apply(ops, stop_on_transient=True)
    summary["done"] = report.done
    if report.failures:
        details = "; ".join(f.describe() for f in report.failures[:5])
        raise PermanentError(f"{len(report.failures)} of {len(ops)} change(s) failed: {details}")
    return summary
