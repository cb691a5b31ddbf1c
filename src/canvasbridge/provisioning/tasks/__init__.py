"""The provisioning tasks: idempotent "ensure state" operations, one module per kind.

Each reads fresh data from its source and from Canvas, plans with :mod:`..plan`, and (unless
``ctx.dry_run``) applies the plan through the REST executor. Each returns a small JSON
summary for the task ledger: what it looked at, the planned operations and what was done.

========================  ===============================================================
``ensure_user``           users.py: ``username`` or ``person_id`` (Cerebrum)
``ensure_account``        accounts.py: ``location_id`` (SAP)
``ensure_course``         courses.py: ``fs_id`` of a teaching unit (6 parts) or activity (7)
``ensure_emne``           courses.py: ``fs_id`` of an emne (3 parts): its current units
``ensure_enrollments``    enrollments.py: ``fs_id`` of a unit or activity
``ensure_person_role``    enrollments.py: ``personrolle`` (``personløpenummer,rollenummer``)
``ensure_user_roles``     roles.py: ``employee_id`` (SAP) - account roles from SAP roles
``apply_operation``       operations.py: one planned change a resync could not make (its
                          dead letter), re-planned against Canvas as it is now
========================  ===============================================================
"""

from __future__ import annotations

from typing import Any

from canvasbridge.engine import TaskContext
from canvasbridge.errors import PermanentError
from canvasbridge.provisioning.plan import Operation
from canvasbridge.provisioning.rest import ApplyReport, RestExecutor

#: at most this many operation descriptions go into a ledger summary
SUMMARY_OPS = 20


def carry_out(ctx: TaskContext, executor: RestExecutor, ops: list[Operation]) -> dict[str, Any]:
    """Apply ``ops`` (unless dry run) and summarise; permanent failures raise after the rest ran."""
    summary: dict[str, Any] = {
        "planned": len(ops),
        "operations": [op.describe() for op in ops[:SUMMARY_OPS]],
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
