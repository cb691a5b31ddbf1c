"""A deterministic synthetic university, shared by every emulator of one run.

Plain dataclasses, no HTTP. The same ``(size, seed)`` always gives the same data and ids::

    from canvasbridge_emulators.university import University

    uni = University.generate(size="small", seed=1)   # "tiny" | "small" | "university"
    uni.summary()                                     # counts of everything
    uni.reset()                                       # back to the seeded state, in place

Sizes: ``tiny`` (20 people, 4 units: unit tests), ``small`` (345 people, 40 units: the
demo), ``university`` (30,000 students, 3,000 staff, 4,000 units, ~148,000 student
enrolments; about 1.5 s to build). Teaching happens in ``uni.year`` HØST and the next VÅR.

Collections (dicts; hold ``uni.lock`` while iterating if a writer may run meanwhile):
``persons`` {Cerebrum person id: Person}, ``accounts`` {name: Account}, ``org_units``
{SAP location id: OrgUnit} with ``root_location_id``, ``emner`` {"185,INF1000,1": Emne},
``undervisning`` {"185,INF1000,1,2026,HØST,1": Undervisning}, ``aktiviteter``
{"185,INF1000,1,2026,HØST,1,2-1": Aktivitet}, ``personroller`` {"<lopenr>,<rollenr>":
PersonRolle}, ``groups`` {name: Group}, ``sap_roles`` {role id: SapRole}. ``uni.version`` grows with every change.

Keys are FS keys *unencoded* (``HØST``); the FS emulator encodes them (``H%C3%98ST``).

Lookups (each raises :class:`UniversityError`, a ``KeyError``, when absent):
``person(id)``, ``person_by_fs(lopenummer)``, ``person_by_employee(id)``, ``students()``,
``staff()``, ``external_ids(person_id)`` → ``[(id_type, value, source_system)]``,
``find_by_external_id(id_type, value)`` → ``[Person]``; ``account(name)``,
``account_by_id(id)``, ``accounts_of(person_id)``, ``primary_account_of(person_id)``,
``is_primary(name)``, ``is_locked(name, today=None)``, ``active_quarantines(name)``;
``org_unit(location_id)``, ``org_unit_by_ou_id(ou_id)``, ``org_unit_by_fs_key(key)``,
``parent_of(id)``, ``children_of(id)``, ``ancestors_of(id)``; ``emne(key)``, ``unit(key)``,
``activity(key)``, ``units_of_emne(emne_key)``, ``activities_of(unit_key)``,
``sibling_terms(unit_key)`` (all terms of a multi-term unit), ``role(key)``,
``roles_of_person(lopenummer)``, ``roles_of_unit(unit_key)``, ``participants(unit_key)``,
``activity_participants(activity_key)``, ``units_of_student(lopenummer)``,
``activities_of_student(lopenummer)``, ``unit_participations()``,
``activity_participations()``, ``is_participant(lopenummer, unit_key)``; ``group(name)``.

Changes (each takes the lock, bumps ``version`` and returns the changed record):
``add_person(first, last, *, student=True, staff=False, birth_date=None, gender="F",
location_id=None, account_name=None)``,
``modify_person(person_id, *, first_name=None, last_name=None)``, ``add_account(person_id, name=None, *,
primary=False)``, ``quarantine_account(name, type="generell")``, ``release_account(name,
type=None)``, ``set_primary_account(person_id, name)``, ``add_group_member(group, account)``,
``remove_group_member(group, account)``, ``add_org_unit(parent_id, name_nb)``,
``move_org_unit(location_id, new_parent_id)``, ``rename_org_unit(location_id, name_nb)``,
``add_emne(kode, name_nb, location_id)``, ``add_unit(emne_key, year, term, terminnummer=1,
*, lms_eksport=True)``, ``modify_unit(key, lms_eksport=…, lukket=…)``,
``add_activity(unit_key, aktivitet, *, name=None, form="SEM", lms_eksport=True,
own_course=False)``, ``modify_activity(key, name=…, lms_eksport=…, own_course=…)``,
``set_export(unit_or_activity_key, flag)``, ``set_own_course(activity_key, flag)``,
``add_participation(lopenummer, unit_key)``, ``remove_participation(lopenummer, unit_key)``
(also drops the unit's activities), ``add_activity_participation(lopenummer, activity_key)``
(also joins the unit), ``remove_activity_participation(...)``,
``add_staff_role(lopenummer, rolle, unit_key, activity_key=None)``,
``remove_staff_role(role_key)``, ``move_employee(person_id, location_id)``,
``grant_sap_role(employee_id, role_name, location_id)``, ``end_sap_role(role_id, end=None)``
(ends it yesterday; SAP keeps the role with its end date), ``remove_sap_role(role_id)``.
Lookup: ``sap_roles_of(employee_id)`` (ended roles included).

Domain flags: ``Undervisning.lms_eksport`` and ``Aktivitet.lms_eksport`` (FS ``lms.eksport``)
say whether a unit or activity goes to Canvas at all. ``Aktivitet.own_course`` (rendered
by FS as ``lms.romMal`` = ``"EGET_ROM"``; otherwise ``"SEKSJON"``) says whether an exported
activity becomes its own Canvas course rather than a section of its unit's course; the
values of ``romMal`` are our choice (the real ones are not public). A multi-term unit is
several undervisning of one emne with ``terminnummer`` 1, 2 in consecutive terms.
Roles: ``FAGANSVAR`` and ``FAGLÆRER`` on a unit (teachers), ``GRUPPELÆRER`` on a group
activity (TAs); role names are not verified against FS.
"""

from canvasbridge_emulators.university.entities import (
    AUTUMN,
    EMAIL_DOMAIN,
    INSTITUTION,
    ROLE_COURSE_RESPONSIBLE,
    ROLE_GROUP_TEACHER,
    ROLE_TEACHER,
    ROM_OWN_COURSE,
    ROM_SECTION,
    SAP_ROLE_LEADER,
    SAP_ROLE_STUDY_ADMIN,
    SPRING,
    TEACHER_ROLES,
    Account,
    Aktivitet,
    Emne,
    Group,
    OrgUnit,
    Person,
    PersonRolle,
    Quarantine,
    SapRole,
    StudentAktivitet,
    StudentUndervisning,
    Undervisning,
    aktivitet_key,
    emne_key,
    split_key,
    undervisning_key,
)
from canvasbridge_emulators.university.generate import SIZE_SPECS
from canvasbridge_emulators.university.university import SIZES, University, UniversityError

__all__ = [
    "AUTUMN",
    "EMAIL_DOMAIN",
    "INSTITUTION",
    "ROLE_COURSE_RESPONSIBLE",
    "ROLE_GROUP_TEACHER",
    "ROLE_TEACHER",
    "ROM_OWN_COURSE",
    "ROM_SECTION",
    "SAP_ROLE_LEADER",
    "SAP_ROLE_STUDY_ADMIN",
    "SIZES",
    "SIZE_SPECS",
    "SPRING",
    "TEACHER_ROLES",
    "Account",
    "Aktivitet",
    "Emne",
    "Group",
    "OrgUnit",
    "Person",
    "PersonRolle",
    "Quarantine",
    "SapRole",
    "StudentAktivitet",
    "StudentUndervisning",
    "Undervisning",
    "University",
    "UniversityError",
    "aktivitet_key",
    "emne_key",
    "split_key",
    "undervisning_key",
]
