"""Cerebrum's view of the university: persons, accounts, quarantines, groups, OUs.

Renders records in the shapes of Cerebrum REST API v1 (reference B.4). All ids are
Cerebrum entity ids; accounts and groups are addressed by name.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from typing import Any
from urllib.parse import quote

from canvasbridge_emulators.cerebrum.exceptions import BadRequest, NotFound
from canvasbridge_emulators.university import EMAIL_DOMAIN, Account, Group, OrgUnit, Person, University

DEFAULT_API_KEY_HEADER = "X-API-Key"  # what UiO's password app sends; Cerebrum's default is X-Auth-Key
SOURCE_SYSTEMS = {"FS": "FS", "SAP": "SAP"}
VISIBILITY = {"A": "all", "I": "internal", "N": "none"}
CONTEXTS = ["AD_account", "LMS_account"]  # spreads shown on accounts (names invented)


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _int_filter(filters: dict[str, str], key: str) -> int | None:
    if key not in filters:
        return None
    try:
        return int(filters[key])
    except ValueError:
        raise BadRequest("Input payload validation failed", errors=f"{key}: not an integer") from None


def _date_filter(filters: dict[str, str], key: str) -> dt.date | None:
    if key not in filters:
        return None
    try:
        return dt.date.fromisoformat(filters[key][:10])
    except ValueError:
        raise BadRequest("Input payload validation failed", errors=f"{key}: not a date") from None


class CerebrumModel:
    def __init__(self, university: University, *, api_keys: dict[str, str], header: str) -> None:
        self.university = university
        self.api_keys = api_keys  # key -> client name
        self.header = header

    # ------------------------------------------------------------------ lookups

    def person(self, person_id: int) -> Person:
        try:
            return self.university.person(person_id)
        except KeyError:
            raise NotFound(f"No such person with entity_id={person_id}") from None

    def account(self, name: str) -> Account:
        try:
            return self.university.account(name)
        except KeyError:
            raise NotFound(f"No such account with name={name}") from None

    def group(self, name: str) -> Group:
        try:
            return self.university.group(name)
        except KeyError:
            raise NotFound(f"No such group with name={name}") from None

    def ou(self, ou_id: int) -> OrgUnit:
        try:
            return self.university.org_unit_by_ou_id(ou_id)
        except KeyError:
            raise NotFound(f"No such OU with entity_id={ou_id}") from None

    # ------------------------------------------------------------------ renderers

    def render_person(self, p: Person, base: str) -> dict[str, Any]:
        source = "SAP" if p.is_staff else "FS"
        return {
            "href": f"{base}persons/{p.person_id}",
            "id": p.person_id,
            "birth_date": p.birth_date.isoformat() + "T00:00:00",
            "created_at": _iso(dt.datetime(self.university.year - 1, 6, 1, 12, 0, 0)),
            "names": [
                {"source_system": source, "variant": "FIRST", "name": p.first_name},
                {"source_system": source, "variant": "LAST", "name": p.last_name},
                {"source_system": "Cached", "variant": "FULL", "name": p.full_name},
            ],
            "contexts": [],
        }

    def render_person_accounts(self, p: Person, base: str) -> dict[str, Any]:
        uni = self.university
        return {
            "accounts": [
                {
                    "href": f"{base}accounts/{quote(name, safe='')}",
                    "id": uni.account(name).account_id,
                    "name": name,
                    "primary": name == p.primary_account,
                }
                for name in p.account_names
            ]
        }

    def render_external_ids(self, p: Person) -> dict[str, Any]:
        return {
            "external_ids": [
                {"id_type": t, "external_id": v, "source_system": s}
                for t, v, s in self.university.external_ids(p.person_id)
            ]
        }

    def render_affiliations(self, p: Person) -> dict[str, Any]:
        uni = self.university
        items = []
        if p.is_staff and p.location_id is not None:
            items.append(("ANSATT", "vitenskapelig", uni.org_unit(p.location_id).ou_id, "SAP"))
        if p.is_student:
            units = uni.units_of_student(p.fs_lopenummer or 0)
            location = uni.emne(uni.unit(units[0]).emne).location_id if units else uni.root_location_id
            items.append(("STUDENT", "aktiv", uni.org_unit(location).ou_id, "FS"))
        return {
            "affiliations": [
                {
                    "affiliation": aff,
                    "status": status,
                    "ou": {"id": ou_id},
                    "create_date": _iso(dt.datetime(uni.year - 1, 8, 1)),
                    "last_date": _iso(dt.datetime(uni.year, 8, 1)),
                    "deleted_date": None,
                    "source_system": source,
                }
                for aff, status, ou_id, source in items
            ]
        }

    def render_account(self, a: Account, base: str) -> dict[str, Any]:
        owner = self.university.person(a.owner_id)
        today = dt.date.today()
        return {
            "href": f"{base}accounts/{quote(a.name, safe='')}",
            "name": a.name,
            "id": a.account_id,
            "owner": {
                "id": owner.person_id,
                "type": "person",
                "name": owner.full_name,
                "href": f"{base}persons/{owner.person_id}",
            },
            "created_at": _iso(a.created_at),
            "expire_date": _iso(a.expire_date),
            "contexts": list(CONTEXTS),
            "primary_email": f"{a.name}@{EMAIL_DOMAIN}",
            "active": a.expire_date is None or a.expire_date > today,
        }

    def list_accounts(self, filters: dict[str, str], base: str) -> dict[str, Any]:
        """``/accounts/``: every account matching all filters, as Cerebrum's list items.

        ``name`` takes Cerebrum's wildcards (``*``, ``?``), case-insensitively; ``context``
        is a context (spread) the account has; ``owner_type`` is ``person`` or ``group``;
        ``expire_start``/``expire_stop`` bound the expire date (ISO dates, inclusive), so an
        account without one matches neither. The envelope is ``accounts``, as Cerebrum names
        its list envelopes after their content; there is no paging. An item is not the
        ``/accounts/<name>`` answer: no e-mail, ``active``, contexts or creation time.
        """
        name = filters.get("name")
        pattern = re.compile(fnmatch.translate(name), re.IGNORECASE) if name else None
        owner_id = _int_filter(filters, "owner_id")
        owner_type = filters.get("owner_type")
        start = _date_filter(filters, "expire_start")
        stop = _date_filter(filters, "expire_stop")
        context = filters.get("context")
        items = []
        for a in self.university.accounts.values():
            if pattern is not None and not pattern.match(a.name):
                continue
            if owner_id is not None and a.owner_id != owner_id:
                continue
            if owner_type is not None and owner_type != "person":  # every account here is a person's
                continue
            if context is not None and context not in CONTEXTS:
                continue
            if start is not None and (a.expire_date is None or a.expire_date < start):
                continue
            if stop is not None and (a.expire_date is None or a.expire_date > stop):
                continue
            items.append(self._account_list_item(a, base))
        return {"accounts": items}

    def _account_list_item(self, a: Account, base: str) -> dict[str, Any]:
        # Cerebrum's list item: its owner has only id and type (href follows from them, the
        # name is not looked up, so null); np_type is null for a personal account.
        return {
            "href": f"{base}accounts/{quote(a.name, safe='')}",
            "name": a.name,
            "id": a.account_id,
            "owner": {
                "id": a.owner_id,
                "type": "person",
                "href": f"{base}persons/{a.owner_id}",
                "name": None,
            },
            "expire_date": _iso(a.expire_date),
            "np_type": None,
        }

    def render_quarantines(self, a: Account) -> dict[str, Any]:
        today = dt.date.today()
        items = [
            {
                "type": q.type,
                "start": _iso(dt.datetime.combine(q.start, dt.time())),
                "end": _iso(dt.datetime.combine(q.end, dt.time())) if q.end else None,
                "disable_until": _iso(q.disable_until),
                "comment": q.comment or None,
                "active": q.active(today),
            }
            for q in a.quarantines
        ]
        return {"locked": any(i["active"] for i in items), "quarantines": items}

    def render_account_groups(self, a: Account, base: str) -> dict[str, Any]:
        groups = [g for g in self.university.groups.values() if a.name in g.members]
        return {"groups": [self._group_item(g, base) for g in groups]}

    def _group_item(self, g: Group, base: str) -> dict[str, Any]:
        return {
            "href": f"{base}groups/{quote(g.name, safe='')}",
            "id": g.group_id,
            "name": g.name,
            "visibility": VISIBILITY.get(g.visibility, "all"),
            "description": g.description,
            "created_at": _iso(g.created_at),
            "expire_date": None,
        }

    def render_group(self, g: Group, base: str) -> dict[str, Any]:
        href = f"{base}groups/{quote(g.name, safe='')}"
        return {
            **self._group_item(g, base),
            "contexts": [],
            "moderators": f"{href}/moderators/",
            "members": f"{href}/members/",
        }

    def render_members(self, g: Group, base: str, member_type: str | None) -> dict[str, Any]:
        if member_type not in (None, "account"):
            return {"members": []}
        uni = self.university
        return {
            "members": [
                {
                    "href": f"{base}accounts/{quote(name, safe='')}",
                    "id": uni.account(name).account_id,
                    "type": "account",
                    "name": name,
                }
                for name in g.members
                if name in uni.accounts
            ]
        }

    def render_ou(self, o: OrgUnit, base: str) -> dict[str, Any]:
        return {
            "href": f"{base}ous/{o.ou_id}",
            "id": o.ou_id,
            "contact": [],
            "names": [
                {"source_system": "SAP", "variant": "name", "language": "nb", "name": o.name_nb},
                {"source_system": "SAP", "variant": "name", "language": "en", "name": o.name_en},
                {"source_system": "SAP", "variant": "acronym", "language": "nb", "name": o.acronym},
            ],
            "contexts": [],
            "stedkode": o.stedkode,
            "fakultet": o.fakultet,
            "institutt": o.institutt,
            "avdeling": o.gruppe,
        }

    def search_external_ids(
        self, external_id: str, id_types: list[str], source_systems: list[str], base: str
    ) -> dict[str, Any]:
        value = external_id.replace("*", "").replace("?", "")
        uni = self.university
        types = id_types or ["norwegianNationalId", "studentNumber", "fsPersonSerialNumber", "employeeNumber"]
        hits = []
        for id_type in types:
            for person in uni.find_by_external_id(id_type, value):
                for t, v, source in uni.external_ids(person.person_id):
                    if t == id_type and v == value and (not source_systems or source in source_systems):
                        hits.append(
                            {
                                "href": f"{base}persons/{person.person_id}",
                                "person_id": person.person_id,
                                "source_system": source,
                                "id_type": id_type,
                            }
                        )
        return {"external_ids": hits}

    def state(self) -> dict[str, Any]:
        return self.university.summary()
