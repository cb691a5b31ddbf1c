"""Changes to Cerebrum data, each publishing one SCIM-style notification.

==========================  ==================================  ===================================
kind                        parameters                          notification (entity_type.event)
==========================  ==================================  ===================================
person.create               first_name, last_name, student?,    persons.create (sub …/persons/<id>)
                            staff?, location_id?
person.modify               person_id, first_name?, last_name?  persons.modify (attributes: name)
account.create              person_id, name?, primary?          accounts.create (sub …/accounts/<name>)
account.quarantine          name, type="generell"               accounts.deactivate
account.release             name, type?                         accounts.activate
account.set_primary         person_id, name                     accounts.modify (attributes: accountType)
group.add_member            group, account                      groups.add
group.remove_member         group, account                      groups.remove
==========================  ==================================  ===================================

Quarantine add → ``deactivate`` and removal → ``activate``, and a primary-account change as
an ``accountType`` modify of the account, follow Cerebrum's event converters
(CRB ``Cerebrum/modules/event_publisher/converters.py``).
"""

from __future__ import annotations

from canvasbridge_emulators.notify import ChangeSet, Notification, Publisher, cerebrum_notification
from canvasbridge_emulators.notify import change as kind
from canvasbridge_emulators.university import University

DEFAULT_SUB_BASE = "https://cerebrum-ws.uio.no"  # used when no request base is known


class CerebrumChanges(ChangeSet):
    system = "cerebrum"

    def __init__(
        self,
        university: University,
        publisher: Publisher,
        *,
        iss: str = "cerebrum",
        aud: tuple[str, ...] = ("lms@uio",),
    ) -> None:
        super().__init__(university, publisher)
        self.iss = iss
        self.aud = aud

    def _note(
        self,
        entity: str,
        event: str,
        ident: str | int,
        base_url: str | None,
        attributes: list[str] | None = None,
    ) -> Notification:
        return cerebrum_notification(
            entity,
            event,
            ident,
            base_url=f"{(base_url or DEFAULT_SUB_BASE).rstrip('/')}/v1",
            iss=self.iss,
            aud=self.aud,
            attributes=attributes,
        )

    @kind("person.create")
    def person_create(
        self,
        *,
        first_name: str,
        last_name: str,
        student: bool = True,
        staff: bool = False,
        location_id: int | None = None,
        base_url: str | None = None,
    ) -> Notification:
        person = self.university.add_person(
            first_name, last_name, student=bool(student), staff=bool(staff), location_id=location_id
        )
        return self._note("persons", "create", person.person_id, base_url)

    @kind("person.modify")
    def person_modify(
        self,
        *,
        person_id: int,
        first_name: str | None = None,
        last_name: str | None = None,
        base_url: str | None = None,
    ) -> Notification:
        person = self.university.modify_person(int(person_id), first_name=first_name, last_name=last_name)
        return self._note("persons", "modify", person.person_id, base_url, ["name"])

    @kind("account.create")
    def account_create(
        self, *, person_id: int, name: str | None = None, primary: bool = False, base_url: str | None = None
    ) -> Notification:
        account = self.university.add_account(int(person_id), name, primary=bool(primary))
        return self._note("accounts", "create", account.name, base_url)

    @kind("account.quarantine")
    def account_quarantine(
        self, *, name: str, type: str = "generell", comment: str = "", base_url: str | None = None
    ) -> Notification:
        account = self.university.quarantine_account(name, type, comment=comment)
        return self._note("accounts", "deactivate", account.name, base_url)

    @kind("account.release")
    def account_release(
        self, *, name: str, type: str | None = None, base_url: str | None = None
    ) -> Notification:
        account = self.university.release_account(name, type)
        return self._note("accounts", "activate", account.name, base_url)

    @kind("account.set_primary")
    def account_set_primary(self, *, person_id: int, name: str, base_url: str | None = None) -> Notification:
        account = self.university.set_primary_account(int(person_id), name)
        return self._note("accounts", "modify", account.name, base_url, ["accountType"])

    @kind("group.add_member")
    def group_add_member(self, *, group: str, account: str, base_url: str | None = None) -> Notification:
        g = self.university.add_group_member(group, account)
        return self._note("groups", "add", g.name, base_url)

    @kind("group.remove_member")
    def group_remove_member(self, *, group: str, account: str, base_url: str | None = None) -> Notification:
        g = self.university.remove_group_member(group, account)
        return self._note("groups", "remove", g.name, base_url)
