"""Reading the sources for a full resync: each collection once, the systems in parallel.

FS, Cerebrum and SAP are read at the same time, each through a thread pool of its own
(``provisioning.resync.concurrency``), so a slow system does not hold up the others and
none is asked more than its bound at once:

* FS: every collection the plan needs, once each (persons, emner, units, activities, roles,
  student participation), collections in parallel, each reduced to what the plan uses as
  its pages arrive. Every page is read on FS's pool, a few pages of a collection ahead.
* Cerebrum: one ``/accounts/`` listing serves every account lookup (owner, name, e-mail,
  expiry). Cerebrum's documented listings carry neither the primary-account flag nor
  quarantines, so each candidate still costs ``/persons/<id>/accounts`` and
  ``/accounts/<name>/quarantines`` (2 calls instead of 3).
* SAP: one ``locations`` listing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from canvasbridge.clients.cerebrum import (
    Account,
    AccountRef,
    CerebrumClient,
    CerebrumPerson,
    Quarantines,
)
from canvasbridge.clients.fs.client import FsClient
from canvasbridge.clients.fs.identifiers import aktivitet_id, undervisning_id
from canvasbridge.clients.fs.models import Emne, Personrolle, Undervisning, Undervisningsaktivitet
from canvasbridge.errors import NotFoundError


class ListedCerebrum:
    """Cerebrum for deciding many users: accounts from one listing, the rest per person.

    Answers :meth:`account` from ``accounts`` (the whole ``/accounts/`` list, read once);
    an account missing from it is gone, as a 404 would say. A listed account without
    ``primary_email`` or ``active`` (Cerebrum's own list items carry only ``name``, ``id``,
    ``owner``, ``expire_date`` and ``np_type``) is read from ``/accounts/<name>`` instead, so
    no e-mail or expiry is taken from a field that was not sent. :meth:`person_accounts`,
    :meth:`quarantines` and :meth:`person` go to Cerebrum.
    """

    def __init__(self, client: CerebrumClient, accounts: list[Account]) -> None:
        self.client = client
        self._accounts = {a.name: a for a in accounts}

    def __len__(self) -> int:
        return len(self._accounts)

    def account(self, name: str) -> Account:
        try:
            listed = self._accounts[name]
        except KeyError:
            raise NotFoundError(f"cerebrum: no account named {name!r} in the account list") from None
        if {"primary_email", "active"} <= listed.model_fields_set:
            return listed
        return self.client.account(name)

    def person_accounts(self, person_id: int) -> list[AccountRef]:
        return self.client.person_accounts(person_id)

    def quarantines(self, name: str, *, context: str | None = None) -> Quarantines:
        return self.client.quarantines(name, context=context)

    def person(self, person_id: int) -> CerebrumPerson:
        return self.client.person(person_id)


@dataclass
class FsData:
    """FS as a full resync needs it, each collection read once."""

    persons: list[tuple[int | None, str | None]] = field(default_factory=list)  # (løpenummer, brukernavn)
    emner: list[Emne] = field(default_factory=list)
    units: list[Undervisning] = field(default_factory=list)
    activities: dict[str, list[Undervisningsaktivitet]] = field(default_factory=dict)  # by unit
    unit_students: dict[str, list[int]] = field(default_factory=dict)  # unit → løpenumre
    activity_students: dict[str, list[int]] = field(default_factory=dict)  # activity → løpenumre
    roles_by_unit: dict[str, list[Personrolle]] = field(default_factory=dict)


#: the top-level fields each collection's reader uses (FS's ``fields``; the models hold the
#: rest as optional), so FS sends no more than that
PERSON_FIELDS = "personlopenummer,brukernavn"
EMNE_FIELDS = "institusjon,kode,versjon,navn,organisasjonsenheter"
UNIT_FIELDS = "emne,semester,terminnummer,lukket,lms"
ACTIVITY_FIELDS = "undervisning,aktivitet,navn,lms"
ROLE_FIELDS = "person,rolle,undervisning,undervisningsaktivitet"
UNIT_STUDENT_FIELDS = "person,undervisning"
ACTIVITY_STUDENT_FIELDS = "person,undervisningsaktivitet"


def read_persons(fs: FsClient, pool: Executor) -> list[tuple[int | None, str | None]]:
    return [(p.personlopenummer, p.brukernavn) for p in fs.personer(fields=PERSON_FIELDS, pool=pool)]


def _activities(fs: FsClient, pool: Executor) -> dict[str, list[Undervisningsaktivitet]]:
    by_unit: dict[str, list[Undervisningsaktivitet]] = defaultdict(list)
    for activity in fs.undervisningsaktiviteter(fields=ACTIVITY_FIELDS, pool=pool):
        by_unit[activity.id.undervisning.display].append(activity)
    return by_unit


def _unit_students(fs: FsClient, pool: Executor) -> dict[str, list[int]]:
    students: dict[str, list[int]] = defaultdict(list)
    for number, href in fs.studentundervisning_refs(fields=UNIT_STUDENT_FIELDS, pool=pool):
        if number is not None:
            students[undervisning_id(href).display].append(number)
    return students


def _activity_students(fs: FsClient, pool: Executor) -> dict[str, list[int]]:
    students: dict[str, list[int]] = defaultdict(list)
    for number, href in fs.studentundervisningsaktivitet_refs(fields=ACTIVITY_STUDENT_FIELDS, pool=pool):
        if number is not None:
            students[aktivitet_id(href).display].append(number)
    return students


def _roles(fs: FsClient, pool: Executor) -> dict[str, list[Personrolle]]:
    by_unit: dict[str, list[Personrolle]] = defaultdict(list)
    for role in fs.personroller(fields=ROLE_FIELDS, pool=pool):
        if role.undervisning is not None:
            by_unit[undervisning_id(role.undervisning.href).display].append(role)
    return by_unit


#: FsData field → its reader (pages read on the pool given); the courses need the first
#: three, enrollments the rest
COURSE_READERS: dict[str, Callable[[FsClient, Executor], Any]] = {
    "emner": lambda fs, pool: list(fs.emner(fields=EMNE_FIELDS, pool=pool)),
    "units": lambda fs, pool: list(fs.undervisninger(fields=UNIT_FIELDS, pool=pool)),
    "activities": _activities,
}
ENROLLMENT_READERS: dict[str, Callable[[FsClient, Executor], Any]] = {
    "unit_students": _unit_students,
    "activity_students": _activity_students,
    "roles_by_unit": _roles,
}


def read_fs(fs: FsClient, pool: Executor, persons: Future[list[Any]], *, with_enrollments: bool) -> FsData:
    """Every collection the courses (and, if asked, enrollments) need, in parallel, each page
    read on ``pool`` (its size bounds the calls to FS at once)."""
    readers = {**COURSE_READERS, **(ENROLLMENT_READERS if with_enrollments else {})}
    with ThreadPoolExecutor(len(readers), thread_name_prefix="resync-fs-collection") as collections:
        futures = {name: collections.submit(read, fs, pool) for name, read in readers.items()}
        data = FsData(**{name: future.result() for name, future in futures.items()})
    if with_enrollments:
        data.persons = persons.result()
    return data
