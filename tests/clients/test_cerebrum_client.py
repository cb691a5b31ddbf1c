"""CerebrumClient against the Cerebrum emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from canvasbridge.clients.cerebrum import CerebrumClient, CerebrumPerson, CerebrumSettings
from canvasbridge.clients.http import AuthenticationError, CallStats
from canvasbridge.errors import NotFoundError, PermanentError, TransientError
from canvasbridge_emulators.cerebrum import DEFAULT_API_KEY, create_app
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.university import University
from tests.clients.conftest import FAST_RETRY, EmulatorHandle


@pytest.fixture(scope="module")
def uni() -> University:
    return University.generate("tiny", seed=1)


@pytest.fixture(scope="module")
def server(uni: University) -> Iterator[ServerThread]:
    app, _model, _control, _changes = create_app(uni, header="X-Auth-Key")
    with ServerThread(app) as server:
        yield server


@pytest.fixture
def emu(server: ServerThread) -> Iterator[EmulatorHandle]:
    handle = EmulatorHandle(server.url)
    handle.reset()
    yield handle
    handle.reset()


def make_client(
    server: ServerThread, monkeypatch: pytest.MonkeyPatch, key: str = DEFAULT_API_KEY
) -> CerebrumClient:
    monkeypatch.setenv("CEREBRUM_KEY", key)
    settings = CerebrumSettings.model_validate(
        {
            "base_url": f"{server.url}/v1/",
            "api_key": {"env": "CEREBRUM_KEY"},
            "api_key_header": "X-Auth-Key",
            "retry": FAST_RETRY.model_dump(),
        }
    )
    return settings.build(stats=CallStats())


@pytest.fixture
def cerebrum(server: ServerThread, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> CerebrumClient:
    return make_client(server, monkeypatch)


def test_primary_account_is_the_one_flagged_primary(cerebrum: CerebrumClient, uni: University) -> None:
    person_id = next(p for p in uni.persons if len(uni.accounts_of(p)) > 1)
    account = cerebrum.primary_account(person_id)
    assert account is not None
    assert account.name == uni.primary_account_of(person_id).name
    assert account.owner is not None and account.owner.id == person_id
    assert len(cerebrum.person_accounts(person_id)) == len(uni.accounts_of(person_id))


def test_account_list_in_one_call_and_filtered_by_owner(cerebrum: CerebrumClient, uni: University) -> None:
    listed = cerebrum.accounts()
    assert {a.name for a in listed} == set(uni.accounts)
    assert all(a.owner is not None and a.owner.id == uni.account(a.name).owner_id for a in listed)
    person_id = next(p for p in uni.persons if len(uni.accounts_of(p)) > 1)
    assert {a.name for a in cerebrum.accounts(owner_id=person_id)} == {
        a.name for a in uni.accounts_of(person_id)
    }
    assert cerebrum.stats.by_endpoint["cerebrum GET accounts/"].calls == 2


def test_quarantines_and_locked_follow_cerebrum(cerebrum: CerebrumClient, uni: University) -> None:
    locked = [name for name in uni.accounts if uni.is_locked(name)]
    free = [name for name in uni.accounts if not uni.is_locked(name)]
    assert locked and free
    assert all(cerebrum.locked(name) for name in locked)
    assert not any(cerebrum.locked(name) for name in free[:5])
    q = cerebrum.quarantines(locked[0])
    assert q.blocking() and q.locked
    # calls are counted per endpoint template, not per account name
    assert cerebrum.stats.by_endpoint["cerebrum GET accounts/{name}/quarantines"].calls == len(locked) + 6


def test_external_id_search_finds_the_person(cerebrum: CerebrumClient, uni: University) -> None:
    person_id = next(iter(uni.persons))
    id_type, value, _source = uni.external_ids(person_id)[1]
    matches = cerebrum.search_external_id(value, id_type=id_type)
    assert [m.person_id for m in matches] == [person_id]
    assert cerebrum.search_external_id("no-such-id") == []


def test_references_are_followed(cerebrum: CerebrumClient) -> None:
    person_id = 10004
    account = cerebrum.primary_account(person_id)
    assert account is not None and account.owner is not None and account.owner.href
    owner = CerebrumPerson.model_validate(cerebrum.follow(account.owner.href))
    assert owner.id == person_id
    assert owner.name("first")
    with pytest.raises(PermanentError, match="refusing"):
        cerebrum.follow("http://elsewhere.example.org/v1/persons/1")


def test_groups_and_members(cerebrum: CerebrumClient, uni: University) -> None:
    name = next(iter(uni.groups))
    group = cerebrum.group(name)
    members = cerebrum.group_members(name)
    assert group.name == name
    assert {m.name for m in members} == set(uni.group(name).members)
    some_member = members[0].name
    assert some_member and name in {g.name for g in cerebrum.account_groups(some_member)}


def test_a_wrong_api_key_is_a_clear_permanent_error_without_the_key(
    server: ServerThread, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(server, monkeypatch, key="wrong-key-9876")
    with pytest.raises(AuthenticationError) as info:
        client.person(10004)
    assert "HTTP 403" in str(info.value) and "X-Auth-Key" in str(info.value)
    assert "wrong-key-9876" not in str(info.value)
    assert emu.count("GET", 403) == 1


def test_a_transient_503_is_retried_then_succeeds(cerebrum: CerebrumClient, emu: EmulatorHandle) -> None:
    emu.faults(errors=[{"path": "/quarantines$", "status": 503, "count": 1}])
    assert cerebrum.quarantines("sindr").locked is False
    assert emu.count("GET", 503) == 1
    assert emu.count("GET /v1/accounts/{name}/quarantines", 200) == 1


def test_persistent_503_ends_as_transient(cerebrum: CerebrumClient, emu: EmulatorHandle) -> None:
    emu.faults(errors=[{"path": "/persons/", "status": 503}])
    with pytest.raises(TransientError):
        cerebrum.person(10004)
    assert emu.count("GET", 503) == FAST_RETRY.max_attempts


def test_not_found_is_permanent_and_not_retried(cerebrum: CerebrumClient, emu: EmulatorHandle) -> None:
    with pytest.raises(NotFoundError, match="No such account"):
        cerebrum.account("nobody")
    assert emu.count("GET /v1/accounts/{name}", 404) == 1
