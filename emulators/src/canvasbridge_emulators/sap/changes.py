"""Changes to SAP data, each publishing one SAPUiO notification (``sub`` URL + ``jti``).

=================  =======================================  ==================================
kind               parameters                               notification
=================  =======================================  ==================================
location.create    parent_id, name_nb, name_en?, acronym?   locations(<new id>) create
location.move      location_id, parent_id                   locations(<id>) modify
location.rename    location_id, name_nb, name_en?           locations(<id>) modify
employee.create    first_name, last_name, location_id       employees(<new id>) create
employee.move      employee_id, location_id                 employees(<id>) modify
role.grant         employee_id, role_name, location_id      employees(<id>) modify
role.end           role_id                                  employees(<employee>) modify
role.remove        role_id                                  employees(<employee>) modify
=================  =======================================  ==================================
"""

from __future__ import annotations

from canvasbridge_emulators.notify import ChangeSet, Notification, Publisher, sap_notification
from canvasbridge_emulators.notify import change as kind
from canvasbridge_emulators.university import University

DEFAULT_SUB_BASE = "https://sap.uio.no/api"  # used when no request base is known


class SapChanges(ChangeSet):
    system = "sap"

    def __init__(self, university: University, publisher: Publisher, *, iss: str = "sapuio") -> None:
        super().__init__(university, publisher)
        self.iss = iss

    def _note(self, entity: str, ident: int, event: str, base_url: str | None) -> Notification:
        return sap_notification(entity, ident, event, base_url=base_url or DEFAULT_SUB_BASE, iss=self.iss)

    @kind("location.create")
    def location_create(
        self,
        *,
        parent_id: int,
        name_nb: str,
        name_en: str | None = None,
        acronym: str = "",
        base_url: str | None = None,
    ) -> Notification:
        unit = self.university.add_org_unit(int(parent_id), name_nb, name_en=name_en, acronym=acronym)
        return self._note("locations", unit.location_id, "create", base_url)

    @kind("location.move")
    def location_move(self, *, location_id: int, parent_id: int, base_url: str | None = None) -> Notification:
        unit = self.university.move_org_unit(int(location_id), int(parent_id))
        return self._note("locations", unit.location_id, "modify", base_url)

    @kind("location.rename")
    def location_rename(
        self, *, location_id: int, name_nb: str, name_en: str | None = None, base_url: str | None = None
    ) -> Notification:
        unit = self.university.rename_org_unit(int(location_id), name_nb, name_en)
        return self._note("locations", unit.location_id, "modify", base_url)

    @kind("employee.create")
    def employee_create(
        self, *, first_name: str, last_name: str, location_id: int, base_url: str | None = None
    ) -> Notification:
        person = self.university.add_person(
            first_name, last_name, student=False, staff=True, location_id=int(location_id)
        )
        assert person.sap_employee_id is not None
        return self._note("employees", person.sap_employee_id, "create", base_url)

    @kind("employee.move")
    def employee_move(
        self, *, employee_id: int, location_id: int, base_url: str | None = None
    ) -> Notification:
        person = self.university.person_by_employee(int(employee_id))
        self.university.move_employee(person.person_id, int(location_id))
        return self._note("employees", int(employee_id), "modify", base_url)

    @kind("role.grant")
    def role_grant(
        self, *, employee_id: int, role_name: str, location_id: int, base_url: str | None = None
    ) -> Notification:
        role = self.university.grant_sap_role(int(employee_id), role_name, int(location_id))
        return self._note("employees", role.employee_id, "modify", base_url)

    @kind("role.end")
    def role_end(self, *, role_id: int, base_url: str | None = None) -> Notification:
        role = self.university.end_sap_role(int(role_id))
        return self._note("employees", role.employee_id, "modify", base_url)

    @kind("role.remove")
    def role_remove(self, *, role_id: int, base_url: str | None = None) -> Notification:
        role = self.university.remove_sap_role(int(role_id))
        return self._note("employees", role.employee_id, "modify", base_url)
