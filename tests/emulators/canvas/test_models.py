"""CanvasModel rules, without HTTP: the API other engineers seed, drift and assert with."""

from __future__ import annotations

import pytest

from canvasbridge_emulators.canvas import CanvasModel
from canvasbridge_emulators.canvas.exceptions import (
    BadRequest,
    ResourceNotFound,
    Unauthorized,
    ValidationFailed,
)


@pytest.fixture
def model() -> CanvasModel:
    return CanvasModel()


def test_root_account_default_term_and_builtin_roles_exist(model: CanvasModel) -> None:
    assert model.root_account.id == 1 and model.get_term(1).name == "Default Term"
    assert model.find_role("teacher").id == 4 and model.find_role("StudentEnrollment").id == 3


def test_login_ids_are_unique_case_insensitively_and_sis_ids_unique(model: CanvasModel) -> None:
    model.add_user("A", unique_id="ola", sis_user_id="P1")
    with pytest.raises(ValidationFailed) as caught:
        model.add_user("B", unique_id="OLA")
    assert caught.value.kind == "taken"
    with pytest.raises(ValidationFailed):
        model.add_user("C", unique_id="other", sis_user_id="P1")
    course = model.add_course("X", sis_course_id="C1")
    with pytest.raises(ValidationFailed):
        model.add_course("Y", sis_course_id="C1")
    model.update_course(course.id, sis_course_id="C2")
    assert model.find_course_by_sis("C1") is None and model.find_course_by_sis("C2") is course


def test_resolution_of_sis_prefixes_special_ids_and_global_ids(model: CanvasModel) -> None:
    user = model.add_user("A B", unique_id="ab", sis_user_id="P/1", integration_id="I1")
    assert model.resolve_user("sis_user_id:P/1") is user
    assert model.resolve_user("sis_login_id:AB") is user
    assert model.resolve_user("sis_integration_id:I1") is user
    assert model.resolve_user("self", self_id=user.id) is user
    assert model.resolve_account("self").id == 1 and model.resolve_account("default").id == 1
    assert model.resolve_term("default").id == 1
    course = model.add_course("X")
    assert model.resolve_course(f"10000~{course.id}") is course
    with pytest.raises(ResourceNotFound):
        model.resolve_course("sis_course_id:none")


def test_sub_account_deletion_rules(model: CanvasModel) -> None:
    parent = model.add_account("Faculty")
    child = model.add_account("Dept", parent_id=parent.id)
    with pytest.raises(BadRequest) as caught:
        model.delete_sub_account(1, parent.id)
    assert caught.value.status == 409
    course = model.add_course("X", account_id=child.id)
    with pytest.raises(BadRequest):
        model.delete_sub_account(parent.id, child.id)
    model.course_event(course.id, "delete")
    assert model.delete_sub_account(parent.id, child.id).workflow_state == "deleted"
    with pytest.raises(Unauthorized):
        model.delete_sub_account(1, 1)


def test_enrolling_again_reuses_the_enrollment_and_sets_its_state(model: CanvasModel) -> None:
    user = model.add_user("A", unique_id="a")
    course = model.add_course("X")
    first = model.enroll(user.id, course_id=course.id, state="invited")
    model.end_enrollment(first.id, "delete")
    again = model.enroll(user.id, course_id=course.id, state="active")
    assert again is first and again.workflow_state == "active"
    teacher = model.enroll(user.id, course_id=course.id, type="TeacherEnrollment")
    assert teacher is not first and len(model.enrollments(course_id=course.id)) == 2


def test_enrollments_of_one_user_in_one_section_with_the_other_filters(model: CanvasModel) -> None:
    user, other = model.add_user("A", unique_id="a"), model.add_user("B", unique_id="b")
    course = model.add_course("X")
    section, elsewhere = model.add_section(course.id, "S"), model.add_section(course.id, "T")
    teacher = model.enroll(user.id, section_id=section.id, type="TeacherEnrollment")
    student = model.enroll(user.id, section_id=section.id, state="inactive")
    model.enroll(other.id, section_id=section.id)
    model.enroll(user.id, section_id=elsewhere.id)
    assert model.enrollments(section_id=section.id, user_id=user.id) == [teacher, student]
    assert model.enrollments(section_id=section.id, user_id=user.id, states=["inactive"]) == [student]
    assert model.enrollments(section_id=section.id, user_id=user.id, course_id=course.id + 1) == []
    assert model.enrollments(section_id=section.id, user_id=9999) == []


def test_enrollment_in_concluded_course_is_refused(model: CanvasModel) -> None:
    user = model.add_user("A", unique_id="a")
    course = model.add_course("X", workflow_state="completed")
    with pytest.raises(BadRequest, match="concluded course"):
        model.enroll(user.id, course_id=course.id)


def test_crosslisting_moves_enrollments_and_back(model: CanvasModel) -> None:
    user = model.add_user("A", unique_id="a")
    home = model.add_course("Home")
    target = model.add_course("Target")
    section = model.add_section(home.id, "S")
    enrollment = model.enroll(user.id, section_id=section.id)
    model.crosslist_section(section.id, target.id)
    assert enrollment.course_id == target.id and section.nonxlist_course_id == home.id
    assert model.sections(home.id) == [] and model.sections(target.id) == [section]
    model.uncrosslist_section(section.id)
    assert enrollment.course_id == home.id and section.nonxlist_course_id is None


def test_course_delete_deletes_enrollments_and_frees_sis_id(model: CanvasModel) -> None:
    user = model.add_user("A", unique_id="a")
    course = model.add_course("X", sis_course_id="C1")
    enrollment = model.enroll(user.id, course_id=course.id)
    model.update_course(course.id, event="delete")
    assert enrollment.workflow_state == "deleted" and model.find_course_by_sis("C1") is None


def test_suspension_lives_on_logins(model: CanvasModel) -> None:
    user = model.add_user("A", unique_id="a")
    second = model.add_login(user.id, "a2")
    model.update_login(second.id, workflow_state="suspended")
    assert not model.is_suspended(user.id)
    model.suspend_user(user.id)
    assert model.is_suspended(user.id)
    with pytest.raises(BadRequest):
        model.update_login(second.id, workflow_state="frozen")


def test_snapshot_restore_and_counts(model: CanvasModel) -> None:
    model.add_user("A", unique_id="a")
    snapshot = model.snapshot()
    model.add_user("B", unique_id="b")
    assert model.counts()["users"] == 2
    model.restore(snapshot)
    assert model.counts()["users"] == 1 and model.find_user_by_login("b") is None
    model.clear()
    assert model.counts()["users"] == 0 and model.counts()["accounts"] == 1
