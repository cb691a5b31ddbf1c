"""The SAP emulator over HTTP: OData wrapping, deferred links, the parent walk, the
``sap-server`` header and the gateway key."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.sap import create_app
from canvasbridge_emulators.university import University

KEY = {"X-Gravitee-Api-Key": "sap-key"}


@pytest.fixture(scope="module")
def uni() -> University:
    return University.generate("small", seed=1)


@pytest.fixture(scope="module")
def server(uni: University) -> Iterator[ServerThread]:
    app, _model, _control, _changes = create_app(uni)
    with ServerThread(app) as server:
        yield server


@pytest.fixture
def sap(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=KEY) as client:
        yield client


def test_locations_list_is_wrapped_in_d_results(sap: httpx.Client, uni: University) -> None:
    answer = sap.get("/locations")
    assert answer.headers["sap-server"] == "true"
    results = answer.json()["d"]["results"]
    assert len(results) == len(uni.org_units)
    assert {r["locationId"] for r in results} == set(uni.org_units)


def test_parent_walk_follows_deferred_links_up_to_the_root(sap: httpx.Client, uni: University) -> None:
    deepest = max(uni.org_units, key=lambda i: len(uni.ancestors_of(i)))
    location = sap.get(f"/locations({deepest})").json()["d"]
    chain = []
    while True:
        answer = sap.get(location["parent"]["__deferred"]["uri"])
        assert answer.headers["sap-server"] == "true"
        if answer.status_code == 404:
            break
        location = answer.json()["d"]
        chain.append(location["locationId"])
    assert chain == [u.location_id for u in uni.ancestors_of(deepest)]
    assert chain[-1] == uni.root_location_id


def test_employee_and_assignments(sap: httpx.Client, uni: University) -> None:
    staff = next(uni.staff())
    employee = sap.get(f"/employees({staff.sap_employee_id})").json()["d"]
    assert employee["personId"] == staff.sap_employee_id and employee["lastName"] == staff.last_name
    assignments = sap.get(employee["assignments"]["__deferred"]["uri"]).json()["d"]["results"]
    assert assignments[0]["locationId"] == staff.location_id and assignments[0]["primaryAssignmentFlag"]
    assert (
        sap.get(employee["roles"]["__deferred"]["uri"]).json()["d"]["results"]
        == sap.get(f"/employees({staff.sap_employee_id})/roles").json()["d"]["results"]
    )


def test_roles_carry_name_location_code_and_dates_ended_ones_included(
    sap: httpx.Client, uni: University
) -> None:
    staff = next(uni.staff())
    roles = sap.get(f"/employees({staff.sap_employee_id})/roles").json()["d"]["results"]
    expected = uni.sap_roles_of(staff.sap_employee_id)  # type: ignore[arg-type]
    assert [r["roleId"] for r in roles] == [r.role_id for r in expected]
    for got, want in zip(roles, expected, strict=True):
        assert got["roleName"] == want.role_name
        assert got["locationCode"] == uni.org_unit(want.location_id).stedkode
        assert got["effectiveStartDate"] == want.start.isoformat()
        assert got["effectiveEndDate"] == (want.end.isoformat() if want.end else "9999-12-31")
    assert any(r["effectiveEndDate"] != "9999-12-31" for r in roles)  # an ended role is still listed
    without = next(p for p in uni.staff() if not uni.sap_roles_of(p.sap_employee_id))  # type: ignore[arg-type]
    assert sap.get(f"/employees({without.sap_employee_id})/roles").json() == {"d": {"results": []}}


def test_unknown_ids_answer_404_from_sap(sap: httpx.Client) -> None:
    for path in ("/locations(1)", "/employees(1)", "/locations(1)/parent"):
        answer = sap.get(path)
        assert answer.status_code == 404 and answer.headers["sap-server"] == "true", path
        assert "error" in answer.json()


def test_wrong_key_is_refused_by_the_gateway_without_the_sap_header(server: ServerThread) -> None:
    for headers in ({"X-Gravitee-Api-Key": "wrong"}, {}):
        answer = httpx.get(f"{server.url}/locations", headers=headers)
        assert answer.status_code == 401
        assert "sap-server" not in answer.headers
        assert answer.json()["http_status_code"] == 401
