"""The records of the synthetic university: plain dataclasses, no behaviour beyond keys.

Identifiers follow the source systems:

* Cerebrum: numeric entity ids for persons, accounts, OUs and groups; accounts are named.
* FS: a person is known by its ``personlopenummer``; an emne by ``inst,kode,versjon``
  (3 parts), an undervisning by ``inst,kode,versjon,år,termin,terminnummer`` (6 parts),
  an undervisningsaktivitet by the undervisning key plus ``,aktivitet`` (7 parts), an
  organisasjonsenhet by ``inst,fakultet,institutt,gruppe``. Keys here are *unencoded*
  (``HØST``); the FS emulator URL-encodes them (``H%C3%98ST``).
* SAP: numeric location ids for org units, numeric employee ids (``personId``) for staff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

INSTITUTION = 185  # the FS institution number used for every generated object

# Term codes used for teaching (FS has more: VIT, VÅT, SOM, HØT).
AUTUMN = "HØST"
SPRING = "VÅR"

# FS roles given to teaching staff. The reference only shows ``LÆRER`` as a real role
# code; these names follow the design document's wording and are not verified.
ROLE_COURSE_RESPONSIBLE = "FAGANSVAR"
ROLE_TEACHER = "FAGLÆRER"
ROLE_GROUP_TEACHER = "GRUPPELÆRER"
TEACHER_ROLES = (ROLE_COURSE_RESPONSIBLE, ROLE_TEACHER, ROLE_GROUP_TEACHER)

# SAP roles (``employees(<id>)/roles``: roleName at a locationCode). The field names are
# verified; UiO's role names are not public, so these two are ours.
SAP_ROLE_STUDY_ADMIN = "STUDIEADMIN"
SAP_ROLE_LEADER = "LEDER"


def emne_key(institusjon: int, kode: str, versjon: str) -> str:
    return f"{institusjon},{kode},{versjon}"


def undervisning_key(emne: str, year: int, term: str, terminnummer: int) -> str:
    return f"{emne},{year},{term},{terminnummer}"


def aktivitet_key(undervisning: str, aktivitet: str) -> str:
    return f"{undervisning},{aktivitet}"


def split_key(key: str) -> list[str]:
    """The parts of an FS key (``"185,INF1000,1"`` → ``["185", "INF1000", "1"]``)."""
    return key.split(",")


@dataclass(slots=True)
class Quarantine:
    """A Cerebrum quarantine. It locks the account while active."""

    type: str
    start: dt.date
    end: dt.date | None = None
    disable_until: dt.date | None = None
    comment: str = ""

    def active(self, today: dt.date) -> bool:
        if self.disable_until is not None and today < self.disable_until:
            return False
        return self.start <= today and (self.end is None or today < self.end)


@dataclass(slots=True)
class Account:
    """A Cerebrum account. ``owner_id`` is the owning person's Cerebrum id."""

    account_id: int
    name: str
    owner_id: int
    created_at: dt.datetime
    expire_date: dt.date | None = None
    quarantines: list[Quarantine] = field(default_factory=list)

    @property
    def email(self) -> str:
        return f"{self.name}@{EMAIL_DOMAIN}"


EMAIL_DOMAIN = "uni.example.org"


@dataclass(slots=True)
class Person:
    """One person, known to Cerebrum and (as student or teacher) to FS, staff also to SAP.

    ``account_names`` lists the person's accounts, primary first is *not* implied: the
    primary one is ``primary_account``. ``location_id`` is the staff member's SAP org unit.
    """

    person_id: int  # Cerebrum entity id
    first_name: str
    last_name: str
    birth_date: dt.date
    personnummer: str  # the 5 digits after the birth date (ddmmyy + personnummer)
    gender: str  # "F" or "M"
    fs_lopenummer: int | None = None
    sap_employee_id: int | None = None
    student_number: int | None = None
    is_student: bool = False
    is_staff: bool = False
    location_id: int | None = None
    account_names: list[str] = field(default_factory=list)
    primary_account: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def national_id(self) -> str:
        """Norwegian national id: ddmmyy + 5 digits (synthetic, checksums not valid)."""
        return self.birth_date.strftime("%d%m%y") + self.personnummer


@dataclass(slots=True)
class SapRole:
    """An SAP role of an employee at an org unit; ``end`` ``None`` is open-ended."""

    role_id: int
    employee_id: int
    role_name: str
    location_id: int
    start: dt.date
    end: dt.date | None = None

    def current(self, today: dt.date) -> bool:
        return self.start <= today and (self.end is None or today <= self.end)


@dataclass(slots=True)
class OrgUnit:
    """One org unit, the same in SAP (location), FS (organisasjonsenhet) and Cerebrum (OU).

    ``parent_id`` is the parent's SAP location id (``None`` for the root).
    """

    location_id: int  # SAP
    ou_id: int  # Cerebrum entity id
    parent_id: int | None
    fakultet: int
    institutt: int
    gruppe: int
    name_nb: str
    name_en: str
    acronym: str
    lms_eksport: bool = True

    @property
    def stedkode(self) -> str:
        return f"{self.fakultet:02d}{self.institutt:02d}{self.gruppe:02d}"

    @property
    def fs_key(self) -> str:
        return f"{INSTITUTION},{self.fakultet},{self.institutt},{self.gruppe}"


@dataclass(slots=True)
class Emne:
    """An FS emne (subject). ``location_id`` is the owning institute (SAP id)."""

    institusjon: int
    kode: str
    versjon: str
    name_nb: str
    name_en: str
    location_id: int
    studieniva: str = "LN"

    @property
    def key(self) -> str:
        return emne_key(self.institusjon, self.kode, self.versjon)


@dataclass(slots=True)
class Undervisning:
    """An FS undervisning (teaching unit, "UE") of an emne in one term.

    A multi-term unit is several undervisning of the same emne with ``terminnummer`` 1, 2…
    in consecutive terms (HØST then VÅR); canvasbridge merges them into one course.
    ``lms_eksport`` says whether the unit goes to the LMS at all.
    """

    emne: str  # emne key
    year: int
    term: str
    terminnummer: int
    lms_eksport: bool = True
    lukket: bool = False

    @property
    def key(self) -> str:
        return undervisning_key(self.emne, self.year, self.term, self.terminnummer)


# Values of ``lms.romMal`` on an activity (our choice; FS's LmsInfo has a ``romMal``
# field whose values are not public): its own Canvas course, or a section of the
# unit's course.
ROM_OWN_COURSE = "EGET_ROM"
ROM_SECTION = "SEKSJON"


@dataclass(slots=True)
class Aktivitet:
    """An FS undervisningsaktivitet ("UA"): a lecture series or a group of a teaching unit.

    ``lms_eksport`` says whether it goes to the LMS; ``own_course`` (FS ``lms.romMal``
    ``EGET_ROM`` versus ``SEKSJON``) whether it becomes its own Canvas course instead of a
    section of the unit's course. ``eier`` is the owning activity's code (groups are owned
    by their parent activity; a top-level activity owns itself).
    """

    undervisning: str  # undervisning key
    aktivitet: str  # e.g. "1" (lecture) or "2-3" (group 3 of seminar 2)
    name: str
    form: str  # e.g. "FOR" lecture, "SEM" seminar, "LAB"
    disiplin: str
    parti: int
    eier: str
    lms_eksport: bool = True
    own_course: bool = False
    lukket: bool = False

    @property
    def key(self) -> str:
        return aktivitet_key(self.undervisning, self.aktivitet)

    @property
    def rom_mal(self) -> str:
        return ROM_OWN_COURSE if self.own_course else ROM_SECTION


@dataclass(slots=True)
class PersonRolle:
    """A teaching role of an FS person on a unit (and, for group teachers, an activity)."""

    fs_lopenummer: int
    rollenummer: int
    rolle: str
    undervisning: str
    aktivitet: str | None = None  # activity key, for roles on one activity
    fra_dato: dt.date | None = None

    @property
    def key(self) -> str:
        return f"{self.fs_lopenummer},{self.rollenummer}"


@dataclass(slots=True, frozen=True)
class StudentUndervisning:
    """A student's participation in a teaching unit."""

    fs_lopenummer: int
    undervisning: str

    @property
    def key(self) -> str:
        return f"{self.fs_lopenummer},{self.undervisning}"


@dataclass(slots=True, frozen=True)
class StudentAktivitet:
    """A student's participation in an activity (FS ``studentundervisningsaktivitet``)."""

    fs_lopenummer: int
    aktivitet: str

    @property
    def key(self) -> str:
        return f"{self.fs_lopenummer},{self.aktivitet}"


@dataclass(slots=True)
class Group:
    """A Cerebrum group; ``members`` are account names."""

    group_id: int
    name: str
    description: str
    created_at: dt.datetime
    members: list[str] = field(default_factory=list)
    visibility: str = "A"
