"""Bulk API 2.0 through simple-salesforce's ``sf.bulk2``: ingest jobs and query jobs."""

from __future__ import annotations

import csv
import io

import pytest
import requests
from simple_salesforce import Salesforce

from tests.emulators.salesforce.conftest import Org

FAST = 0.01  # seconds simple-salesforce waits before polling a job


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk_insert_reports_successes_and_failures(sf: Salesforce, org: Org) -> None:
    records = [{"LastName": f"Bulk {i}", "Participant_UID__c": f"B-{i}"} for i in range(5)] + [
        {"FirstName": "No last name"}
    ]
    (result,) = sf.bulk2.Contact.insert(records=records, wait=FAST)
    assert result["numberRecordsProcessed"] == 6 and result["numberRecordsFailed"] == 1
    ok = _rows(sf.bulk2.Contact.get_successful_records(result["job_id"]))
    assert [r["LastName"] for r in ok] == [f"Bulk {i}" for i in range(5)]
    assert all(r["sf__Created"] == "true" and r["sf__Id"].startswith("003") for r in ok)
    failed = _rows(sf.bulk2.Contact.get_failed_records(result["job_id"]))
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert org.model.state()["records"]["Contact"] == 5


def test_bulk_upsert_update_and_delete(sf: Salesforce, org: Org) -> None:
    records = [{"LastName": f"U{i}", "Participant_UID__c": f"P-{i}"} for i in range(4)]
    sf.bulk2.Contact.upsert(records=records, external_id_field="Participant_UID__c", wait=FAST)
    records[0]["LastName"] = "Renamed"
    (again,) = sf.bulk2.Contact.upsert(records=records, external_id_field="Participant_UID__c", wait=FAST)
    created = {r["sf__Created"] for r in _rows(sf.bulk2.Contact.get_successful_records(again["job_id"]))}
    assert created == {"false"}
    ids = [r["Id"] for r in sf.query_all("SELECT Id FROM Contact ORDER BY Participant_UID__c")["records"]]
    sf.bulk2.Contact.update(records=[{"Id": ids[1], "Email": "u1@example.org"}], wait=FAST)
    sf.bulk2.Contact.delete(records=[{"Id": ids[3]}], wait=FAST)
    rows = sf.query_all("SELECT LastName, Email FROM Contact ORDER BY Participant_UID__c")["records"]
    assert [(r["LastName"], r["Email"]) for r in rows] == [
        ("Renamed", None),
        ("U1", "u1@example.org"),
        ("U2", None),
    ]


def test_bulk_query_pages_with_locators(sf: Salesforce, org: Org, seed_programmes) -> None:
    ids = seed_programmes()
    for i in range(7):
        org.model.insert(
            "Programme_Participant__c", {"Participant_UID__c": f"Q{i}", "Programme__c": ids["active"]}
        )
    pages = list(
        sf.bulk2.Programme_Participant__c.query(
            "SELECT Participant_UID__c, Programme__r.Name FROM Programme_Participant__c ORDER BY Participant_UID__c",
            max_records=3,
            wait=FAST,
        )
    )
    assert len(pages) == 3
    rows = [row for page in pages for row in _rows(page)]
    assert [r["Participant_UID__c"] for r in rows] == [f"Q{i}" for i in range(7)]
    assert {r["Programme__r.Name"] for r in rows} == {"Active"}


def test_batches_answer_201_and_a_closed_job_refuses_more_data(sf: Salesforce, org: Org) -> None:
    headers = {"Authorization": f"Bearer {sf.session_id}", "Content-Type": "application/json"}
    base = f"{org.url}/services/data/v59.0/jobs/ingest"
    job = requests.post(
        base, json={"object": "Contact", "operation": "insert"}, headers=headers, timeout=5
    ).json()
    assert job["state"] == "Open" and job["id"].startswith("750")
    csv_headers = {**headers, "Content-Type": "text/csv"}
    put = requests.put(f"{base}/{job['id']}/batches", data="LastName\nX\n", headers=csv_headers, timeout=5)
    assert put.status_code == 201
    requests.patch(
        f"{base}/{job['id']}", json={"state": "UploadComplete"}, headers=headers, timeout=5
    ).raise_for_status()
    again = requests.put(f"{base}/{job['id']}/batches", data="LastName\nY\n", headers=csv_headers, timeout=5)
    assert again.status_code == 409
    info = requests.get(f"{base}/{job['id']}", headers=headers, timeout=5).json()
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        1,
        0,
    )


def test_bulk_query_with_bad_soql_is_refused(sf: Salesforce) -> None:
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    with pytest.raises(SalesforceMalformedRequest):
        list(sf.bulk2.Contact.query("SELECT Id FROM Contact GROUP BY Id", wait=FAST))
