"""Bursts: many waiting ensure_enrollments calls gathered into one SIS import
(provisioning/tasks/burst.py), against the emulators over HTTP and a real ledger (SQLite and
PostgreSQL), each call run as a worker would run it."""

from __future__ import annotations

import pytest

from canvasbridge.engine import TaskContext
from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.ledger import CallFilter, CallState, Ledger
from canvasbridge.errors import PermanentError, TransientError
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.canvas_state import read_section_enrollments
from canvasbridge.provisioning.desired import FsView, decide_course, decide_section_enrollments
from canvasbridge.provisioning.plan import SafetyStop, plan_enrollments
from canvasbridge.provisioning.tasks.accounts import ensure_account
from canvasbridge.provisioning.tasks.courses import ensure_course
from canvasbridge.provisioning.tasks.enrollments import ensure_enrollments
from canvasbridge.provisioning.tasks.users import ensure_user
from canvasbridge_emulators.common.control import ErrorRule, Faults

TASK = "ensure_enrollments"


def structure(stack) -> list[str]:
    """Accounts, users, and every exported unit's course with its sections and enrollments;
    the FS ids whose section exists in Canvas."""
    uni = stack.university
    for location_id in uni.org_units:
        ensure_account(stack.ctx(), location_id)
    for person_id in uni.persons:
        ensure_user(stack.ctx(), person_id=person_id)
    for key in uni.undervisning:
        ensure_course(stack.ctx(), key)
    view = FsView(runtime.fs(stack.ctx()))
    settings = runtime.settings(stack.ctx())
    m = stack.canvas.model
    with_section = []
    for key in [*uni.undervisning, *uni.aktiviteter]:
        d = decide_course(view, settings, key)
        if d.section is not None and m.find_section_by_sis(d.section.sis_section_id) is not None:
            with_section.append(key)
    return with_section


def term_start(stack, units: list[str]) -> dict[str, tuple[int, int]]:
    """In each unit one student leaves and another joins: unit → (leaver, newcomer)."""
    uni = stack.university
    students = [p.fs_lopenummer for p in uni.persons.values() if p.is_student]
    changes = {}
    for unit in units:
        if unit not in uni.undervisning or not uni.participants(unit):
            continue
        leaver = uni.participants(unit)[0]
        newcomer = next(n for n in students if not uni.is_participant(n, unit))
        uni.remove_participation(leaver, unit)
        uni.add_participation(newcomer, unit)
        changes[unit] = (leaver, newcomer)
    return changes


def record(ledger: Ledger, fs_ids: list[str]) -> list[int]:
    return [c.id for c in ledger.record([TaskCall(TASK, {"fs_id": f}) for f in fs_ids])]


def worker_ctx(stack, ledger: Ledger, call_id: int) -> TaskContext:
    """The context a worker gives a call it claimed."""
    claim = ledger.claim(call_id, max_attempts=3)
    assert claim.proceed
    ctx = stack.ctx(TASK)
    ctx.ledger_id, ctx.holds, ctx.waiting, ctx.attempt = call_id, ledger.holds, ledger, claim.attempt
    return ctx


def run_as_worker(stack, ledger: Ledger, call_id: int, *, retry_in: float | None = None):
    """Run a call as the worker does: its success, its retry (a transient error, when
    ``retry_in`` is given) or its dead letter recorded."""
    ctx = worker_ctx(stack, ledger, call_id)
    try:
        result = ensure_enrollments(ctx, ledger.get(call_id).params["fs_id"])
    except Exception as exc:
        retry = retry_in if isinstance(exc, TransientError) else None
        ledger.fail_attempt(call_id, attempt=ctx.attempt, error=str(exc), traceback=None, retry_in=retry)
        raise
    ledger.succeed(call_id, result)
    return result


def per_object_plan(stack, fs_id: str) -> list:
    """What the per-object path would change in ``fs_id``'s section now."""
    ctx = stack.ctx()
    k = runtime.kit(ctx)
    d = decide_course(FsView(runtime.fs(ctx)), k.settings, fs_id)
    current = read_section_enrollments(k.canvas, d.section.sis_section_id)
    wanted = decide_section_enrollments(runtime.fs(ctx), k.settings, d, runtime.resolver(ctx))
    return plan_enrollments(wanted.desired, current, k.ownership)


def section_of(stack, fs_id: str) -> str:
    d = decide_course(FsView(runtime.fs(stack.ctx())), runtime.settings(stack.ctx()), fs_id)
    return d.section.sis_section_id


def enrollment_states(stack, unit: str, lopenummer: int) -> set[str]:
    m, uni = stack.canvas.model, stack.university
    section = m.find_section_by_sis(section_of(stack, unit))
    user = m.find_user_by_sis(uni.person_by_fs(lopenummer).primary_account)
    if section is None or user is None:
        return set()
    return {e.workflow_state for e in m.enrollments(section_id=section.id, user_id=user.id, states=None)}


def assert_term_start_applied(stack, changes) -> None:
    """Each unit's leaver concluded (not deleted) and its newcomer enrolled."""
    for unit, (leaver, newcomer) in changes.items():
        assert enrollment_states(stack, unit, leaver) == {"completed"}, unit
        assert "active" in enrollment_states(stack, unit, newcomer), unit


def test_a_burst_above_the_threshold_is_one_sis_import_and_canvas_ends_as_per_object(stack, ledger):
    stack.configure(bulk={"poll_interval_s": 0.05, "burst_threshold": 3})
    fs_ids = structure(stack)
    changes = term_start(stack, fs_ids)
    assert len(fs_ids) >= 4 and changes
    ids = record(ledger, fs_ids + fs_ids[:2])  # two notifications more for sections already waiting
    assert len(set(ids)) == len(fs_ids)  # those folded into the waiting calls
    stack.clear_stats()

    result = run_as_worker(stack, ledger, ids[0])

    assert result["burst"]["calls"] == len(fs_ids) and result["burst"]["path"] == "bulk"
    control = stack.canvas.control
    stack.settle()
    assert control.count("POST", "sis_imports") == 1
    assert control.count("POST", "enrollments") == 0 and control.count("DELETE") == 0
    for call_id in set(ids):
        record_ = ledger.get(call_id)
        assert record_.state is CallState.SUCCEEDED, (call_id, record_.state, record_.last_error)
        assert record_.result["fs_id"] == record_.params["fs_id"]
    for fs_id in fs_ids:
        assert per_object_plan(stack, fs_id) == [], fs_id  # nothing left for the per-object path
    assert_term_start_applied(stack, changes)


def test_below_the_threshold_the_call_runs_on_its_own_by_rest(stack, ledger):
    stack.configure(bulk={"poll_interval_s": 0.05, "burst_threshold": 100})
    fs_ids = structure(stack)
    changes = term_start(stack, fs_ids)
    unit = next(iter(changes))
    ids = record(ledger, [unit, *[f for f in fs_ids if f != unit]])
    stack.clear_stats()

    result = run_as_worker(stack, ledger, ids[0])

    assert "burst" not in result and result["planned"] == 2
    stack.settle()
    assert stack.canvas.control.count("POST", "sis_imports") == 0
    assert stack.canvas.control.count("POST", "enrollments") == 1
    assert {ledger.get(i).state for i in ids[1:]} == {CallState.QUEUED}  # the others wait their turn


def test_a_row_the_import_rejects_makes_only_its_calls_dead_letter(stack, ledger):
    fs_ids = structure(stack)
    changes = term_start(stack, fs_ids)
    uni = stack.university
    unit = next(iter(changes))
    # a new student whose user is never provisioned (excluded): the import rejects the row
    # ("User not found for enrollment"), and so does the REST retry
    stranger = uni.add_person("Sam", "Stranger", account_name="samstr")
    uni.add_participation(stranger.fs_lopenummer, unit)
    stack.configure(bulk={"poll_interval_s": 0.05, "burst_threshold": 3}, users={"exclude": ["samstr"]})
    ids = record(ledger, fs_ids)
    bad = [i for i, f in zip(ids, fs_ids, strict=True) if section_of(stack, f) == section_of(stack, unit)]
    starter = next(i for i in ids if i not in bad)

    result = run_as_worker(stack, ledger, starter)

    assert result["burst"]["dead_letters"] == bad  # the calls of the rejected row's section
    for call_id in bad:
        dead = ledger.get(call_id)
        assert dead.state is CallState.DEAD
        assert "samstr" in dead.last_error and "User not found" in dead.last_error
    assert {ledger.get(i).state for i in ids if i not in bad} == {CallState.SUCCEEDED}
    leaver, newcomer = changes[unit]
    assert "active" in enrollment_states(stack, unit, newcomer)  # the section's other rows went in
    assert enrollment_states(stack, unit, leaver) == {"completed"}
    requeued = ledger.requeue(bad[0])  # a dead letter of its own, requeueable alone
    assert ledger.get(requeued.id).params == ledger.get(bad[0]).params


def test_a_burst_that_would_conclude_too_much_stops_and_every_call_is_a_dead_letter(stack, ledger):
    stack.configure(
        bulk={"poll_interval_s": 0.05, "burst_threshold": 3},
        safety={"max_destructive": 1, "max_destructive_share": 0.01},
    )
    fs_ids = structure(stack)
    changes = term_start(stack, fs_ids)
    ids = record(ledger, fs_ids)
    stack.clear_stats()

    with pytest.raises(SafetyStop):
        run_as_worker(stack, ledger, ids[0])

    stack.settle()
    assert stack.canvas.control.count("POST") == 0 and stack.canvas.control.count("DELETE") == 0
    for call_id in ids:
        record_ = ledger.get(call_id)
        assert record_.state is CallState.DEAD and "safety limits" in record_.last_error, call_id
    for unit, (leaver, _) in changes.items():
        assert enrollment_states(stack, unit, leaver) == {"active"}  # nothing concluded


def test_a_section_another_running_call_holds_is_left_to_its_own_call(stack, ledger):
    stack.configure(bulk={"poll_interval_s": 0.05, "burst_threshold": 3})
    fs_ids = structure(stack)
    term_start(stack, fs_ids)
    ids = record(ledger, fs_ids)
    held = next(section_of(stack, f) for f in fs_ids if section_of(stack, f) != section_of(stack, fs_ids[0]))
    other = worker_ctx(stack, ledger, record(ledger, ["x"])[0])  # a running call of another kind
    other.hold(f"section:{held}")

    run_as_worker(stack, ledger, ids[0])

    sharing = [i for i, f in zip(ids, fs_ids, strict=True) if section_of(stack, f) == held]
    assert {ledger.get(i).state for i in sharing} == {CallState.QUEUED}  # not gathered: runs later
    assert {ledger.get(i).state for i in ids if i not in sharing} == {CallState.SUCCEEDED}


def test_a_rerun_after_a_lost_run_settles_the_calls_that_run_had_gathered(stack, ledger):
    stack.configure(bulk={"poll_interval_s": 0.05, "burst_threshold": 100})  # below it: no new burst
    fs_ids = structure(stack)
    changes = term_start(stack, fs_ids)
    ids = record(ledger, fs_ids)
    starter = worker_ctx(stack, ledger, ids[0])
    assert [c.id for c in starter.gather(ids[1:])] == ids[1:]  # …and then its worker died

    result = run_as_worker(stack, ledger, ids[0])  # claimed again: attempt 2

    assert result["burst"]["calls"] == len(ids)
    assert {ledger.get(i).state for i in ids} == {CallState.SUCCEEDED}
    stack.settle()
    assert stack.canvas.control.count("POST", "sis_imports") == 1
    assert_term_start_applied(stack, changes)


def test_a_call_whose_section_is_not_in_canvas_yet_is_left_to_build_it(stack, ledger):
    stack.configure(bulk={"poll_interval_s": 0.05, "burst_threshold": 3})
    uni = stack.university
    new_unit = "185,MAT1001,1,2027,VÅR,1"
    uni.set_export(new_unit, False)  # not exported while the structure is built…
    fs_ids = structure(stack)
    assert new_unit not in fs_ids
    term_start(stack, fs_ids)
    uni.set_export(new_unit, True)  # …then it is: no course in Canvas yet
    ids = record(ledger, [*fs_ids, new_unit])

    run_as_worker(stack, ledger, ids[0])

    assert ledger.get(ids[-1]).state is CallState.QUEUED  # not gathered: runs on its own
    assert {ledger.get(i).state for i in ids[:-1]} == {CallState.SUCCEEDED}
    result = run_as_worker(stack, ledger, ids[-1])  # below the threshold now: per object
    assert "structure" in result and stack.canvas.model.find_section_by_sis(section_of(stack, new_unit))


def fail_at_upload(stack, status: int) -> None:
    """Canvas answers every SIS import upload with ``status`` until the faults are cleared."""
    stack.canvas.control.set_faults(
        Faults(errors=[ErrorRule(path="sis_imports", method="POST", status=status)])
    )


def test_a_transient_failure_at_the_upload_leaves_the_calls_to_the_bursts_retry(stack, ledger):
    stack.configure(bulk={"poll_interval_s": 0.05, "burst_threshold": 3})
    fs_ids = structure(stack)
    changes = term_start(stack, fs_ids)
    ids = record(ledger, fs_ids)
    fail_at_upload(stack, 503)

    with pytest.raises(TransientError):
        run_as_worker(stack, ledger, ids[0], retry_in=0.0)

    assert ledger.get(ids[0]).state is CallState.RETRYING
    for call_id in ids[1:]:  # not dead letters: still gathered, waiting for the retry
        record_ = ledger.get(call_id)
        assert record_.state is CallState.REQUEUED and record_.requeued_to == ids[0], call_id
    stack.canvas.control.set_faults(Faults())  # Canvas is back
    stack.clear_stats()

    result = run_as_worker(stack, ledger, ids[0])  # the retry: attempt 2

    assert result["burst"]["calls"] == len(ids) and result["burst"]["dead_letters"] == []
    assert {ledger.get(i).state for i in ids} == {CallState.SUCCEEDED}
    assert ledger.count(CallFilter(states=[CallState.DEAD])) == 0
    stack.settle()
    assert stack.canvas.control.count("POST", "sis_imports") == 1
    assert_term_start_applied(stack, changes)


def test_a_permanent_failure_at_the_upload_makes_every_gathered_call_a_dead_letter(stack, ledger):
    stack.configure(bulk={"poll_interval_s": 0.05, "burst_threshold": 3})
    fs_ids = structure(stack)
    term_start(stack, fs_ids)
    ids = record(ledger, fs_ids)
    fail_at_upload(stack, 400)

    with pytest.raises(PermanentError):
        run_as_worker(stack, ledger, ids[0], retry_in=0.0)

    for call_id in ids[1:]:
        record_ = ledger.get(call_id)
        assert record_.state is CallState.DEAD, call_id
        assert f"burst in call #{ids[0]} failed" in (record_.last_error or "")
