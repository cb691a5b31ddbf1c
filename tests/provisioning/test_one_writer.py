"""One object, one writer: two ensure_user calls for one person (by person id and by
username) never write its Canvas user at once, so an older read cannot undo a newer
quarantine; likewise one section's enrollments."""

from __future__ import annotations

import threading

import pytest

from canvasbridge.engine import TaskContext
from canvasbridge.engine.calls import TaskCall
from canvasbridge.engine.ledger import Ledger
from canvasbridge.errors import ObjectBusy
from canvasbridge.provisioning.tasks import users
from canvasbridge.provisioning.tasks.users import ensure_user

USERNAME = "solvh"


@pytest.fixture
def ledger(tmp_path):
    opened = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    opened.close()


def running_call(ledger: Ledger, stack, task: str, **params: object) -> TaskContext:
    """A recorded call a worker has claimed, with the context the worker would give it."""
    call = ledger.record([TaskCall(task, dict(params))])[0]
    assert ledger.claim(call.id, max_attempts=3).proceed
    ctx = stack.ctx(task)
    ctx.ledger_id, ctx.holds = call.id, ledger.holds
    return ctx


def test_an_older_run_by_person_id_cannot_undo_a_quarantine_a_newer_run_by_username_writes(
    stack, ledger, monkeypatch
):
    ensure_user(stack.ctx(), username=USERNAME)
    canvas = stack.canvas.model
    user = canvas.find_user_by_sis(USERNAME)  # the test configuration: SIS id = username
    assert not canvas.is_suspended(user.id)
    person_id = stack.university.account(USERNAME).owner_id

    older = running_call(ledger, stack, "ensure_user", person_id=person_id)
    newer = running_call(ledger, stack, "ensure_user", username=USERNAME)
    read_done, go_on = threading.Event(), threading.Event()
    real_decide = users.decide_user

    def decide_then_pause(*args, **kwargs):
        decision = real_decide(*args, **kwargs)
        if not read_done.is_set():  # the older run: it read Cerebrum before the quarantine
            read_done.set()
            assert go_on.wait(30)
        return decision

    monkeypatch.setattr(users, "decide_user", decide_then_pause)
    errors: list[BaseException] = []

    def run_older() -> None:
        try:
            ensure_user(older, person_id=person_id)
        except BaseException as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=run_older)
    thread.start()
    assert read_done.wait(30)
    stack.university.quarantine_account(USERNAME)
    with pytest.raises(ObjectBusy) as busy:  # the newer run gives way while the older one writes
        ensure_user(newer, username=USERNAME)
    assert busy.value.key == f"person:{person_id}" and busy.value.holder == older.ledger_id
    go_on.set()
    thread.join(30)
    assert not errors
    ledger.succeed(older.ledger_id)

    ensure_user(newer, username=USERNAME)  # tried again, as the worker does: reads afresh
    assert canvas.is_suspended(user.id)


def test_two_calls_on_one_section_take_turns(provisioned_section, ledger):
    stack, unit = provisioned_section
    from canvasbridge.provisioning.tasks.enrollments import ensure_enrollments

    first = running_call(ledger, stack, "ensure_enrollments", fs_id=unit)
    second = running_call(ledger, stack, "ensure_course", fs_id=unit)
    ensure_enrollments(first, unit)
    sis = next(key for key in _held_keys(ledger) if key.startswith("section:"))
    with pytest.raises(ObjectBusy):
        second.hold(sis)
    ledger.succeed(first.ledger_id)
    second.hold(sis)  # the first has finished: the section passes on


def _held_keys(ledger: Ledger) -> list[str]:
    import sqlalchemy as sa

    from canvasbridge.engine.ledger.schema import object_holds

    with ledger.engine.connect() as connection:
        return [row[0] for row in connection.execute(sa.select(object_holds.c.key))]


@pytest.fixture
def provisioned_section(stack):
    from canvasbridge.provisioning.tasks.courses import ensure_course
    from tests.provisioning.test_tasks import UNIT, provision_accounts, provision_users

    provision_accounts(stack)
    provision_users(stack)
    ensure_course(stack.ctx(), UNIT)
    return stack, UNIT
