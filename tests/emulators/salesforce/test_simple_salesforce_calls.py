"""Calls simple-salesforce 1.12 makes that real Salesforce answers, through simple-salesforce
against the emulator: Get Deleted / Get Updated, composite tree and batch, Bulk API 1.0,
SOSL search, a full describe, and injected faults counted under their route."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from tests.emulators.salesforce.conftest import TODAY, Org


def window() -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(TODAY, dt.time(0, 0), dt.UTC)
    return start, start + dt.timedelta(days=1)


def test_contact_deleted_and_updated_list_changes_in_the_window(sf: Salesforce, org: Org) -> None:
    kept = sf.Contact.create({"LastName": "Kept"})["id"]
    gone = sf.Contact.create({"LastName": "Gone"})["id"]
    sf.Contact.update(kept, {"FirstName": "Kari"})
    sf.Contact.delete(gone)
    start, end = window()
    deleted = sf.Contact.deleted(start, end)
    assert [d["id"] for d in deleted["deletedRecords"]] == [gone]
    assert deleted["deletedRecords"][0]["deletedDate"].startswith(TODAY.isoformat())
    assert {"earliestDateAvailable", "latestDateCovered"} <= set(deleted)
    assert sf.Contact.updated(start, end)["ids"] == [kept]
    before = start - dt.timedelta(days=2)
    assert sf.Contact.deleted(before, before + dt.timedelta(days=1))["deletedRecords"] == []
    with pytest.raises(SalesforceMalformedRequest):
        sf.Contact.updated(end, start)


def test_composite_tree_creates_parents_and_children_or_nothing(sf: Salesforce, org: Org) -> None:
    body = {
        "records": [
            {
                "attributes": {"type": "Account", "referenceId": "school"},
                "Name": "Northfield School",
                "Contacts": {
                    "records": [
                        {"attributes": {"type": "Contact", "referenceId": "head"}, "LastName": "Head"},
                        {"attributes": {"type": "Contact", "referenceId": "deputy"}, "LastName": "Deputy"},
                    ]
                },
            }
        ]
    }
    out = sf.restful("composite/tree/Account", method="POST", json=body)
    assert out["hasErrors"] is False
    ids = {r["referenceId"]: r["id"] for r in out["results"]}
    assert set(ids) == {"school", "head", "deputy"}
    contacts = sf.query(format_soql("SELECT LastName FROM Contact WHERE AccountId = {}", ids["school"]))
    assert sorted(r["LastName"] for r in contacts["records"]) == ["Deputy", "Head"]
    del body["records"][0]["Contacts"]["records"][1]["LastName"]  # a required field missing
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/tree/Account", method="POST", json=body)
    assert caught.value.content["hasErrors"] is True
    assert caught.value.content["results"][0]["referenceId"] == "deputy"
    assert caught.value.content["results"][0]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert org.model.state()["records"]["Account"] == 1  # the second tree left nothing behind


def test_composite_batch_runs_each_request_and_halts_on_error_when_asked(sf: Salesforce, org: Org) -> None:
    account = sf.Account.create({"Name": "School"})["id"]
    body = {
        "batchRequests": [
            {"method": "PATCH", "url": f"v59.0/sobjects/Account/{account}", "richInput": {"Name": "Academy"}},
            {"method": "GET", "url": f"v59.0/sobjects/Account/{account}?fields=Name"},
            {"method": "GET", "url": "v59.0/sobjects/Account/001Dn0000000000AAA"},
        ]
    }
    out = sf.restful("composite/batch", method="POST", json=body)
    assert out["hasErrors"] is True
    assert [r["statusCode"] for r in out["results"]] == [204, 200, 404]
    assert out["results"][1]["result"]["Name"] == "Academy"
    body["batchRequests"].reverse()
    out = sf.restful("composite/batch", method="POST", json={**body, "haltOnError": True})
    assert [r["statusCode"] for r in out["results"]] == [404, 412, 412]
    assert out["results"][1]["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"


def test_bulk_api_1_inserts_updates_queries_and_deletes(sf: Salesforce, org: Org) -> None:
    inserted = sf.bulk.Contact.insert([{"LastName": f"Bulk {i}"} for i in range(5)] + [{"FirstName": "x"}])
    assert [r["success"] for r in inserted] == [True] * 5 + [False]
    assert inserted[5]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    ids = [r["id"] for r in inserted[:5]]
    updated = sf.bulk.Contact.update([{"Id": ids[0], "FirstName": "Ada"}])
    assert updated[0]["success"] and not updated[0]["created"]
    rows = sf.bulk.Contact.query("SELECT Id, FirstName, LastName FROM Contact WHERE FirstName = 'Ada'")
    assert [(r["Id"], r["LastName"]) for r in rows] == [(ids[0], "Bulk 0")]
    upserted = sf.bulk.Contact.upsert(
        [{"Participant_UID__c": "U1", "LastName": "New"}], external_id_field="Participant_UID__c"
    )
    assert upserted[0]["success"] and upserted[0]["created"]
    assert all(r["success"] for r in sf.bulk.Contact.delete([{"Id": i} for i in ids]))
    assert org.model.state()["records"]["Contact"] == 1
    assert len(sf.bulk.Contact.query_all("SELECT Id FROM Contact")) == 6  # queryAll sees the deleted


def test_bulk_api_1_refuses_a_bad_session_in_its_own_error_shape(org: Org) -> None:
    answer = requests.post(
        f"{org.url}/services/async/59.0/job",
        headers={"X-SFDC-Session": "not-a-session", "Content-Type": "application/json"},
        json={"operation": "insert", "object": "Contact", "contentType": "JSON"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json() == {"exceptionCode": "InvalidSessionId", "exceptionMessage": "Invalid session id"}


def test_sosl_search_and_quick_search(sf: Salesforce, org: Org) -> None:
    kari = sf.Contact.create({"FirstName": "Kari", "LastName": "Nordmann", "Email": "kari@school.test"})["id"]
    sf.Contact.create({"FirstName": "Ola", "LastName": "Hansen", "Email": "ola@school.test"})
    sf.Account.create({"Name": "Nordmann Academy"})
    found = sf.search("FIND {nordmann} IN NAME FIELDS RETURNING Contact(Id, Email)")["searchRecords"]
    assert [(r["attributes"]["type"], r["Id"], r["Email"]) for r in found] == [
        ("Contact", kari, "kari@school.test")
    ]
    everywhere = sf.quick_search("Nordm*")["searchRecords"]
    assert sorted(r["attributes"]["type"] for r in everywhere) == ["Account", "Contact"]
    limited = sf.search("FIND {school.test} IN EMAIL FIELDS RETURNING Contact(Id WHERE FirstName = 'Ola')")
    assert len(limited["searchRecords"]) == 1
    with pytest.raises(SalesforceMalformedRequest):
        sf.search("nordmann")


def test_describe_has_child_relationships_record_types_and_field_details(sf: Salesforce) -> None:
    account = sf.Account.describe()
    assert {"childSObject": "Contact", "field": "AccountId", "relationshipName": "Contacts"}.items() <= next(
        r for r in account["childRelationships"] if r["childSObject"] == "Contact"
    ).items()
    (master,) = account["recordTypeInfos"]
    assert master["master"] and master["name"] == "Master" and master["defaultRecordTypeMapping"]
    fields = {f["name"]: f for f in sf.Canvas_Activitiy__c.describe()["fields"]}
    assert fields["Id"]["soapType"] == "tns:ID" and fields["Id"]["length"] == 18
    assert (
        fields["Canvas_Activity__c"]["soapType"] == "xsd:string"
        and fields["Canvas_Activity__c"]["length"] == 255
    )
    assert fields["Date__c"]["soapType"] == "xsd:dateTime" and fields["Date__c"]["length"] == 0
    assert fields["Programme_Participant__c"]["soapType"] == "tns:ID"
    assert all(f["picklistValues"] == [] for f in fields.values())
    programme = sf.TL_Programme__c.describe()
    assert any(r["relationshipName"] == "Programme_Participants__r" for r in programme["childRelationships"])


def test_injected_faults_are_counted_under_their_route(sf: Salesforce, org: Org) -> None:
    rule = {
        "path": "/query",
        "method": "GET",
        "status": 503,
        "body": [{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}],
        "count": 1,
    }
    requests.put(f"{org.url}/_emulator/faults", json={"errors": [rule]}, timeout=5).raise_for_status()
    with pytest.raises(SalesforceGeneralError):
        sf.query("SELECT Id FROM Contact")
    sf.query("SELECT Id FROM Contact")
    org.settled_count("GET", "/services/data/{version}/query")
    requests_by_route = org.control.stats()["requests"]
    assert requests_by_route["GET /services/data/{version}/query"] == {"503": 1, "200": 1}
    assert not any("unrouted" in key for key in requests_by_route)
