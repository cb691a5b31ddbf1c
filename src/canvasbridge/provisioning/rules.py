"""The business rules as tables: what becomes what in Canvas.

Everything here is data the planner and the tasks look up; the defaults can be replaced in
the ``provisioning:`` config section (see :mod:`.settings`).

* :data:`STRUCTURE_RULES` - whether an FS teaching unit or activity becomes a Canvas course,
  a section of its unit's course, or nothing (first matching row wins).
* :data:`DEFAULT_ENROLLMENT_ROLES` - FS role code → Canvas enrollment type.
* :data:`ENROLLMENT_TYPES` - the Canvas enrollment types with their REST and SIS CSV names.
* :data:`TERM_SEQUENCE` - the order of the terms a multi-term unit runs through.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Placement(StrEnum):
    COURSE = "course"
    SECTION = "section"
    SKIP = "skip"


@dataclass(frozen=True)
class StructureRule:
    """One row: the conditions (``None`` = any) and what follows from them, with the reason."""

    kind: str  # "unit" or "activity"
    exported: bool | None
    own_course: bool | None
    unit_exported: bool | None
    outcome: Placement
    reason: str


#: First matching row decides. ``own_course`` is FS's flag that an activity gets its own
#: course instead of being merged as a section into its unit's course.
STRUCTURE_RULES: tuple[StructureRule, ...] = (
    StructureRule("unit", False, None, None, Placement.SKIP, "teaching unit not marked for LMS export"),
    StructureRule("unit", True, None, None, Placement.COURSE, "teaching unit marked for LMS export"),
    StructureRule("activity", False, None, None, Placement.SKIP, "activity not marked for LMS export"),
    StructureRule("activity", True, True, None, Placement.COURSE, "activity flagged to be its own course"),
    StructureRule("activity", True, False, True, Placement.SECTION, "activity merged into its unit's course"),
    StructureRule(
        "activity", True, False, False, Placement.SKIP, "activity to be merged, but its unit is not exported"
    ),
)


def structure(
    kind: str, *, exported: bool, own_course: bool = False, unit_exported: bool = True
) -> StructureRule:
    """The first rule of :data:`STRUCTURE_RULES` matching these facts."""
    for rule in STRUCTURE_RULES:
        if (
            rule.kind == kind
            and rule.exported in (None, exported)
            and rule.own_course in (None, own_course)
            and rule.unit_exported in (None, unit_exported)
        ):
            return rule
    raise LookupError(f"no structure rule for {kind} exported={exported} own_course={own_course}")


@dataclass(frozen=True)
class EnrollmentType:
    """One Canvas enrollment type: the REST ``enrollment[type]`` and the SIS CSV ``role``."""

    rest: str
    sis: str


#: short name → names used by the REST API and by SIS CSV
ENROLLMENT_TYPES: dict[str, EnrollmentType] = {
    "student": EnrollmentType("StudentEnrollment", "student"),
    "teacher": EnrollmentType("TeacherEnrollment", "teacher"),
    "ta": EnrollmentType("TaEnrollment", "ta"),
    "designer": EnrollmentType("DesignerEnrollment", "designer"),
    "observer": EnrollmentType("ObserverEnrollment", "observer"),
}
REST_TO_SHORT = {t.rest: short for short, t in ENROLLMENT_TYPES.items()}

#: FS role code → Canvas enrollment type (short name); roles not listed give no enrollment.
DEFAULT_ENROLLMENT_ROLES: dict[str, str] = {
    "FAGANSVAR": "teacher",
    "FAGLÆRER": "teacher",
    "EMNEANSVARLIG": "teacher",
    "FAGANSVARLIG": "teacher",
    "FORELESER": "teacher",
    "LÆRER": "teacher",
    "GRUPPELÆRER": "ta",
    "UNDERVISNINGSASSISTENT": "ta",
}

#: Terms a multi-term unit runs through, in order; a unit in term n started n-1 steps back.
TERM_SEQUENCE: tuple[str, ...] = ("VÅR", "HØST")


def step_back(year: int, term: str, steps: int) -> tuple[int, str]:
    """The term ``steps`` terms before (``year``, ``term``) in :data:`TERM_SEQUENCE`.

    A term outside the sequence (summer, for example) cannot span terms and is returned as is.
    """
    if term not in TERM_SEQUENCE or steps <= 0:
        return year, term
    index = year * len(TERM_SEQUENCE) + TERM_SEQUENCE.index(term) - steps
    return index // len(TERM_SEQUENCE), TERM_SEQUENCE[index % len(TERM_SEQUENCE)]
