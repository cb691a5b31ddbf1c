"""SalesforceClient against the Salesforce emulator over HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvasbridge.clients.http import AuthenticationError, CallStats
from canvasbridge.clients.salesforce import (
    ApiLimitExceededError,
    ApiUsage,
    SalesforceClient,
    SalesforceSettings,
    soql,
)
from canvasbridge.errors import NotFoundError, PermanentError, TransientError
from canvasbridge_emulators.common import EmulatorControl, ServerThread
from canvasbridge_emulators.salesforce import SalesforceModel, create_app
from tests.clients.conftest import FAST_RETRY, EmulatorHandle


class Org:
    def __init__(self, server: ServerThread, model: SalesforceModel, control: EmulatorControl) -> None:
        self.url = server.url
        self.model = model
        self.emu = EmulatorHandle(server.url)

    def client(self, password: str | None = None, **overrides: object) -> SalesforceClient:
        c = self.model.credentials
        return SalesforceClient(
            login_url=self.url,
            username=c.username,
            password=password or c.password,
            consumer_key=c.consumer_key,
            consumer_secret=c.consumer_secret,
            plain_http=True,
            retry=FAST_RETRY,
            stats=CallStats(),
            **overrides,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[ServerThread, SalesforceModel, EmulatorControl]]:
    app, model, control = create_app(today=dt.date(2026, 3, 2), batch_size=3)
    model.mark_seed()
    with ServerThread(app) as server:
        yield server, model, control


@pytest.fixture
def org(_server: tuple[ServerThread, SalesforceModel, EmulatorControl]) -> Iterator[Org]:
    server, model, control = _server
    control.reset()
    yield Org(server, model, control)
    control.reset()


def test_settings_build_a_client_that_logs_in_with_the_password_flow(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = org.model.credentials
    monkeypatch.setenv("SF_PASSWORD", c.password)
    monkeypatch.setenv("SF_SECRET", c.consumer_secret)
    settings_ = SalesforceSettings.model_validate(
        {
            "login_url": org.url,
            "username": c.username,
            "password": {"env": "SF_PASSWORD"},
            "consumer_key": c.consumer_key,
            "consumer_secret": {"env": "SF_SECRET"},
            "plain_http": True,
        }
    )
    sf = settings_.build()
    new_id = sf.create("Contact", {"LastName": "Nordmann"})
    assert sf.get("Contact", new_id)["LastName"] == "Nordmann"
    assert sf.logins == 1


def test_settings_refuse_a_config_with_no_way_to_authenticate() -> None:
    with pytest.raises(ValueError, match="consumer_key"):
        SalesforceSettings.model_validate({"username": "x"})


def test_query_all_follows_next_records_url_across_several_pages(org: Org) -> None:
    for i in range(10):
        org.model.insert("Contact", {"LastName": f"P{i:02d}"})
    sf = org.client()
    rows = sf.query_all("SELECT Id, LastName FROM Contact ORDER BY LastName")
    assert [r["LastName"] for r in rows] == [f"P{i:02d}" for i in range(10)]
    # batch size 3 → one query and three query_more calls, as the emulator also saw
    assert sf.stats.calls("salesforce", "GET query/{cursor}") == 3
    assert org.emu.count("GET /services/data/{version}/query/{locator}", 200) == 3
    assert org.emu.count("GET /services/data/{version}/query", 200) == 4


def test_limit_info_is_read_into_api_usage(org: Org) -> None:
    sf = org.client()
    sf.query("SELECT Id FROM Contact")
    assert isinstance(sf.api_usage, ApiUsage)
    assert sf.api_usage.used >= 1
    assert sf.api_usage.max == org.model.api_max


def test_bad_credentials_give_a_clear_permanent_error_without_the_password(org: Org) -> None:
    sf = org.client(password="wrong-password-123")
    with pytest.raises(AuthenticationError) as info:
        sf.query("SELECT Id FROM Contact")
    assert isinstance(info.value, PermanentError)
    assert "login refused" in str(info.value)
    assert "wrong-password-123" not in str(info.value)
    assert org.emu.count("POST /services/oauth2/token") == 1


def test_create_many_chunks_by_200_and_maps_each_error_to_its_input_record(org: Org) -> None:
    sf = org.client()
    records: list[dict[str, object]] = [{"LastName": f"L{i}"} for i in range(450)]
    for bad in (5, 260, 449):
        records[bad] = {"FirstName": "no last name"}
    results = sf.create_many("Contact", records)
    assert len(results) == 450
    assert [r.index for r in results] == list(range(450))
    failed = [r for r in results if not r.success]
    assert [r.index for r in failed] == [5, 260, 449]
    assert all(r.record is records[r.index] for r in failed)
    assert all(r.error_codes == ["REQUIRED_FIELD_MISSING"] for r in failed)
    assert all(r.id and r.id.startswith("003") for r in results if r.success)
    assert org.emu.count("POST /services/data/{version}/composite/sobjects", 200) == 3
    assert len(org.model.records("Contact")) == 447


def test_all_or_none_rolls_back_the_whole_chunk(org: Org) -> None:
    sf = org.client()
    results = sf.create_many("Contact", [{"LastName": "ok"}, {"FirstName": "bad"}], all_or_none=True)
    assert [r.success for r in results] == [False, False]
    assert results[0].error_codes == ["ALL_OR_NONE_OPERATION_ROLLED_BACK"]
    assert org.model.records("Contact") == []


def test_update_many_and_upsert(org: Org) -> None:
    sf = org.client()
    ids = [org.model.insert("Contact", {"LastName": f"U{i}"}) for i in range(3)]
    results = sf.update_many("Contact", [{"Id": i, "FirstName": "Kari"} for i in ids])
    assert all(r.success for r in results)
    assert {sf.get("Contact", i)["FirstName"] for i in ids} == {"Kari"}
    with pytest.raises(PermanentError, match="no Id"):
        sf.update_many("Contact", [{"FirstName": "x"}])

    assert sf.upsert("Contact", "Participant_UID__c", "uid/1", {"LastName": "New"}) is True
    assert sf.upsert("Contact", "Participant_UID__c", "uid/1", {"LastName": "Again"}) is False
    rows = sf.query_all(soql.format("SELECT LastName FROM Contact WHERE Participant_UID__c = {u}", u="uid/1"))
    assert [r["LastName"] for r in rows] == ["Again"]


def test_composite_prefixes_relative_urls_and_returns_each_subresponse(org: Org) -> None:
    sf = org.client()
    answers = sf.composite(
        [
            {"method": "POST", "url": "sobjects/Account", "referenceId": "acc", "body": {"Name": "UiO"}},
            {
                "method": "POST",
                "url": "sobjects/Contact",
                "referenceId": "c",
                "body": {"LastName": "X", "AccountId": "@{acc.id}"},
            },
        ]
    )
    assert [a["httpStatusCode"] for a in answers] == [201, 201]
    with pytest.raises(PermanentError):
        sf.composite([{"method": "GET", "url": "limits", "referenceId": f"r{i}"} for i in range(26)])


def test_an_expired_session_costs_exactly_one_relogin(org: Org) -> None:
    sf = org.client()
    sf.query("SELECT Id FROM Contact")
    org.emu.faults(expire_sessions=True)
    sf.create("Contact", {"LastName": "after expiry"})
    assert sf.logins == 2
    assert org.emu.count("POST /services/oauth2/token") == 2


def test_a_session_that_never_works_stops_after_one_relogin(org: Org) -> None:
    sf = org.client()
    org.emu.faults(session_ttl_s=0)
    with pytest.raises(AuthenticationError):
        sf.create("Contact", {"LastName": "never"})
    assert org.emu.count("POST /services/oauth2/token") == 2
    assert org.emu.count("POST /services/data/{version}/sobjects/{sobject}") == 2


def test_request_limit_exceeded_is_a_permanent_limit_error_and_is_not_retried(org: Org) -> None:
    sf = org.client()
    sf.query("SELECT Id FROM Contact")
    org.emu.clear_stats()
    org.emu.faults(daily_limit={"max": 100, "used": 100})
    with pytest.raises(ApiLimitExceededError) as info:
        sf.query("SELECT Id FROM Contact")
    assert isinstance(info.value, PermanentError)
    assert "REQUEST_LIMIT_EXCEEDED" in str(info.value)
    assert org.emu.count("GET /services/data/{version}/query") == 1


def test_a_transient_503_is_retried_then_succeeds(org: Org) -> None:
    sf = org.client()
    org.emu.faults(errors=[{"path": "/query/?$", "status": 503, "count": 1}])
    assert sf.query_all("SELECT Id FROM Contact") == []
    assert org.emu.count("GET", 503) == 1
    assert org.emu.count("GET /services/data/{version}/query", 200) == 1


def test_a_503_that_persists_becomes_a_transient_error(org: Org) -> None:
    sf = org.client()
    org.emu.faults(errors=[{"path": "/query/?$", "status": 503}])
    with pytest.raises(TransientError):
        sf.query("SELECT Id FROM Contact")
    assert org.emu.count("GET", 503) == FAST_RETRY.max_attempts


def test_not_found_and_bad_soql_are_permanent_and_not_retried(org: Org) -> None:
    sf = org.client()
    with pytest.raises(NotFoundError):
        sf.get("Contact", "003000000000000AAA")
    with pytest.raises(PermanentError) as info:
        sf.query("SELECT Nope FROM Contact")
    assert not isinstance(info.value, TransientError)
    assert org.emu.count("GET /services/data/{version}/sobjects/{sobject}/{record_id}") == 1
    assert org.emu.count("GET /services/data/{version}/query") == 1


_names = st.lists(
    st.sampled_from(["'", '"', "\\", "\n", "\t", "%", "_", " OR LastName != '", "Ø", "😀", "a", "b"]),
    min_size=1,
    max_size=12,
).map("".join)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=_names)
def test_a_name_with_any_characters_finds_exactly_its_own_record_over_http(org: Org, name: str) -> None:
    org.model.reset()
    decoy = org.model.insert("Contact", {"LastName": "decoy"})
    mine = org.model.insert("Contact", {"LastName": name})
    sf = org.client()
    rows = sf.query_all(soql.format("SELECT Id, LastName FROM Contact WHERE LastName = {n}", n=name))
    assert [r["Id"] for r in rows] == [mine]
    assert rows[0]["LastName"] == name
    assert decoy not in [r["Id"] for r in rows]
