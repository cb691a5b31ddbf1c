"""``apply_operation``: carry out one planned change again, the requeueable form of a change
a resync could not make (a SIS import's failed row, a REST call that failed).

The parameters are the operation itself (:meth:`.plan.Operation.to_params`): kind, action,
key, changes, and the current and desired states as the resync saw them. The task does not
replay the recorded write. It re-reads the object from Canvas, plans it again with the
resync's plan function and writes only what still differs, so running it again, or after the
object reached the desired state some other way, writes nothing. For a creation the target is
the whole recorded desired state; for any other change only the fields the operation changed,
on top of what Canvas holds now, so a stale dead letter cannot undo other fields changed since.

A creation whose parent (course, section, user, sub-account) is not in Canvas yet fails
transiently and is retried: the dead letters of one import are typically requeued together,
and the parent's own dead letter may run later.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from canvasbridge.engine import TaskContext
from canvasbridge.errors import NotFoundError, PermanentError, TransientError
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.canvas_state import (
    read_account,
    read_course,
    read_section,
    read_section_enrollments,
    read_user,
)
from canvasbridge.provisioning.plan import (
    Operation,
    plan_account,
    plan_course,
    plan_enrollments,
    plan_section,
    plan_user,
)
from canvasbridge.provisioning.runtime import Kit
from canvasbridge.provisioning.tasks.steps import SUMMARY_OPS

#: the import path the resync looks for under ``tasks:`` to name its dead letters
TASK_PATH = "canvasbridge.provisioning.tasks.operations:apply_operation"


def _target(op: Operation, current: Any) -> Any:
    """The state to plan towards: the recorded desired state for a creation (or an object
    gone since), else the current state with only the operation's fields as desired."""
    if op.desired is None or current is None or op.action == "create":
        return op.desired
    if getattr(current, "workflow_state", None) == "deleted":
        return op.desired
    changed = [name for name in op.changes if name != "login"] + list(op.changes.get("login") or {})
    return replace(current, **{name: getattr(op.desired, name) for name in changed})


def replan(k: Kit, op: Operation) -> list[Operation]:
    """What it takes now to make the change ``op`` stands for (empty if it is made)."""
    if op.kind == "enrollment":
        subject = op.desired if op.desired is not None else op.current
        if subject is None:
            raise PermanentError(f"{op.describe()}: neither a current nor a desired enrollment")
        existing = [
            e for e in read_section_enrollments(k.canvas, subject.section_sis_id) if e.key == subject.key
        ]
        wanted = {subject.key: op.desired} if op.desired is not None else {}
        return plan_enrollments(wanted, existing, k.ownership)
    if op.kind == "user":
        current = read_user(k.canvas, op.key)
        return plan_user(_target(op, current), current, k.ownership)
    if op.desired is None:
        raise PermanentError(f"{op.describe()}: no desired state to plan towards")
    if op.kind == "account":
        account = read_account(k.canvas, k.directory, op.key)
        return plan_account(_target(op, account), account, k.ownership)
    if op.kind == "course":
        course = read_course(k.canvas, k.directory, op.key)
        return plan_course(_target(op, course), course, k.ownership)
    section = read_section(k.canvas, op.key)
    return plan_section(_target(op, section), section, k.ownership)


def apply_operation(
    ctx: TaskContext,
    kind: str,
    action: str,
    key: str,
    changes: dict[str, Any] | None = None,
    current: dict[str, Any] | None = None,
    desired: dict[str, Any] | None = None,
) -> dict[str, Any]:
    op = Operation.from_params(
        {
            "kind": kind,
            "action": action,
            "key": key,
            "changes": changes,
            "current": current,
            "desired": desired,
        }
    )
    k = runtime.kit(ctx)
    ops = replan(k, op)
    summary: dict[str, Any] = {
        "operation": op.describe(),
        "planned": len(ops),
        "operations": [o.describe() for o in ops[:SUMMARY_OPS]],
        "dry_run": ctx.dry_run,
    }
    if ctx.dry_run or not ops:
        return summary
    report = k.executor.apply(ops, stop_on_transient=True)
    summary["done"] = report.done
    if report.failures:
        details = "; ".join(f.describe() for f in report.failures[:5])
        if all(
            f.operation.action == "create" and isinstance(f.exception, NotFoundError) for f in report.failures
        ):
            raise TransientError(f"{details} (something it refers to is not in Canvas yet)")
        raise PermanentError(f"{len(report.failures)} of {len(ops)} change(s) failed: {details}")
    return summary
