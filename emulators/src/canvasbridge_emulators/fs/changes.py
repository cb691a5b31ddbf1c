"""Changes to FS data, each publishing one FS notification (claims style).

Kinds and parameters (``lopenummer`` is the FS personlopenummer; keys are unencoded):

==========================  ======================================================  ===========================================
kind                        parameters                                              notification (resource, operation)
==========================  ======================================================  ===========================================
person.create               first_name, last_name                                   personer create
emne.create                 kode, name_nb, location_id                              emner create
unit.create                 emne, year, term, terminnummer=1, lms_eksport=true      undervisning create
unit.modify                 key, lms_eksport?, lukket?                              undervisning update
unit.export                 key, flag                                               undervisning update
activity.create             unit, aktivitet, name?, form?, lms_eksport?, own_course?  undervisningsaktiviteter create
activity.modify             key, name?, lms_eksport?, own_course?, lukket?          undervisningsaktiviteter update
activity.export             key, flag                                               undervisningsaktiviteter update
activity.own_course         key, flag                                               undervisningsaktiviteter update
participation.add           lopenummer, unit                                        studentundervisning create
participation.remove        lopenummer, unit                                        studentundervisning delete
activity_participation.add  lopenummer, activity                                    studentundervisningsaktiviteter create
activity_participation.remove lopenummer, activity                                  studentundervisningsaktiviteter delete
role.add                    lopenummer, rolle, unit, activity?                      personroller create
role.remove                 key                                                     personroller delete
==========================  ======================================================  ===========================================
"""

from __future__ import annotations

from typing import Any

from canvasbridge_emulators.notify import ChangeSet, Notification, Publisher, change, fs_notification
from canvasbridge_emulators.university import University


class FsChanges(ChangeSet):
    system = "fs"

    def __init__(self, university: University, publisher: Publisher, *, iss: str = "FS-emulator") -> None:
        super().__init__(university, publisher)
        self.iss = iss

    def _note(self, resource: str, operation: str, key: str) -> Notification:
        return fs_notification(resource, operation, key, iss=self.iss)

    @change("person.create")
    def person_create(self, *, first_name: str, last_name: str, base_url: Any = None) -> Notification:
        person = self.university.add_person(first_name, last_name, student=True)
        return self._note("personer", "create", str(person.fs_lopenummer))

    @change("emne.create")
    def emne_create(
        self, *, kode: str, name_nb: str, location_id: int, name_en: str | None = None, base_url: Any = None
    ) -> Notification:
        emne = self.university.add_emne(kode, name_nb, int(location_id), name_en=name_en)
        return self._note("emner", "create", emne.key)

    @change("unit.create")
    def unit_create(
        self,
        *,
        emne: str,
        year: int,
        term: str,
        terminnummer: int = 1,
        lms_eksport: bool = True,
        base_url: Any = None,
    ) -> Notification:
        unit = self.university.add_unit(
            emne, int(year), term, int(terminnummer), lms_eksport=bool(lms_eksport)
        )
        return self._note("undervisning", "create", unit.key)

    @change("unit.modify")
    def unit_modify(self, *, key: str, base_url: Any = None, **fields: Any) -> Notification:
        unit = self.university.modify_unit(key, **fields)
        return self._note("undervisning", "update", unit.key)

    @change("unit.export")
    def unit_export(self, *, key: str, flag: bool, base_url: Any = None) -> Notification:
        unit = self.university.modify_unit(key, lms_eksport=bool(flag))
        return self._note("undervisning", "update", unit.key)

    @change("activity.create")
    def activity_create(
        self,
        *,
        unit: str,
        aktivitet: str,
        name: str | None = None,
        form: str = "SEM",
        lms_eksport: bool = True,
        own_course: bool = False,
        base_url: Any = None,
    ) -> Notification:
        activity = self.university.add_activity(
            unit, aktivitet, name=name, form=form, lms_eksport=bool(lms_eksport), own_course=bool(own_course)
        )
        return self._note("undervisningsaktiviteter", "create", activity.key)

    @change("activity.modify")
    def activity_modify(self, *, key: str, base_url: Any = None, **fields: Any) -> Notification:
        activity = self.university.modify_activity(key, **fields)
        return self._note("undervisningsaktiviteter", "update", activity.key)

    @change("activity.export")
    def activity_export(self, *, key: str, flag: bool, base_url: Any = None) -> Notification:
        activity = self.university.modify_activity(key, lms_eksport=bool(flag))
        return self._note("undervisningsaktiviteter", "update", activity.key)

    @change("activity.own_course")
    def activity_own_course(self, *, key: str, flag: bool, base_url: Any = None) -> Notification:
        activity = self.university.set_own_course(key, bool(flag))
        return self._note("undervisningsaktiviteter", "update", activity.key)

    @change("participation.add")
    def participation_add(self, *, lopenummer: int, unit: str, base_url: Any = None) -> Notification:
        record = self.university.add_participation(int(lopenummer), unit)
        return self._note("studentundervisning", "create", record.key)

    @change("participation.remove")
    def participation_remove(self, *, lopenummer: int, unit: str, base_url: Any = None) -> Notification:
        record = self.university.remove_participation(int(lopenummer), unit)
        return self._note("studentundervisning", "delete", record.key)

    @change("activity_participation.add")
    def activity_participation_add(
        self, *, lopenummer: int, activity: str, base_url: Any = None
    ) -> Notification:
        record = self.university.add_activity_participation(int(lopenummer), activity)
        return self._note("studentundervisningsaktiviteter", "create", record.key)

    @change("activity_participation.remove")
    def activity_participation_remove(
        self, *, lopenummer: int, activity: str, base_url: Any = None
    ) -> Notification:
        record = self.university.remove_activity_participation(int(lopenummer), activity)
        return self._note("studentundervisningsaktiviteter", "delete", record.key)

    @change("role.add")
    def role_add(
        self, *, lopenummer: int, rolle: str, unit: str, activity: str | None = None, base_url: Any = None
    ) -> Notification:
        role = self.university.add_staff_role(int(lopenummer), rolle, unit, activity)
        return self._note("personroller", "create", role.key)

    @change("role.remove")
    def role_remove(self, *, key: str, base_url: Any = None) -> Notification:
        role = self.university.remove_staff_role(key)
        return self._note("personroller", "delete", role.key)
