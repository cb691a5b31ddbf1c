"""SAPUiO's view of the university: org units as ``locations``, staff as ``employees``.

Renders OData v2 style: one object as ``{"d": {...}}``, a list as ``{"d": {"results":
[...]}}``, links to related resources as ``{"__deferred": {"uri": …}}``, each object with
``__metadata``. Employee fields follow UiO's consumer (reference B.5); **the location
fields are not public**, nor are role names, so ours (``locationId``, ``locationCode``, ``name``,
``shortName``, ``validFrom``…) are our invention.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from canvasbridge_emulators.sap.exceptions import NotFound
from canvasbridge_emulators.university import OrgUnit, Person, University


class SapModel:
    def __init__(self, university: University, *, api_key: str) -> None:
        self.university = university
        self.api_key = api_key

    def location(self, location_id: int) -> OrgUnit:
        try:
            return self.university.org_unit(location_id)
        except KeyError:
            raise NotFound(f"Resource not found for segment 'locations({location_id})'") from None

    def employee(self, employee_id: int) -> Person:
        try:
            return self.university.person_by_employee(employee_id)
        except KeyError:
            raise NotFound(f"Resource not found for segment 'employees({employee_id})'") from None

    def render_location(self, o: OrgUnit, base: str) -> dict[str, Any]:
        uri = f"{base}locations({o.location_id})"
        return {
            "__metadata": {"uri": uri, "type": "SAPUiO.Location"},
            "locationId": o.location_id,
            "locationCode": o.stedkode,
            "name": o.name_nb,
            "nameEnglish": o.name_en,
            "shortName": o.acronym,
            "parentLocationId": o.parent_id,
            "validFrom": "2000-01-01",
            "validTo": "9999-12-31",
            "parent": {"__deferred": {"uri": f"{uri}/parent"}},
            "children": {"__deferred": {"uri": f"{uri}/children"}},
        }

    def render_employee(self, p: Person, base: str) -> dict[str, Any]:
        uri = f"{base}employees({p.sap_employee_id})"
        return {
            "__metadata": {"uri": uri, "type": "SAPUiO.Employee"},
            "personId": p.sap_employee_id,
            "firstName": p.first_name,
            "lastName": p.last_name,
            "dateOfBirth": p.birth_date.isoformat(),
            "gender": p.gender,
            "norwegianIdentificationNumber": p.national_id,
            "passportIssuingCountry": None,
            "passportNumber": None,
            "allowedPublicDirectoryFlag": True,
            "personalTitle": {"en": None, "nb": None},
            "assignments": {"__deferred": {"uri": f"{uri}/assignments"}},
            "roles": {"__deferred": {"uri": f"{uri}/roles"}},
        }

    def render_assignments(self, p: Person, base: str) -> list[dict[str, Any]]:
        if p.location_id is None:
            return []
        o = self.university.org_unit(p.location_id)
        start = dt.date(self.university.year - 3, 8, 1).isoformat()
        return [
            {
                "__metadata": {"type": "SAPUiO.Assignment"},
                "assignmentId": p.sap_employee_id,
                "jobCategory": "Vitenskapelig",
                "effectiveStartDate": start,
                "effectiveEndDate": "9999-12-31",
                "locationId": o.location_id,
                "locationCode": o.stedkode,
                "primaryAssignmentFlag": True,
                "agreedFTEPercentage": 100,
                "jobTitle": {"nb": "Førsteamanuensis", "en": "Associate Professor"},
                "managerFlag": False,
            }
        ]

    def render_roles(self, p: Person) -> list[dict[str, Any]]:
        """The employee's roles, ended ones included (fields: reference B.5; names: ours)."""
        assert p.sap_employee_id is not None
        return [
            {
                "__metadata": {"type": "SAPUiO.Role"},
                "roleId": r.role_id,
                "roleName": r.role_name,
                "locationCode": self.university.org_unit(r.location_id).stedkode,
                "effectiveStartDate": r.start.isoformat(),
                "effectiveEndDate": r.end.isoformat() if r.end else "9999-12-31",
            }
            for r in self.university.sap_roles_of(p.sap_employee_id)
        ]

    def state(self) -> dict[str, Any]:
        return self.university.summary()
