"""SapClient against the SAP emulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from canvasbridge.clients.http import AuthenticationError, CallStats
from canvasbridge.clients.sap import NotFromSapError, SapClient, SapSettings, deferred_uri, unwrap
from canvasbridge.errors import NotFoundError, PermanentError, TransientError
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.sap import DEFAULT_API_KEY, create_app
from canvasbridge_emulators.university import University
from tests.clients.conftest import FAST_RETRY, EmulatorHandle


@pytest.fixture(scope="module")
def uni() -> University:
    return University.generate("small", seed=1)


@pytest.fixture(scope="module")
def server(uni: University) -> Iterator[ServerThread]:
    app, _model, _control, _changes = create_app(uni)
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
) -> SapClient:
    monkeypatch.setenv("SAP_KEY", key)
    settings = SapSettings.model_validate(
        {"base_url": server.url, "api_key": {"env": "SAP_KEY"}, "retry": FAST_RETRY.model_dump()}
    )
    return settings.build(stats=CallStats())


@pytest.fixture
def sap(server: ServerThread, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch) -> SapClient:
    return make_client(server, monkeypatch)


def deepest(uni: University) -> int:
    return max(uni.org_units, key=lambda loc: len(uni.ancestors_of(loc)))


def test_odata_d_and_results_are_unwrapped() -> None:
    assert unwrap({"d": {"a": 1}}) == {"a": 1}
    assert unwrap({"d": {"results": [1, 2]}}) == [1, 2]
    with pytest.raises(PermanentError):
        unwrap({"value": []})
    assert (
        deferred_uri({"__deferred": {"uri": "http://x/locations(1)/parent"}})
        == "http://x/locations(1)/parent"
    )
    assert deferred_uri({"a": 1}) is None


def test_a_unit_and_its_parent(sap: SapClient, uni: University) -> None:
    leaf = deepest(uni)
    unit = sap.location(leaf)
    assert unit["locationId"] == leaf
    parent = sap.parent(leaf)
    assert parent is not None and parent["locationId"] == uni.parent_of(leaf).location_id
    assert sap.parent(uni.root_location_id) is None


def test_the_org_tree_is_walked_to_its_root(sap: SapClient, uni: University) -> None:
    leaf = deepest(uni)
    chain = sap.path_to_root(leaf)
    expected = [leaf, *(u.location_id for u in uni.ancestors_of(leaf))]
    assert [u["locationId"] for u in chain] == expected
    assert chain[-1]["locationId"] == uni.root_location_id
    assert len(expected) >= 3
    assert sap.stats.calls("sap", "GET locations({id})/parent") == len(expected)


def test_deferred_links_are_followed(sap: SapClient, uni: University) -> None:
    leaf = deepest(uni)
    unit = sap.location(leaf)
    assert sap.follow(unit["parent"])["locationId"] == uni.parent_of(leaf).location_id
    employee_id = next(p.sap_employee_id for p in uni.persons.values() if p.sap_employee_id)
    employee = sap.employee(employee_id)
    assignments = (
        sap.follow(employee["assignments"]) if "assignments" in employee else sap.assignments(employee_id)
    )
    assert assignments and assignments[0]["assignmentId"]
    assert sap.assignments(employee_id) == assignments
    assert isinstance(sap.roles(employee_id), list)
    assert len(sap.locations()) == len(uni.org_units)


def test_an_answer_without_sap_server_header_is_refused_as_coming_from_a_proxy(
    sap: SapClient, emu: EmulatorHandle
) -> None:
    emu.faults(errors=[{"path": "^/locations", "status": 200, "body": {"d": {"locationId": 1}}}])
    with pytest.raises(NotFromSapError) as info:
        sap.locations()
    assert isinstance(info.value, TransientError)
    assert "proxy" in str(info.value)
    assert emu.count("GET", 200) == FAST_RETRY.max_attempts


def test_a_proxy_404_is_not_taken_for_no_parent(sap: SapClient, emu: EmulatorHandle, uni: University) -> None:
    emu.faults(errors=[{"path": "/parent$", "status": 404, "count": 1}])
    leaf = deepest(uni)
    parent = sap.parent(leaf)  # the proxy's 404 is retried; SAP's own answer wins
    assert parent is not None


def test_a_wrong_key_is_a_clear_permanent_error_without_the_key(
    server: ServerThread, emu: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(server, monkeypatch, key="wrong-sap-key-1")
    with pytest.raises(AuthenticationError) as info:
        client.locations()
    assert "HTTP 401" in str(info.value)
    assert "wrong-sap-key-1" not in str(info.value)
    assert emu.count("GET", 401) == 1


def test_a_transient_503_from_sap_is_retried_then_succeeds(
    sap: SapClient, emu: EmulatorHandle, uni: University
) -> None:
    emu.faults(errors=[{"path": "^/locations\\(", "status": 503, "count": 1}])
    # the fault answer lacks sap-server, so it is refused as transient and retried either way
    assert sap.location(uni.root_location_id)["locationId"] == uni.root_location_id
    assert emu.count("GET", 503) == 1


def test_an_unknown_unit_is_not_found_and_not_retried(sap: SapClient, emu: EmulatorHandle) -> None:
    with pytest.raises(NotFoundError):
        sap.location(99999999)
    assert emu.count("GET /locations({id:int})", 404) == 1


def test_odata_next_links_are_followed_for_paged_lists() -> None:
    import httpx

    from canvasbridge.clients.http import HttpClient

    pages = {
        "/locations": {
            "d": {"results": [{"locationId": 1}], "__next": "http://sap.test/locations?$skiptoken=2"}
        },
        "/locations?$skiptoken=2": {"d": {"results": [{"locationId": 2}]}},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        key = request.url.raw_path.decode().replace("%24", "$")
        return httpx.Response(200, json=pages[key], headers={"sap-server": "true"})

    client = SapClient(HttpClient("http://sap.test/", system="sap", transport=httpx.MockTransport(answer)))
    assert [u["locationId"] for u in client.locations()] == [1, 2]
