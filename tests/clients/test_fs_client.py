"""FsClient against the FS emulator over HTTP: auth, collections, references, searches, errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from canvasbridge.clients.fs import (
    AktivitetId,
    EmneId,
    FsClient,
    FsSettings,
    OrgenhetId,
    Studentundervisning,
    Studentundervisningsaktivitet,
    Undervisning,
    UndervisningId,
)
from canvasbridge.clients.fs.client import PAGES_AHEAD
from canvasbridge.clients.http import AuthenticationError, CallStats
from canvasbridge.errors import NotFoundError, PermanentError, TransientError
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.fs import create_app
from canvasbridge_emulators.university import University
from tests.clients.conftest import FAST_RETRY, EmulatorHandle

UNIT = UndervisningId.parse("185,INF1001,1,2026,HØST,1")


@pytest.fixture(scope="module")
def uni() -> University:
    return University.generate("tiny", seed=1)


@pytest.fixture(scope="module")
def server(uni: University) -> Iterator[ServerThread]:
    app, _model, _control, _changes = create_app(uni, username="fs", password="fs-secret")
    with ServerThread(app) as server:
        yield server


@pytest.fixture
def emu(server: ServerThread) -> Iterator[EmulatorHandle]:
    handle = EmulatorHandle(server.url)
    handle.reset()
    yield handle
    handle.reset()


def make_client(
    server: ServerThread,
    monkeypatch: pytest.MonkeyPatch,
    password: str = "fs-secret",  # noqa: S107
    **settings: object,
) -> FsClient:
    monkeypatch.setenv("FS_PASSWORD", password)
    config = {
        "base_url": server.url,
        "username": "fs",
        "password": {"env": "FS_PASSWORD"},
        "retry": FAST_RETRY.model_dump(),
        **settings,
    }
    return FsSettings.model_validate(config).build(stats=CallStats())


@pytest.fixture
def fs(server: ServerThread, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[FsClient]:
    client = make_client(server, monkeypatch, page_size=3)
    yield client
    client.close()


# ---------------------------------------------------------------- auth


def test_basic_credentials_buy_one_jwt_that_is_reused_as_bearer(fs: FsClient, emu: EmulatorHandle) -> None:
    fs.person(100001)
    fs.emne(EmneId(185, "INF1001", "1"))
    fs.undervisning(UNIT)
    assert fs.auth_mode == "jwt"
    assert emu.count("POST /token", 200) == 1
    assert emu.count("GET /{resource}/{key:path}", 200) == 3


def test_a_token_refused_with_401_is_renewed_once_and_the_call_succeeds(
    fs: FsClient, emu: EmulatorHandle
) -> None:
    fs.person(100001)
    httpx.post(f"{emu.url}/_emulator/tokens/expire").raise_for_status()
    assert fs.person(100001).personlopenummer == 100001
    assert emu.count("POST /token", 200) == 2
    assert emu.count("GET /{resource}/{key:path}", 401) == 1


@pytest.mark.slow
def test_a_token_is_renewed_before_its_exp_claim(uni: University, monkeypatch: pytest.MonkeyPatch) -> None:
    app, _model, _control, _changes = create_app(uni, token_ttl_s=1.2)
    with ServerThread(app) as short_lived:
        emu = EmulatorHandle(short_lived.url)
        fs = make_client(short_lived, monkeypatch)
        fs.person(100001)
        time.sleep(1.3)  # past the token's exp claim (whole seconds)
        fs.person(100001)
        assert emu.count("POST /token", 200) == 2
        assert emu.count("GET /{resource}/{key:path}", 401) == 0
        fs.close()


def test_plain_basic_mode_never_asks_for_a_token(
    server: ServerThread, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = make_client(server, monkeypatch, auth="basic")
    assert fs.person(100001).fornavn
    assert emu.count("POST /token") == 0


def test_auto_mode_falls_back_to_basic_where_there_is_no_token_endpoint(
    server: ServerThread, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu.faults(errors=[{"path": "^/token$", "status": 404}])
    fs = make_client(server, monkeypatch)
    fs.person(100001)
    fs.person(100002)
    assert fs.auth_mode == "basic"
    assert emu.count("POST", 404) == 1  # asked once, then Basic on every call


def test_bad_credentials_give_a_clear_permanent_error_without_the_password(
    server: ServerThread, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = make_client(server, monkeypatch, password="not-the-password")
    with pytest.raises(AuthenticationError) as info:
        fs.person(100001)
    assert isinstance(info.value, PermanentError)
    assert "refused" in str(info.value)
    assert "not-the-password" not in str(info.value)
    assert emu.count("POST /token") == 1  # not retried


# ---------------------------------------------------------------- collections and references


def test_collections_are_walked_across_several_pages_following_next(fs: FsClient, uni: University) -> None:
    people = list(fs.personer())
    assert len(people) == len([p for p in uni.persons.values() if p.fs_lopenummer])
    assert len({p.personlopenummer for p in people}) == len(people)
    # 3 per page: ceil(n/3) page reads, and one read per item (items carry only href)
    assert fs.stats.by_endpoint["fs GET personer"].calls == -(-len(people) // 3)
    assert fs.stats.calls("fs", "GET personer/{id}") == len(people)


def test_pages_read_on_a_pool_give_the_same_items_in_order_within_its_bound(
    server: ServerThread, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = make_client(server, monkeypatch, page_size=2, collection_fields="*")
    plain = [s.model_dump() for s in fs.studentundervisning()]
    calls = fs.stats.by_endpoint["fs GET studentundervisning"].calls
    assert calls == -(-len(plain) // 2) > PAGES_AHEAD + 1  # more pages than are read ahead
    threads: set[str] = set()
    original = fs._page

    def noted(*args: Any) -> dict[str, Any]:
        threads.add(threading.current_thread().name)
        return original(*args)

    monkeypatch.setattr(fs, "_page", noted)
    with ThreadPoolExecutor(2, thread_name_prefix="fs-pages") as pool:
        pooled = [s.model_dump() for s in fs.studentundervisning(pool=pool)]
    assert pooled == plain
    assert fs.stats.by_endpoint["fs GET studentundervisning"].calls == 2 * calls  # no page twice
    assert threads <= {"fs-pages_0", "fs-pages_1"}  # every page on the pool, none elsewhere


def test_collection_fields_bring_items_inline_without_following_each_href(
    server: ServerThread, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = make_client(server, monkeypatch, page_size=5, collection_fields="*")
    people = list(fs.personer())
    assert all(p.etternavn for p in people)
    assert fs.stats.calls("fs", "GET personer/{id}") == 0
    assert emu.count("GET /{resource}/{key:path}") == 0


def test_references_are_followed_to_typed_objects(fs: FsClient) -> None:
    activity = fs.undervisningsaktivitet(AktivitetId.parse("185,INF1001,1,2026,HØST,1,2-1"))
    assert activity.id.undervisning == UNIT
    unit = Undervisning.model_validate(fs.follow(activity.undervisning))
    assert unit.id == UNIT
    assert unit.lms_export is True
    owner = fs.follow(activity.eier) if activity.eier else None
    assert owner is not None and owner["aktivitet"] == "1"
    emne = fs.emne(unit.id.emne)
    assert emne.name("en") == "Informatics for Non-specialists"
    place = OrgenhetId.parse(emne.organisasjonsenheter[0].href)
    org = fs.organisasjonsenhet(place)
    assert org.id == place
    assert org.parent is not None


def test_a_reference_to_another_host_is_refused_so_credentials_cannot_leak(fs: FsClient) -> None:
    with pytest.raises(PermanentError, match="refusing"):
        fs.follow({"href": "http://evil.example.org/personer/1"})


# ---------------------------------------------------------------- searches by identifier parts


def test_every_undervisning_of_an_emne_in_a_term(fs: FsClient, uni: University) -> None:
    found = list(fs.undervisninger(EmneId(185, "INF1001", "1"), ar=2026, termin="HØST"))
    assert [u.id for u in found] == [UNIT]
    both_terms = {u.id for u in fs.undervisninger(EmneId(185, "INF1001", "1"))}
    assert both_terms == {UndervisningId.parse(u.key) for u in uni.units_of_emne("185,INF1001,1")}


def test_activities_roles_and_students_of_one_undervisning(fs: FsClient, uni: University) -> None:
    key = UNIT.display
    activities = {a.id for a in fs.undervisningsaktiviteter(UNIT)}
    assert activities == {AktivitetId.parse(a.key) for a in uni.activities_of(key)}
    roles = list(fs.personroller(UNIT))
    assert {r.id.personlopenummer for r in roles} == {r.fs_lopenummer for r in uni.roles_of_unit(key)}
    assert all(r.rollekode for r in roles)
    students = {s.person.personlopenummer for s in fs.studentundervisning(UNIT)}
    assert students == set(uni.participants(key))
    assert all(s.undervisning_id == UNIT for s in fs.studentundervisning(UNIT))
    group = AktivitetId.parse(f"{key},2-1")
    in_group = {s.person.personlopenummer for s in fs.studentundervisningsaktiviteter(group)}
    assert in_group == set(uni.activity_participants(group.display))


# ---------------------------------------------------------------- errors and retries


def test_a_transient_503_is_retried_then_succeeds(fs: FsClient, emu: EmulatorHandle) -> None:
    fs.person(100001)
    emu.faults(errors=[{"path": "^/personer/", "status": 503, "count": 1}])
    assert fs.person(100002).personlopenummer == 100002
    assert emu.count("GET", 503) == 1


def test_a_503_that_persists_ends_as_a_transient_error_after_the_configured_attempts(
    fs: FsClient, emu: EmulatorHandle
) -> None:
    fs.person(100001)
    emu.faults(errors=[{"path": "^/personer/", "status": 503}])
    with pytest.raises(TransientError) as info:
        fs.person(100002)
    assert "HTTP 503" in str(info.value)
    assert emu.count("GET", 503) == FAST_RETRY.max_attempts


def test_not_found_is_a_permanent_typed_error_without_retry(fs: FsClient, emu: EmulatorHandle) -> None:
    with pytest.raises(NotFoundError) as info:
        fs.person(99999)
    assert "fs GET personer/{id}: HTTP 404" in str(info.value)
    assert emu.count("GET /{resource}/{key:path}", 404) == 1


def test_a_bad_request_is_permanent_and_not_retried(fs: FsClient, emu: EmulatorHandle) -> None:
    with pytest.raises(PermanentError) as info:
        list(fs.personer(ukjent="x"))
    assert not isinstance(info.value, (TransientError, NotFoundError))
    assert emu.count("GET /{resource}", 400) == 1


# ---------------------------------------------------------------- participation without models


def test_participation_refs_are_the_values_the_models_hold(
    server: ServerThread, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = make_client(server, monkeypatch, page_size=7)
    units = [(s.person.personlopenummer, s.target_href) for s in fs.studentundervisning(fields="*")]
    groups = [
        (s.person.personlopenummer, s.target_href) for s in fs.studentundervisningsaktiviteter(fields="*")
    ]
    assert len(units) > 7 and all(UndervisningId.parse(href) for _, href in units)
    assert len(groups) > 7 and all(AktivitetId.parse(href) for _, href in groups)

    def unused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("items of the usual shape are read without the model")

    for model in (Studentundervisning, Studentundervisningsaktivitet):
        monkeypatch.setattr(model, "model_validate", unused)
    assert list(fs.studentundervisning_refs(fields="person,undervisning")) == units
    assert list(fs.studentundervisningsaktivitet_refs(fields="person,undervisningsaktivitet")) == groups
    # without fields the items are bare hrefs, each followed, as for the models
    followed = list(fs.studentundervisning_refs(**{"undervisning.emne.kode": "INF1001"}))
    assert followed and sorted(followed) == sorted(
        (n, h) for n, h in units if UndervisningId.parse(h).emne.kode == "INF1001"
    )
    assert fs.stats.calls("fs", "GET studentundervisning/{id}") == len(followed)


ODD_ITEMS = [
    {"person": {"personlopenummer": "12"}, "undervisning": {"href": "undervisning/185,A,1,2026,VÅR,1"}},
    {"person": {}, "undervisning": {"href": "undervisning/185,A,1,2026,VÅR,1", "rel": "x"}},
    {"person": {"personlopenummer": None}, "undervisning": {"rel": "no href"}},
    {"person": {"personlopenummer": 5}, "undervisning": "undervisning/185,A,1,2026,VÅR,1"},
    {"undervisning": {"href": "undervisning/185,A,1,2026,VÅR,1"}},
    {"person": "personer/5", "undervisning": {"href": "undervisning/185,A,1,2026,VÅR,1"}},
    {"person": {"personlopenummer": True}, "undervisning": {"href": "undervisning/185,A,1,2026,VÅR,1"}},
]


@pytest.mark.parametrize("item", ODD_ITEMS)
def test_a_participation_of_another_shape_is_read_as_the_model_reads_it(
    fs: FsClient, monkeypatch: pytest.MonkeyPatch, item: dict[str, Any]
) -> None:
    monkeypatch.setattr(fs, "iter_collection", lambda *args, **kwargs: iter([item]))
    try:
        model = Studentundervisning.model_validate(item)
    except ValidationError:
        with pytest.raises(ValidationError):
            list(fs.studentundervisning_refs())
        return
    assert list(fs.studentundervisning_refs()) == [(model.person.personlopenummer, model.target_href)]


@pytest.mark.parametrize("shape", ["model", "refs"])
def test_a_person_named_by_href_only_keeps_its_lopenummer(
    fs: FsClient, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    """An FS that answers ``person`` with its href alone must not lose the student."""
    item = {
        "person": {"href": "https://fs.example/personer/100042"},
        "undervisning": {"href": "undervisning/185,A,1,2026,VÅR,1"},
    }
    monkeypatch.setattr(fs, "iter_collection", lambda *args, **kwargs: iter([item]))
    if shape == "model":
        assert Studentundervisning.model_validate(item).person.personlopenummer == 100042
    else:
        assert list(fs.studentundervisning_refs()) == [(100042, "undervisning/185,A,1,2026,VÅR,1")]
