"""What a resync cannot do becomes a requeueable dead letter of ``apply_operation``.

Against the emulators over HTTP: a SIS import row Canvas refuses, and REST calls that fail,
are recorded in a real ledger; requeued, a real worker re-applies them once the cause is
fixed, and running them again writes nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallState, Ledger
from canvasbridge.engine.runtime import Runtime
from canvasbridge.errors import PermanentError
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.canvas_state import read_user
from canvasbridge.provisioning.model import (
    AccountState,
    CourseState,
    EnrollmentState,
    SectionState,
    UserState,
)
from canvasbridge.provisioning.plan import Operation
from canvasbridge.provisioning.resync import DeadLetters, Sources, resync
from canvasbridge.provisioning.rules import ENROLLMENT_TYPES
from canvasbridge.provisioning.tasks.accounts import ensure_account
from canvasbridge.provisioning.tasks.operations import TASK_PATH, apply_operation
from canvasbridge.provisioning.tasks.users import ensure_user
from tests.engine.helpers import wait_for, wait_state

TASK = "apply_operation"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECTION = "UE_185_INF1001_1_2026_HØST"

# ---------------------------------------------------------------------------- the parameters

texts = st.text(max_size=12)
maybe = st.none() | texts
ids = st.none() | st.integers(min_value=1, max_value=10**9)
STATES = {
    "user": st.builds(UserState, texts, texts, texts, maybe, maybe, st.booleans(), maybe, ids, ids),
    "account": st.builds(AccountState, texts, texts, maybe, ids, ids),
    "course": st.builds(CourseState, texts, texts, texts, maybe, maybe, texts, ids),
    "section": st.builds(SectionState, texts, texts, texts, ids),
    "enrollment": st.builds(EnrollmentState, texts, texts, texts, texts, texts, ids, st.booleans(), ids),
}
values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def operations(draw: st.DrawFn) -> Operation:
    kind = draw(st.sampled_from(sorted(STATES)))
    return Operation(
        kind,
        draw(st.sampled_from(["create", "update", "move", "suspend", "unsuspend", "reactivate", "conclude"])),
        draw(texts),
        draw(st.dictionaries(texts, values, max_size=3)),
        draw(st.none() | STATES[kind]),
        draw(st.none() | STATES[kind]),
    )


@given(operations())
def test_an_operation_survives_its_trip_through_json_task_parameters(op):
    params = json.loads(json.dumps(op.to_params()))
    assert Operation.from_params(params) == op


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "widget", "action": "create", "key": "x"},
        {"kind": "user", "action": "create"},
        {"kind": "user", "action": "create", "key": "x", "desired": {"sis_user_id": "x", "colour": "red"}},
        {"kind": "user", "action": "create", "key": "x", "desired": {"sis_user_id": "x"}},
        {"kind": "user", "action": "create", "key": "x", "changes": ["name"]},
    ],
)
def test_parameters_that_are_no_operation_are_a_permanent_error(params):
    with pytest.raises(PermanentError, match="not an operation"):
        Operation.from_params(params)


@pytest.mark.parametrize("example", ["uio.yaml", "demo.yaml"])
def test_the_provisioning_examples_register_apply_operation(example):
    document = yaml.safe_load((EXAMPLES / example).read_text(encoding="utf-8"))
    assert any(spec["path"] == TASK_PATH for spec in document["tasks"].values())


# ---------------------------------------------------------------------------- against the emulators


def run(stack, *kinds, **options):
    ctx = stack.ctx()
    sources = Sources(runtime.canvas(ctx), runtime.fs(ctx), runtime.cerebrum(ctx), runtime.sap(ctx))
    return resync(sources, runtime.settings(ctx), kinds or ("all",), **options)


def worker_runtime(stack, tmp_path) -> Runtime:
    retry = {"max_attempts": 30, "backoff_base_s": 0.1, "backoff_cap_s": 0.3, "jitter": False}
    document = {
        "backends": {"data_dir": str(tmp_path)},
        "log": {"level": "WARNING"},
        "worker": {"pool": "threads", "concurrency": 2},
        "tasks": {TASK: {"path": TASK_PATH, "retry": retry}},
        **stack.sections(),
    }
    return Runtime(parse_config(document))


def live_sections(model, user_id: int) -> set[tuple[str, str]]:
    sections = {s.id: s.sis_section_id for s in model.sections(None)}
    return {
        (sections[e.course_section_id], e.type)
        for e in model.enrollments(user_id=user_id)
        if e.workflow_state in ("active", "invited")
    }


@pytest.mark.slow
def test_a_refused_import_row_is_a_dead_letter_that_a_worker_applies_once_requeued(stack, tmp_path):
    assert run(stack, path="rest").ok
    m = stack.canvas.model
    victim = m.enrollments(section_id=m.find_section_by_sis(SECTION).id, types=["StudentEnrollment"])[0]
    username = m.primary_login(victim.user_id).sis_user_id
    wanted = live_sections(m, victim.user_id)
    m.delete_user(victim.user_id)  # by hand, in Canvas: its enrollment rows now name no user

    engine = worker_runtime(stack, tmp_path)
    ledger = engine.ledger()
    result = run(stack, "enrollments", path="bulk", dead_letters=DeadLetters(ledger, TASK))

    assert result.path == "bulk" and not result.ok
    assert re.fullmatch(r"sis_import:\d+", result.origin or "")
    sis_import = m.get_record("sis_import", int(result.origin.split(":")[1]))
    assert sis_import["workflow_state"] == "imported_with_messages"
    assert len(result.dead_letters) == len(result.failures) == len(wanted)
    for failure in result.failures:
        op = failure.operation
        assert (op.kind, op.action, op.desired.user_sis_id) == ("enrollment", "create", username)
        dead = ledger.get(failure.dead_letter)
        assert dead.task == TASK and dead.state is CallState.DEAD
        assert dead.params == op.to_params() and Operation.from_params(dead.params) == op
        assert "User not found for enrollment" in dead.last_error and username in dead.last_error
        assert dead.origin_source == result.origin
    failed = {(f.operation.desired.section_sis_id, f.operation.desired.type) for f in result.failures}
    assert {(section, ENROLLMENT_TYPES[kind].rest) for section, kind in failed} == wanted

    with engine.in_process_worker(concurrency=2):
        requeued = [engine.requeue(call_id).id for call_id in result.dead_letters]
        # the user is still missing: each enrollment is retried, it does not die again
        wait_for(
            lambda: all(
                ledger.get(i).attempts >= 2 and ledger.get(i).state is not CallState.DEAD for i in requeued
            ),
            what="requeued calls retried",
        )
        ensure_user(stack.ctx(), username=username)  # the cause, fixed
        for call_id in requeued:
            assert wait_state(ledger, call_id, CallState.SUCCEEDED, CallState.DEAD) is CallState.SUCCEEDED
    user = m.find_user_by_sis(username)
    assert live_sections(m, user.id) == wanted
    assert all(ledger.get(i).result["done"] == 1 for i in requeued)

    stack.clear_stats()
    for failure in result.failures:
        assert apply_operation(stack.ctx(), **failure.operation.to_params())["planned"] == 0
    assert stack.writes() == 0
    assert run(stack, "enrollments", dry_run=True).plan.writes() == 0


def test_failed_rest_calls_of_a_resync_are_dead_letters_too(stack, tmp_path):
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    result = run(stack, "courses", path="rest", dead_letters=DeadLetters(ledger, TASK))
    # no sub-accounts yet: every course waits for its account, every section for its course
    assert result.failures and len(result.dead_letters) == len(result.failures)
    assert re.fullmatch(r"resync:\S+", result.origin or "")
    dead = [ledger.get(i) for i in result.dead_letters]
    assert {(d.params["kind"], d.params["action"]) for d in dead} == {
        ("course", "create"),
        ("section", "create"),
    }
    assert all(d.origin_source == result.origin and d.state is CallState.DEAD for d in dead)

    for location_id in stack.university.org_units:
        ensure_account(stack.ctx(), location_id)
    for record in dead:  # in the resync's order: courses before their sections
        apply_operation(stack.ctx(), **record.params)
    assert run(stack, "courses", dry_run=True).plan.writes() == 0
    stack.clear_stats()
    for record in dead:
        assert apply_operation(stack.ctx(), **record.params)["planned"] == 0
    assert stack.writes() == 0
    ledger.close()


def test_a_stale_update_changes_only_its_own_fields(stack):
    ensure_user(stack.ctx(), username="geirm")
    m = stack.canvas.model
    current = read_user(runtime.canvas(stack.ctx()), "geirm")
    # the resync saw an old email; Canvas has a newer one since
    desired = replace(current, name="Geir Renamed", email="old@example.org")
    op = Operation("user", "update", "geirm", {"name": "Geir Renamed"}, current, desired)
    m.update_user(current.canvas_id, email="new@example.org")

    summary = apply_operation(stack.ctx(), **op.to_params())
    assert summary["done"] == 1
    assert m.get_user(current.canvas_id).name == "Geir Renamed"
    assert m.get_user(current.canvas_id).email == "new@example.org"
    stack.clear_stats()
    assert apply_operation(stack.ctx(), **op.to_params())["planned"] == 0
    assert stack.writes() == 0
