"""``apply_operation``: an operation as task parameters, re-applied against the emulators."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

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
from canvasbridge.provisioning.tasks.operations import TASK_PATH, apply_operation
from canvasbridge.provisioning.tasks.users import ensure_user

TASK = "apply_operation"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

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
