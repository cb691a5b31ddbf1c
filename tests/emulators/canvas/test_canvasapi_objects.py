"""canvasapi drives the Canvas emulator over HTTP: accounts, users, logins, courses, sections, enrollments."""

from __future__ import annotations

import httpx
import pytest
from canvasapi import Canvas
from canvasapi.exceptions import BadRequest, Conflict, ResourceDoesNotExist

from canvasbridge_emulators.canvas import CanvasEmulator


def test_accounts_by_id_and_sis_id_and_recursive_sub_accounts(canvas: Canvas) -> None:
    root = canvas.get_account(1)
    assert root.name == "Emulated University" and root.parent_account_id is None
    faculty = canvas.get_account("ORG-10", use_sis_id=True)
    assert faculty.parent_account_id == 1 and faculty.sis_account_id == "ORG-10"
    assert [a.sis_account_id for a in root.get_subaccounts()] == ["ORG-10"]
    assert sorted(a.sis_account_id for a in root.get_subaccounts(recursive=True)) == ["ORG-10", "ORG-11"]


def test_sub_account_create_edit_and_delete_with_the_409_rule(canvas: Canvas, emu: CanvasEmulator) -> None:
    faculty = canvas.get_account("ORG-10", use_sis_id=True)
    new = faculty.create_subaccount(account={"name": "Lab", "sis_account_id": "ORG-99"})
    assert new.parent_account_id == faculty.id
    assert new.update(account={"name": "Big Lab"}) and new.name == "Big Lab"
    with pytest.raises(Conflict):
        faculty.delete()  # has courses and a sub-account
    assert new.delete()
    assert emu.model.find_account_by_sis("ORG-99") is None


def test_user_create_get_by_sis_and_login_ids_and_edit(canvas: Canvas, emu: CanvasEmulator) -> None:
    root = canvas.get_account(1)
    user = root.create_user(
        pseudonym={"unique_id": "kari", "sis_user_id": "P900", "integration_id": "FEIDE-kari"},
        user={"name": "Kari Nordmann", "skip_registration": True},
        communication_channel={"type": "email", "address": "kari@uni.test"},
    )
    assert user.sis_user_id == "P900" and user.login_id == "kari"
    assert canvas.get_user("P900", "sis_user_id").id == user.id
    assert canvas.get_user("kari", "sis_login_id").id == user.id
    assert canvas.get_user("FEIDE-kari", "sis_integration_id").id == user.id
    edited = user.edit(user={"name": "Kari N. Nordmann", "sortable_name": "Nordmann, Kari N."})
    assert edited.name == "Kari N. Nordmann"
    assert emu.model.get_user(user.id).sortable_name == "Nordmann, Kari N."


def test_duplicate_login_gives_canvas_nested_validation_body(canvas: Canvas) -> None:
    with pytest.raises(BadRequest) as caught:
        canvas.get_account(1).create_user(pseudonym={"unique_id": "USER01"})
    assert "ID already in use for this account and authentication provider" in str(caught.value)


def test_unknown_sis_id_is_404(canvas: Canvas) -> None:
    with pytest.raises(ResourceDoesNotExist):
        canvas.get_user("nobody", "sis_user_id")
    with pytest.raises(ResourceDoesNotExist):
        canvas.get_course("NOPE", use_sis_id=True)


def test_suspend_and_unsuspend_act_on_logins(canvas: Canvas, emu: CanvasEmulator) -> None:
    user = canvas.get_user("P03", "sis_user_id")
    user.edit(user={"event": "suspend"})
    assert [lg.workflow_state for lg in user.get_user_logins()] == ["suspended"]
    assert emu.model.is_suspended(user.id)
    user.edit(user={"event": "unsuspend"})
    assert not emu.model.is_suspended(user.id)


def test_logins_create_edit_suspend_one_and_delete(canvas: Canvas, emu: CanvasEmulator) -> None:
    root = canvas.get_account(1)
    user = canvas.get_user("P04", "sis_user_id")
    login = root.create_user_login(user={"id": user.id}, login={"unique_id": "p04-alt"})
    assert login.unique_id == "p04-alt" and login.user_id == user.id
    edited = login.edit(login={"workflow_state": "suspended", "integration_id": "INT-4"})
    assert edited.workflow_state == "suspended" and edited.integration_id == "INT-4"
    assert not emu.model.is_suspended(user.id)  # the other login is still active
    assert sorted(lg.unique_id for lg in root.get_user_logins(user_id=user.id)) == ["p04-alt", "user04"]
    login.delete()
    last = next(iter(user.get_user_logins()))
    with pytest.raises(BadRequest):
        last.delete()  # users must keep one login


def test_login_on_a_sub_account_is_refused(canvas: Canvas) -> None:
    faculty = canvas.get_account("ORG-10", use_sis_id=True)
    with pytest.raises(BadRequest, match="root account"):
        faculty.create_user_login(user={"id": 1}, login={"unique_id": "x1"})


def test_courses_create_publish_conclude_delete(canvas: Canvas, emu: CanvasEmulator) -> None:
    faculty = canvas.get_account("ORG-10", use_sis_id=True)
    course = faculty.create_course(
        course={
            "name": "Algorithms",
            "course_code": "IN2010",
            "sis_course_id": "IN2010-2026H",
            "term_id": "sis_term_id:2026H",
        }
    )
    assert course.workflow_state == "unpublished" and course.account_id == faculty.id
    assert course.enrollment_term_id == emu.model.find_term_by_sis("2026H").id
    assert course.update(course={"event": "offer"})
    assert canvas.get_course("IN2010-2026H", use_sis_id=True).workflow_state == "available"
    assert sorted(c.sis_course_id for c in faculty.get_courses()) == ["IN1000-2026H", "IN2010-2026H"]
    course.conclude()
    assert emu.model.get_course(course.id).workflow_state == "completed"
    course.delete()
    assert emu.model.get_course(course.id).workflow_state == "deleted"
    with pytest.raises(ResourceDoesNotExist):
        canvas.get_course(course.id)


def test_sections_create_get_edit_crosslist_and_delete_rule(canvas: Canvas, emu: CanvasEmulator) -> None:
    course = canvas.get_course("IN1000-2026H", use_sis_id=True)
    other = canvas.get_account(1).create_course(course={"name": "Shell", "sis_course_id": "SHELL"})
    section = course.create_course_section(course_section={"name": "Group 2", "sis_section_id": "IN1000-G2"})
    assert canvas.get_section("IN1000-G2", use_sis_id=True).id == section.id
    assert course.get_section(section.id).name == "Group 2"
    assert section.edit(course_section={"name": "Group Two"}).name == "Group Two"
    moved = section.cross_list_section(other.id)
    assert moved.course_id == other.id and moved.nonxlist_course_id == course.id
    back = moved.decross_list_section()
    assert back.course_id == course.id and back.nonxlist_course_id is None
    with pytest.raises(BadRequest, match="not cross-listed"):
        back.decross_list_section()
    user = canvas.get_user("P05", "sis_user_id")
    section.enroll_user(user.id, enrollment={"enrollment_state": "active"})
    with pytest.raises(BadRequest, match="has enrollments"):
        section.delete()


def test_enrollments_all_types_states_and_filters(canvas: Canvas, emu: CanvasEmulator) -> None:
    course = canvas.get_course("IN1000-2026H", use_sis_id=True)
    role = emu.model.add_role("Sensor", "TaEnrollment")
    ids = {}
    for i, kind in enumerate(
        ["StudentEnrollment", "TeacherEnrollment", "TaEnrollment", "ObserverEnrollment", "DesignerEnrollment"]
    ):
        user = canvas.get_user(f"P{i:02d}", "sis_user_id")
        enrollment = course.enroll_user(user.id, enrollment={"type": kind, "enrollment_state": "active"})
        assert enrollment.type == kind and enrollment.enrollment_state == "active"
        ids[kind] = enrollment
    invited = course.enroll_user(
        canvas.get_user("P10", "sis_user_id").id, enrollment={"type": "StudentEnrollment"}
    )
    assert invited.enrollment_state == "invited"  # Canvas's default
    custom = course.enroll_user(
        canvas.get_user("P11", "sis_user_id").id,
        enrollment={"role_id": role.id, "enrollment_state": "active"},
    )
    assert custom.role == "Sensor" and custom.type == "TaEnrollment" and custom.role_id == role.id
    assert {e.type for e in course.get_enrollments(type=["TeacherEnrollment"])} == {"TeacherEnrollment"}
    assert [e.id for e in course.get_enrollments(role_id=[role.id])] == [custom.id]

    ids["StudentEnrollment"].deactivate("conclude")
    ids["TeacherEnrollment"].deactivate("delete")
    ids["TaEnrollment"].deactivate("deactivate")
    shown = {e.id for e in course.get_enrollments()}
    assert ids["StudentEnrollment"].id not in shown and ids["TeacherEnrollment"].id not in shown
    assert ids["TaEnrollment"].id in shown  # admins see inactive ones
    assert {e.id for e in course.get_enrollments(state=["completed"])} == {ids["StudentEnrollment"].id}
    reactivated = ids["TaEnrollment"].reactivate()
    assert reactivated.enrollment_state == "active"
    with pytest.raises(BadRequest):
        ids["TaEnrollment"].reactivate()
    student = canvas.get_user("P00", "sis_user_id")
    assert [e.enrollment_state for e in student.get_enrollments(state=["completed"])] == ["completed"]
    assert emu.model.get_enrollment(ids["TeacherEnrollment"].id).workflow_state == "deleted"


def test_enrollment_errors_use_message_bodies(canvas: Canvas, url: str) -> None:
    from canvasbridge_emulators.canvas import DEFAULT_TOKEN

    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    response = httpx.post(
        f"{url}/api/v1/courses/1/enrollments", data={"enrollment[type]": "StudentEnrollment"}, headers=headers
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith("Can't create an enrollment without a user")
    response = httpx.post(
        f"{url}/api/v1/courses/sis_course_id:IN1000-2026H/enrollments",
        data={"enrollment[user_id]": "sis_user_id:P01", "enrollment[type]": "BossEnrollment"},
        headers=headers,
    )
    assert response.status_code == 400 and response.json() == {"message": "Invalid type"}
    response = httpx.request("DELETE", f"{url}/api/v1/courses/1", data={"event": "archive"}, headers=headers)
    assert response.json() == {"message": 'Only "delete" and "conclude" events are allowed.'}


def test_terms_listing_is_wrapped_and_creatable(canvas: Canvas) -> None:
    root = canvas.get_account(1)
    created = root.create_enrollment_term(enrollment_term={"name": "Spring 2027", "sis_term_id": "2027V"})
    names = [t.name for t in root.get_enrollment_terms()]
    assert names == ["Default Term", "Autumn 2026", "Spring 2027"] and created.sis_term_id == "2027V"


def test_includes_and_a_users_courses(canvas: Canvas, http: httpx.Client, emu: CanvasEmulator) -> None:
    listed = http.get("/api/v1/accounts/1/users?search_term=user01&include[]=email").json()
    assert [(u["login_id"], u["email"]) for u in listed] == [("user01", "p1@uni.test")]
    assert "email" not in http.get("/api/v1/accounts/1/users?search_term=user01").json()[0]
    course = emu.model.find_course_by_sis("IN1000-2026H")
    body = http.get(f"/api/v1/courses/{course.id}?include[]=term").json()
    assert body["term"]["sis_term_id"] == "2026H"
    user = emu.model.find_user_by_sis("P07")
    emu.model.enroll(user.id, course_id=course.id, state="active")
    assert [c.id for c in canvas.get_user(user.id).get_courses()] == [course.id]


def test_deleted_user_answers_its_body_with_404(
    canvas: Canvas, http: httpx.Client, emu: CanvasEmulator
) -> None:
    user = canvas.get_user("P08", "sis_user_id")
    course = emu.model.find_course_by_sis("IN1000-2026H")
    enrollment = emu.model.enroll(user.id, course_id=course.id, state="active")
    canvas.get_account(1).delete_user(user)
    response = http.get(f"/api/v1/users/{user.id}")
    assert response.status_code == 404 and response.json()["name"] == user.name
    assert emu.model.get_enrollment(enrollment.id).workflow_state == "deleted"
    with pytest.raises(ResourceDoesNotExist):
        canvas.get_user("P08", "sis_user_id")  # the login is gone
