"""Account admins: make, list, remove, over HTTP with canvasapi and plain requests."""

from __future__ import annotations

import httpx
import pytest
from canvasapi import Canvas
from canvasapi.exceptions import ResourceDoesNotExist

from canvasbridge_emulators.canvas import CanvasEmulator


def test_an_admin_is_made_listed_and_removed_with_its_role(canvas: Canvas, emu: CanvasEmulator) -> None:
    role = emu.model.add_role("Studieadministrasjon", "AccountMembership")
    faculty = canvas.get_account("ORG-10", use_sis_id=True)
    user = emu.model.find_user_by_sis("P01")
    made = faculty.create_admin(user.id, role_id=role.id, send_confirmation=False)
    assert (made.role, made.role_id, made.workflow_state) == ("Studieadministrasjon", role.id, "active")
    assert made.user["sis_user_id"] == "P01"
    assert [(a.user["id"], a.role_id) for a in faculty.get_admins()] == [(user.id, role.id)]
    assert list(canvas.get_account(1).get_admins()) == []  # an account lists its own admins only
    removed = faculty.delete_admin(user.id, role_id=role.id)
    assert removed.workflow_state == "deleted"
    assert list(faculty.get_admins()) == []


def test_making_an_admin_twice_keeps_one_record_and_revives_a_removed_one(
    http: httpx.Client, emu: CanvasEmulator
) -> None:
    path = "/api/v1/accounts/sis_account_id:ORG-10/admins"
    first = http.post(path, data={"user_id": "sis_user_id:P02", "role": "AccountAdmin"}).json()
    again = http.post(path, data={"user_id": "sis_user_id:P02", "role": "AccountAdmin"}).json()
    assert first["id"] == again["id"] and len(http.get(path).json()) == 1
    http.delete(f"{path}/sis_user_id:P02", params={"role_id": first["role_id"]})
    revived = http.post(path, data={"user_id": "sis_user_id:P02"}).json()
    assert revived["id"] == first["id"] and revived["workflow_state"] == "active"


def test_the_user_filter_accepts_sis_ids_and_drops_unknown_ones(
    http: httpx.Client, emu: CanvasEmulator
) -> None:
    path = "/api/v1/accounts/sis_account_id:ORG-10/admins"
    for sis in ("P03", "P04"):
        http.post(path, data={"user_id": f"sis_user_id:{sis}"})
    only = http.get(path, params={"user_id[]": ["sis_user_id:P04", "sis_user_id:NOBODY"]}).json()
    assert [a["user"]["sis_user_id"] for a in only] == ["P04"]
    assert http.get(path, params={"user_id[]": ["sis_user_id:NOBODY"]}).json() == []


def test_an_unknown_role_silently_becomes_account_admin_as_in_canvas(http: httpx.Client) -> None:
    made = http.post(
        "/api/v1/accounts/sis_account_id:ORG-10/admins",
        data={"user_id": "sis_user_id:P05", "role": "No Such"},
    ).json()
    assert (made["role"], made["role_id"]) == ("AccountAdmin", 1)


def test_a_course_role_cannot_be_an_account_role(http: httpx.Client, emu: CanvasEmulator) -> None:
    teacher = emu.model.find_role("TeacherEnrollment")
    answer = http.post(
        "/api/v1/accounts/sis_account_id:ORG-10/admins",
        data={"user_id": "sis_user_id:P05", "role_id": teacher.id},
    )
    assert answer.status_code == 400 and "role_id" in answer.json()["errors"]


def test_removing_an_admin_that_does_not_exist_is_a_404(canvas: Canvas, emu: CanvasEmulator) -> None:
    faculty = canvas.get_account("ORG-10", use_sis_id=True)
    with pytest.raises(ResourceDoesNotExist):
        faculty.delete_admin(emu.model.find_user_by_sis("P06").id)


def test_account_roles_show_as_account_membership(http: httpx.Client) -> None:
    roles = {r["role"]: r for r in http.get("/api/v1/accounts/1/roles").json()}
    assert roles["AccountAdmin"]["base_role_type"] == "AccountMembership"
    assert roles["AccountAdmin"]["is_account_role"] is True
    assert roles["TeacherEnrollment"]["base_role_type"] == "TeacherEnrollment"


def test_only_admins_of_an_account_or_one_above_it_may_use_it(url: str, emu: CanvasEmulator) -> None:
    user = emu.model.find_user_by_sis("P02")
    emu.add_token("p02-token", user.id)
    headers = {"Authorization": "Bearer p02-token"}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers) as p02:
        refused = p02.get("/accounts/1")
        assert refused.status_code == 401
        assert "www-authenticate" not in refused.headers  # the token is fine; the rights are not
        assert refused.json()["errors"][0]["message"] == "user not authorized to perform that action"
        assert p02.get("/accounts").json() == []
        role = emu.model.add_role("Fakultetsadmin", "AccountMembership")
        emu.model.add_admin(emu.model.resolve_account("sis_account_id:ORG-10").id, user.id, role.id)
        assert p02.get("/accounts/sis_account_id:ORG-10").status_code == 200
        assert p02.get("/accounts/sis_account_id:ORG-11").status_code == 200  # a sub-account of it
        assert p02.get("/accounts/1").status_code == 401
