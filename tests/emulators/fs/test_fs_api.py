"""The FS emulator over HTTP: auth (Basic, JWT Bearer, expiry), collections, references,
identifier formats and filters."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.fs import create_app
from canvasbridge_emulators.university import University

AUTH = ("fs", "fs-secret")
RESOURCES = (
    "personer",
    "emner",
    "undervisning",
    "undervisningsaktiviteter",
    "personroller",
    "studentundervisning",
    "studentundervisningsaktiviteter",
    "organisasjonsenheter",
)


@pytest.fixture(scope="module")
def uni() -> University:
    return University.generate("tiny", seed=1)


@pytest.fixture(scope="module")
def server(uni: University) -> Iterator[ServerThread]:
    app, _model, _control, _changes = create_app(uni)
    with ServerThread(app) as server:
        yield server


@pytest.fixture
def fs(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, auth=AUTH) as client:
        yield client


def walk(client: httpx.Client, url: str, **params: object) -> list[dict]:
    """Every item of a collection, following ``next`` links; checks the page envelope."""
    items: list[dict] = []
    page = client.get(url, params=params).raise_for_status().json()
    pages = 0
    while True:
        pages += 1
        assert {"href", "page", "limit", "size", "first", "previous", "next", "last", "items"} <= set(page)
        assert page["page"] == pages
        assert (page["previous"] is None) == (pages == 1)
        items.extend(page["items"])
        if page["next"] is None:
            assert page["last"]["href"] == page["href"]
            break
        page = client.get(page["next"]["href"]).raise_for_status().json()
    assert len(items) == page["size"]
    return items


@pytest.mark.parametrize("resource", RESOURCES)
def test_every_resource_pages_and_every_reference_resolves(fs: httpx.Client, resource: str) -> None:
    items = walk(fs, f"/{resource}", limit=2)
    assert len(items) > 2, "the tiny university should give several pages"
    for item in items:
        assert set(item) == {"href"}
        full = fs.get(item["href"]).raise_for_status().json()
        assert full["href"] == item["href"]


def test_collection_sizes_match_the_university(fs: httpx.Client, uni: University) -> None:
    def size(resource: str) -> int:
        return fs.get(f"/{resource}", params={"limit": 1}).json()["size"]

    assert size("undervisning") == len(uni.undervisning)
    assert size("undervisningsaktiviteter") == len(uni.aktiviteter)
    assert size("studentundervisning") == uni.count_unit_participations()
    assert size("organisasjonsenheter") == len(uni.org_units)


def test_limit_zero_gives_everything_on_one_page(fs: httpx.Client, uni: University) -> None:
    page = fs.get("/undervisning", params={"limit": 0}).json()
    assert len(page["items"]) == len(uni.undervisning) and page["next"] is None


def test_identifiers_are_comma_parts_with_the_term_url_encoded(fs: httpx.Client, uni: University) -> None:
    autumn = next(u for u in uni.undervisning.values() if u.term == "HØST")
    href = fs.get("/undervisning", params={"limit": 0}).json()["items"]
    assert any(i["href"].endswith("/undervisning/" + autumn.key.replace("HØST", "H%C3%98ST")) for i in href)
    unit = fs.get("/undervisning/" + quote(autumn.key, safe=",")).raise_for_status().json()
    assert unit["semester"] == {"href": unit["semester"]["href"], "ar": autumn.year, "termin": "HØST"}
    assert unit["semester"]["href"].endswith(f"semestre/{autumn.year},H%C3%98ST")
    assert unit["emne"]["href"].endswith("emner/" + autumn.emne)
    assert unit["lms"]["eksport"] is autumn.lms_eksport
    assert fs.get(unit["semester"]["href"]).json()["termin"] == "HØST"


def test_activity_shows_export_and_own_course_flags_and_its_owner(fs: httpx.Client, uni: University) -> None:
    activity = next(a for a in uni.aktiviteter.values() if a.aktivitet == "2-1")
    body = fs.get("/undervisningsaktiviteter/" + quote(activity.key, safe=",")).json()
    assert body["lms"] == {"eksport": activity.lms_eksport, "romMal": activity.rom_mal, "lopenummer": None}
    assert len(body["href"].rsplit("/", 1)[1].split(",")) == 7
    owner = fs.get(body["eier"]["href"]).raise_for_status().json()
    assert owner["aktivitet"] == "1"
    assert fs.get(body["undervisning"]["href"]).status_code == 200


def test_filters_find_the_units_of_an_emne_in_a_term(fs: httpx.Client, uni: University) -> None:
    unit = next(iter(uni.undervisning.values()))
    inst, kode, versjon = unit.emne.split(",")
    items = walk(
        fs,
        "/undervisning",
        **{"emne.institusjon": inst, "emne.kode": kode, "emne.versjon": versjon},
        **{"semester.ar": unit.year, "semester.termin": unit.term},
    )
    assert [i["href"].rsplit("/", 1)[1] for i in items] == [quote(unit.key, safe=",")]


def test_participation_of_one_unit_and_one_group(fs: httpx.Client, uni: University) -> None:
    unit = max(uni.undervisning.values(), key=lambda u: len(uni.participants(u.key)))
    inst, kode, versjon = unit.emne.split(",")
    unit_filter = {
        "undervisning.emne.institusjon": inst,
        "undervisning.emne.kode": kode,
        "undervisning.emne.versjon": versjon,
        "undervisning.semester.ar": unit.year,
        "undervisning.semester.termin": unit.term,
        "undervisning.terminnummer": unit.terminnummer,
    }
    items = walk(fs, "/studentundervisning", limit=2, fields="*", **unit_filter)
    assert sorted(i["person"]["personlopenummer"] for i in items) == sorted(uni.participants(unit.key))
    group = next(a for a in uni.activities_of(unit.key) if a.aktivitet == "2-1")
    group_filter = {f"undervisningsaktivitet.{k}": v for k, v in unit_filter.items()}
    members = walk(
        fs, "/studentundervisningsaktiviteter", fields="person", **group_filter,
        **{"undervisningsaktivitet.aktivitet": "2-1"},
    )  # fmt: skip
    assert sorted(m["person"]["personlopenummer"] for m in members) == sorted(
        uni.activity_participants(group.key)
    )
    roles = walk(fs, "/personroller", fields="*", **unit_filter)
    assert {r["rolle"]["href"].rsplit("/", 1)[1] for r in roles} >= {"FAGANSVAR", "GRUPPEL%C3%86RER"}


def test_a_persons_roles_and_the_person(fs: httpx.Client, uni: University) -> None:
    role = next(iter(uni.personroller.values()))
    roles = walk(fs, "/personroller", **{"person.personlopenummer": role.fs_lopenummer})
    assert len(roles) == len(uni.roles_of_person(role.fs_lopenummer))
    body = fs.get(roles[0]["href"]).json()
    person = fs.get(body["person"]["href"]).json()
    assert person["personlopenummer"] == role.fs_lopenummer and person["fagperson"] is True
    assert fs.get(body["rolle"]["href"]).status_code == 200


def test_org_unit_links_its_parent(fs: httpx.Client, uni: University) -> None:
    institute = next(u for u in uni.org_units.values() if u.institutt and not u.gruppe)
    body = fs.get(f"/organisasjonsenheter/{institute.fs_key}").json()
    (parent_link,) = body["organisasjonsenheter"]
    assert parent_link["type"] == "OVERORDNET"
    assert fs.get(parent_link["href"]).json()["institutt"] == 0


def test_unknown_filter_and_missing_objects_get_fs_errors(fs: httpx.Client) -> None:
    bad = fs.get("/undervisning", params={"emne.nokkel": "x"})
    assert bad.status_code == 400 and "emne.nokkel" in bad.json()["message"]
    missing = fs.get("/undervisning/185,NOPE,1,2026,H%C3%98ST,1")
    assert missing.status_code == 404
    assert missing.json() == {"status": 404, "error": "Not Found", "message": missing.json()["message"]}
    assert fs.get("/personer/999999999").status_code == 404
    assert fs.get("/nonsense").status_code == 404


def test_wrong_password_is_refused_with_a_basic_challenge(server: ServerThread) -> None:
    answer = httpx.get(f"{server.url}/emner", auth=("fs", "wrong"))
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Basic")
    assert answer.json()["status"] == 401
    assert httpx.get(f"{server.url}/emner").status_code == 401
    assert httpx.post(f"{server.url}/token", auth=("fs", "wrong")).status_code == 401


def test_basic_buys_a_jwt_that_works_as_bearer_until_expired(server: ServerThread) -> None:
    token = httpx.post(f"{server.url}/token", auth=AUTH).raise_for_status().json()["token"]
    assert token.count(".") == 2
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/emner", headers=bearer).status_code == 200
    assert httpx.get(f"{server.url}/emner", headers={"Authorization": "Bearer x.y.z"}).status_code == 401
    httpx.post(f"{server.url}/_emulator/tokens/expire").raise_for_status()
    expired = httpx.get(f"{server.url}/emner", headers=bearer)
    assert expired.status_code == 401 and "invalid_token" in expired.headers["www-authenticate"]
    fresh = httpx.post(f"{server.url}/token", auth=AUTH).json()["token"]
    assert httpx.get(f"{server.url}/emner", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_token_lifetime_fault_expires_tokens(server: ServerThread) -> None:
    token = httpx.post(f"{server.url}/token", auth=AUTH).json()["token"]
    httpx.put(f"{server.url}/_emulator/faults", json={"extra": {"token_ttl_s": 0}}).raise_for_status()
    try:
        answer = httpx.get(f"{server.url}/emner", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401
    finally:
        httpx.put(f"{server.url}/_emulator/faults", json={}).raise_for_status()


def test_requests_are_counted_per_route(server: ServerThread) -> None:
    httpx.delete(f"{server.url}/_emulator/stats")
    httpx.get(f"{server.url}/emner", auth=AUTH)
    stats = httpx.get(f"{server.url}/_emulator/stats").json()
    assert stats["requests"]["GET /{resource}"] == {"200": 1}
    state = httpx.get(f"{server.url}/_emulator/state").json()
    assert state["undervisning"] > 0


def test_filtering_on_the_emne_code_alone_finds_every_term_and_group(
    fs: httpx.Client, uni: University
) -> None:
    unit = next(u for u in uni.undervisning.values() if len(uni.sibling_terms(u.key)) > 1)
    kode = unit.emne.split(",")[1]
    units = [u.key for u in uni.units_of_emne(unit.emne)]
    students = walk(fs, "/studentundervisning", fields="*", **{"undervisning.emne.kode": kode})
    assert sorted((s["person"]["personlopenummer"], s["href"].rsplit(",", 1)[1]) for s in students) == sorted(
        (n, k.rsplit(",", 1)[1]) for k in units for n in uni.participants(k)
    )
    in_groups = walk(
        fs, "/studentundervisningsaktiviteter", **{"undervisningsaktivitet.undervisning.emne.kode": kode}
    )
    assert len(in_groups) == sum(
        len(uni.activity_participants(a.key)) for k in units for a in uni.activities_of(k)
    )
    autumn = walk(
        fs,
        "/studentundervisningsaktiviteter",
        **{
            "undervisningsaktivitet.undervisning.emne.kode": kode,
            "undervisningsaktivitet.undervisning.semester.termin": "HØST",
        },
    )
    assert 0 < len(autumn) < len(in_groups)
