"""The ``provisioning:`` configuration section, validated with pydantic.

Every key has a default, so an empty section works; errors name the offending key and, for
templates, the fields that are allowed. Example (all keys optional)::

    provisioning:
      systems: {canvas: canvas, fs: fs, cerebrum: cerebrum, sap: sap}   # names under `systems:`
      users:
        sis_user_id: "{username}"
        login_id: "{username}"
        integration_id: null
        exclude: [bootstrap-admin]
      accounts:
        sis_account_id: "OU_{code}"      # code: the six-digit stedkode, known to SAP and FS
        root_location: null          # SAP location that *is* the Canvas root account
      courses:
        course_sis_id: "UE_{institusjon}_{emnekode}_{versjon}_{ar}_{termin}"
        course_name: "{emnekode} - {emnenavn} ({termin} {ar})"
      roles:
        enrollments: {LÆRER: teacher, GRUPPELÆRER: ta}
        account: {}                  # SAP role name → Canvas account role
      safety: {max_destructive: 100, max_destructive_share: 0.1}
      bulk: {threshold: 500, burst_threshold: 100, burst_max_calls: 2000}
      resync: {concurrency: {fs: 4, cerebrum: 8}}
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from canvasbridge.provisioning.naming import Template, check_template
from canvasbridge.provisioning.rules import DEFAULT_ENROLLMENT_ROLES, ENROLLMENT_TYPES


def _scoped(scope: str) -> AfterValidator:
    return AfterValidator(lambda value: value if value is None else check_template(value, scope))


UnitTemplate = Annotated[str, _scoped("unit")]
ActivityTemplate = Annotated[str, _scoped("activity")]
UserTemplate = Annotated[str, _scoped("user")]
AccountTemplate = Annotated[str, _scoped("account")]
AccountSisTemplate = Annotated[str, _scoped("account_sis")]
TermTemplate = Annotated[str, _scoped("term")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SystemNames(_Section):
    """Which entries under the top-level ``systems:`` section hold each client's settings."""

    canvas: str = "canvas"
    fs: str = "fs"
    cerebrum: str = "cerebrum"
    sap: str = "sap"


class UserSettings(_Section):
    """How a Cerebrum primary account becomes a Canvas user and its login."""

    sis_user_id: UserTemplate = "{username}"
    login_id: UserTemplate = "{username}"
    integration_id: UserTemplate | None = None
    authentication_provider_id: str | None = Field(
        default=None, description="Canvas authentication provider for new logins (id or type, e.g. saml)"
    )
    sync_email: bool = True
    exclude: list[str] = Field(
        default_factory=list, description="usernames (or person ids) never created, changed or suspended"
    )

    def template(self, key: str) -> Template | None:
        text = getattr(self, key)
        return None if text is None else Template(text, "user")


class AccountSettings(_Section):
    """How SAP org units become Canvas sub-accounts."""

    sis_account_id: AccountSisTemplate = "OU_{code}"
    name: AccountTemplate = "{name}"
    root_location: str | None = Field(
        default=None, description="SAP location id that is the Canvas root account itself (not created)"
    )


class CourseSettings(_Section):
    """Names and SIS ids of courses, sections and terms; where courses go."""

    course_sis_id: UnitTemplate = "UE_{institusjon}_{emnekode}_{versjon}_{ar}_{termin}"
    course_name: UnitTemplate = "{emnekode} - {emnenavn} ({termin} {ar})"
    course_code: UnitTemplate = "{emnekode}"
    unit_section_sis_id: UnitTemplate = "UE_{institusjon}_{emnekode}_{versjon}_{ar}_{termin}"
    unit_section_name: UnitTemplate = "{emnekode} {termin} {ar}"
    activity_course_sis_id: ActivityTemplate = (
        "UA_{institusjon}_{emnekode}_{versjon}_{ar}_{termin}_{aktivitet}"
    )
    activity_course_name: ActivityTemplate = "{emnekode} - {aktivitetsnavn} ({termin} {ar})"
    activity_course_code: ActivityTemplate = "{emnekode}-{aktivitet}"
    activity_section_sis_id: ActivityTemplate = (
        "UA_{institusjon}_{emnekode}_{versjon}_{ar}_{termin}_{aktivitet}"
    )
    activity_section_name: ActivityTemplate = "{emnekode} {aktivitetsnavn}"
    term_sis_id: TermTemplate | None = Field(
        default="{ar}-{termin}",
        description="SIS id of the Canvas term a course belongs to (start term); null: no term",
    )
    default_account: str | None = Field(
        default=None,
        description="SIS id of the sub-account for courses whose org unit is unknown; null: root account",
    )
    org_unit_type: str = Field(
        default="STUDIE", description="which of the emne's org units places the course"
    )
    own_course_values: list[str] = Field(
        default_factory=lambda: ["EGET_ROM"],
        description="values of an activity's FS lms.romMal that make it its own course (else a section)",
    )
    publish: bool = Field(default=False, description="publish (offer) new courses at once")


class RoleSettings(_Section):
    """Source role → Canvas role tables."""

    enrollments: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ENROLLMENT_ROLES))
    account: dict[str, str] = Field(
        default_factory=dict, description="SAP role name → Canvas account role (e.g. AccountAdmin)"
    )

    @field_validator("enrollments")
    @classmethod
    def _known_types(cls, value: dict[str, str]) -> dict[str, str]:
        bad = {role: kind for role, kind in value.items() if kind not in ENROLLMENT_TYPES}
        if bad:
            raise ValueError(
                f"unknown Canvas enrollment type(s) {bad}; use one of {', '.join(ENROLLMENT_TYPES)}"
            )
        return value


class SafetySettings(_Section):
    """Stops a resync whose destructive changes (suspend, conclude) exceed these, unless forced."""

    max_destructive: int = Field(default=100, ge=0, description="per kind, a count")
    max_destructive_share: float = Field(
        default=0.1, ge=0.0, le=1.0, description="per kind, a share of the managed objects in Canvas"
    )


class BulkSettings(_Section):
    """When and how a resync, or a burst of enrolment changes, writes through one SIS import
    instead of REST calls."""

    threshold: int = Field(
        default=500, ge=0, description="planned writes at or above which a resync goes bulk"
    )
    burst_threshold: int = Field(
        default=100,
        ge=0,
        description="ensure_enrollments calls waiting (the running one included) at or above which "
        "a worker gathers them into one SIS import; 0 turns bursts off",
    )
    burst_max_calls: int = Field(
        default=2000, ge=2, description="calls one burst gathers at most (the rest go in the next)"
    )
    poll_interval_s: float = Field(
        default=1.0, gt=0, description="first wait before asking for a SIS import's or report's state"
    )
    timeout_s: float = Field(default=3600.0, gt=0)


class ResyncConcurrency(_Section):
    """How many requests a full resync keeps in flight per source system at once."""

    fs: int = Field(default=4, ge=1, le=64, description="FS collections read at once")
    cerebrum: int = Field(default=8, ge=1, le=64, description="Cerebrum per-person reads at once")


class ResyncSettings(_Section):
    """How a full resync reads the sources (FS, Cerebrum and SAP are read in parallel)."""

    concurrency: ResyncConcurrency = Field(default_factory=ResyncConcurrency)
    users_process: bool = Field(
        default=True,
        description="decide the users (Cerebrum's reads) in a second process, so a full resync "
        "uses two cores; false: on threads in the resync's own process",
    )


class ProvisioningSettings(_Section):
    """The whole ``provisioning:`` section."""

    systems: SystemNames = Field(default_factory=SystemNames)
    root_account: str = Field(default="self", description="Canvas root account (id, or 'self')")
    users: UserSettings = Field(default_factory=UserSettings)
    accounts: AccountSettings = Field(default_factory=AccountSettings)
    courses: CourseSettings = Field(default_factory=CourseSettings)
    roles: RoleSettings = Field(default_factory=RoleSettings)
    safety: SafetySettings = Field(default_factory=SafetySettings)
    bulk: BulkSettings = Field(default_factory=BulkSettings)
    resync: ResyncSettings = Field(default_factory=ResyncSettings)

    def warnings(self) -> list[str]:
        """Settings that are valid but risky: SIS-id templates without fixed text claim every SIS id."""
        templates = {
            "users.sis_user_id": (self.users.sis_user_id, "user", "users"),
            "accounts.sis_account_id": (self.accounts.sis_account_id, "account_sis", "sub-accounts"),
            "courses.course_sis_id": (self.courses.course_sis_id, "unit", "courses"),
            "courses.unit_section_sis_id": (self.courses.unit_section_sis_id, "unit", "sections"),
        }
        found = []
        for key, (text, scope, what) in templates.items():
            if not Template(text, scope).has_fixed_text:
                found.append(
                    f"provisioning.{key}: {text!r} has no fixed text, so every Canvas {what[:-1]} with "
                    f"a SIS id counts as the service's own: a resync may change or end "
                    f"{what} other feeds created. Give it fixed text (a prefix, or e.g. "
                    f"'{text}@uio.no'), or list other feeds' users in users.exclude"
                )
        return found
