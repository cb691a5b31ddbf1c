"""``ensure_user_roles``: account-level Canvas roles from SAP roles, where config maps them.

``roles.account`` maps an SAP ``roleName`` to a Canvas account role (by name or label, as
the root account's roles list shows it). Each mapped SAP role of the employee
(``employees(<id>)/roles``) that is current today makes the employee's Canvas user an admin
of that role in the sub-account of the role's ``locationCode``; one that has ended removes
it again. A role held at ``accounts.root_location`` (compared by that location's code, read
from SAP once per process) targets the root account instead, which is never a sub-account.
The service owns only admins whose Canvas role is a mapped one, of its own users, in the
accounts its roles name: other admins — added by hand with other roles, or of other users —
are never touched. With no mapping configured the task does nothing.

Roles are posted by ``role_id``, never by name: Canvas answers an unknown role name by
silently making an ``AccountAdmin``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from canvasbridge.clients.canvas.client import CanvasClient, sis_account, sis_user
from canvasbridge.clients.sap import SapClient
from canvasbridge.engine import TaskContext
from canvasbridge.errors import NotFoundError, PermanentError, TransientError
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.canvas_state import read_admin_roles
from canvasbridge.provisioning.desired import location_values, render_user_ids
from canvasbridge.provisioning.model import UserState
from canvasbridge.provisioning.naming import Template
from canvasbridge.provisioning.tasks.users import ensure_user

ROOT_LABEL = "root account"


@dataclass(frozen=True, order=True)
class AdminAccount:
    """An account whose admins the task reads and writes."""

    label: str  # for people: the sub-account's SIS id, or ROOT_LABEL
    ref: str  # as Canvas takes it in a path: sis_account_id:…, or the root's id or "self"


@dataclass(frozen=True)
class AdminChange:
    action: str  # "add" | "remove"
    account: AdminAccount
    role: str
    role_id: int

    def describe(self) -> str:
        return f"{self.action} admin {self.role} in {self.account.label}"


def _current(role: Mapping[str, Any], today: str) -> bool:
    start, end = role.get("effectiveStartDate"), role.get("effectiveEndDate")
    return (not start or str(start)[:10] <= today) and (not end or today <= str(end)[:10])


def root_location_code(ctx: TaskContext, sap: SapClient, location_id: str) -> str:
    """The SAP ``locationCode`` of ``accounts.root_location``, read once per process."""
    cache: dict[tuple[str, str], str] = ctx.resource("provisioning:root-location-codes", dict)
    key = (sap.http.base_url, location_id)
    if key not in cache:  # two threads racing here cost one extra read, nothing else
        try:
            # SAP keys a numeric id unquoted: locations(50000001), not locations('50000001')
            location = sap.location(int(location_id) if location_id.isdigit() else location_id)
        except NotFoundError:
            raise PermanentError(f"accounts.root_location {location_id!r} is not an SAP location") from None
        code = location_values(location)["code"]
        if code is None:
            raise PermanentError(f"SAP location {location_id} (accounts.root_location) has no code field")
        cache[key] = str(code)
    return cache[key]


def ensure_user_roles(ctx: TaskContext, employee_id: str | int) -> dict[str, Any]:
    s = runtime.settings(ctx)
    summary: dict[str, Any] = {"employee_id": str(employee_id)}
    mapping = s.roles.account
    if not mapping:
        return {**summary, "planned": 0, "skipped": "no account roles configured"}
    today = dt.date.today().isoformat()
    sap = runtime.sap(ctx)
    mapped = [
        r for r in sap.roles(employee_id) if str(r.get("roleName")) in mapping and r.get("locationCode")
    ]
    if not mapped:
        return {**summary, "planned": 0}
    cerebrum = runtime.cerebrum(ctx)
    matches = cerebrum.search_external_id(str(employee_id), id_type="employeeNumber")
    if not matches:
        return {**summary, "planned": 0, "skipped": "no Cerebrum person for this employee"}
    account = cerebrum.primary_account(matches[0].person_id)
    if account is None:
        return {**summary, "planned": 0, "skipped": "person has no primary account"}
    k = runtime.kit(ctx)
    user_sis = render_user_ids(s, account.name, matches[0].person_id)["sis_user_id"] or account.name
    summary["user"] = user_sis
    if not k.ownership.user(UserState(sis_user_id=user_sis, login_id=account.name, name="")):
        return {**summary, "planned": 0, "skipped": "user not managed (excluded or not our SIS id)"}

    role_ids: dict[str, int] = {}
    for role in sorted(set(mapping.values())):
        role_id = k.directory.account_role_id(role)
        if role_id is None:
            raise PermanentError(f"roles.account maps to {role!r}, which is not an account role in Canvas")
        role_ids[role] = role_id
    sis_template = Template(s.accounts.sis_account_id, "account_sis")
    root_code = root_location_code(ctx, sap, s.accounts.root_location) if s.accounts.root_location else None
    root = AdminAccount(ROOT_LABEL, s.root_account)
    wanted: dict[AdminAccount, set[str]] = {}  # account → Canvas roles wanted there
    for r in mapped:
        code = str(r["locationCode"])
        if code == root_code:
            account_of_role = root
        else:
            sis = sis_template.render({"code": code})
            account_of_role = AdminAccount(sis, sis_account(sis))
        target = wanted.setdefault(account_of_role, set())
        if _current(r, today):
            target.add(mapping[str(r["roleName"])])

    changes: list[AdminChange] = []
    for admin_account, roles in sorted(wanted.items()):
        held = read_admin_roles(k.canvas, admin_account.ref, user_sis)
        if held is None:
            if roles:
                raise TransientError(
                    f"account {admin_account.label} is not in Canvas yet (ensure_account first)"
                )
            continue
        for role, role_id in sorted(role_ids.items()):
            if role in roles and role_id not in held:
                changes.append(AdminChange("add", admin_account, role, role_id))
            elif role not in roles and role_id in held:
                changes.append(AdminChange("remove", admin_account, role, role_id))
    summary.update(planned=len(changes), operations=[c.describe() for c in changes], dry_run=ctx.dry_run)
    if ctx.dry_run or not changes:
        return summary
    for change in changes:
        try:
            _write(k.canvas, change, user_sis)
        except NotFoundError:
            if change.action != "add":
                raise
            # the user is not in Canvas yet: provision it, then try once more
            ensure_user(ctx, username=account.name)
            _write(k.canvas, change, user_sis)
    summary["done"] = len(changes)
    return summary


def _write(canvas: CanvasClient, change: AdminChange, user_sis: str) -> None:
    path = f"accounts/{change.account.ref}/admins"
    if change.action == "add":
        data = {"user_id": sis_user(user_sis), "role_id": change.role_id, "send_confirmation": False}
        canvas.request("POST", path, data=data)
    else:
        canvas.request("DELETE", f"{path}/{sis_user(user_sis)}", data={"role_id": change.role_id})
