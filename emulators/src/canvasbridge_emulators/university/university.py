"""The :class:`University`: every record of the synthetic university, lookups and changes.

All emulators of one run share one instance. Reads are plain attribute and method calls;
writers (the change control endpoints, scenarios) call the mutation methods, which keep
the indexes consistent and bump :attr:`University.version`. Hold :attr:`University.lock`
while iterating over a collection that a writer may change at the same time.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

from canvasbridge_emulators.university.entities import (
    INSTITUTION,
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
)

# Cerebrum external id types (API name, Cerebrum source system) per kind of id.
EXTERNAL_ID_TYPES = {
    "norwegianNationalId": "FS",
    "studentNumber": "FS",
    "fsPersonSerialNumber": "FS",
    "employeeNumber": "SAP",
}

SIZES = ("tiny", "small", "university")


class UniversityError(KeyError):
    """A lookup or change named something the university does not have (or already has)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "university error"


class University:
    """A deterministic synthetic university; see the package docstring for the API."""

    def __init__(self, size: str = "small", seed: int = 1, *, year: int = 2026) -> None:
        if size not in SIZES:
            raise ValueError(f"unknown university size {size!r}; choose one of {', '.join(SIZES)}")
        self.size = size
        self.seed = seed
        self.year = year
        self.lock = threading.RLock()
        self.version = 0
        self._clear()

    # ------------------------------------------------------------------ construction

    @classmethod
    def generate(cls, size: str = "small", seed: int = 1, *, year: int = 2026) -> University:
        """Build the university of this size from this seed (same inputs, same data)."""
        from canvasbridge_emulators.university.generate import populate

        university = cls(size, seed, year=year)
        populate(university)
        return university

    def reset(self) -> None:
        """Throw away every change: regenerate the seeded state in place."""
        from canvasbridge_emulators.university.generate import populate

        with self.lock:
            version = self.version
            self._clear()
            populate(self)
            self.version = version + 1  # never reuse a version: caches key on it

    def _clear(self) -> None:
        self.version = 0
        self.persons: dict[int, Person] = {}
        self.accounts: dict[str, Account] = {}
        self.org_units: dict[int, OrgUnit] = {}
        self.root_location_id: int = 0
        self.emner: dict[str, Emne] = {}
        self.undervisning: dict[str, Undervisning] = {}
        self.aktiviteter: dict[str, Aktivitet] = {}
        self.personroller: dict[str, PersonRolle] = {}
        self.groups: dict[str, Group] = {}
        self.sap_roles: dict[int, SapRole] = {}
        self._next_entity_id = 10_000
        self._next_sap_role_id = 1
        self._next_lopenummer = 100_001
        self._next_employee_id = 10_000_001
        self._next_student_number = 500_001
        self._next_location_id = 50_000_001
        self._account_by_id: dict[int, str] = {}
        self._person_by_fs: dict[int, int] = {}
        self._person_by_employee: dict[int, int] = {}
        self._person_by_national_id: dict[str, int] = {}
        self._person_by_student_number: dict[int, int] = {}
        self._ou_by_entity: dict[int, int] = {}
        self._location_by_fs_key: dict[str, int] = {}
        self._units_by_emne: dict[str, list[str]] = {}
        self._activities_by_unit: dict[str, list[str]] = {}
        self._roles_by_person: dict[int, list[str]] = {}
        self._roles_by_unit: dict[str, list[str]] = {}
        self._next_rollenummer: dict[int, int] = {}
        # ordered sets (dict keys) so that listings are stable
        self._unit_students: dict[str, dict[int, None]] = {}
        self._student_units: dict[int, dict[str, None]] = {}
        self._activity_students: dict[str, dict[int, None]] = {}
        self._student_activities: dict[int, dict[str, None]] = {}
        self._username_counts: dict[str, int] = {}

    # ------------------------------------------------------------------ id allocation

    def _entity_id(self) -> int:
        value = self._next_entity_id
        self._next_entity_id += 1
        return value

    def _changed(self) -> None:
        self.version += 1

    # ------------------------------------------------------------------ summary

    def summary(self) -> dict[str, Any]:
        """Counts of everything, for ``/_emulator/state`` and logs."""
        with self.lock:
            return {
                "size": self.size,
                "seed": self.seed,
                "version": self.version,
                "persons": len(self.persons),
                "students": sum(1 for p in self.persons.values() if p.is_student),
                "staff": sum(1 for p in self.persons.values() if p.is_staff),
                "accounts": len(self.accounts),
                "locked_accounts": sum(1 for a in self.accounts if self.is_locked(a)),
                "org_units": len(self.org_units),
                "emner": len(self.emner),
                "undervisning": len(self.undervisning),
                "aktiviteter": len(self.aktiviteter),
                "personroller": len(self.personroller),
                "student_undervisning": self.count_unit_participations(),
                "student_aktiviteter": sum(len(v) for v in self._activity_students.values()),
                "groups": len(self.groups),
                "sap_roles": len(self.sap_roles),
            }

    # ------------------------------------------------------------------ persons

    def person(self, person_id: int) -> Person:
        try:
            return self.persons[person_id]
        except KeyError:
            raise UniversityError(f"no person with id {person_id}") from None

    def person_by_fs(self, lopenummer: int) -> Person:
        try:
            return self.persons[self._person_by_fs[lopenummer]]
        except KeyError:
            raise UniversityError(f"no FS person with personlopenummer {lopenummer}") from None

    def person_by_employee(self, employee_id: int) -> Person:
        try:
            return self.persons[self._person_by_employee[employee_id]]
        except KeyError:
            raise UniversityError(f"no employee with id {employee_id}") from None

    def students(self) -> Iterator[Person]:
        return (p for p in self.persons.values() if p.is_student)

    def staff(self) -> Iterator[Person]:
        return (p for p in self.persons.values() if p.is_staff)

    def external_ids(self, person_id: int) -> list[tuple[str, str, str]]:
        """``(id_type, external_id, source_system)`` in Cerebrum API names."""
        person = self.person(person_id)
        ids = [("norwegianNationalId", person.national_id, "FS")]
        if person.fs_lopenummer is not None:
            ids.append(("fsPersonSerialNumber", str(person.fs_lopenummer), "FS"))
        if person.student_number is not None:
            ids.append(("studentNumber", str(person.student_number), "FS"))
        if person.sap_employee_id is not None:
            ids.append(("employeeNumber", str(person.sap_employee_id), "SAP"))
        return ids

    def find_by_external_id(self, id_type: str, value: str) -> list[Person]:
        """Persons with this external id (``id_type`` is a Cerebrum API name)."""
        person_id: int | None
        if id_type == "norwegianNationalId":
            person_id = self._person_by_national_id.get(value)
        else:
            numeric: dict[str, dict[int, int]] = {
                "fsPersonSerialNumber": self._person_by_fs,
                "studentNumber": self._person_by_student_number,
                "employeeNumber": self._person_by_employee,
            }
            try:
                person_id = numeric.get(id_type, {}).get(int(value))
            except ValueError:
                return []
        return [self.persons[person_id]] if person_id is not None else []

    # ------------------------------------------------------------------ accounts

    def account(self, name: str) -> Account:
        try:
            return self.accounts[name]
        except KeyError:
            raise UniversityError(f"no account named {name!r}") from None

    def account_by_id(self, account_id: int) -> Account:
        try:
            return self.accounts[self._account_by_id[account_id]]
        except KeyError:
            raise UniversityError(f"no account with id {account_id}") from None

    def accounts_of(self, person_id: int) -> list[Account]:
        return [self.accounts[name] for name in self.person(person_id).account_names]

    def primary_account_of(self, person_id: int) -> Account | None:
        name = self.person(person_id).primary_account
        return self.accounts[name] if name else None

    def is_primary(self, name: str) -> bool:
        account = self.account(name)
        return self.persons[account.owner_id].primary_account == name

    def active_quarantines(self, name: str, today: dt.date | None = None) -> list[Quarantine]:
        today = today or dt.date.today()
        return [q for q in self.account(name).quarantines if q.active(today)]

    def is_locked(self, name: str, today: dt.date | None = None) -> bool:
        """True when the account has an active quarantine (it cannot log in)."""
        return bool(self.active_quarantines(name, today))

    # ------------------------------------------------------------------ org units

    def org_unit(self, location_id: int) -> OrgUnit:
        try:
            return self.org_units[location_id]
        except KeyError:
            raise UniversityError(f"no org unit with location id {location_id}") from None

    def org_unit_by_ou_id(self, ou_id: int) -> OrgUnit:
        try:
            return self.org_units[self._ou_by_entity[ou_id]]
        except KeyError:
            raise UniversityError(f"no OU with id {ou_id}") from None

    def org_unit_by_fs_key(self, key: str) -> OrgUnit:
        """By FS organisasjonsenhet key ``inst,fakultet,institutt,gruppe``."""
        try:
            return self.org_units[self._location_by_fs_key[key]]
        except KeyError:
            raise UniversityError(f"no organisasjonsenhet {key}") from None

    def parent_of(self, location_id: int) -> OrgUnit | None:
        parent_id = self.org_unit(location_id).parent_id
        return self.org_units[parent_id] if parent_id is not None else None

    def children_of(self, location_id: int) -> list[OrgUnit]:
        return [u for u in self.org_units.values() if u.parent_id == location_id]

    def ancestors_of(self, location_id: int) -> list[OrgUnit]:
        """Parents from the nearest up to the root."""
        chain: list[OrgUnit] = []
        unit = self.parent_of(location_id)
        while unit is not None:
            chain.append(unit)
            unit = self.parent_of(unit.location_id)
        return chain

    # ------------------------------------------------------------------ teaching

    def emne(self, key: str) -> Emne:
        try:
            return self.emner[key]
        except KeyError:
            raise UniversityError(f"no emne {key}") from None

    def unit(self, key: str) -> Undervisning:
        """An undervisning by its 6-part key (unencoded term, e.g. ``HØST``)."""
        try:
            return self.undervisning[key]
        except KeyError:
            raise UniversityError(f"no undervisning {key}") from None

    def activity(self, key: str) -> Aktivitet:
        try:
            return self.aktiviteter[key]
        except KeyError:
            raise UniversityError(f"no undervisningsaktivitet {key}") from None

    def units_of_emne(self, emne: str) -> list[Undervisning]:
        return [self.undervisning[k] for k in self._units_by_emne.get(emne, [])]

    def activities_of(self, unit_key: str) -> list[Aktivitet]:
        return [self.aktiviteter[k] for k in self._activities_by_unit.get(unit_key, [])]

    def sibling_terms(self, unit_key: str) -> list[Undervisning]:
        """All terms of the multi-term unit this undervisning belongs to (itself included),
        ordered by terminnummer: the units of the same emne whose terms chain on from the
        first term (terminnummer 1)."""
        unit = self.unit(unit_key)
        start_index = _term_index(unit.year, unit.term) - (unit.terminnummer - 1)
        chain = [
            u
            for u in self.units_of_emne(unit.emne)
            if _term_index(u.year, u.term) - (u.terminnummer - 1) == start_index
        ]
        return sorted(chain, key=lambda u: u.terminnummer)

    def role(self, key: str) -> PersonRolle:
        try:
            return self.personroller[key]
        except KeyError:
            raise UniversityError(f"no personrolle {key}") from None

    def roles_of_person(self, lopenummer: int) -> list[PersonRolle]:
        return [self.personroller[k] for k in self._roles_by_person.get(lopenummer, [])]

    def roles_of_unit(self, unit_key: str) -> list[PersonRolle]:
        return [self.personroller[k] for k in self._roles_by_unit.get(unit_key, [])]

    def participants(self, unit_key: str) -> list[int]:
        """Personlopenummer of the students in a teaching unit."""
        return list(self._unit_students.get(unit_key, ()))

    def activity_participants(self, activity_key: str) -> list[int]:
        return list(self._activity_students.get(activity_key, ()))

    def units_of_student(self, lopenummer: int) -> list[str]:
        return list(self._student_units.get(lopenummer, ()))

    def activities_of_student(self, lopenummer: int) -> list[str]:
        return list(self._student_activities.get(lopenummer, ()))

    def unit_participations(self) -> Iterator[StudentUndervisning]:
        """Every student-in-unit record, grouped by unit."""
        for unit_key, students in self._unit_students.items():
            for lopenummer in students:
                yield StudentUndervisning(lopenummer, unit_key)

    def activity_participations(self) -> Iterator[StudentAktivitet]:
        for activity_key, students in self._activity_students.items():
            for lopenummer in students:
                yield StudentAktivitet(lopenummer, activity_key)

    def count_unit_participations(self) -> int:
        return sum(len(v) for v in self._unit_students.values())

    def is_participant(self, lopenummer: int, unit_key: str) -> bool:
        return lopenummer in self._unit_students.get(unit_key, {})

    def is_activity_participant(self, lopenummer: int, activity_key: str) -> bool:
        return lopenummer in self._activity_students.get(activity_key, {})

    # ------------------------------------------------------------------ groups

    def group(self, name: str) -> Group:
        try:
            return self.groups[name]
        except KeyError:
            raise UniversityError(f"no group named {name!r}") from None

    # ================================================================== changes

    def add_person(
        self,
        first_name: str,
        last_name: str,
        *,
        student: bool = True,
        staff: bool = False,
        birth_date: dt.date | None = None,
        gender: str = "F",
        location_id: int | None = None,
        account_name: str | None = None,
    ) -> Person:
        """A new person with a primary account; a student gets FS ids, staff SAP ids (and
        an FS number, as teaching staff are FS persons too)."""
        with self.lock:
            birth_date = birth_date or dt.date(2005, 1, 1)
            personnummer = f"{(self._next_entity_id * 7919) % 100000:05d}"
            person = self._insert_person(
                first_name, last_name, birth_date, personnummer, gender, student=student, staff=staff
            )
            if staff:
                person.location_id = location_id if location_id is not None else self._default_location()
            self._insert_account(
                person, account_name or self.free_username(first_name, last_name), primary=True
            )
            self._changed()
            return person

    def modify_person(
        self, person_id: int, *, first_name: str | None = None, last_name: str | None = None
    ) -> Person:
        """Change a person's names."""
        with self.lock:
            person = self.person(person_id)
            person.first_name = first_name or person.first_name
            person.last_name = last_name or person.last_name
            self._changed()
            return person

    def add_account(self, person_id: int, name: str | None = None, *, primary: bool = False) -> Account:
        """A further account of a person; ``primary=True`` makes it the primary one."""
        with self.lock:
            person = self.person(person_id)
            if name is not None and name in self.accounts:
                raise UniversityError(f"account {name!r} already exists")
            account = self._insert_account(
                person, name or self.free_username(person.first_name, person.last_name), primary=primary
            )
            self._changed()
            return account

    def quarantine_account(
        self,
        name: str,
        type: str = "generell",
        *,
        comment: str = "",
        start: dt.date | None = None,
    ) -> Account:
        """Add an active quarantine: the account becomes locked."""
        with self.lock:
            account = self.account(name)
            account.quarantines = [q for q in account.quarantines if q.type != type]
            account.quarantines.append(
                Quarantine(type=type, start=start or dt.date(2000, 1, 1), comment=comment)
            )
            self._changed()
            return account

    def release_account(self, name: str, type: str | None = None) -> Account:
        """Remove one quarantine type (or all): the account unlocks when none stays active."""
        with self.lock:
            account = self.account(name)
            account.quarantines = [q for q in account.quarantines if type is not None and q.type != type]
            self._changed()
            return account

    def set_primary_account(self, person_id: int, name: str) -> Account:
        with self.lock:
            person = self.person(person_id)
            if name not in person.account_names:
                raise UniversityError(f"account {name!r} does not belong to person {person_id}")
            person.primary_account = name
            self._changed()
            return self.accounts[name]

    def add_group_member(self, group: str, account: str) -> Group:
        with self.lock:
            g = self.group(group)
            self.account(account)
            if account not in g.members:
                g.members.append(account)
            self._changed()
            return g

    def remove_group_member(self, group: str, account: str) -> Group:
        with self.lock:
            g = self.group(group)
            if account in g.members:
                g.members.remove(account)
            self._changed()
            return g

    def add_org_unit(
        self, parent_id: int, name_nb: str, *, name_en: str | None = None, acronym: str = ""
    ) -> OrgUnit:
        """A new org unit under ``parent_id`` (a group under an institute, an institute
        under a faculty)."""
        with self.lock:
            parent = self.org_unit(parent_id)
            fak, inst, grp = parent.fakultet, parent.institutt, parent.gruppe
            siblings = self.children_of(parent_id)
            if parent.location_id == self.root_location_id:
                fak = max([u.fakultet for u in siblings] + [0]) + 1
            elif inst == 0:
                inst = max([u.institutt for u in siblings] + [0]) + 10
            else:
                grp = max([u.gruppe for u in siblings] + [0]) + 1
            unit = self._insert_org_unit(parent_id, fak, inst, grp, name_nb, name_en or name_nb, acronym)
            self._changed()
            return unit

    def move_org_unit(self, location_id: int, new_parent_id: int) -> OrgUnit:
        """Hang an org unit (with its subtree) under another parent."""
        with self.lock:
            unit = self.org_unit(location_id)
            self.org_unit(new_parent_id)
            if new_parent_id == location_id or any(
                a.location_id == location_id for a in self.ancestors_of(new_parent_id)
            ):
                raise UniversityError(f"moving {location_id} under {new_parent_id} makes a cycle")
            unit.parent_id = new_parent_id
            self._changed()
            return unit

    def move_employee(self, person_id: int, location_id: int) -> Person:
        """Place a staff member in another org unit (a new SAP assignment)."""
        with self.lock:
            person = self.person(person_id)
            if not person.is_staff:
                raise UniversityError(f"person {person_id} is not staff")
            self.org_unit(location_id)
            person.location_id = location_id
            self._changed()
            return person

    def sap_roles_of(self, employee_id: int) -> list[SapRole]:
        """The employee's SAP roles, ended ones included (SAP keeps them with their end date)."""
        self.person_by_employee(employee_id)
        return [r for r in self.sap_roles.values() if r.employee_id == employee_id]

    def grant_sap_role(
        self, employee_id: int, role_name: str, location_id: int, *, start: dt.date | None = None
    ) -> SapRole:
        with self.lock:
            self.person_by_employee(employee_id)
            self.org_unit(location_id)
            role = self._insert_sap_role(
                employee_id, role_name, location_id, start or dt.date(self.year, 1, 1)
            )
            self._changed()
            return role

    def end_sap_role(self, role_id: int, end: dt.date | None = None) -> SapRole:
        """End a role (yesterday by default), as HR does: the role stays, with its end date."""
        with self.lock:
            role = self._sap_role(role_id)
            role.end = end or dt.date.today() - dt.timedelta(days=1)
            self._changed()
            return role

    def remove_sap_role(self, role_id: int) -> SapRole:
        """Delete a role outright (a correction in SAP, leaving no trace)."""
        with self.lock:
            role = self._sap_role(role_id)
            del self.sap_roles[role_id]
            self._changed()
            return role

    def _sap_role(self, role_id: int) -> SapRole:
        try:
            return self.sap_roles[role_id]
        except KeyError:
            raise UniversityError(f"no SAP role with id {role_id}") from None

    def rename_org_unit(self, location_id: int, name_nb: str, name_en: str | None = None) -> OrgUnit:
        with self.lock:
            unit = self.org_unit(location_id)
            unit.name_nb = name_nb
            unit.name_en = name_en or unit.name_en
            self._changed()
            return unit

    def add_emne(
        self,
        kode: str,
        name_nb: str,
        location_id: int,
        *,
        versjon: str = "1",
        name_en: str | None = None,
        studieniva: str = "GRUNN",
    ) -> Emne:
        with self.lock:
            self.org_unit(location_id)
            key = emne_key(INSTITUTION, kode, versjon)
            if key in self.emner:
                raise UniversityError(f"emne {key} already exists")
            emne = Emne(INSTITUTION, kode, versjon, name_nb, name_en or name_nb, location_id, studieniva)
            self.emner[key] = emne
            self._units_by_emne[key] = []
            self._changed()
            return emne

    def add_unit(
        self,
        emne: str,
        year: int,
        term: str,
        terminnummer: int = 1,
        *,
        lms_eksport: bool = True,
    ) -> Undervisning:
        """A new undervisning of an existing emne (no activities: add them after)."""
        with self.lock:
            self.emne(emne)
            unit = Undervisning(emne, year, term, terminnummer, lms_eksport=lms_eksport)
            if unit.key in self.undervisning:
                raise UniversityError(f"undervisning {unit.key} already exists")
            self._insert_unit(unit)
            self._changed()
            return unit

    def modify_unit(self, key: str, **changes: Any) -> Undervisning:
        """Change fields of an undervisning (``lms_eksport``, ``lukket``)."""
        with self.lock:
            unit = self.unit(key)
            _apply(unit, changes, {"lms_eksport", "lukket"})
            self._changed()
            return unit

    def add_activity(
        self,
        unit_key: str,
        aktivitet: str,
        *,
        name: str | None = None,
        form: str = "SEM",
        lms_eksport: bool = True,
        own_course: bool = False,
        eier: str | None = None,
    ) -> Aktivitet:
        with self.lock:
            self.unit(unit_key)
            key = aktivitet_key(unit_key, aktivitet)
            if key in self.aktiviteter:
                raise UniversityError(f"undervisningsaktivitet {key} already exists")
            parti = int(aktivitet.rsplit("-", 1)[-1]) if "-" in aktivitet else 1
            activity = Aktivitet(
                unit_key,
                aktivitet,
                name or f"Gruppe {aktivitet}",
                form,
                form,
                parti,
                eier or aktivitet.split("-", 1)[0],
                lms_eksport=lms_eksport,
                own_course=own_course,
            )
            self._insert_activity(activity)
            self._changed()
            return activity

    def modify_activity(self, key: str, **changes: Any) -> Aktivitet:
        """Change fields of an activity (``name``, ``lms_eksport``, ``own_course``, ``lukket``)."""
        with self.lock:
            activity = self.activity(key)
            _apply(activity, changes, {"name", "lms_eksport", "own_course", "lukket"})
            self._changed()
            return activity

    def set_export(self, key: str, flag: bool) -> Undervisning | Aktivitet:
        """Toggle ``lms.eksport`` of an undervisning (6-part key) or activity (7-part key)."""
        if key.count(",") == 5:
            return self.modify_unit(key, lms_eksport=flag)
        return self.modify_activity(key, lms_eksport=flag)

    def set_own_course(self, activity_key: str, flag: bool) -> Aktivitet:
        """``True``: the activity becomes its own course (``lms.romMal`` = ``EGET_ROM``)."""
        return self.modify_activity(activity_key, own_course=flag)

    def add_participation(self, lopenummer: int, unit_key: str) -> StudentUndervisning:
        with self.lock:
            self.person_by_fs(lopenummer)
            self.unit(unit_key)
            self._insert_participation(lopenummer, unit_key)
            self._changed()
            return StudentUndervisning(lopenummer, unit_key)

    def remove_participation(self, lopenummer: int, unit_key: str) -> StudentUndervisning:
        """Remove a student from a unit and from the unit's activities."""
        with self.lock:
            if not self.is_participant(lopenummer, unit_key):
                raise UniversityError(f"person {lopenummer} does not take {unit_key}")
            del self._unit_students[unit_key][lopenummer]
            del self._student_units[lopenummer][unit_key]
            for activity_key in self._activities_by_unit.get(unit_key, []):
                if self.is_activity_participant(lopenummer, activity_key):
                    del self._activity_students[activity_key][lopenummer]
                    del self._student_activities[lopenummer][activity_key]
            self._changed()
            return StudentUndervisning(lopenummer, unit_key)

    def add_activity_participation(self, lopenummer: int, activity_key: str) -> StudentAktivitet:
        """Put a student in an activity (and in its unit, if not yet there)."""
        with self.lock:
            self.person_by_fs(lopenummer)
            activity = self.activity(activity_key)
            self._insert_participation(lopenummer, activity.undervisning)
            self._insert_activity_participation(lopenummer, activity_key)
            self._changed()
            return StudentAktivitet(lopenummer, activity_key)

    def remove_activity_participation(self, lopenummer: int, activity_key: str) -> StudentAktivitet:
        with self.lock:
            if not self.is_activity_participant(lopenummer, activity_key):
                raise UniversityError(f"person {lopenummer} is not in {activity_key}")
            del self._activity_students[activity_key][lopenummer]
            del self._student_activities[lopenummer][activity_key]
            self._changed()
            return StudentAktivitet(lopenummer, activity_key)

    def add_staff_role(
        self, lopenummer: int, rolle: str, unit_key: str, activity_key: str | None = None
    ) -> PersonRolle:
        """A teaching role (``FAGANSVAR``, ``FAGLÆRER``, ``GRUPPELÆRER``…) on a unit or one
        of its activities."""
        with self.lock:
            self.person_by_fs(lopenummer)
            self.unit(unit_key)
            if activity_key is not None and self.activity(activity_key).undervisning != unit_key:
                raise UniversityError(f"{activity_key} is not an activity of {unit_key}")
            role = self._insert_role(lopenummer, rolle, unit_key, activity_key)
            self._changed()
            return role

    def remove_staff_role(self, key: str) -> PersonRolle:
        with self.lock:
            role = self.role(key)
            del self.personroller[key]
            self._roles_by_person[role.fs_lopenummer].remove(key)
            self._roles_by_unit[role.undervisning].remove(key)
            self._changed()
            return role

    # ------------------------------------------------------------------ low-level inserts
    # (used by the generator and by the changes above; no checks, no version bump)

    def free_username(self, first_name: str, last_name: str) -> str:
        base = (_ascii(first_name)[:4] + _ascii(last_name)[:1]) or "user"
        n = self._username_counts.get(base, 0)
        while True:
            n += 1
            name = base if n == 1 else f"{base}{n}"
            if name not in self.accounts:
                self._username_counts[base] = n
                return name

    def _insert_person(
        self,
        first_name: str,
        last_name: str,
        birth_date: dt.date,
        personnummer: str,
        gender: str,
        *,
        student: bool,
        staff: bool,
        fs: bool = True,
    ) -> Person:
        person = Person(
            self._entity_id(), first_name, last_name, birth_date, personnummer, gender,
            is_student=student, is_staff=staff,
        )  # fmt: skip
        if student or fs:
            person.fs_lopenummer = self._next_lopenummer
            self._next_lopenummer += 1
            self._person_by_fs[person.fs_lopenummer] = person.person_id
        if student:
            person.student_number = self._next_student_number
            self._next_student_number += 1
            self._person_by_student_number[person.student_number] = person.person_id
        if staff:
            person.sap_employee_id = self._next_employee_id
            self._next_employee_id += 1
            self._person_by_employee[person.sap_employee_id] = person.person_id
        self.persons[person.person_id] = person
        self._person_by_national_id[person.national_id] = person.person_id
        return person

    def _insert_account(
        self, person: Person, name: str, *, primary: bool, created: dt.datetime | None = None
    ) -> Account:
        account = Account(
            self._entity_id(), name, person.person_id, created or dt.datetime(self.year, 8, 1, 9, 0, 0)
        )
        self.accounts[name] = account
        self._account_by_id[account.account_id] = name
        person.account_names.append(name)
        if primary or person.primary_account is None:
            person.primary_account = name
        return account

    def _insert_org_unit(
        self, parent_id: int | None, fak: int, inst: int, grp: int, name_nb: str, name_en: str, acronym: str
    ) -> OrgUnit:
        unit = OrgUnit(
            self._next_location_id, self._entity_id(), parent_id, fak, inst, grp, name_nb, name_en, acronym
        )
        self._next_location_id += 1
        self.org_units[unit.location_id] = unit
        self._ou_by_entity[unit.ou_id] = unit.location_id
        self._location_by_fs_key[unit.fs_key] = unit.location_id
        if parent_id is None:
            self.root_location_id = unit.location_id
        return unit

    def _insert_unit(self, unit: Undervisning) -> None:
        self.undervisning[unit.key] = unit
        self._units_by_emne.setdefault(unit.emne, []).append(unit.key)
        self._activities_by_unit[unit.key] = []
        self._unit_students.setdefault(unit.key, {})

    def _insert_activity(self, activity: Aktivitet) -> None:
        self.aktiviteter[activity.key] = activity
        self._activities_by_unit[activity.undervisning].append(activity.key)
        self._activity_students.setdefault(activity.key, {})

    def _insert_participation(self, lopenummer: int, unit_key: str) -> None:
        self._unit_students.setdefault(unit_key, {})[lopenummer] = None
        self._student_units.setdefault(lopenummer, {})[unit_key] = None

    def _insert_activity_participation(self, lopenummer: int, activity_key: str) -> None:
        self._activity_students.setdefault(activity_key, {})[lopenummer] = None
        self._student_activities.setdefault(lopenummer, {})[activity_key] = None

    def _insert_role(
        self, lopenummer: int, rolle: str, unit_key: str, activity_key: str | None
    ) -> PersonRolle:
        number = self._next_rollenummer.get(lopenummer, 1)
        self._next_rollenummer[lopenummer] = number + 1
        unit = self.undervisning[unit_key]
        role = PersonRolle(lopenummer, number, rolle, unit_key, activity_key, dt.date(unit.year, 1, 1))
        self.personroller[role.key] = role
        self._roles_by_person.setdefault(lopenummer, []).append(role.key)
        self._roles_by_unit.setdefault(unit_key, []).append(role.key)
        return role

    def _insert_sap_role(
        self, employee_id: int, role_name: str, location_id: int, start: dt.date, end: dt.date | None = None
    ) -> SapRole:
        role = SapRole(self._next_sap_role_id, employee_id, role_name, location_id, start, end)
        self._next_sap_role_id += 1
        self.sap_roles[role.role_id] = role
        return role

    def _default_location(self) -> int:
        return next(
            (u.location_id for u in self.org_units.values() if u.institutt and not u.gruppe),
            self.root_location_id,
        )


def _term_index(year: int, term: str) -> int:
    """Consecutive teaching terms get consecutive numbers (VÅR then HØST in a year)."""
    return year * 2 + (1 if term == "HØST" else 0)


def _apply(obj: Any, changes: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(changes) - allowed
    if unknown:
        raise UniversityError(
            f"cannot change {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}"
        )
    for name, value in changes.items():
        setattr(obj, name, value)


_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "é": "e", "ü": "u", "ö": "o", "ä": "a"})


def _ascii(text: str) -> str:
    return "".join(ch for ch in text.lower().translate(_FOLD) if "a" <= ch <= "z")


__all__ = ["EXTERNAL_ID_TYPES", "SIZES", "University", "UniversityError"]
