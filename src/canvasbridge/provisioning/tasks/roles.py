"""``ensure_user_roles``: account-level Canvas roles from SAP roles, where config maps them.

``roles.account`` maps an SAP ``roleName`` to a Canvas account role; each mapped, current
SAP role of the employee (``employees(<id>)/roles``, with its ``locationCode``) becomes an
admin of that role on the sub-account of that location. Roles the service did not map are
never touched; removing an admin is left to people (an admin role is too powerful to take
away on the strength of one HR message). With no mapping configured the task does nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from canvasbridge.clients.canvas.client import sis_account
from canvasbridge.engine import TaskContext
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.desired import render_user_ids
from canvasbridge.provisioning.naming import Template


def _current(role: dict[str, Any], today: str) -> bool:
    start, end = role.get("effectiveStartDate"), role.get("effectiveEndDate")
    return (not start or str(start)[:10] <= today) and (not end or today <= str(end)[:10])


def ensure_user_roles(ctx: TaskContext, employee_id: str | int) -> dict[str, Any]:
    s = runtime.settings(ctx)
    mapping = s.roles.account
    if not mapping:
        return {"employee_id": str(employee_id), "planned": 0, "skipped": "no account roles configured"}
    k = runtime.kit(ctx)
    sap = runtime.sap(ctx)
    today = dt.date.today().isoformat()
    wanted = {
        (str(r.get("locationCode")), mapping[str(r.get("roleName"))])
        for r in sap.roles(employee_id)
        if str(r.get("roleName")) in mapping and r.get("locationCode") and _current(r, today)
    }
    if not wanted:
        return {"employee_id": str(employee_id), "planned": 0}
    matches = runtime.cerebrum(ctx).search_external_id(str(employee_id), id_type="employeeNumber")
    if not matches:
        return {
            "employee_id": str(employee_id),
            "planned": 0,
            "skipped": "no Cerebrum person for this employee",
        }
    account = runtime.cerebrum(ctx).primary_account(matches[0].person_id)
    if account is None:
        return {"employee_id": str(employee_id), "planned": 0, "skipped": "person has no primary account"}
    user_sis = render_user_ids(s, account.name, matches[0].person_id)["sis_user_id"] or account.name
    sis_t = Template(s.accounts.sis_account_id, "account_sis")
    ops = []
    for code, role in sorted(wanted):
        account_ref = sis_account(sis_t.render({"code": code}))
        admins = list(
            k.canvas.paginate(f"accounts/{account_ref}/admins", **{"user_id[]": [f"sis_user_id:{user_sis}"]})
        )
        if not any(a.get("role") == role for a in admins):
            ops.append((account_ref, role))
    if not ctx.dry_run:
        for account_ref, role in ops:
            k.canvas.request(
                "POST",
                f"accounts/{account_ref}/admins",
                data={"user_id": f"sis_user_id:{user_sis}", "role": role},
            )
    return {"employee_id": str(employee_id), "user": user_sis, "planned": len(ops), "dry_run": ctx.dry_run}
