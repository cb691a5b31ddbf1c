"""Syncing one section's enrollments: the step ``ensure_course`` (for a new section) and
``ensure_enrollments`` share.

A module of its own so that the task modules import each other one way only
(``enrollments`` → ``courses`` → ``sections`` → ``users`` → ``steps``).
"""

from __future__ import annotations

from typing import Any

from canvasbridge.engine import TaskContext
from canvasbridge.errors import NotFoundError, PermanentError
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.canvas_state import read_section_enrollments
from canvasbridge.provisioning.desired import CourseDecision, decide_section_enrollments
from canvasbridge.provisioning.plan import plan_enrollments
from canvasbridge.provisioning.plan_view import change_record
from canvasbridge.provisioning.runtime import Kit
from canvasbridge.provisioning.tasks.steps import SUMMARY_OPS
from canvasbridge.provisioning.tasks.users import ensure_user


def sync_section(ctx: TaskContext, k: Kit, decision: CourseDecision) -> dict[str, Any]:
    """Plan and (unless dry run) apply the enrollment diff of one section."""
    assert decision.section is not None
    ctx.hold(f"section:{decision.section.sis_section_id}")  # before the reads it decides from
    resolver = runtime.resolver(ctx)
    # Canvas first, then FS: an enrollment another task added meanwhile is then also in this
    # run's (newer) FS read, so it is never taken for one that left and concluded.
    current = read_section_enrollments(k.canvas, decision.section.sis_section_id)
    wanted = decide_section_enrollments(runtime.fs(ctx), k.settings, decision, resolver)
    ops = plan_enrollments(wanted.desired, current, k.ownership)
    summary: dict[str, Any] = {
        "section": decision.section.sis_section_id,
        "wanted": len(wanted.desired),
        "planned": len(ops),
        "operations": [op.describe() for op in ops[:SUMMARY_OPS]],
        "changes": [change_record(op) for op in ops[:SUMMARY_OPS]],
    }
    if wanted.unresolved:
        summary["persons_without_username"] = wanted.unresolved[:SUMMARY_OPS]
    if ctx.dry_run or not ops:
        return summary
    report = k.executor.apply(ops, stop_on_transient=True)
    failures = []
    for failure in report.failures:
        op = failure.operation
        username = resolver.username_of(op.desired.user_sis_id) if op.desired is not None else None
        if op.action == "create" and isinstance(failure.exception, NotFoundError) and username:
            ensure_user(ctx, username=username)
            retry = k.executor.apply([op], stop_on_transient=True)
            if retry.ok:
                report.done += 1
                continue
            failure = retry.failures[0]
        failures.append(failure)
    summary["done"] = report.done
    if failures:
        details = "; ".join(f.describe() for f in failures[:5])
        raise PermanentError(f"{len(failures)} of {len(ops)} enrollment change(s) failed: {details}")
    return summary
