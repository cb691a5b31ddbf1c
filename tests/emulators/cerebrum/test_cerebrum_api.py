"""The Cerebrum emulator over HTTP: persons, accounts (primary flag), quarantines,
external-id search, groups, OUs, and the API-key check."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from canvasbridge_emulators.cerebrum import create_app
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.university import University

KEY = {"X-API-Key": "cerebrum-key"}


@pytest.fixture(scope="module")
def uni() -> University:
    return University.generate("tiny", seed=1)


@pytest.fixture(scope="module")
def server(uni: University) -> Iterator[ServerThread]:
    app, _model, _control, _changes = create_app(uni)
    with ServerThread(app) as server:
        yield server


@pytest.fixture
def api(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/v1", headers=KEY) as client:
        yield client


def test_person_and_its_accounts_with_the_primary_flag(api: httpx.Client, uni: University) -> None:
    person = next(p for p in uni.persons.values() if len(p.account_names) > 1)
    body = api.get(f"/persons/{person.person_id}").raise_for_status().json()
    assert body["id"] == person.person_id and body["href"].endswith(f"/v1/persons/{person.person_id}")
    assert {"source_system", "variant", "name"} <= set(body["names"][0])
    accounts = api.get(f"/persons/{person.person_id}/accounts").json()["accounts"]
    assert [a["name"] for a in accounts] == person.account_names
    assert [a["name"] for a in accounts if a["primary"]] == [person.primary_account]
    for account in accounts:
        assert api.get(account["href"]).json()["owner"]["id"] == person.person_id


def test_account_shape(api: httpx.Client, uni: University) -> None:
    name = next(iter(uni.accounts))
    body = api.get(f"/accounts/{name}").json()
    assert {
        "href",
        "name",
        "id",
        "owner",
        "created_at",
        "expire_date",
        "contexts",
        "primary_email",
        "active",
    } <= set(body)
    assert body["active"] is True and body["owner"]["type"] == "person"


def test_quarantines_say_locked(api: httpx.Client, uni: University) -> None:
    locked = next(n for n in uni.accounts if uni.is_locked(n))
    free = next(n for n in uni.accounts if not uni.accounts[n].quarantines)
    body = api.get(f"/accounts/{locked}/quarantines").json()
    assert body["locked"] is True
    assert body["quarantines"] and {"type", "start", "end", "disable_until", "comment", "active"} <= set(
        body["quarantines"][0]
    )
    assert api.get(f"/accounts/{free}/quarantines").json() == {"locked": False, "quarantines": []}


def test_external_ids_and_search(api: httpx.Client, uni: University) -> None:
    person = next(uni.students())
    ids = api.get(f"/persons/{person.person_id}/external-ids").json()["external_ids"]
    fs_number = next(i for i in ids if i["id_type"] == "fsPersonSerialNumber")
    assert fs_number["external_id"] == str(person.fs_lopenummer)
    found = api.get(
        "/search/persons/external-ids",
        params={
            "external_id": fs_number["external_id"],
            "id_type": "fsPersonSerialNumber",
            "source_system": "FS",
        },
    ).json()
    assert [(h["person_id"], h["id_type"]) for h in found["external_ids"]] == [
        (person.person_id, "fsPersonSerialNumber")
    ]
    assert api.get("/search/persons/external-ids", params={"external_id": "0"}).json() == {"external_ids": []}
    assert api.get("/search/persons/external-ids").status_code == 400


def test_groups_and_members(api: httpx.Client, uni: University) -> None:
    group = next(g for g in uni.groups.values() if g.members)
    body = api.get(f"/groups/{group.name}").json()
    assert body["visibility"] == "all"
    members = httpx.get(body["members"], headers=KEY).json()["members"]
    assert [m["name"] for m in members] == group.members
    assert all(m["type"] == "account" for m in members)
    assert {frozenset(m) for m in members} == {frozenset({"href", "id", "type", "name"})}  # Cerebrum's items
    assert group.name in [g["name"] for g in api.get(f"/accounts/{group.members[0]}/groups").json()["groups"]]


def test_ou_and_affiliations(api: httpx.Client, uni: University) -> None:
    staff = next(uni.staff())
    affiliations = api.get(f"/persons/{staff.person_id}/affiliations").json()["affiliations"]
    ou_id = affiliations[0]["ou"]["id"]
    ou = api.get(f"/ous/{ou_id}").json()
    assert ou["stedkode"] == uni.org_unit(staff.location_id).stedkode  # type: ignore[arg-type]


def test_missing_things_answer_404_with_a_message(api: httpx.Client) -> None:
    for path in (
        "/persons/1",
        "/accounts/nobody",
        "/groups/nogroup",
        "/ous/1",
        "/accounts/nobody/quarantines",
    ):
        answer = api.get(path)
        assert answer.status_code == 404 and "message" in answer.json(), path


def test_wrong_or_missing_key_gets_cerebrums_403(server: ServerThread, uni: University) -> None:
    person = next(iter(uni.persons))
    wrong = httpx.get(f"{server.url}/v1/persons/{person}", headers={"X-API-Key": "nope"})
    assert wrong.status_code == 403
    assert wrong.json() == {"message": "Invalid API key in header", "api-key-header": "X-API-Key"}
    missing = httpx.get(f"{server.url}/v1/persons/{person}")
    assert missing.status_code == 403 and missing.json()["message"] == "Missing API key in header"


def test_header_name_is_configurable(uni: University) -> None:
    app, *_ = create_app(uni, api_key="k", header="X-Auth-Key")
    with ServerThread(app) as server:
        person = next(iter(uni.persons))
        assert httpx.get(f"{server.url}/v1/persons/{person}", headers={"X-Auth-Key": "k"}).status_code == 200
        assert httpx.get(f"{server.url}/v1/persons/{person}", headers={"X-API-Key": "k"}).status_code == 403


def test_account_list_holds_every_account_as_cerebrums_list_item(api: httpx.Client, uni: University) -> None:
    """Cerebrum's list items are not the single-account answer: no e-mail, no ``active``."""
    listed = api.get("/accounts/").raise_for_status().json()["accounts"]
    assert sorted(a["name"] for a in listed) == sorted(uni.accounts)
    one = next(a for a in listed if a["name"] == next(iter(uni.accounts)))
    whole = api.get(f"/accounts/{one['name']}").json()
    assert set(one) == {"href", "name", "id", "owner", "expire_date", "np_type"}
    assert (one["href"], one["id"], one["expire_date"]) == (whole["href"], whole["id"], whole["expire_date"])
    assert one["owner"] == {
        "id": whole["owner"]["id"],
        "type": "person",
        "href": whole["owner"]["href"],
        "name": None,
    }
    assert one["np_type"] is None  # a personal account
    assert all("primary_email" not in a and "active" not in a for a in listed)


def test_account_list_filters(api: httpx.Client, uni: University) -> None:
    person = next(p for p in uni.persons.values() if len(p.account_names) > 1)
    mine = api.get("/accounts/", params={"owner_id": person.person_id}).json()["accounts"]
    assert sorted(a["name"] for a in mine) == sorted(person.account_names)
    assert {a["owner"]["id"] for a in mine} == {person.person_id}
    name = person.account_names[0]
    pattern = name[:2].upper() + "*"  # Cerebrum's wildcards, case-insensitive
    by_name = api.get("/accounts/", params={"name": pattern}).json()["accounts"]
    assert name in {a["name"] for a in by_name}
    assert all(a["name"].lower().startswith(name[:2].lower()) for a in by_name)
    assert api.get("/accounts/", params={"owner_type": "group"}).json() == {"accounts": []}
    expiring = [a for a in uni.accounts.values() if a.expire_date is not None]
    window = api.get("/accounts/", params={"expire_start": "1900-01-01", "expire_stop": "2999-12-31"}).json()[
        "accounts"
    ]
    assert sorted(a["name"] for a in window) == sorted(a.name for a in expiring)


def test_account_list_refuses_a_bad_filter(api: httpx.Client) -> None:
    response = api.get("/accounts/", params={"owner_id": "abc"})
    assert response.status_code == 400
    assert "owner_id" in response.json()["errors"]
