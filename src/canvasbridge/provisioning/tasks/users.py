"""``ensure_user``: a Cerebrum person's primary account as a Canvas user.

Rules (the table is in :mod:`..desired` and :mod:`..plan`): only the primary account becomes
a user; a quarantined (locked) account's logins are suspended, released ones unsuspended;
excluded usernames or person ids are never touched; the users of a person's other accounts,
and of a person left with no primary account, are suspended, never deleted.
"""

from __future__ import annotations

from typing import Any

from canvasbridge.engine import TaskContext
from canvasbridge.errors import PermanentError
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.canvas_state import read_user
from canvasbridge.provisioning.desired import decide_user
from canvasbridge.provisioning.plan import Operation, plan_user
from canvasbridge.provisioning.tasks import carry_out


def ensure_user(
    ctx: TaskContext, username: str | None = None, person_id: str | int | None = None
) -> dict[str, Any]:
    if username is None and person_id is None:
        raise PermanentError("ensure_user needs a username or a person_id")
    k = runtime.kit(ctx)
    decision = decide_user(runtime.cerebrum(ctx), k.settings, username=username, person_id=person_id)
    summary: dict[str, Any] = {
        "person_id": decision.person_id,
        "username": decision.username,
        "rule": decision.reason,
    }
    if decision.excluded:
        return {**summary, "planned": 0, "skipped": "excluded"}
    ops: list[Operation] = []
    if decision.desired is not None:
        current = read_user(k.canvas, decision.desired.sis_user_id)
        ops += plan_user(decision.desired, current, k.ownership)
        summary["sis_user_id"] = decision.desired.sis_user_id
    for sis in dict.fromkeys(decision.retire):
        if decision.desired is not None and sis == decision.desired.sis_user_id:
            continue
        ops += plan_user(None, read_user(k.canvas, sis), k.ownership)
    return {**summary, **carry_out(ctx, k.executor, ops)}
