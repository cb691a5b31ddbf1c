"""Every answer of the Cerebrum emulator, byte for byte, against Cerebrum REST API v1's
documented shapes (reference B.4) built here from the university's records.

The expected bodies are written out independently of the emulator's renderers, in the key
order the emulator has always sent, so any change to an answer (a field, its order, its
encoding, an envelope, a status, an error body) fails here, as does a stale answer after a
change of the data.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from canvasbridge_emulators.cerebrum import CerebrumChanges, create_app
from canvasbridge_emulators.common import EmulatorControl, ServerThread
from canvasbridge_emulators.university import Account, Group, OrgUnit, Person, University

KEY = {"X-API-Key": "cerebrum-key"}
CONTEXTS = ["AD_account", "LMS_account"]


@pytest.fixture(scope="module")
def uni() -> University:
    return University.generate("tiny", seed=1)


@pytest.fixture(scope="module")
def emulator(uni: University) -> Iterator[tuple[ServerThread, EmulatorControl, CerebrumChanges]]:
    app, _model, control, changes = create_app(uni)
    with ServerThread(app) as server:
        yield server, control, changes


@pytest.fixture(scope="module")
def server(emulator: tuple[ServerThread, EmulatorControl, CerebrumChanges]) -> ServerThread:
    return emulator[0]


@pytest.fixture
def api(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=KEY) as client:
        yield client


def _bytes(body: Any) -> bytes:
    """Cerebrum-style compact JSON, UTF-8, as the emulator has always rendered it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _seg(name: str) -> str:
    return quote(name, safe="")


def _iso_day(day: dt.date | None) -> str | None:
    return None if day is None else dt.datetime.combine(day, dt.time()).isoformat()


def _assert_answer(response: httpx.Response, status: int, body: Any) -> None:
    assert (response.status_code, response.content) == (status, _bytes(body)), response.request.url
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(response.content))


# ---------------------------------------------------------------- expected shapes (B.4)


def person(uni: University, p: Person, base: str) -> dict[str, Any]:
    source = "SAP" if p.is_staff else "FS"
    return {
        "href": f"{base}persons/{p.person_id}",
        "id": p.person_id,
        "birth_date": f"{p.birth_date.isoformat()}T00:00:00",
        "created_at": f"{uni.year - 1}-06-01T12:00:00",
        "names": [
            {"source_system": source, "variant": "FIRST", "name": p.first_name},
            {"source_system": source, "variant": "LAST", "name": p.last_name},
            {"source_system": "Cached", "variant": "FULL", "name": f"{p.first_name} {p.last_name}"},
        ],
        "contexts": [],
    }


def person_accounts(uni: University, p: Person, base: str) -> dict[str, Any]:
    return {
        "accounts": [
            {
                "href": f"{base}accounts/{_seg(name)}",
                "id": uni.accounts[name].account_id,
                "name": name,
                "primary": name == p.primary_account,
            }
            for name in p.account_names
        ]
    }


def external_ids(uni: University, p: Person) -> dict[str, Any]:
    ids = [("norwegianNationalId", p.national_id, "FS")]
    if p.fs_lopenummer is not None:
        ids.append(("fsPersonSerialNumber", str(p.fs_lopenummer), "FS"))
    if p.student_number is not None:
        ids.append(("studentNumber", str(p.student_number), "FS"))
    if p.sap_employee_id is not None:
        ids.append(("employeeNumber", str(p.sap_employee_id), "SAP"))
    return {"external_ids": [{"id_type": t, "external_id": v, "source_system": s} for t, v, s in ids]}


def affiliations(uni: University, p: Person) -> dict[str, Any]:
    items = []
    if p.is_staff and p.location_id is not None:
        items.append(("ANSATT", "vitenskapelig", uni.org_units[p.location_id].ou_id, "SAP"))
    if p.is_student:
        units = uni.units_of_student(p.fs_lopenummer or 0)
        location = uni.emner[uni.undervisning[units[0]].emne].location_id if units else uni.root_location_id
        items.append(("STUDENT", "aktiv", uni.org_units[location].ou_id, "FS"))
    return {
        "affiliations": [
            {
                "affiliation": aff,
                "status": status,
                "ou": {"id": ou_id},
                "create_date": f"{uni.year - 1}-08-01T00:00:00",
                "last_date": f"{uni.year}-08-01T00:00:00",
                "deleted_date": None,
                "source_system": source,
            }
            for aff, status, ou_id, source in items
        ]
    }


def account(uni: University, a: Account, base: str) -> dict[str, Any]:
    owner = uni.persons[a.owner_id]
    return {
        "href": f"{base}accounts/{_seg(a.name)}",
        "name": a.name,
        "id": a.account_id,
        "owner": {
            "id": owner.person_id,
            "type": "person",
            "name": f"{owner.first_name} {owner.last_name}",
            "href": f"{base}persons/{owner.person_id}",
        },
        "created_at": a.created_at.isoformat(),
        "expire_date": None if a.expire_date is None else a.expire_date.isoformat(),
        "contexts": CONTEXTS,
        "primary_email": f"{a.name}@uni.example.org",
        "active": a.expire_date is None or a.expire_date > dt.date.today(),
    }


def quarantines(a: Account) -> dict[str, Any]:
    today = dt.date.today()
    items = [
        {
            "type": q.type,
            "start": _iso_day(q.start),
            "end": _iso_day(q.end),
            "disable_until": None if q.disable_until is None else q.disable_until.isoformat(),
            "comment": q.comment or None,
            "active": q.active(today),
        }
        for q in a.quarantines
    ]
    return {"locked": any(q["active"] for q in items), "quarantines": items}


def list_item(a: Account, base: str) -> dict[str, Any]:
    return {
        "href": f"{base}accounts/{_seg(a.name)}",
        "name": a.name,
        "id": a.account_id,
        "owner": {"id": a.owner_id, "type": "person", "href": f"{base}persons/{a.owner_id}", "name": None},
        "expire_date": None if a.expire_date is None else a.expire_date.isoformat(),
        "np_type": None,
    }


def group_item(g: Group, base: str) -> dict[str, Any]:
    return {
        "href": f"{base}groups/{_seg(g.name)}",
        "id": g.group_id,
        "name": g.name,
        "visibility": {"A": "all", "I": "internal", "N": "none"}.get(g.visibility, "all"),
        "description": g.description,
        "created_at": g.created_at.isoformat(),
        "expire_date": None,
    }


def group(g: Group, base: str) -> dict[str, Any]:
    href = f"{base}groups/{_seg(g.name)}"
    return {
        **group_item(g, base),
        "contexts": [],
        "moderators": f"{href}/moderators/",
        "members": f"{href}/members/",
    }


def members(uni: University, g: Group, base: str) -> dict[str, Any]:
    return {
        "members": [
            {
                "href": f"{base}accounts/{_seg(n)}",
                "id": uni.accounts[n].account_id,
                "type": "account",
                "name": n,
            }
            for n in g.members
            if n in uni.accounts
        ]
    }


def ou(o: OrgUnit, base: str) -> dict[str, Any]:
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


# ---------------------------------------------------------------- the answers


def _check_everything(api: httpx.Client, uni: University) -> None:
    base = f"{api.base_url}".rstrip("/") + "/v1/"
    for p in uni.persons.values():
        _assert_answer(api.get(f"/v1/persons/{p.person_id}"), 200, person(uni, p, base))
        _assert_answer(api.get(f"/v1/persons/{p.person_id}/accounts"), 200, person_accounts(uni, p, base))
        _assert_answer(api.get(f"/v1/persons/{p.person_id}/external-ids"), 200, external_ids(uni, p))
        _assert_answer(api.get(f"/v1/persons/{p.person_id}/affiliations"), 200, affiliations(uni, p))
    for a in uni.accounts.values():
        _assert_answer(api.get(f"/v1/accounts/{_seg(a.name)}"), 200, account(uni, a, base))
        _assert_answer(api.get(f"/v1/accounts/{_seg(a.name)}/quarantines"), 200, quarantines(a))
        mine = [group_item(g, base) for g in uni.groups.values() if a.name in g.members]
        _assert_answer(api.get(f"/v1/accounts/{_seg(a.name)}/groups"), 200, {"groups": mine})
    _assert_answer(
        api.get("/v1/accounts/"), 200, {"accounts": [list_item(a, base) for a in uni.accounts.values()]}
    )
    for g in uni.groups.values():
        _assert_answer(api.get(f"/v1/groups/{_seg(g.name)}"), 200, group(g, base))
        _assert_answer(api.get(f"/v1/groups/{_seg(g.name)}/members/"), 200, members(uni, g, base))
        _assert_answer(
            api.get(f"/v1/groups/{_seg(g.name)}/members/", params={"type": "account"}),
            200,
            members(uni, g, base),
        )
        _assert_answer(
            api.get(f"/v1/groups/{_seg(g.name)}/members/", params={"type": "person"}), 200, {"members": []}
        )
    for o in uni.org_units.values():
        _assert_answer(api.get(f"/v1/ous/{o.ou_id}"), 200, ou(o, base))


def test_every_answer_has_cerebrums_shape(api: httpx.Client, uni: University) -> None:
    _check_everything(api, uni)


def test_the_base_of_every_href_is_the_requests_own(server: ServerThread, uni: University) -> None:
    p = next(iter(uni.persons.values()))
    a = uni.accounts[p.account_names[0]]
    for host in ("cerebrum.example.org", "cerebrum.example.org:8443", server.url.removeprefix("http://")):
        with httpx.Client(base_url=server.url, headers={**KEY, "Host": host}) as client:
            base = f"http://{host}/v1/"
            _assert_answer(client.get(f"/v1/persons/{p.person_id}"), 200, person(uni, p, base))
            _assert_answer(client.get(f"/v1/accounts/{a.name}"), 200, account(uni, a, base))
            listing = {"accounts": [list_item(x, base) for x in uni.accounts.values()]}
            _assert_answer(client.get("/v1/accounts/"), 200, listing)


def test_account_list_filters_answer_the_matching_items(api: httpx.Client, uni: University) -> None:
    base = f"{api.base_url}".rstrip("/") + "/v1/"
    owner = next(p for p in uni.persons.values() if len(p.account_names) > 1)
    cases: list[tuple[dict[str, Any], list[Account]]] = [
        ({"owner_id": owner.person_id}, [uni.accounts[n] for n in owner.account_names]),
        ({"name": owner.account_names[0][:2].upper() + "*"}, []),
        ({"owner_type": "person"}, list(uni.accounts.values())),
        ({"owner_type": "group"}, []),
        ({"context": "LMS_account"}, list(uni.accounts.values())),
        ({"context": "nothing"}, []),
        ({"expire_start": "1900-01-01", "expire_stop": "2999-12-31"}, []),
    ]
    prefix = owner.account_names[0][:2].lower()
    cases[1] = (cases[1][0], [a for a in uni.accounts.values() if a.name.lower().startswith(prefix)])
    cases[-1] = (cases[-1][0], [a for a in uni.accounts.values() if a.expire_date is not None])
    for params, expected in cases:
        expected = sorted(expected, key=list(uni.accounts.values()).index)
        _assert_answer(
            api.get("/v1/accounts/", params=params), 200, {"accounts": [list_item(a, base) for a in expected]}
        )
    _assert_answer(
        api.get("/v1/accounts/", params={"owner_id": "abc"}),
        400,
        {"message": "Input payload validation failed", "errors": "owner_id: not an integer"},
    )
    _assert_answer(
        api.get("/v1/accounts/", params={"expire_start": "soon"}),
        400,
        {"message": "Input payload validation failed", "errors": "expire_start: not a date"},
    )


def test_search_answers(api: httpx.Client, uni: University) -> None:
    base = f"{api.base_url}".rstrip("/") + "/v1/"
    p = next(uni.students())
    hit = {"href": f"{base}persons/{p.person_id}", "person_id": p.person_id, "source_system": "FS"}
    _assert_answer(
        api.get("/v1/search/persons/external-ids", params={"external_id": str(p.fs_lopenummer)}),
        200,
        {"external_ids": [{**hit, "id_type": "fsPersonSerialNumber"}]},
    )
    _assert_answer(
        api.get("/v1/search/persons/external-ids", params={"external_id": f"*{p.national_id}?"}),
        200,
        {"external_ids": [{**hit, "id_type": "norwegianNationalId"}]},
    )
    _assert_answer(
        api.get(
            "/v1/search/persons/external-ids",
            params={"external_id": p.national_id, "id_type": "norwegianNationalId", "source_system": "SAP"},
        ),
        200,
        {"external_ids": []},
    )
    _assert_answer(
        api.get("/v1/search/persons/external-ids"),
        400,
        {"message": "Input payload validation failed", "errors": "external_id: Missing required parameter"},
    )


def test_errors_answer_cerebrums_bodies(server: ServerThread, api: httpx.Client) -> None:
    for path, message in (
        ("/v1/persons/1", "No such person with entity_id=1"),
        ("/v1/persons/1/accounts", "No such person with entity_id=1"),
        ("/v1/persons/007/external-ids", "No such person with entity_id=7"),
        ("/v1/persons/1/affiliations", "No such person with entity_id=1"),
        ("/v1/accounts/nobody", "No such account with name=nobody"),
        ("/v1/accounts/n%C3%A5en/quarantines", "No such account with name=nåen"),
        ("/v1/accounts/nobody/groups", "No such account with name=nobody"),
        ("/v1/groups/nogroup", "No such group with name=nogroup"),
        ("/v1/groups/nogroup/members/", "No such group with name=nogroup"),
        ("/v1/ous/1", "No such OU with entity_id=1"),
    ):
        _assert_answer(api.get(path), 404, {"message": message})
    person = "/v1/persons/1"
    for headers, message in (
        ({}, "Missing API key in header"),
        ({"X-API-Key": "nope"}, "Invalid API key in header"),
    ):
        answer = httpx.get(f"{server.url}{person}", headers=headers)
        _assert_answer(answer, 403, {"message": message, "api-key-header": "X-API-Key"})
    assert httpx.get(f"{server.url}/v1/accounts/", headers={"x-api-key": "cerebrum-key"}).status_code == 200


def test_what_no_route_serves_is_answered_as_starlette_does(server: ServerThread, api: httpx.Client) -> None:
    for path in ("/v1/persons/x", "/v1/nothing", "/v1/persons/1/accounts/x", "/v1/accounts/a/b/c"):
        answer = api.get(path)
        assert (answer.status_code, answer.text) == (404, "Not Found"), path
    posted = api.post("/v1/accounts/olan")
    assert (posted.status_code, posted.text) == (405, "Method Not Allowed")
    assert set(posted.headers["allow"].split(", ")) == {"GET", "HEAD"}  # Starlette's order is a set's
    redirect = api.get("/v1/accounts", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (307, f"{server.url}/v1/accounts/")
    head = api.head("/v1/accounts/")
    assert head.status_code == 200 and head.headers["content-type"] == "application/json" and not head.content


def test_requests_are_counted_per_route_template(
    emulator: tuple[ServerThread, EmulatorControl, CerebrumChanges], api: httpx.Client, uni: University
) -> None:
    server, control, _changes = emulator
    p = next(iter(uni.persons.values()))
    control.clear_stats()
    api.get(f"/v1/persons/{p.person_id}/accounts")
    api.get(f"/v1/accounts/{p.account_names[0]}/quarantines")
    api.get("/v1/accounts/nobody")
    httpx.get(f"{server.url}/v1/persons/{p.person_id}")  # no key
    assert control.stats()["requests"] == {
        "GET /v1/persons/{id:int}/accounts": {"200": 1},
        "GET /v1/accounts/{name}/quarantines": {"200": 1},
        "GET /v1/accounts/{name}": {"404": 1},
        "GET /v1/persons/{id:int}": {"403": 1},
    }


def test_answers_follow_every_change(
    emulator: tuple[ServerThread, EmulatorControl, CerebrumChanges], api: httpx.Client, uni: University
) -> None:
    """Runs last in this module: it changes the university (reset at the end)."""
    _server, control, changes = emulator
    _check_everything(api, uni)  # answers seen before the changes, then after each one
    try:
        changes.apply("person.create", {"first_name": "Åse", "last_name": "Ødegård"})
        new = next(p for p in uni.persons.values() if p.first_name == "Åse")
        changes.apply("account.create", {"person_id": new.person_id, "name": "åse.ø"})
        _check_everything(api, uni)
        changes.apply("account.set_primary", {"person_id": new.person_id, "name": "åse.ø"})
        changes.apply("account.quarantine", {"name": "åse.ø", "comment": "låst"})
        changes.apply("person.modify", {"person_id": new.person_id, "last_name": "Berg"})
        group_name = next(iter(uni.groups))
        changes.apply("group.add_member", {"group": group_name, "account": "åse.ø"})
        _check_everything(api, uni)
        changes.apply("account.release", {"name": "åse.ø"})
        changes.apply("group.remove_member", {"group": group_name, "account": "åse.ø"})
        _check_everything(api, uni)
    finally:
        control.reset()
    assert "åse.ø" not in uni.accounts
    _check_everything(api, uni)
