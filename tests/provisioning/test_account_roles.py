"""``ensure_user_roles``: SAP roles → Canvas account admins, against the emulators over HTTP.

The tiny university's first employee (``sindr``) is STUDIEADMIN of institute 111000 and
LEDER there, and was STUDIEADMIN of faculty 110000 until two years ago; the second
(``emila``) is STUDIEADMIN of institute 112000. The university's root unit (000000) is
either a sub-account like the others or, with ``accounts.root_location``, the root account.
"""

from __future__ import annotations

import pytest

from canvasbridge.errors import PermanentError
from canvasbridge.provisioning import runtime
from canvasbridge.provisioning.tasks.accounts import ensure_account
from canvasbridge.provisioning.tasks.roles import ensure_user_roles
from canvasbridge.provisioning.tasks.users import ensure_user

SINDR, EMILA = 10000001, 10000002
ROLE = "Studieadministrator"  # the Canvas account role STUDIEADMIN maps to


@pytest.fixture
def roles(stack):
    for location_id in stack.university.org_units:
        ensure_account(stack.ctx(), location_id)
    stack.canvas.model.add_role(ROLE, "AccountMembership")
    stack.configure(roles={"account": {"STUDIEADMIN": ROLE}})
    return stack


@pytest.fixture
def rooted(stack):
    """As ``roles``, with the root unit configured as the Canvas root account from the start."""
    accounts = {"root_location": str(stack.university.root_location_id)}
    stack.configure(accounts=accounts)
    for location_id in stack.university.org_units:
        ensure_account(stack.ctx(), location_id)
    assert stack.canvas.model.find_account_by_sis("OU_000000") is None
    stack.canvas.model.add_role(ROLE, "AccountMembership")
    stack.configure(accounts=accounts, roles={"account": {"STUDIEADMIN": ROLE}})
    return stack


ROOT = None  # the root account, to the helpers below


def _account_id(stack, account_sis: str | None) -> int:
    m = stack.canvas.model
    return m.root_account.id if account_sis is ROOT else m.find_account_by_sis(account_sis).id


def admins(stack, account_sis: str | None) -> set[tuple[str, str]]:
    """(SIS user id, role) of the account's active admins."""
    m = stack.canvas.model
    return {
        (m.primary_login(a.user_id).sis_user_id, m.get_role(a.role_id).role)
        for a in m.admins(_account_id(stack, account_sis))
    }


def make_admin(stack, account_sis: str | None, user_sis: str, role: str) -> None:
    """An admin added by hand (or by an earlier run), straight into Canvas."""
    m = stack.canvas.model
    m.add_admin(_account_id(stack, account_sis), m.find_user_by_sis(user_sis).id, m.find_role(role).id)


def test_a_current_mapped_role_makes_an_admin_of_the_mapped_role_in_its_account(roles):
    stack = roles
    ensure_user(stack.ctx(), username="sindr")
    result = ensure_user_roles(stack.ctx(), SINDR)
    assert result["operations"] == [f"add admin {ROLE} in OU_111000"]
    assert admins(stack, "OU_111000") == {("sindr", ROLE)}
    assert admins(stack, "OU_110000") == set()  # that role ended: nothing there
    assert admins(stack, "OU_112000") == set()  # LEDER is not mapped


def test_a_user_missing_from_canvas_is_provisioned_on_the_spot(roles):
    stack = roles
    assert stack.canvas.model.find_user_by_sis("emila") is None
    ensure_user_roles(stack.ctx(), EMILA)
    assert admins(stack, "OU_112000") == {("emila", ROLE)}


def test_running_twice_writes_nothing_the_second_time(roles):
    stack = roles
    ensure_user_roles(stack.ctx(), SINDR)
    stack.clear_stats()
    result = ensure_user_roles(stack.ctx(), SINDR)
    assert result["planned"] == 0
    assert stack.writes() == 0 and stack.reads() > 0


def test_an_ended_role_removes_the_admin_but_never_one_the_service_does_not_own(roles):
    stack = roles
    ensure_user(stack.ctx(), username="emila")
    ensure_user_roles(stack.ctx(), SINDR)
    make_admin(stack, "OU_111000", "sindr", "AccountAdmin")  # by hand, a role not mapped
    make_admin(stack, "OU_111000", "emila", ROLE)  # the mapped role, but another user
    role = next(
        r for r in stack.university.sap_roles_of(SINDR) if r.location_id == 50000003 and r.end is None
    )
    assert role.role_name == "STUDIEADMIN"
    stack.university.end_sap_role(role.role_id)
    stack.clear_stats()
    result = ensure_user_roles(stack.ctx(), SINDR)
    assert result["operations"] == [f"remove admin {ROLE} in OU_111000"]
    assert admins(stack, "OU_111000") == {("sindr", "AccountAdmin"), ("emila", ROLE)}
    assert stack.writes() == 1


def test_an_admin_of_an_old_role_is_removed_and_a_hand_made_one_elsewhere_stays(roles):
    stack = roles
    ensure_user(stack.ctx(), username="sindr")
    make_admin(stack, "OU_110000", "sindr", ROLE)  # the faculty role SAP says ended
    make_admin(stack, "OU_112000", "sindr", ROLE)  # an account SAP names no role of sindr in
    ensure_user_roles(stack.ctx(), SINDR)
    assert admins(stack, "OU_110000") == set()
    assert admins(stack, "OU_112000") == {("sindr", ROLE)}


def test_unmapped_roles_are_ignored_and_cost_no_canvas_call(roles):
    stack = roles
    stack.configure(roles={"account": {"PROREKTOR": ROLE}})  # neither employee holds it
    stack.clear_stats()
    assert ensure_user_roles(stack.ctx(), SINDR)["planned"] == 0
    assert stack.calls() == 0


def test_no_mapping_means_nothing_is_read_or_written(stack):
    assert ensure_user_roles(stack.ctx(), SINDR)["skipped"] == "no account roles configured"
    assert stack.calls() == 0


def test_a_mapping_to_a_role_canvas_lacks_fails_without_making_an_account_admin(roles):
    stack = roles
    stack.configure(roles={"account": {"STUDIEADMIN": "No Such Role"}})
    ensure_user(stack.ctx(), username="sindr")
    stack.clear_stats()
    with pytest.raises(PermanentError, match="No Such Role"):
        ensure_user_roles(stack.ctx(), SINDR)
    assert stack.writes() == 0
    assert admins(stack, "OU_111000") == set()


def test_dry_run_plans_without_writing(roles):
    stack = roles
    ensure_user(stack.ctx(), username="sindr")
    stack.clear_stats()
    result = ensure_user_roles(stack.ctx(dry_run=True), SINDR)
    assert result["planned"] == 1 and result["dry_run"] is True
    assert stack.writes() == 0 and admins(stack, "OU_111000") == set()


@pytest.mark.parametrize("root_account", ["1", "self"])
def test_a_mapped_role_at_the_root_location_makes_an_admin_of_the_root_account(rooted, root_account):
    stack = rooted
    stack.configure(**stack.provisioning, root_account=root_account)
    stack.university.grant_sap_role(SINDR, "STUDIEADMIN", stack.university.root_location_id)
    ensure_user(stack.ctx(), username="sindr")
    result = ensure_user_roles(stack.ctx(), SINDR)
    assert result["operations"] == [f"add admin {ROLE} in OU_111000", f"add admin {ROLE} in root account"]
    assert admins(stack, ROOT) == {("sindr", ROLE)}
    assert admins(stack, "OU_111000") == {("sindr", ROLE)}
    assert stack.canvas.model.find_account_by_sis("OU_000000") is None


def test_a_root_admin_is_made_once_and_the_root_location_read_once(rooted):
    stack = rooted
    stack.university.grant_sap_role(EMILA, "STUDIEADMIN", stack.university.root_location_id)
    ensure_user_roles(stack.ctx(), EMILA)
    stack.clear_stats()
    result = ensure_user_roles(stack.ctx(), EMILA)
    assert result["planned"] == 0
    assert stack.writes() == 0 and stack.reads() > 0
    assert admins(stack, ROOT) == {("emila", ROLE)}
    stats = runtime.call_stats(stack.ctx()).by_endpoint
    assert stats["sap GET locations({id})"].calls == 1  # the root location, cached for the second run


def test_an_ended_role_at_the_root_location_removes_only_the_root_admin_the_service_owns(rooted):
    stack = rooted
    role = stack.university.grant_sap_role(SINDR, "STUDIEADMIN", stack.university.root_location_id)
    ensure_user(stack.ctx(), username="emila")
    ensure_user_roles(stack.ctx(), SINDR)
    make_admin(stack, ROOT, "sindr", "AccountAdmin")  # by hand, a role not mapped
    make_admin(stack, ROOT, "emila", ROLE)  # the mapped role, but another user
    stack.university.end_sap_role(role.role_id)
    stack.clear_stats()
    result = ensure_user_roles(stack.ctx(), SINDR)
    assert result["operations"] == [f"remove admin {ROLE} in root account"]
    assert admins(stack, ROOT) == {("sindr", "AccountAdmin"), ("emila", ROLE)}
    assert admins(stack, "OU_111000") == {("sindr", ROLE)}
    assert stack.writes() == 1


def test_a_root_location_sap_does_not_know_fails_permanently(roles):
    stack = roles
    stack.configure(accounts={"root_location": "99999999"}, roles={"account": {"STUDIEADMIN": ROLE}})
    ensure_user(stack.ctx(), username="sindr")
    stack.clear_stats()
    with pytest.raises(PermanentError, match="root_location"):
        ensure_user_roles(stack.ctx(), SINDR)
    assert stack.writes() == 0
