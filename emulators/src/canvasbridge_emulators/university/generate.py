"""Fill a :class:`University` with generated data, deterministically from (size, seed).

The shape, per size (see :data:`SIZE_SPECS`): an org tree (root, faculties, institutes,
a few groups), staff placed in it (most of them FS teaching staff too), students, one
primary account per person (some with a second account, which is sometimes the primary
one; a few locked by a quarantine), emner owned by institutes with one undervisning per
term (about 8% span two terms: HØST ``terminnummer`` 1 then VÅR ``terminnummer`` 2), each
with a lecture activity ``1`` and seminar groups ``2-1``, ``2-2``… sized by enrolment,
students in units and in one group of each, and staff roles (a ``FAGANSVAR`` per unit,
sometimes a ``FAGLÆRER``, a ``GRUPPELÆRER`` per group), and SAP roles (a ``STUDIEADMIN``
per institute with staff, one ``LEDER`` and one ended ``STUDIEADMIN``).

Everything is drawn from one ``random.Random`` seeded with the size and seed, so the same
inputs always give the same university (and the same ids).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from bisect import bisect
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

from canvasbridge_emulators.university.entities import (
    AUTUMN,
    INSTITUTION,
    ROLE_COURSE_RESPONSIBLE,
    ROLE_GROUP_TEACHER,
    ROLE_TEACHER,
    SAP_ROLE_LEADER,
    SAP_ROLE_STUDY_ADMIN,
    SPRING,
    Aktivitet,
    Emne,
    Group,
    OrgUnit,
    Person,
    Quarantine,
    Undervisning,
    emne_key,
)
from canvasbridge_emulators.university.names import (
    EMNE_TITLES,
    FACULTIES,
    FEMALE_FIRST_NAMES,
    LAST_NAMES,
    MALE_FIRST_NAMES,
    QUARANTINE_TYPES,
    SUBJECTS,
)

if TYPE_CHECKING:
    from canvasbridge_emulators.university.university import University


@dataclass(frozen=True)
class SizeSpec:
    students: int
    staff: int
    faculties: int
    institutes_per_faculty: int
    units: int  # undervisning objects (teaching units), multi-term terms counted apiece
    units_per_student: float  # mean number of offerings a student takes
    group_size: int  # students per seminar group
    multi_term_share: float = 0.08
    secondary_account_share: float = 0.05
    locked_share: float = 0.02


SIZE_SPECS: dict[str, SizeSpec] = {
    "tiny": SizeSpec(
        students=14, staff=6, faculties=1, institutes_per_faculty=2, units=4,
        units_per_student=2.0, group_size=5, multi_term_share=0.3,
        secondary_account_share=0.2, locked_share=0.1,
    ),
    "small": SizeSpec(
        students=300, staff=45, faculties=3, institutes_per_faculty=3, units=40,
        units_per_student=4.0, group_size=20,
    ),
    "university": SizeSpec(
        students=30_000, staff=3_000, faculties=8, institutes_per_faculty=8, units=4_000,
        units_per_student=4.6, group_size=25,
    ),
}  # fmt: skip

MAX_GROUPS = 40  # seminar groups per unit at most
TEACHING_STAFF_SHARE = 0.85  # staff who are also FS persons (can hold teaching roles)


def populate(university: University) -> None:
    spec = SIZE_SPECS[university.size]
    rng = random.Random(f"canvasbridge-university:{university.size}:{university.seed}")
    builder = _Builder(university, spec, rng)
    builder.org_tree()
    builder.people()
    builder.accounts_and_groups()
    builder.teaching()
    builder.enrolments()
    builder.activities_and_roles()
    builder.sap_roles()


class _Builder:
    def __init__(self, university: University, spec: SizeSpec, rng: random.Random) -> None:
        self.u = university
        self.spec = spec
        self.rng = rng
        self.year = university.year
        self.faculties: list[OrgUnit] = []
        self.institutes: list[tuple[OrgUnit, str, str, str]] = []  # unit, prefix, name nb, name en
        self.faculty_of: dict[int, int] = {}  # location -> faculty location
        self.teachers_at: dict[int, list[int]] = {}  # location -> FS numbers of teaching staff
        self.teachers_in_faculty: dict[int, list[int]] = {}
        self.all_teachers: list[int] = []
        self.students: list[Person] = []
        self.offerings: list[list[str]] = []  # chains of unit keys (one per emne offering)
        self.offering_faculty: list[int] = []

    # -- org tree ---------------------------------------------------------------------

    def org_tree(self) -> None:
        u = self.u
        root = u._insert_org_unit(None, 0, 0, 0, "Universitetet", "The University", "UNI")
        for index, (acronym, name_nb, name_en) in enumerate(FACULTIES[: self.spec.faculties]):
            fak = 11 + index
            faculty = u._insert_org_unit(root.location_id, fak, 0, 0, name_nb, name_en, acronym)
            self.faculties.append(faculty)
            self.faculty_of[faculty.location_id] = faculty.location_id
            for number, (prefix, s_nb, s_en) in enumerate(
                SUBJECTS[acronym][: self.spec.institutes_per_faculty], start=1
            ):
                institute = u._insert_org_unit(
                    faculty.location_id, fak, number * 10, 0,
                    f"Institutt for {s_nb.lower()}", f"Department of {s_en}", f"I{prefix}",
                )  # fmt: skip
                self.institutes.append((institute, prefix, s_nb, s_en))
                self.faculty_of[institute.location_id] = faculty.location_id
            if self.spec.faculties > 1:  # one deeper level, so the tree has four
                first = self.institutes[-len(SUBJECTS[acronym][: self.spec.institutes_per_faculty])][0]
                section = u._insert_org_unit(
                    first.location_id, fak, first.institutt, 1,
                    f"Seksjon for undervisning, {first.name_nb}", f"Teaching Section, {first.name_en}",
                    f"{first.acronym}-SU",
                )  # fmt: skip
                self.faculty_of[section.location_id] = faculty.location_id

    # -- people -------------------------------------------------------------------------

    def _name(self) -> tuple[str, str, str]:
        gender = self.rng.choice("FM")
        first = self.rng.choice(FEMALE_FIRST_NAMES if gender == "F" else MALE_FIRST_NAMES)
        return first, self.rng.choice(LAST_NAMES), gender

    def _birth_date(self, first_year: int, last_year: int) -> dt.date:
        year = self.rng.randint(first_year, last_year)
        return dt.date(year, 1, 1) + dt.timedelta(days=self.rng.randrange(365))

    def people(self) -> None:
        u, rng = self.u, self.rng
        locations = [unit.location_id for unit in u.org_units.values() if unit.institutt]
        for index in range(self.spec.staff):
            first, last, gender = self._name()
            teaching = index < 2 or rng.random() < TEACHING_STAFF_SHARE
            person = u._insert_person(
                first, last, self._birth_date(1955, 1995), f"{rng.randrange(100000):05d}", gender,
                student=False, staff=True, fs=teaching,
            )  # fmt: skip
            person.location_id = locations[index % len(locations)]
            if teaching and person.fs_lopenummer is not None:
                self.teachers_at.setdefault(person.location_id, []).append(person.fs_lopenummer)
                faculty = self.faculty_of[person.location_id]
                self.teachers_in_faculty.setdefault(faculty, []).append(person.fs_lopenummer)
                self.all_teachers.append(person.fs_lopenummer)
        for _ in range(self.spec.students):
            first, last, gender = self._name()
            young = 2007 - min(int(abs(rng.gauss(0, 4))), 30)
            person = u._insert_person(
                first, last, self._birth_date(young, young), f"{rng.randrange(100000):05d}", gender,
                student=True, staff=False,
            )  # fmt: skip
            self.students.append(person)

    # -- accounts and groups ----------------------------------------------------------------

    def accounts_and_groups(self) -> None:
        u, rng, spec = self.u, self.rng, self.spec
        for person in list(u.persons.values()):
            created = dt.datetime(self.year - rng.randint(0, 6), 8, 1, 9, 0, 0) + dt.timedelta(
                minutes=rng.randrange(60 * 24 * 30)
            )
            u._insert_account(
                person, u.free_username(person.first_name, person.last_name), primary=True, created=created
            )
            if rng.random() < spec.secondary_account_share:
                second = u._insert_account(
                    person, u.free_username(person.first_name, person.last_name), primary=False,
                    created=created + dt.timedelta(days=400),
                )  # fmt: skip
                if rng.random() < 1 / 3:
                    person.primary_account = second.name
        for account in u.accounts.values():
            draw = rng.random()
            if draw < spec.locked_share:
                account.quarantines.append(
                    Quarantine(
                        type=rng.choice(QUARANTINE_TYPES),
                        start=dt.date(2019 + rng.randrange(5), 1 + rng.randrange(12), 1),
                        comment="generated",
                    )
                )
            elif draw < spec.locked_share * 1.5:  # an old quarantine that has ended
                account.quarantines.append(
                    Quarantine(type="svakt_passord", start=dt.date(2018, 3, 1), end=dt.date(2018, 4, 1))
                )
        for faculty in self.faculties:
            members = [
                p.primary_account
                for p in u.persons.values()
                if p.is_staff and p.location_id is not None and self.faculty_of[p.location_id] == faculty.location_id
                and p.primary_account
            ]  # fmt: skip
            name = f"{faculty.acronym.lower()}-ansatte"
            u.groups[name] = Group(
                u._entity_id(), name, f"Ansatte ved {faculty.name_nb}", dt.datetime(2015, 1, 1), members
            )
        admins = [p.primary_account for p in list(u.staff())[:3] if p.primary_account]
        u.groups["lms-admin"] = Group(
            u._entity_id(),
            "lms-admin",
            "Administratorer i læringsplattformen",
            dt.datetime(2018, 6, 1),
            admins,
        )

    # -- emner and undervisning -----------------------------------------------------------------

    def teaching(self) -> None:
        u, rng, spec = self.u, self.rng, self.spec
        sequence: dict[tuple[str, str], int] = {}
        count = 0
        index = 0
        while count < spec.units:
            institute, prefix, s_nb, s_en = self.institutes[index % len(self.institutes)]
            index += 1
            title_nb, title_en, level = rng.choice(EMNE_TITLES)
            digit = {"GRUNN": "1", "VIDERE": "2", "HOYERE": "4"}[level]
            seq = sequence.get((prefix, digit), 0) + 1
            sequence[(prefix, digit)] = seq
            kode = f"{prefix}{digit}{seq:03d}" if seq < 1000 else f"{prefix}{digit}{seq}"
            emne = Emne(
                INSTITUTION, kode, "1", title_nb.format(s=s_nb.lower()).capitalize(),
                title_en.format(s=s_en), institute.location_id, level,
            )  # fmt: skip
            key = emne_key(INSTITUTION, kode, "1")
            u.emner[key] = emne
            u._units_by_emne[key] = []
            exported = rng.random() < 0.9
            draw = rng.random()
            if draw < spec.multi_term_share and count + 2 <= spec.units:
                chain = [
                    Undervisning(key, self.year, AUTUMN, 1, lms_eksport=exported),
                    Undervisning(key, self.year + 1, SPRING, 2, lms_eksport=exported),
                ]
            elif draw < 0.55:
                chain = [Undervisning(key, self.year, AUTUMN, 1, lms_eksport=exported)]
            else:
                chain = [Undervisning(key, self.year + 1, SPRING, 1, lms_eksport=exported)]
            for unit in chain:
                u._insert_unit(unit)
            count += len(chain)
            self.offerings.append([unit.key for unit in chain])
            self.offering_faculty.append(self.faculty_of[institute.location_id])

    # -- students in units ------------------------------------------------------------------

    def enrolments(self) -> None:
        u, rng, spec = self.u, self.rng, self.spec
        weights = [rng.paretovariate(1.3) for _ in self.offerings]
        by_faculty: dict[int, list[int]] = {}
        for number, faculty in enumerate(self.offering_faculty):
            by_faculty.setdefault(faculty, []).append(number)
        all_numbers = list(range(len(self.offerings)))
        pools = {
            faculty: (numbers, list(accumulate(weights[n] for n in numbers)))
            for faculty, numbers in by_faculty.items()
        }
        everything = (all_numbers, list(accumulate(weights)))
        faculty_ids = list(pools)
        for student in self.students:
            home = pools[faculty_ids[rng.randrange(len(faculty_ids))]]
            wanted = max(1, min(len(all_numbers), round(rng.gauss(spec.units_per_student, 1.2))))
            chosen: dict[int, None] = {}
            attempts = 0
            while len(chosen) < wanted and attempts < wanted * 6:
                attempts += 1
                numbers, cumulative = home if rng.random() < 0.75 else everything
                pick = numbers[bisect(cumulative, rng.random() * cumulative[-1]) if len(numbers) > 1 else 0]
                chosen[min(pick, len(all_numbers) - 1)] = None
            assert student.fs_lopenummer is not None
            for number in chosen:
                for unit_key in self.offerings[number]:
                    u._insert_participation(student.fs_lopenummer, unit_key)

    # -- activities, group membership and roles ------------------------------------------------

    def _teacher(self, location_id: int) -> int:
        pool = (
            self.teachers_at.get(location_id)
            or self.teachers_in_faculty.get(self.faculty_of.get(location_id, -1))
            or self.all_teachers
        )
        return pool[self.rng.randrange(len(pool))]

    def activities_and_roles(self) -> None:
        u, rng, spec = self.u, self.rng, self.spec
        for chain in self.offerings:
            first = u.undervisning[chain[0]]
            emne = u.emner[first.emne]
            students = list(u._unit_students[chain[0]])
            groups = min(MAX_GROUPS, max(1, math.ceil(len(students) / spec.group_size)))
            group_exported = [rng.random() < 0.96 for _ in range(groups)]
            group_own_course = [rng.random() < 0.03 for _ in range(groups)]
            responsible = self._teacher(emne.location_id)
            teacher = self._teacher(emne.location_id) if rng.random() < 0.4 else None
            group_teachers = [self._teacher(emne.location_id) for _ in range(groups)]
            for unit_key in chain:
                unit = u.undervisning[unit_key]
                u._insert_activity(
                    Aktivitet(
                        unit_key, "1", "Forelesning", "FOR", "FOR", 1, "1", lms_eksport=unit.lms_eksport
                    )
                )
                for g in range(groups):
                    code = f"2-{g + 1}"
                    u._insert_activity(
                        Aktivitet(
                            unit_key, code, f"Seminargruppe {g + 1}", "SEM", "SEM", g + 1, "1",
                            lms_eksport=unit.lms_eksport and group_exported[g],
                            own_course=group_own_course[g],
                        )
                    )  # fmt: skip
                for position, lopenummer in enumerate(students):
                    u._insert_activity_participation(lopenummer, f"{unit_key},2-{position % groups + 1}")
                u._insert_role(responsible, ROLE_COURSE_RESPONSIBLE, unit_key, None)
                if teacher is not None:
                    u._insert_role(teacher, ROLE_TEACHER, unit_key, None)
                for g, lopenummer in enumerate(group_teachers):
                    u._insert_role(lopenummer, ROLE_GROUP_TEACHER, unit_key, f"{unit_key},2-{g + 1}")

    # -- SAP roles (no random draws: adding them leaves everything above as it was) ----------

    def sap_roles(self) -> None:
        """The first employee of each institute is its study administrator; the very first
        employee also leads that institute and was study administrator of the faculty once."""
        u, year = self.u, self.year
        first_at: dict[int, Person] = {}
        for person in u.staff():
            if person.location_id is not None and person.sap_employee_id is not None:
                first_at.setdefault(person.location_id, person)
        for location_id, person in first_at.items():
            assert person.sap_employee_id is not None
            u._insert_sap_role(
                person.sap_employee_id, SAP_ROLE_STUDY_ADMIN, location_id, dt.date(year - 2, 1, 1)
            )
        first = next(iter(first_at.values()), None)
        if first is not None and first.sap_employee_id is not None and first.location_id is not None:
            u._insert_sap_role(
                first.sap_employee_id, SAP_ROLE_LEADER, first.location_id, dt.date(year - 1, 1, 1)
            )
            faculty = self.faculty_of[first.location_id]
            u._insert_sap_role(
                first.sap_employee_id,
                SAP_ROLE_STUDY_ADMIN,
                faculty,
                dt.date(year - 4, 1, 1),
                dt.date(year - 2, 12, 31),
            )
