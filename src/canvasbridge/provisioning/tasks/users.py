"""``ensure_user``: a Cerebrum person's primary account as a Canvas user.

Rules (the table is in :mod:`..desired` and :mod:`..plan`): only the primary account becomes
a user; a quarantined (locked) account's logins are suspended, released ones unsuspended;
excluded usernames or person ids are never touched; the users of a person's other accounts,
and of a person left with no primary account, are suspended, never deleted.

Canvas calls: the User JSON shows name, email and the SIS login's ids but not suspension,
which only the logins show. When the User JSON already differs, the one ``PUT /users/:id``
that fixes it also carries the suspension Cerebrum wants (``suspend`` and ``unsuspend`` are
idempotent), so the logins are not read: a changed user costs 2 calls. Otherwise the logins
are read too: an unchanged user costs 2 reads, a change of suspension alone 3 calls.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from canvasbridge.clients.cerebrum import CerebrumClient
from canvasbridge.engine import TaskContext
from canvasbridge.errors import NotFoundError, PermanentError
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.canvas_state import (
    read_logins,
    read_user,
    read_user_record,
    user_from_record,
    user_from_rest,
)
from canvasbridge.provisioning.desired import decide_user
from canvasbridge.provisioning.model import UserState
from canvasbridge.provisioning.plan import Operation, plan_user
from canvasbridge.provisioning.runtime import Kit
from canvasbridge.provisioning.tasks.steps import carry_out


def ensure_user(
    ctx: TaskContext, username: str | None = None, person_id: str | int | None = None
) -> dict[str, Any]:
    if username is None and person_id is None:
        raise PermanentError("ensure_user needs a username or a person_id")
    k = runtime.kit(ctx)
    cerebrum = runtime.cerebrum(ctx)
    hold_person(ctx, cerebrum, username=username, person_id=person_id)
    decision = decide_user(cerebrum, k.settings, username=username, person_id=person_id)
    summary: dict[str, Any] = {
        "person_id": decision.person_id,
        "username": decision.username,
        "rule": decision.reason,
    }
    if decision.excluded:
        return {**summary, "planned": 0, "skipped": "excluded"}
    ops: list[Operation] = []
    if decision.desired is not None:
        ops += _plan_wanted(k, decision.desired)
        summary["sis_user_id"] = decision.desired.sis_user_id
    for sis in dict.fromkeys(decision.retire):
        if decision.desired is not None and sis == decision.desired.sis_user_id:
            continue
        ops += plan_user(None, read_user(k.canvas, sis), k.ownership)
    return {**summary, **carry_out(ctx, k.executor, ops)}


def hold_person(
    ctx: TaskContext, cerebrum: CerebrumClient, *, username: str | None, person_id: str | int | None
) -> None:
    """Hold the person before reading what to decide from: a call by username and one by
    person id for the same person never write their Canvas user at once (an older read of
    Cerebrum would undo a newer one's suspension). By username, the account's owner names
    the person (one Cerebrum read, only when holds are on: in a worker)."""
    if not ctx.holds_objects:
        return
    if person_id is None:
        assert username is not None
        try:
            owner = cerebrum.account(username).owner
        except NotFoundError:
            ctx.hold(f"account:{username}")  # gone: the call only retires its Canvas user
            return
        if owner is None:
            ctx.hold(f"account:{username}")
            return
        person_id = owner.id
    ctx.hold(f"person:{person_id}")


def _plan_wanted(k: Kit, desired: UserState) -> list[Operation]:
    """Plan the user that should exist, reading its logins only when the User JSON shows no change."""
    record = read_user_record(k.canvas, desired.sis_user_id)
    if record is None:
        return plan_user(desired, None, k.ownership)
    if record.get("sis_user_id") == desired.sis_user_id:
        assumed = user_from_record(record, desired.sis_user_id, suspended=desired.suspended)
        ops = plan_user(desired, assumed, k.ownership)
        if ops and all("login" not in op.changes for op in ops):
            return [_with_suspension(op, desired) for op in ops]
    return plan_user(
        desired, user_from_rest(record, read_logins(k.canvas, record), desired.sis_user_id), k.ownership
    )


def _with_suspension(op: Operation, desired: UserState) -> Operation:
    return replace(op, changes={**op.changes, "suspended": desired.suspended})
