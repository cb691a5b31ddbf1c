"""The synthetic university: deterministic, shaped like UiO's data, and changeable."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from canvasbridge_emulators.university import (
    AUTUMN,
    ROLE_COURSE_RESPONSIBLE,
    ROLE_GROUP_TEACHER,
    SAP_ROLE_STUDY_ADMIN,
    SPRING,
    University,
    UniversityError,
    split_key,
)


@pytest.fixture
def uni() -> University:
    return University.generate("tiny", seed=1)


def test_same_size_and_seed_give_the_same_university() -> None:
    a, b = University.generate("small", 7), University.generate("small", 7)
    assert a.summary() == b.summary()
    assert [(p.person_id, p.first_name, p.primary_account) for p in a.persons.values()] == [
        (p.person_id, p.first_name, p.primary_account) for p in b.persons.values()
    ]
    assert list(a.unit_participations()) == list(b.unit_participations())


def test_another_seed_gives_other_people() -> None:
    a, b = University.generate("small", 1), University.generate("small", 2)
    assert [p.first_name for p in a.persons.values()] != [p.first_name for p in b.persons.values()]


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="tiny, small, university"):
        University.generate("huge")


def test_small_has_the_demo_shape() -> None:
    summary = University.generate("small", 1).summary()
    assert 250 <= summary["persons"] <= 500
    assert summary["undervisning"] == 40
    assert summary["student_undervisning"] > 500


def test_identifiers_have_the_fs_part_counts(uni: University) -> None:
    assert all(len(split_key(k)) == 3 for k in uni.emner)
    assert all(len(split_key(k)) == 6 for k in uni.undervisning)
    assert all(len(split_key(k)) == 7 for k in uni.aktiviteter)
    assert all(len(u.fs_key.split(",")) == 4 for u in uni.org_units.values())


def test_every_person_has_exactly_one_primary_account_among_their_own(uni: University) -> None:
    for person in uni.persons.values():
        assert person.primary_account in person.account_names
        assert all(uni.account(n).owner_id == person.person_id for n in person.account_names)
    assert any(len(p.account_names) > 1 for p in uni.persons.values())


def test_some_accounts_are_locked_and_some_have_an_ended_quarantine() -> None:
    uni = University.generate("small", 1)
    locked = [n for n in uni.accounts if uni.is_locked(n)]
    assert locked
    assert any(a.quarantines and not uni.is_locked(a.name) for a in uni.accounts.values())


def test_staff_have_sap_ids_and_a_place_in_the_org_tree(uni: University) -> None:
    staff = list(uni.staff())
    assert staff and all(p.sap_employee_id and p.location_id in uni.org_units for p in staff)
    assert uni.person_by_employee(staff[0].sap_employee_id).person_id == staff[0].person_id  # type: ignore[arg-type]


def test_org_tree_walks_up_to_the_root() -> None:
    uni = University.generate("small", 1)
    deepest = max(uni.org_units, key=lambda i: len(uni.ancestors_of(i)))
    chain = uni.ancestors_of(deepest)
    assert len(chain) == 3
    assert chain[-1].location_id == uni.root_location_id
    assert uni.parent_of(uni.root_location_id) is None


def test_multi_term_units_chain_autumn_then_spring() -> None:
    uni = University.generate("small", 1)
    second_terms = [u for u in uni.undervisning.values() if u.terminnummer == 2]
    assert second_terms
    chain = uni.sibling_terms(second_terms[0].key)
    assert [(u.term, u.terminnummer) for u in chain] == [(AUTUMN, 1), (SPRING, 2)]
    assert chain[1].year == chain[0].year + 1
    assert uni.participants(chain[0].key) == uni.participants(chain[1].key)


def test_units_have_a_responsible_and_groups_have_group_teachers(uni: University) -> None:
    for unit_key in uni.undervisning:
        roles = uni.roles_of_unit(unit_key)
        assert any(r.rolle == ROLE_COURSE_RESPONSIBLE for r in roles)
        groups = [a for a in uni.activities_of(unit_key) if a.aktivitet.startswith("2-")]
        teached = {r.aktivitet for r in roles if r.rolle == ROLE_GROUP_TEACHER}
        assert {g.key for g in groups} == teached


def test_each_student_in_a_unit_is_in_one_of_its_groups(uni: University) -> None:
    for unit_key in uni.undervisning:
        in_groups = [n for a in uni.activities_of(unit_key) for n in uni.activity_participants(a.key)]
        assert sorted(in_groups) == sorted(uni.participants(unit_key))


def test_export_flags_vary_and_activities_default_to_sections() -> None:
    uni = University.generate("small", 3)
    assert any(not u.lms_eksport for u in uni.undervisning.values())
    assert any(u.lms_eksport for u in uni.undervisning.values())
    assert any(a.rom_mal == "SEKSJON" for a in uni.aktiviteter.values())


def test_external_ids_find_the_person(uni: University) -> None:
    person = next(uni.students())
    for id_type, value, _source in uni.external_ids(person.person_id):
        assert [p.person_id for p in uni.find_by_external_id(id_type, value)] == [person.person_id]
    assert uni.find_by_external_id("studentNumber", "not-a-number") == []


def test_changes_bump_the_version_and_keep_indexes(uni: University) -> None:
    before = uni.version
    person = uni.add_person("Kari", "Nordmann", student=True)
    assert uni.version > before
    assert uni.account(person.primary_account or "").owner_id == person.person_id
    second = uni.add_account(person.person_id)
    uni.set_primary_account(person.person_id, second.name)
    assert uni.primary_account_of(person.person_id) == second
    uni.quarantine_account(second.name, "generell")
    assert uni.is_locked(second.name)
    uni.release_account(second.name)
    assert not uni.is_locked(second.name)

    unit_key = next(iter(uni.undervisning))
    group = next(a for a in uni.activities_of(unit_key) if a.aktivitet.startswith("2-"))
    assert person.fs_lopenummer is not None
    uni.add_activity_participation(person.fs_lopenummer, group.key)
    assert uni.is_participant(person.fs_lopenummer, unit_key)
    uni.remove_participation(person.fs_lopenummer, unit_key)
    assert person.fs_lopenummer not in uni.activity_participants(group.key)
    with pytest.raises(UniversityError):
        uni.remove_participation(person.fs_lopenummer, unit_key)


def test_teaching_changes(uni: University) -> None:
    location = next(u.location_id for u in uni.org_units.values() if u.institutt)
    emne = uni.add_emne("NEW1000", "Nytt emne", location)
    unit = uni.add_unit(emne.key, 2026, AUTUMN)
    activity = uni.add_activity(unit.key, "2-1", own_course=True)
    assert activity.rom_mal == "EGET_ROM" and activity.eier == "2"
    uni.set_export(unit.key, False)
    uni.set_export(activity.key, False)
    assert not unit.lms_eksport and not activity.lms_eksport
    teacher = next(p for p in uni.staff() if p.fs_lopenummer)
    role = uni.add_staff_role(teacher.fs_lopenummer, ROLE_GROUP_TEACHER, unit.key, activity.key)  # type: ignore[arg-type]
    assert role in uni.roles_of_unit(unit.key)
    uni.remove_staff_role(role.key)
    assert role not in uni.roles_of_person(teacher.fs_lopenummer)  # type: ignore[arg-type]
    with pytest.raises(UniversityError, match="cannot change"):
        uni.modify_unit(unit.key, emne="x")


def test_moving_an_org_unit_under_its_own_child_is_refused() -> None:
    uni = University.generate("small", 1)
    faculty = uni.children_of(uni.root_location_id)[0]
    institute = uni.children_of(faculty.location_id)[0]
    with pytest.raises(UniversityError, match="cycle"):
        uni.move_org_unit(faculty.location_id, institute.location_id)
    other = uni.children_of(uni.root_location_id)[1]
    uni.move_org_unit(institute.location_id, other.location_id)
    assert uni.parent_of(institute.location_id) == other


def test_reset_restores_the_seeded_state(uni: University) -> None:
    before = uni.summary()
    uni.add_person("Ola", "Nordmann")
    uni.reset()
    after = uni.summary()
    assert {k: v for k, v in after.items() if k != "version"} == {
        k: v for k, v in before.items() if k != "version"
    }


@pytest.mark.slow
def test_university_size_builds_within_a_minute() -> None:
    started = time.perf_counter()
    uni = University.generate("university", 1)
    elapsed = time.perf_counter() - started
    summary = uni.summary()
    print(f"university built in {elapsed:.2f} s: {summary}")
    assert elapsed < 60
    assert summary["students"] == 30_000
    assert summary["undervisning"] == 4_000
    assert 130_000 <= summary["student_undervisning"] <= 170_000


def test_sap_roles_are_seeded_and_end_or_vanish_on_change() -> None:
    uni = University.generate("tiny", seed=1)
    institutes = {p.location_id for p in uni.staff()}
    admins = [r for r in uni.sap_roles.values() if r.role_name == SAP_ROLE_STUDY_ADMIN and r.end is None]
    assert {r.location_id for r in admins} == institutes  # one study administrator per staffed unit
    today = dt.date.today()
    role = admins[0]
    version = uni.version
    uni.end_sap_role(role.role_id)
    assert not role.current(today) and role in uni.sap_roles_of(role.employee_id) and uni.version > version
    uni.remove_sap_role(role.role_id)
    assert role not in uni.sap_roles_of(role.employee_id)
