"""simple-salesforce, unmodified, drives the emulator over HTTP."""

from __future__ import annotations

import time

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from tests.emulators.salesforce.conftest import Org


def test_oauth_password_flow_logs_in_and_reads_limit_info(sf: Salesforce, org: Org) -> None:
    assert sf.session_id
    assert sf.sf_instance == org.host
    sf.query("SELECT Id FROM Contact")
    assert sf.api_usage["api-usage"].used == 1
    assert sf.api_usage["api-usage"].total == org.model.api_max


def test_soap_login_with_security_token(org: Org) -> None:
    c = org.model.credentials
    sf = Salesforce(
        username=c.username, password=c.password, security_token=c.security_token, session=org.session()
    )
    assert sf.sf_instance == org.host
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0


def test_wrong_password_is_refused(org: Org) -> None:
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    c = org.model.credentials
    with pytest.raises(SalesforceAuthenticationFailed):
        Salesforce(
            username=c.username,
            password="wrong",
            consumer_key=c.consumer_key,
            consumer_secret=c.consumer_secret,
            session=org.session(),
        )


def test_query_all_follows_next_records_url_across_pages(sf: Salesforce, org: Org) -> None:
    for i in range(10):
        sf.Contact.create({"LastName": f"Person {i:02d}", "Participant_UID__c": f"U{i:02d}"})
    first = sf.query("SELECT Id, LastName FROM Contact ORDER BY LastName")
    assert first["done"] is False and first["totalSize"] == 10 and len(first["records"]) == 3
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    everything = sf.query_all("SELECT Id, LastName FROM Contact ORDER BY LastName")
    assert [r["LastName"] for r in everything["records"]] == [f"Person {i:02d}" for i in range(10)]
    assert org.settled_count("GET", "/query/{locator}") == 3


def test_relationship_fields_come_back_nested_or_null(sf: Salesforce, org: Org, seed_programmes) -> None:
    ids = seed_programmes()
    sf.Programme_Participant__c.create({"Participant_UID__c": "u1", "Programme__c": ids["active"]})
    sf.Programme_Participant__c.create({"Participant_UID__c": "u2"})
    rows = sf.query_all(
        "SELECT Participant_UID__c, Programme__r.Name, Programme__r.LMS_Course_Id__c "
        "FROM Programme_Participant__c ORDER BY Participant_UID__c"
    )["records"]
    assert rows[0]["Programme__r"]["Name"] == "Active"
    assert rows[0]["Programme__r"]["LMS_Course_Id__c"] == 101.0
    assert rows[0]["Programme__r"]["attributes"]["type"] == "TL_Programme__c"
    assert rows[1]["Programme__r"] is None


def test_today_selects_only_active_programmes(sf: Salesforce, seed_programmes) -> None:
    ids = seed_programmes()
    for key in ("active", "past", "future"):
        sf.Programme_Participant__c.create({"Participant_UID__c": "same-person", "Programme__c": ids[key]})
    rows = sf.query_all(
        "SELECT Id, Programme__r.Name FROM Programme_Participant__c WHERE Participant_UID__c = 'same-person' "
        "AND Programme__r.LMS_Start_Date__c <= TODAY AND Programme__r.LMS_End_Date__c > TODAY"
    )["records"]
    assert [r["Programme__r"]["Name"] for r in rows] == ["Active"]


def test_create_get_update_delete(sf: Salesforce) -> None:
    created = sf.Contact.create({"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.org"})
    assert created["success"] is True and created["errors"] == []
    assert len(created["id"]) == 18 and created["id"].startswith("003")
    assert sf.Contact.update(created["id"], {"Email": "ada@example.com"}) == 204
    got = sf.Contact.get(created["id"])
    assert got["Email"] == "ada@example.com" and got["Name"] == "Ada Lovelace"
    assert sf.Contact.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(created["id"])
    deleted = sf.query_all("SELECT Id, IsDeleted FROM Contact", include_deleted=True)["records"]
    assert deleted[0]["IsDeleted"] is True


def test_upsert_by_external_id_creates_then_updates(sf: Salesforce, org: Org) -> None:
    first = sf.Contact.upsert("Participant_UID__c/P-1", {"LastName": "One"}, raw_response=True)
    assert first.status_code == 201 and first.json()["created"] is True
    second = sf.Contact.upsert("Participant_UID__c/P-1", {"LastName": "Uno"}, raw_response=True)
    assert second.status_code == 200 and second.json() == {
        "id": first.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    assert sf.Contact.get_by_custom_id("Participant_UID__c", "P-1")["LastName"] == "Uno"


def test_upsert_with_several_matches_answers_300(sf: Salesforce, org: Org) -> None:
    org.model.insert("Contact", {"LastName": "A", "Participant_UID__c": "dup"})
    org.model.insert("Contact", {"LastName": "B", "Participant_UID__c": "DUP"})
    with pytest.raises(SalesforceMoreThanOneRecord) as err:
        sf.Contact.upsert("Participant_UID__c/dup", {"LastName": "C"})
    assert len(err.value.content) == 2


def test_upsert_on_a_field_that_is_not_an_external_id_is_not_found(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.upsert("Email/x@example.org", {"LastName": "C"})


def test_composite_sobjects_through_restful(sf: Salesforce, org: Org) -> None:
    records = [{"attributes": {"type": "Contact"}, "LastName": f"C{i}"} for i in range(5)]
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in results] == [True] * 5
    updates = [
        {"attributes": {"type": "Contact"}, "Id": r["id"], "Email": f"c{i}@example.org"}
        for i, r in enumerate(results)
    ]
    updated = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": updates})
    assert all(r["success"] for r in updated)
    assert sf.query("SELECT COUNT() FROM Contact WHERE Email LIKE 'c%@example.org'")["totalSize"] == 5


def test_composite_sobjects_all_or_none_rolls_back(sf: Salesforce, org: Org) -> None:
    records = [
        {"attributes": {"type": "Contact"}, "LastName": "Fine"},
        {"attributes": {"type": "Contact"}, "Nope__c": "bad"},
    ]
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert org.model.state()["records"]["Contact"] == 0
    partial = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in partial] == [True, False]
    assert org.model.state()["records"]["Contact"] == 1


def test_composite_sobjects_refuses_more_than_200_records(sf: Salesforce) -> None:
    records = [{"attributes": {"type": "Contact"}, "LastName": "x"}] * 201
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/sobjects", method="POST", json={"records": records})


def test_composite_with_references_and_all_or_none(sf: Salesforce, org: Org) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Account",
                "referenceId": "acc",
                "body": {"Name": "School"},
            },
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Contact",
                "referenceId": "con",
                "body": {"LastName": "Teacher", "AccountId": "@{acc.id}"},
            },
            {
                "method": "GET",
                "url": "/services/data/v59.0/query?q=SELECT+Account.Name+FROM+Contact",
                "referenceId": "q",
            },
        ],
    }
    out = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert [r["httpStatusCode"] for r in out] == [201, 201, 200]
    assert out[2]["body"]["records"][0]["Account"]["Name"] == "School"
    body["compositeRequest"][1]["body"]["Bogus__c"] = 1
    out = sf.restful("composite", method="POST", json=body)["compositeResponse"]
    assert out[1]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert out[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert org.model.state()["records"]["Account"] == 1


def test_expired_session_answers_401_once_then_client_logs_in_again(sf: Salesforce, org: Org) -> None:
    old = sf.session_id
    org.faults(expire_sessions=True)
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0
    assert sf.session_id != old
    assert org.settled_count("GET", "/services/data/{version}/query") == 2
    assert org.control.stats()["requests"]["GET /services/data/{version}/query"] == {"401": 1, "200": 1}
    raw = requests.get(
        f"{org.url}/services/data/v59.0/limits", headers={"Authorization": f"Bearer {old}"}, timeout=5
    )
    assert raw.status_code == 401
    assert raw.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_direct_session_mode_raises_expired_session(org: Org) -> None:
    token = org.model.login(org.model.credentials.username, org.model.credentials.password)
    sf = Salesforce(instance_url=org.url, session_id=token, session=org.session())
    org.model.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Contact")


def test_daily_limit_ends_in_request_limit_exceeded(sf: Salesforce, org: Org) -> None:
    org.faults(daily_limit={"max": 100, "used": 99})
    sf.query("SELECT Id FROM Contact")
    assert sf.api_usage["api-usage"].used == 100
    with pytest.raises(SalesforceRefusedRequest) as err:
        sf.query("SELECT Id FROM Contact")
    assert err.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_every_response_carries_sforce_limit_info(org: Org) -> None:
    response = requests.get(f"{org.url}/services/data/v59.0/sobjects", timeout=5)
    assert response.status_code == 401
    assert response.headers["Sforce-Limit-Info"] == f"api-usage=0/{org.model.api_max}"


def test_unknown_object_and_field_errors(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Nothing__c.create({"Name": "x"})
    assert missing.value.content[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceMalformedRequest) as bad_field:
        sf.Contact.create({"LastName": "x", "Unknown__c": 1})
    assert bad_field.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as bad_query:
        sf.query("SELECT Id FROM Nothing__c")
    assert bad_query.value.content[0]["errorCode"] == "INVALID_TYPE"
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELECT Id FROM Contact GROUP BY Id")
    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as required:
        sf.Contact.create({"FirstName": "x"})
    assert required.value.content[0] == {
        "message": "Required fields are missing: [LastName]",
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": ["LastName"],
    }


def test_control_reset_restores_seed_and_today_can_be_set(sf: Salesforce, org: Org, seed_programmes) -> None:
    seed_programmes()
    org.faults(today="2025-03-01")
    rows = sf.query_all(
        "SELECT Name FROM TL_Programme__c WHERE LMS_Start_Date__c <= TODAY AND LMS_End_Date__c > TODAY"
    )
    assert [r["Name"] for r in rows["records"]] == ["Past"]
    requests.post(f"{org.url}/_emulator/reset", timeout=5).raise_for_status()
    state = requests.get(f"{org.url}/_emulator/state", timeout=5).json()
    assert state["records"]["TL_Programme__c"] == 0 and state["today"] == "2026-03-02"


def test_collection_upsert_get_and_delete(sf: Salesforce, org: Org) -> None:
    records = [
        {"attributes": {"type": "Contact"}, "LastName": f"U{i}", "Participant_UID__c": f"C-{i}"}
        for i in range(3)
    ]
    first = sf.restful(
        "composite/sobjects/Contact/Participant_UID__c", method="PATCH", json={"records": records}
    )
    assert [r["created"] for r in first] == [True, True, True]
    records[0]["LastName"] = "Changed"
    again = sf.restful(
        "composite/sobjects/Contact/Participant_UID__c", method="PATCH", json={"records": records}
    )
    assert [r["created"] for r in again] == [False, False, False]
    ids = [r["id"] for r in first]
    got = sf.restful(
        "composite/sobjects/Contact",
        params={"ids": ",".join([*ids, ids[0][:3] + "Dn0000000999AAA"]), "fields": "LastName"},
    )
    assert [g["LastName"] if g else None for g in got] == ["Changed", "U1", "U2", None]
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids[:2])})
    assert [d["success"] for d in deleted] == [True, True]
    assert org.model.state()["records"]["Contact"] == 1


def test_composite_counts_as_one_api_call_and_refuses_more_than_25(sf: Salesforce, org: Org) -> None:
    sub = {"method": "GET", "url": "/services/data/v59.0/limits", "referenceId": "l"}
    before = org.model.api_used
    sf.restful(
        "composite",
        method="POST",
        json={"compositeRequest": [dict(sub, referenceId=f"l{i}") for i in range(25)]},
    )
    assert org.model.api_used == before + 1
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful(
            "composite",
            method="POST",
            json={"compositeRequest": [dict(sub, referenceId=f"l{i}") for i in range(26)]},
        )


def test_describe_and_limits(sf: Salesforce, org: Org) -> None:
    fields = {f["name"]: f for f in sf.Programme_Participant__c.describe()["fields"]}
    assert fields["Programme__c"]["referenceTo"] == ["TL_Programme__c"]
    assert fields["Programme__c"]["relationshipName"] == "Programme__r"
    assert fields["Participant_UID__c"]["externalId"] is True
    assert sf.limits()["DailyApiRequests"]["Max"] == org.model.api_max
    prefixes = {o["name"]: o["keyPrefix"] for o in sf.describe()["sobjects"]}
    assert (
        prefixes["Account"] == "001"
        and prefixes["Contact"] == "003"
        and prefixes["TL_Programme__c"].startswith("a0")
    )


def test_session_ttl_expires_old_sessions(sf: Salesforce, org: Org) -> None:
    old = sf.session_id
    org.faults(session_ttl_s=0)
    time.sleep(0.01)
    raw = requests.get(
        f"{org.url}/services/data/v59.0/limits", headers={"Authorization": f"Bearer {old}"}, timeout=5
    )
    assert raw.status_code == 401 and raw.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_requests_without_a_token_and_soap_login_failures(org: Org) -> None:
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed

    assert (
        requests.get(
            f"{org.url}/services/data/v59.0/query", params={"q": "SELECT Id FROM Contact"}, timeout=5
        ).status_code
        == 401
    )
    c = org.model.credentials
    with pytest.raises(SalesforceAuthenticationFailed) as err:
        Salesforce(username=c.username, password="nope", security_token="x", session=org.session())
    assert err.value.code == "INVALID_LOGIN"
    assert requests.get(f"{org.url}/services/data/vXX/limits", timeout=5).status_code == 404
