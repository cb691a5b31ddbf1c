"""The provisioning rules, task by task, against the emulators over HTTP (tiny university)."""

from __future__ import annotations

import pytest

from canvasbridge.provisioning.tasks.accounts import ensure_account
from canvasbridge.provisioning.tasks.courses import ensure_course
from canvasbridge.provisioning.tasks.enrollments import ensure_enrollments, ensure_person_role
from canvasbridge.provisioning.tasks.users import ensure_user
from canvasbridge_emulators.university import ROLE_GROUP_TEACHER

UNIT = "185,INF1001,1,2026,HØST,1"  # multi-term: continues as 185,INF1001,1,2027,VÅR,2
UNIT_TERM2 = "185,INF1001,1,2027,VÅR,2"
COURSE = "UE_185_INF1001_1_2026_HØST"
GROUP = "185,INF1001,1,2026,HØST,1,2-1"


def provision_accounts(stack) -> None:
    for location_id in stack.university.org_units:
        ensure_account(stack.ctx(), location_id)


def provision_users(stack) -> None:
    for person_id in stack.university.persons:
        ensure_user(stack.ctx(), person_id=person_id)


def canvas_user(stack, sis):
    return stack.canvas.model.find_user_by_sis(sis)


def live(stack, sis_section):
    m = stack.canvas.model
    section = m.find_section_by_sis(sis_section)
    return {
        (m.primary_login(e.user_id).sis_user_id, e.type)
        for e in m.enrollments(section_id=section.id)
        if e.workflow_state in ("active", "invited")
    }


# ---------------------------------------------------------------------------- accounts


def test_org_units_become_sub_accounts_in_the_sap_hierarchy(stack):
    provision_accounts(stack)
    m = stack.canvas.model
    inst = m.find_account_by_sis("OU_111000")
    faculty = m.find_account_by_sis("OU_110000")
    assert inst.parent_account_id == faculty.id
    assert m.find_account_by_sis("OU_000000").parent_account_id == 1
    assert inst.name == "Institutt for informatikk"


def test_a_moved_org_unit_is_moved_and_a_renamed_one_renamed(stack):
    provision_accounts(stack)
    uni = stack.university
    uni.move_org_unit(50000004, 50000001)
    uni.rename_org_unit(50000004, "Matematisk institutt")
    stack.clear_stats()
    ensure_account(stack.ctx(), 50000004)
    m = stack.canvas.model
    account = m.find_account_by_sis("OU_112000")
    assert account.parent_account_id == m.find_account_by_sis("OU_000000").id
    assert account.name == "Matematisk institutt"
    assert stack.writes() == 2


# ---------------------------------------------------------------------------- users


def test_only_the_primary_account_becomes_a_canvas_user(stack):
    result = ensure_user(stack.ctx(), username="elisa2")  # elisa's secondary account
    assert result["username"] == "elisa"
    assert canvas_user(stack, "elisa") is not None
    assert canvas_user(stack, "elisa2") is None
    assert stack.canvas.model.find_user_by_sis("elisa").email == "elisa@uni.example.org"


def test_a_quarantined_account_is_suspended_and_unsuspended_when_released(stack):
    ensure_user(stack.ctx(), username="solvh")
    m = stack.canvas.model
    user = canvas_user(stack, "solvh")
    assert not m.is_suspended(user.id)
    stack.university.quarantine_account("solvh")
    stack.clear_stats()
    ensure_user(stack.ctx(), username="solvh")
    assert m.is_suspended(user.id)
    assert stack.writes() == 1
    stack.university.release_account("solvh")
    ensure_user(stack.ctx(), username="solvh")
    assert not m.is_suspended(user.id)


def test_a_locked_account_is_created_suspended(stack):
    ensure_user(stack.ctx(), username="thomr")  # quarantined in the seed
    assert stack.canvas.model.is_suspended(canvas_user(stack, "thomr").id)


def test_excluded_users_are_never_touched(stack):
    stack.configure(users={"exclude": ["solvh"]})
    stack.canvas.model.add_user("Manual Solveig", unique_id="solvh", sis_user_id="solvh")
    stack.university.quarantine_account("solvh")
    stack.clear_stats()
    result = ensure_user(stack.ctx(), username="solvh")
    assert result["skipped"] == "excluded"
    assert stack.calls() == 0
    assert canvas_user(stack, "solvh").name == "Manual Solveig"


def test_a_new_primary_account_retires_the_old_user_by_suspending_it(stack):
    ensure_user(stack.ctx(), person_id=10010)
    stack.university.set_primary_account(10010, "elisa2")
    ensure_user(stack.ctx(), username="elisa2")
    m = stack.canvas.model
    assert not m.is_suspended(canvas_user(stack, "elisa2").id)
    assert m.is_suspended(canvas_user(stack, "elisa").id)
    assert canvas_user(stack, "elisa").workflow_state != "deleted"


def test_a_person_left_without_primary_account_is_suspended_not_deleted(stack):
    ensure_user(stack.ctx(), person_id=10013)
    stack.university.persons[10013].primary_account = None
    ensure_user(stack.ctx(), person_id=10013)
    user = canvas_user(stack, "solvh")
    assert user.workflow_state != "deleted"
    assert stack.canvas.model.is_suspended(user.id)


def test_a_changed_user_costs_at_most_two_calls_and_an_unchanged_one_only_reads(stack):
    ensure_user(stack.ctx(), username="geirm")
    user = canvas_user(stack, "geirm")
    stack.canvas.model.update_user(user.id, name="Someone Else")
    stack.clear_stats()
    ensure_user(stack.ctx(), username="geirm")
    assert stack.calls() <= 2 and stack.writes() == 1
    assert canvas_user(stack, "geirm").name == stack.university.persons[10015].full_name
    assert not stack.canvas.model.is_suspended(user.id)
    stack.clear_stats()
    result = ensure_user(stack.ctx(), username="geirm")
    assert result["planned"] == 0 and stack.writes() == 0 and stack.reads() > 0


def test_a_renamed_user_quarantined_meanwhile_is_renamed_and_suspended_in_one_write(stack):
    ensure_user(stack.ctx(), username="geirm")
    m = stack.canvas.model
    user = canvas_user(stack, "geirm")
    m.update_user(user.id, name="Someone Else")
    stack.university.quarantine_account("geirm")
    stack.clear_stats()
    ensure_user(stack.ctx(), username="geirm")
    assert stack.calls() == 2 and stack.writes() == 1
    assert m.is_suspended(user.id) and canvas_user(stack, "geirm").name != "Someone Else"
    stack.clear_stats()
    assert ensure_user(stack.ctx(), username="geirm")["planned"] == 0 and stack.writes() == 0


def test_a_user_suspended_by_hand_is_unsuspended_when_only_the_logins_differ(stack):
    ensure_user(stack.ctx(), username="geirm")
    m = stack.canvas.model
    user = canvas_user(stack, "geirm")
    m.suspend_user(user.id)
    stack.clear_stats()
    ensure_user(stack.ctx(), username="geirm")
    assert not m.is_suspended(user.id)
    assert stack.writes() == 1 and stack.reads() == 2  # the User JSON shows no suspension


def test_ensure_user_dry_run_plans_without_writing(stack):
    result = ensure_user(stack.ctx(dry_run=True), username="geirm")
    assert result["planned"] == 1 and result["operations"] == ["create user geirm"]
    assert stack.writes() == 0 and canvas_user(stack, "geirm") is None


# ---------------------------------------------------------------------------- courses


@pytest.fixture
def provisioned(stack):
    provision_accounts(stack)
    provision_users(stack)
    return stack


def test_an_exported_unit_becomes_a_course_in_its_sub_account_and_term(provisioned):
    stack = provisioned
    ensure_course(stack.ctx(), UNIT)
    m = stack.canvas.model
    course = m.find_course_by_sis(COURSE)
    assert course.account_id == m.find_account_by_sis("OU_111000").id
    assert m.get_term(course.enrollment_term_id).sis_term_id == "2026-HØST"
    assert course.name.startswith("INF1001 - ") and course.course_code == "INF1001"
    sections = {s.sis_section_id for s in m.sections(course.id)}
    assert {COURSE, "UA_185_INF1001_1_2026_HØST_1", "UA_185_INF1001_1_2026_HØST_2-1"} <= sections


def test_all_terms_of_a_multi_term_unit_share_one_course_and_section(provisioned):
    stack = provisioned
    ensure_course(stack.ctx(), UNIT)
    stack.clear_stats()
    result = ensure_course(stack.ctx(), UNIT_TERM2)
    assert result["course"] == COURSE and result["planned"] == 0
    students = {
        stack.university.person_by_fs(n).primary_account for n in stack.university.participants(UNIT_TERM2)
    }
    assert {(s, "StudentEnrollment") for s in students} <= live(stack, COURSE)


def test_a_unit_not_marked_for_export_gives_no_course(provisioned):
    stack = provisioned
    stack.university.set_export("185,MAT1001,1,2027,VÅR,1", False)
    result = ensure_course(stack.ctx(), "185,MAT1001,1,2027,VÅR,1")
    assert result["outcome"] == "skip" and "not marked" in result["rule"]
    assert stack.canvas.model.find_course_by_sis("UE_185_MAT1001_1_2027_VÅR") is None


def test_an_activity_not_exported_gives_no_section(provisioned):
    stack = provisioned
    stack.university.set_export("185,MAT1001,1,2027,VÅR,1,2-2", False)
    ensure_course(stack.ctx(), "185,MAT1001,1,2027,VÅR,1")
    m = stack.canvas.model
    assert m.find_section_by_sis("UA_185_MAT1001_1_2027_VÅR_2-1") is not None
    assert m.find_section_by_sis("UA_185_MAT1001_1_2027_VÅR_2-2") is None


def test_an_activity_flagged_own_course_becomes_its_own_course(provisioned):
    stack = provisioned
    stack.university.set_own_course(GROUP, True)
    result = ensure_course(stack.ctx(), GROUP)
    m = stack.canvas.model
    course = m.find_course_by_sis("UA_185_INF1001_1_2026_HØST_2-1")
    assert result["outcome"] == "course" and course is not None
    section = m.find_section_by_sis("UA_185_INF1001_1_2026_HØST_2-1")
    assert section.course_id == course.id
    assert ("sindr", "TaEnrollment") in live(stack, "UA_185_INF1001_1_2026_HØST_2-1")


def test_roles_map_to_teacher_and_ta_enrollments(provisioned):
    stack = provisioned
    ensure_course(stack.ctx(), UNIT)
    assert ("sindr", "TeacherEnrollment") in live(stack, COURSE)  # FAGANSVAR on the unit
    assert ("sindr", "TaEnrollment") in live(stack, "UA_185_INF1001_1_2026_HØST_2-1")  # GRUPPELÆRER
    assert ("asbjs", "TaEnrollment") in live(stack, "UA_185_INF1001_1_2026_HØST_2-3")


def test_unmapped_roles_give_no_enrollment(provisioned):
    stack = provisioned
    stack.configure(roles={"enrollments": {"FAGANSVAR": "teacher"}})
    ensure_course(stack.ctx(), UNIT)
    assert not any(t == "TaEnrollment" for _, t in live(stack, "UA_185_INF1001_1_2026_HØST_2-1"))


# ---------------------------------------------------------------------------- enrollments


def test_a_student_who_leaves_is_concluded_not_deleted_and_a_new_one_added(provisioned):
    stack = provisioned
    ensure_course(stack.ctx(), UNIT)
    uni = stack.university
    leaver = uni.participants(UNIT)[0]
    newcomer = next(
        n
        for n in (p.fs_lopenummer for p in uni.persons.values() if p.is_student)
        if not uni.is_participant(n, UNIT) and not uni.is_participant(n, UNIT_TERM2)
    )
    uni.remove_participation(leaver, UNIT)
    uni.remove_participation(leaver, UNIT_TERM2) if uni.is_participant(leaver, UNIT_TERM2) else None
    uni.add_participation(newcomer, UNIT)
    ensure_enrollments(stack.ctx(), UNIT)
    m = stack.canvas.model
    leaver_user = m.find_user_by_sis(uni.person_by_fs(leaver).primary_account)
    states = (
        {
            e.workflow_state
            for e in m.enrollments(
                section_id=m.find_section_by_sis(COURSE).id, user_id=leaver_user.id, states=None
            )
        }
        if True
        else set()
    )
    assert "completed" in states and "deleted" not in states
    assert (uni.person_by_fs(newcomer).primary_account, "StudentEnrollment") in live(stack, COURSE)


def test_a_student_added_by_a_concurrent_run_is_not_concluded_by_an_older_one(provisioned, monkeypatch):
    """Two ensure_enrollments runs of one section overlap: the newer one (after the student
    joined in FS) enrolls them between the older run's reads; the older must not conclude them."""
    from canvasbridge.provisioning.tasks import sections

    stack = provisioned
    ensure_course(stack.ctx(), UNIT)
    uni = stack.university
    newcomer = next(
        n
        for n in (p.fs_lopenummer for p in uni.persons.values() if p.is_student)
        if not uni.is_participant(n, UNIT) and not uni.is_participant(n, UNIT_TERM2)
    )
    real_read = sections.read_section_enrollments
    interleaved: list[str] = []

    def read_with_a_newer_run_in_between(canvas, sis_section_id):
        if not interleaved:
            interleaved.append(sis_section_id)
            uni.add_participation(newcomer, UNIT)
            ensure_enrollments(stack.ctx(), UNIT)  # the newer run, complete
        return real_read(canvas, sis_section_id)

    monkeypatch.setattr(sections, "read_section_enrollments", read_with_a_newer_run_in_between)
    ensure_enrollments(stack.ctx(), UNIT)  # the older run
    assert interleaved == [COURSE]
    assert (uni.person_by_fs(newcomer).primary_account, "StudentEnrollment") in live(stack, COURSE)


def test_enrollments_the_service_does_not_own_are_left_alone(provisioned):
    stack = provisioned
    ensure_course(stack.ctx(), UNIT)
    m = stack.canvas.model
    course = m.find_course_by_sis(COURSE)
    outsider = m.add_user("Guest Lecturer", unique_id="guest")  # no SIS id: not ours
    own_section = m.find_section_by_sis(COURSE)
    teacher_section = m.add_section(course.id, "Teacher's own group")  # no SIS id: not ours
    student = m.find_user_by_sis("elisa")
    e1 = m.enroll(outsider.id, section_id=own_section.id, type="TeacherEnrollment", state="active")
    e2 = m.enroll(student.id, section_id=teacher_section.id, type="StudentEnrollment", state="active")
    e3 = m.enroll(student.id, section_id=own_section.id, type="ObserverEnrollment", state="active")
    ensure_enrollments(stack.ctx(), UNIT)
    assert {m.get_enrollment(e.id).workflow_state for e in (e1, e2, e3)} == {"active"}


def test_a_role_change_adds_the_new_role_and_concludes_the_old(provisioned):
    stack = provisioned
    unit, group = "185,MAT1001,1,2027,VÅR,1", "185,MAT1001,1,2027,VÅR,1,2-1"
    ensure_course(stack.ctx(), unit)
    uni = stack.university
    role = next(r for r in uni.roles_of_unit(unit) if r.rolle == ROLE_GROUP_TEACHER and r.aktivitet == group)
    uni.remove_staff_role(role.key)
    new = uni.add_staff_role(role.fs_lopenummer, "FAGANSVAR", unit, group)
    ensure_person_role(stack.ctx(), new.key)
    section = "UA_185_MAT1001_1_2027_VÅR_2-1"
    assert ("jakoh", "TeacherEnrollment") in live(stack, section)
    assert ("jakoh", "TaEnrollment") not in live(stack, section)


def test_a_wanted_user_missing_from_canvas_is_provisioned_on_the_spot(stack):
    provision_accounts(stack)
    ensure_course(stack.ctx(), "185,MAT1001,1,2027,VÅR,1")
    students = {
        stack.university.person_by_fs(n).primary_account
        for n in stack.university.participants("185,MAT1001,1,2027,VÅR,1")
    }
    assert {s for s, t in live(stack, "UE_185_MAT1001_1_2027_VÅR") if t == "StudentEnrollment"} == students


# ---------------------------------------------------------------------------- idempotence


@pytest.mark.slow
def test_every_task_run_twice_writes_nothing_the_second_time(provisioned):
    stack = provisioned
    uni = stack.university
    calls = [(ensure_course, {"fs_id": key}) for key in uni.undervisning]
    calls += [(ensure_course, {"fs_id": key}) for key in uni.aktiviteter]
    calls += [(ensure_enrollments, {"fs_id": key}) for key in [*uni.undervisning, *uni.aktiviteter]]
    calls += [(ensure_user, {"person_id": pid}) for pid in uni.persons]
    calls += [(ensure_account, {"location_id": loc}) for loc in uni.org_units]
    for task, params in calls:
        task(stack.ctx(), **params)
    for task, params in calls:
        stack.clear_stats()
        result = task(stack.ctx(), **params)
        assert stack.writes() == 0, (task.__name__, params, result)


# ---------------------------------------------------------------------------- metrics (account roles: test_account_roles.py)


def test_every_client_call_of_a_task_is_counted_in_the_engine_metrics(stack):
    from prometheus_client import REGISTRY

    def canvas_calls() -> float:
        return sum(
            sample.value
            for metric in REGISTRY.collect()
            if metric.name == "canvasbridge_external_calls"
            for sample in metric.samples
            if sample.name.endswith("_total") and sample.labels["system"] == "canvas"
        )

    before = canvas_calls()
    stack.clear_stats()
    ensure_user(stack.ctx(), username="elisa")
    assert canvas_calls() - before == stack.calls() > 0


def test_the_last_canvas_rate_limit_remaining_is_reported_as_a_metric(stack):
    from prometheus_client import REGISTRY

    from canvasbridge.provisioning import runtime

    ensure_user(stack.ctx(), username="elisa")
    client = runtime.canvas(stack.ctx())
    assert client.throttle.remaining is not None
    gauge = REGISTRY.get_sample_value("canvasbridge_rate_limit_remaining", {"system": "canvas"})
    assert gauge == client.throttle.remaining
