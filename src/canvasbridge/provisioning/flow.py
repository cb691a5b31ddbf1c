"""The provisioning flow as a plug-in (entry point ``canvasbridge.flows: provisioning``).

Owns the ``provisioning`` section, reads ``systems.canvas``, ``systems.fs``,
``systems.cerebrum`` and ``systems.sap`` (or the entries ``provisioning.systems`` names),
and brings the three parsers, the ``ensure_*`` tasks, ``sync``/``resync`` and the admin
API's ``GET /provisioning/plan``; its
metrics are the engine's external-call ones. The task specs here are the defaults of a ``tasks.<name>`` entry that
gives no ``path``.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from canvasbridge.engine import DoctorCheck, DoctorInput, Flow, SystemNeed
from canvasbridge.provisioning.settings import ProvisioningSettings

_TASKS = "canvasbridge.provisioning.tasks"


def systems(settings: Mapping[str, BaseModel]) -> dict[str, SystemNeed]:
    from canvasbridge.clients.canvas import CanvasSettings
    from canvasbridge.clients.cerebrum import CerebrumSettings
    from canvasbridge.clients.fs import FsSettings
    from canvasbridge.clients.sap import SapSettings

    names = settings["provisioning"].systems  # type: ignore[attr-defined]
    return {
        names.canvas: SystemNeed(CanvasSettings),
        names.fs: SystemNeed(FsSettings),
        names.cerebrum: SystemNeed(CerebrumSettings),
        names.sap: SystemNeed(SapSettings),
    }


def doctor_checks(given: DoctorInput) -> Mapping[str, DoctorCheck]:
    from canvasbridge.provisioning.doctor import doctor_checks as checks

    return checks(given)


FLOW = Flow(
    name="provisioning",
    description="sources (Cerebrum, FS, SAP) → Canvas users, sub-accounts, courses, sections and enrolments",
    sections={"provisioning": ProvisioningSettings},
    systems=systems,
    parsers={
        "cerebrum": "canvasbridge.provisioning.parsers.cerebrum:parse",
        "fs": "canvasbridge.provisioning.parsers.fs:parse",
        "sap": "canvasbridge.provisioning.parsers.sap:parse",
    },
    tasks={
        "ensure_user": {
            "path": f"{_TASKS}.users:ensure_user",
            "sync": {"kind": "user", "key": "username"},
            "description": "a Cerebrum person's primary account as a Canvas user (suspended when quarantined)",
        },
        "ensure_account": {
            "path": f"{_TASKS}.accounts:ensure_account",
            "sync": {"kind": "account", "key": "location_id"},
            "description": "an SAP org unit (and its ancestors) as Canvas sub-accounts",
        },
        "ensure_course": {
            "path": f"{_TASKS}.courses:ensure_course",
            "sync": {"kind": "course", "key": "fs_id"},
            "description": "an FS teaching unit (6-part id) or activity (7-part id) as a course or section",
        },
        "ensure_emne": {
            "path": f"{_TASKS}.courses:ensure_emne",
            "sync": {"kind": "emne", "key": "fs_id"},
            "description": "re-sync the current teaching units of an FS emne (names)",
        },
        "ensure_enrollments": {
            "path": f"{_TASKS}.enrollments:ensure_enrollments",
            "sync": {"kind": "enrollments", "key": "fs_id"},
            "description": "students, teachers and TAs of the unit's or activity's section",
        },
        "ensure_person_role": {
            "path": f"{_TASKS}.enrollments:ensure_person_role",
            "sync": {"kind": "role", "key": "personrolle"},
            "description": "re-sync the section an FS teaching role is on",
        },
        "ensure_user_roles": {
            "path": f"{_TASKS}.roles:ensure_user_roles",
            "sync": {"kind": "user-roles", "key": "employee_id"},
            "description": "account-level Canvas roles from SAP roles (where provisioning.roles.account maps them)",
        },
        "apply_operation": {
            "path": f"{_TASKS}.operations:apply_operation",
            "description": "one change a resync could not make, kept as a requeueable dead letter",
        },
    },
    commands=("canvasbridge.provisioning.commands:register",),
    doctor_checks=doctor_checks,
    api=("canvasbridge.provisioning.api:install",),
)
