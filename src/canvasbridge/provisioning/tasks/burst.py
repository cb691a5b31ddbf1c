"""Bursts: many waiting ``ensure_enrollments`` calls applied as one SIS import.

At term start FS sends tens of thousands of enrolment notifications within minutes; each
becomes an ``ensure_enrollments`` call for its section, and the per-object path writes
each enrollment by REST. When a worker runs one of them and finds at least
``provisioning.bulk.burst_threshold`` calls of the task waiting (itself included), it
gathers up to ``bulk.burst_max_calls`` of them (the engine's gathering, see
``engine/ledger/gathering.py``) and applies them together:

1. decide each call's section from FS; a call whose unit is not exported is settled as the
   per-object path would settle it, one whose section is not in Canvas yet is left to run
   on its own (it builds the course first);
2. hold each section (one writer per object) and read its enrollments from Canvas: a
   section another running call holds (or whose read fails) is left out, and its call runs
   on its own later; then gather the calls (a call a worker started meanwhile is not
   gathered);
3. per section, as the per-object path: read FS (after Canvas, and after the gathering, so
   it sees every gathered call's change) and plan the diff (add the missing, reactivate the
   inactive, *conclude* the owned ones no longer wanted; nothing the service does not own
   is touched);
4. check the whole plan against ``provisioning.safety`` (:meth:`.plan.Plan.check_safety`):
   a burst that would conclude too many enrollments stops, and every gathered call becomes
   a dead letter naming the stop;
5. apply the plan as one SIS import (:func:`..bulk.apply_bulk`: explicit statuses, no batch
   mode, only our rows); a row the import rejects fails only the calls of its section, after
   one more try by REST (provisioning a missing user first, as the per-object path does);
6. settle each gathered call: succeeded with its section's summary, or dead with its own
   error (requeueable alone). A permanent error anywhere else makes every gathered call a
   dead letter with that error, so none is left behind. A *transient* one (Canvas down, a
   503 at the upload, a network error) settles nothing: the gathered calls stay gathered
   by this call, which fails transiently and is retried by its task's retry policy; its
   next run finds them (``ctx.gathered()``) and applies them again. They are not put back
   on the queue: each would start a burst of its own at once against the failing Canvas,
   ignoring the backoff. If this call ends without running again (a dead letter, or handed
   over to an identical call), the worker settles them as dead letters with its error
   (see ``engine/ledger/gathering.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from canvasbridge.backoff import is_transient
from canvasbridge.engine import TaskContext
from canvasbridge.errors import CanvasbridgeError, ObjectBusy
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.bulk import apply_bulk
from canvasbridge.provisioning.canvas_state import section_enrollments
from canvasbridge.provisioning.desired import (
    CourseDecision,
    FsView,
    decide_course,
    decide_section_enrollments,
)
from canvasbridge.provisioning.model import LIVE_STATES, EnrollmentState
from canvasbridge.provisioning.plan import Operation, Plan, plan_enrollments
from canvasbridge.provisioning.rest import Failure
from canvasbridge.provisioning.rules import Placement
from canvasbridge.provisioning.runtime import Kit
from canvasbridge.provisioning.tasks.steps import SUMMARY_OPS
from canvasbridge.provisioning.tasks.users import ensure_user

OWN = 0  # the running call's key among the burst's calls (gathered calls have ledger ids > 0)


@dataclass
class _Section:
    """One section of the burst: its decision, the calls that asked for it, its operations."""

    decision: CourseDecision
    calls: list[int] = field(default_factory=list)
    current: list[EnrollmentState] = field(default_factory=list)  # in Canvas, read once held
    ops: list[Operation] = field(default_factory=list)


@dataclass
class Burst:
    """What a burst did; ``own`` is the running call's summary (``None``: run it on its own)."""

    own: dict[str, Any] | None
    summary: dict[str, Any]
    own_error: str | None = None


def wants_burst(ctx: TaskContext) -> bool:
    """Whether this ``ensure_enrollments`` run should gather: enough calls waiting, or calls an
    earlier, lost run of it gathered."""
    bulk = runtime.settings(ctx).bulk
    if bulk.burst_threshold == 0 or ctx.dry_run or not ctx.holds_objects:
        return False
    if ctx.attempt > 1 and ctx.gathered():
        return True
    return len(ctx.pending_calls(limit=bulk.burst_threshold)) + 1 >= bulk.burst_threshold


def run_burst(ctx: TaskContext, fs_id: str) -> Burst:
    """Gather, plan, check and apply (see the module docstring)."""
    k = runtime.kit(ctx)
    view = FsView(runtime.fs(ctx))
    earlier = {c.id: str(c.params.get("fs_id")) for c in (ctx.gathered() if ctx.attempt > 1 else [])}
    waiting = {
        c.id: str(c.params.get("fs_id"))
        for c in ctx.pending_calls(limit=k.settings.bulk.burst_max_calls - 1 - len(earlier))
    }
    asked = {OWN: fs_id, **waiting, **earlier}
    skipped: dict[int, dict[str, Any]] = {}
    sections: dict[str, _Section] = {}
    for call, target in asked.items():
        try:
            decision = decide_course(view, k.settings, target)
        except CanvasbridgeError:
            continue  # left to run on its own, where its error is its own
        if decision.outcome is Placement.SKIP or decision.section is None:
            skipped[call] = {"fs_id": target, "outcome": decision.outcome.value, "rule": decision.rule.reason}
            skipped[call]["planned"] = 0
            continue
        sis = decision.section.sis_section_id
        sections.setdefault(sis, _Section(decision)).calls.append(call)
    own_section = next((sis for sis, s in sections.items() if OWN in s.calls), None)
    if own_section is not None:
        ctx.hold(f"section:{own_section}")  # this call's own: give way as the per-object path does
    for sis in list(sections):
        mine = sis == own_section
        current = None
        if mine or ctx.try_hold(f"section:{sis}"):
            try:  # read once held: nobody else writes the section until this call ends
                current = section_enrollments(k.canvas, sis)
            except CanvasbridgeError:
                if mine:
                    raise
        if current is None:  # held elsewhere, unreadable, or not in Canvas yet (its call builds it)
            if sis == own_section:
                own_section = None
            del sections[sis]
        else:
            sections[sis].current = current
    wanted_ids = [c for s in sections.values() for c in s.calls if c != OWN]
    wanted_ids += [c for c in skipped if c != OWN]
    taken = {c.id for c in ctx.gather([c for c in wanted_ids if c not in earlier])} | (
        set(earlier) & set(wanted_ids)
    )
    for s in sections.values():
        s.calls = [c for c in s.calls if c == OWN or c in taken]
    sections = {sis: s for sis, s in sections.items() if s.calls}
    gathered = sorted(taken)
    left_out = set(earlier) - taken  # gathered by a lost run, but busy or unreadable now
    if left_out:
        reason = f"gathered by an earlier run of call #{ctx.ledger_id}, left out of its rerun; requeue it"
        ctx.settle(succeeded={}, failed=dict.fromkeys(left_out, reason))
    try:
        summary, failed = _apply(ctx, k, sections)
    except Exception as exc:
        # permanent: it would fail again. ObjectBusy: giving way takes its attempt back, so its
        # next run would not look for what it gathered (see wants_burst)
        if not is_transient(exc) or isinstance(exc, ObjectBusy):
            error = f"burst in call #{ctx.ledger_id} failed: {type(exc).__name__}: {exc}"
            ctx.settle(succeeded={}, failed=dict.fromkeys(gathered, error))
        raise  # transient: they stay gathered, for this call's retry to apply again
    outcomes = {
        c: _call_summary(asked[c], sis, s, ctx.ledger_id, summary)
        for sis, s in sections.items()
        for c in s.calls
    }
    outcomes.update(skipped)
    ctx.settle(
        succeeded={c: outcomes[c] for c in gathered if c not in failed and c in outcomes},
        failed={c: failed[c] for c in gathered if c in failed},
    )
    own = outcomes.get(OWN) if own_section is not None or OWN in skipped else None
    summary["calls"] = len(gathered) + (own is not None)  # the calls this burst settled
    summary["dead_letters"] = sorted(c for c in gathered if c in failed)
    return Burst(own, summary, failed.get(OWN))


def _apply(ctx: TaskContext, k: Kit, sections: dict[str, _Section]) -> tuple[dict[str, Any], dict[int, str]]:
    """Plan every section, check safety, write one SIS import; the burst's summary and the
    error of each call that failed."""
    resolver = runtime.resolver(ctx)
    managed = 0
    plan = Plan()
    failed: dict[int, str] = {}
    for sis, s in sections.items():
        try:  # FS after Canvas (read when held), and after the gathering: it sees every call's change
            wanted = decide_section_enrollments(runtime.fs(ctx), k.settings, s.decision, resolver)
        except CanvasbridgeError as exc:  # this section's calls fail; the others go on
            failed.update(dict.fromkeys(s.calls, f"section {sis}: {exc}"))
            continue
        s.ops = plan_enrollments(wanted.desired, s.current, k.ownership)
        managed += sum(1 for e in s.current if e.state in LIVE_STATES and k.ownership.enrollment(e))
        plan.extend(s.ops)
    summary: dict[str, Any] = {"sections": len(sections), "planned": plan.writes(), "path": "bulk"}
    plan.check_safety({"enrollment": managed}, k.settings, force=False)
    if not plan.operations:
        return summary, failed
    report = apply_bulk(k.canvas, k.settings, plan)
    summary["sis_import"] = report.origin
    section_of = {id(op): sis for sis, s in sections.items() for op in s.ops}
    unmatched: list[str] = []
    for failure in _retried_by_rest(ctx, k, report.failures):
        where = section_of.get(id(failure.operation))
        if where is None:
            unmatched.append(failure.error)
            continue
        error = f"{failure.operation.describe()}: {failure.error} (SIS import of call #{ctx.ledger_id})"
        for call in sections[where].calls:
            failed[call] = f"{failed[call]}; {error}" if call in failed else error
    if unmatched:
        summary["import_messages"] = unmatched[:SUMMARY_OPS]
    return summary, failed


def _retried_by_rest(ctx: TaskContext, k: Kit, failures: Iterable[Failure]) -> list[Failure]:
    """The failures still failed after one try by REST (a create provisions its user first,
    as the per-object path does when the user is missing)."""
    resolver = runtime.resolver(ctx)
    left = []
    for failure in failures:
        op = failure.operation
        if not failure.requeueable or op.kind != "enrollment":
            left.append(failure)
            continue
        username = resolver.username_of(op.desired.user_sis_id) if op.desired is not None else None
        try:
            if op.action == "create" and username:
                ensure_user(ctx, username=username)
            retry = k.executor.apply([op], stop_on_transient=False)
        except CanvasbridgeError:
            left.append(failure)
            continue
        if not retry.ok:
            left.append(Failure(op, f"{failure.error}; then by REST: {retry.failures[0].error}", False))
    return left


def _call_summary(fs_id: str, sis: str, s: _Section, by: int | None, burst: dict[str, Any]) -> dict[str, Any]:
    return {
        "fs_id": fs_id,
        "section": sis,
        "planned": len(s.ops),
        "operations": [op.describe() for op in s.ops[:SUMMARY_OPS]],
        "burst": {"by": by, "sis_import": burst.get("sis_import")},
    }
