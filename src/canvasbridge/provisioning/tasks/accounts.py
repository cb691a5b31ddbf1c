"""``ensure_account``: an SAP org unit (and its ancestors) as Canvas sub-accounts.

The unit's place in the tree is walked one parent at a time in SAP; every level becomes a
sub-account under the one above it (the configured ``accounts.root_location`` is the Canvas
root itself). A unit whose parent changed is moved; a renamed unit is renamed.
"""

from __future__ import annotations

from typing import Any

from canvasbridge.engine import TaskContext
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.canvas_state import read_account
from canvasbridge.provisioning.desired import decide_accounts
from canvasbridge.provisioning.plan import Operation, plan_account
from canvasbridge.provisioning.tasks.steps import carry_out


def ensure_account(ctx: TaskContext, location_id: str | int) -> dict[str, Any]:
    k = runtime.kit(ctx)
    chain = decide_accounts(runtime.sap(ctx), k.settings, location_id)
    ops: list[Operation] = []
    for desired in chain:
        ops += plan_account(desired, read_account(k.canvas, k.directory, desired.sis_account_id), k.ownership)
    summary = {"location_id": str(location_id), "accounts": [a.sis_account_id for a in chain]}
    return {**summary, **carry_out(ctx, k.executor, ops)}
