"""Pure planning and the SIS-import translation, without any server."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from canvasbridge.provisioning.bulk import build_import, report_from_import
from canvasbridge.provisioning.model import EnrollmentState, Snapshot, UserState
from canvasbridge.provisioning.plan import (
    Ownership,
    Plan,
    SafetyStop,
    plan_enrollments,
    plan_snapshot,
    plan_user,
)
from canvasbridge.provisioning.settings import ProvisioningSettings

SETTINGS = ProvisioningSettings()
OWN = Ownership(SETTINGS)
SECTION = "UE_185_IN1000_1_2026_HØST"


def enrollment(
    user: str, kind: str = "student", state: str = "active", section: str = SECTION, **kw
) -> EnrollmentState:
    return EnrollmentState(user, "UE_185_IN1000_1_2026_HØST", section, kind, state, **kw)


def test_enrollment_plan_adds_concludes_reactivates_and_changes_roles():
    desired = {e.key: e for e in [enrollment("ola"), enrollment("kari", "teacher"), enrollment("per")]}
    current = [
        enrollment("ola"),
        enrollment("kari", "ta", canvas_id=2),
        enrollment("per", state="inactive", canvas_id=3),
        enrollment("gone", canvas_id=4),
        enrollment("hist", state="completed", canvas_id=5),
    ]
    ops = {(op.action, op.key) for op in plan_enrollments(desired, current, OWN)}
    assert ops == {
        ("create", f"teacher kari in {SECTION}"),
        ("conclude", f"ta kari in {SECTION}"),
        ("reactivate", f"student per in {SECTION}"),
        ("conclude", f"student gone in {SECTION}"),
    }


def test_a_live_copy_anywhere_among_an_enrollments_copies_means_nothing_to_do():
    desired = {e.key: e for e in [enrollment("ola"), enrollment("per"), enrollment("kari")]}
    current = [
        enrollment("ola", state="inactive", canvas_id=1),
        enrollment("ola", state="invited", canvas_id=2),  # live, after an inactive copy
        enrollment("per", state="completed", canvas_id=3),
        enrollment("per", state="inactive", canvas_id=4),
        enrollment("per", state="inactive", canvas_id=5),
        enrollment("kari", state="completed", canvas_id=6),
    ]
    ops = [(op.action, op.key, op.current) for op in plan_enrollments(desired, current, OWN)]
    assert ops == [
        ("reactivate", f"student per in {SECTION}", current[3]),  # the first inactive copy
        ("create", f"student kari in {SECTION}", None),  # only a completed copy
    ]


def test_enrollments_in_unowned_sections_or_of_unmanaged_types_are_not_concluded():
    current = [
        enrollment("ola", section="teachers-own-group"),
        enrollment("kari", "observer"),
        enrollment("per", section="teachers-own-group", created_by_sis=True),
    ]
    ops = plan_enrollments({}, current, OWN)
    assert [op.key for op in ops] == ["student per in teachers-own-group"]  # made by a SIS import: ours


def test_user_plan_folds_name_email_and_suspension_into_one_update():
    current = UserState("ola", "ola", "Ola", "o@x", suspended=False, canvas_id=1)
    desired = UserState("ola", "ola", "Ola Nordmann", "ola@x", suspended=True)
    (op,) = plan_user(desired, current, OWN)
    assert op.action == "suspend" and dict(op.changes) == {
        "name": "Ola Nordmann",
        "email": "ola@x",
        "suspended": True,
    }


def test_snapshot_plan_suspends_owned_users_the_sources_no_longer_want():
    current = Snapshot(users={"ola": UserState("ola", "ola", "Ola", canvas_id=1)})
    plan = plan_snapshot(Snapshot(), current, OWN, ["users"])
    assert [(op.action, op.key) for op in plan.operations] == [("suspend", "ola")]


@pytest.mark.parametrize(
    ("destructive", "managed", "stops"),
    [(101, 2000, False), (101, 500, True), (50, 60, False), (0, 0, False)],
)
def test_safety_stops_only_when_count_and_share_are_both_exceeded(destructive, managed, stops):
    plan = Plan()
    plan.extend(plan_enrollments({}, [enrollment(f"u{i}") for i in range(destructive)], OWN))
    if stops:
        with pytest.raises(SafetyStop, match=f"{destructive} enrollment"):
            plan.check_safety({"enrollment": managed}, SETTINGS, force=False)
        plan.check_safety({"enrollment": managed}, SETTINGS, force=True)
    else:
        plan.check_safety({"enrollment": managed}, SETTINGS, force=False)


def test_safety_stop_names_the_objects_it_would_end():
    plan = Plan()
    plan.extend(plan_enrollments({}, [enrollment(f"u{i}") for i in range(101)], OWN))
    with pytest.raises(SafetyStop) as stop:
        plan.check_safety({"enrollment": 500}, SETTINGS, force=False)
    ending = [op for op in plan.ordered() if op.destructive]
    message = str(stop.value)
    assert all(f"{op.action} {op.key}" in message for op in ending[:10])
    assert f"{ending[10].action} {ending[10].key}," not in message
    assert "and 91 more" in message


def test_bulk_import_carries_explicit_statuses_and_reports_row_errors_per_object():
    ops = plan_enrollments({enrollment("new").key: enrollment("new")}, [enrollment("gone", canvas_id=1)], OWN)
    ops += plan_user(None, UserState("old", "old", "Old", canvas_id=9), OWN)
    data, counts = build_import(ops)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        rows = {
            name: list(csv.DictReader(io.StringIO(archive.read(name).decode())))
            for name in archive.namelist()
        }
    assert counts == {"users.csv": 1, "enrollments.csv": 2}
    assert {(r["user_id"], r["status"], r["role"]) for r in rows["enrollments.csv"]} == {
        ("new", "active", "student"),
        ("gone", "completed", "student"),
    }
    assert rows["users.csv"][0]["status"] == "suspended"
    final = {
        "id": 7,
        "workflow_state": "imported_with_messages",
        "processing_warnings": [
            ["enrollments.csv", f"User not found for enrollment (User ID: new, Section ID: {SECTION})"]
        ],
    }
    report = report_from_import(final, ops)
    assert [f.operation.key for f in report.failures] == [f"student new in {SECTION}"]
    assert report.done == 2 and report.origin == "sis_import:7"
    assert report.failures[0].requeueable  # a row matched to its operation: a dead letter to be
    unmatched = report_from_import(
        {**final, "processing_errors": [["terms.csv", "Improper status for a term"]]}, ops
    )
    assert [(f.operation.kind, f.requeueable) for f in unmatched.failures] == [
        ("enrollment", True),
        ("import", False),
    ]
    failed = report_from_import({"id": 8, "workflow_state": "failed"}, ops)
    assert len(failed.failures) == 3 and failed.done == 0
    assert not any(f.requeueable for f in failed.failures)  # re-run the resync instead


def polled_at(state_at, *, first_s: float, done: str = "done") -> list[float]:
    """The times (on a virtual clock) at which ``wait_until`` asked for the state of a job
    whose state at time t is ``state_at(t)``, until its ``status`` is ``done``."""
    from canvasbridge.provisioning.polling import wait_until

    now = [0.0]
    calls: list[float] = []

    def fetch():
        calls.append(now[0])
        return state_at(now[0])

    def sleep(seconds):
        now[0] += seconds

    wait_until(
        fetch,
        lambda s: s["status"] == done,
        what="job",
        first_s=first_s,
        timeout_s=1000,
        sleep=sleep,
        clock=lambda: now[0],
    )
    return calls


def test_polling_waits_grow_so_a_long_job_costs_few_status_calls():
    calls = polled_at(lambda t: {"status": "done" if t >= 100 else "running"}, first_s=1)
    assert len(calls) <= 6 and calls[-1] >= 100


def test_polling_follows_reported_progress():
    calls = polled_at(
        lambda t: {"progress": min(100, t), "status": "done" if t >= 100 else "running"}, first_s=10
    )
    # at 10 s (10 %) the estimate, 90 s, is held to the 10 s waited so far; at 20 s (20 %) the
    # rate since, 1 %/s, leaves 80 s, held to the growing wait (30 s); at 50 s it leaves 50 s
    assert calls == [10, 20, 50, 100]


def test_polling_trusts_early_progress_no_further_than_the_time_waited():
    """A job slow to start (8 % in its first 4 s, then the rest in 3 s) is noticed within
    its own length of its end, not after the 50 s its early pace suggests."""

    def state_at(t):
        progress = 2 * t if t < 4 else 8 + (t - 4) * 92 / 3
        return {"progress": int(progress), "status": "done" if t >= 7 else "running"}

    calls = polled_at(state_at, first_s=1)
    assert 7 <= calls[-1] <= 14 and len(calls) <= 5, calls


def test_polling_backs_off_when_progress_stalls():
    """Stuck at 99 % for 100 s: the waits grow again instead of asking every second."""
    calls = polled_at(
        lambda t: {"progress": 100 if t >= 100 else 99, "status": "done" if t >= 100 else "running"},
        first_s=1,
    )
    assert calls[-1] >= 100 and len(calls) <= 8, calls
