"""Every Salesforce REST resource the emulator serves answers in the documented shape (the
REST API Developer Guide's resource pages, the Bulk API guides, and reference
canvas-and-salesforce-apis.md sections 4-6): a table of resource -> call -> shape, one
parametrised test, calls made through simple-salesforce where it has one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from tests.emulators.salesforce.conftest import TODAY, Org
from tests.emulators.shapes import shape_errors

ATTRIBUTES = {"type": "str", "url": "str"}
RECORD = {"attributes": "dict", "Id": "str"}
SAVE_RESULT = {"id": "str", "success": "bool", "errors": "list"}
UPSERT_RESULT = SAVE_RESULT | {"created": "bool"}
QUERY = {"totalSize": "int", "done": "bool", "records": "list"}
SOBJECT_BASIC = {
    "name": "str",
    "label": "str",
    "labelPlural": "str",
    "custom": "bool",
    "keyPrefix": "str?",
    "createable": "bool",
    "updateable": "bool",
    "deletable": "bool",
    "queryable": "bool",
    "searchable": "bool",
    "retrieveable": "bool",
    "replicateable": "bool",
    "urls": "dict",
}
DESCRIBE = SOBJECT_BASIC | {"fields": "list", "childRelationships": "list", "recordTypeInfos": "list"}
FIELD = {
    "name": "str",
    "type": "str",
    "label": "str",
    "soapType": "str",
    "length": "int",
    "byteLength": "int",
    "digits": "int",
    "precision": "int",
    "scale": "int",
    "nillable": "bool",
    "createable": "bool",
    "updateable": "bool",
    "custom": "bool",
    "externalId": "bool",
    "idLookup": "bool",
    "unique": "bool",
    "filterable": "bool",
    "sortable": "bool",
    "autoNumber": "bool",
    "calculated": "bool",
    "defaultedOnCreate": "bool",
    "picklistValues": "list",
    "referenceTo": "list",
    "relationshipName": "str?",
}
CHILD_RELATIONSHIP = {
    "childSObject": "str",
    "field": "str",
    "relationshipName": "str?",
    "cascadeDelete": "bool",
    "restrictedDelete": "bool",
    "deprecatedAndHidden": "bool",
}
RECORD_TYPE_INFO = {
    "recordTypeId": "str",
    "name": "str",
    "developerName": "str",
    "master": "bool",
    "available": "bool",
    "active": "bool",
    "defaultRecordTypeMapping": "bool",
    "urls": "dict",
}
COMPOSITE_ITEM = {"body": "any?", "httpHeaders": "dict", "httpStatusCode": "int", "referenceId": "str"}
BATCH_ITEM = {"statusCode": "int", "result": "any?"}
TREE = {"hasErrors": "bool", "results": "list"}
TREE_ITEM = {"referenceId": "str", "id": "str"}
DELETED = {"deletedRecords": "list", "earliestDateAvailable": "str", "latestDateCovered": "str"}
DELETED_ITEM = {"id": "str", "deletedDate": "str"}
UPDATED = {"ids": "list", "latestDateCovered": "str"}
LIMIT = {"Max": "int", "Remaining": "int"}
VERSION = {"label": "str", "url": "str", "version": "str"}
ERROR = {"message": "str", "errorCode": "str"}
TOKEN = {
    "access_token": "str",
    "instance_url": "str",
    "id": "str",
    "token_type": "str",
    "issued_at": "str",
    "signature": "str",
}
BULK2_JOB = {
    "id": "str",
    "operation": "str",
    "object": "str",
    "createdById": "str",
    "createdDate": "str",
    "systemModstamp": "str",
    "state": "str",
    "concurrencyMode": "str",
    "contentType": "str",
    "apiVersion": "num",
    "lineEnding": "str",
    "columnDelimiter": "str",
}
BULK1_JOB = {
    "id": "str",
    "operation": "str",
    "object": "str",
    "createdById": "str",
    "createdDate": "str",
    "systemModstamp": "str",
    "state": "str",
    "concurrencyMode": "str",
    "contentType": "str",
    "apiVersion": "num",
    "numberBatchesTotal": "int",
    "numberRecordsProcessed": "int",
    "numberRecordsFailed": "int",
}
BULK1_BATCH = {
    "id": "str",
    "jobId": "str",
    "state": "str",
    "createdDate": "str",
    "systemModstamp": "str",
    "numberRecordsProcessed": "int",
    "numberRecordsFailed": "int",
    "totalProcessingTime": "int",
}

Found = list[tuple[Any, dict[str, str]]]


def contact(sf: Salesforce) -> str:
    return str(sf.Contact.create({"LastName": "Shape", "Email": "shape@school.test"})["id"])


def window() -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(TODAY, dt.time(0, 0), dt.UTC)
    return start, start + dt.timedelta(days=1)


def r_query(sf: Salesforce, org: Org) -> Found:
    contact(sf)
    answer = sf.query("SELECT Id, LastName FROM Contact")
    return (
        [(answer, QUERY)]
        + [(r, RECORD) for r in answer["records"]]
        + [(answer["records"][0]["attributes"], ATTRIBUTES)]
    )


def r_describe(sf: Salesforce, org: Org) -> Found:
    answer = sf.Account.describe()
    found: Found = [(answer, DESCRIBE)]
    found += [(f, FIELD) for f in answer["fields"]]
    found += [(c, CHILD_RELATIONSHIP) for c in answer["childRelationships"]]
    found += [(r, RECORD_TYPE_INFO) for r in answer["recordTypeInfos"]]
    return found


def r_describe_global(sf: Salesforce, org: Org) -> Found:
    answer = sf.describe()
    return [(answer, {"encoding": "str", "maxBatchSize": "int", "sobjects": "list"})] + [
        (o, SOBJECT_BASIC) for o in answer["sobjects"]
    ]


def r_collections(sf: Salesforce, org: Org) -> Found:
    body = {"allOrNone": False, "records": [{"attributes": {"type": "Contact"}, "LastName": "A"}]}
    return [(r, SAVE_RESULT) for r in sf.restful("composite/sobjects", method="POST", json=body)]


def r_composite(sf: Salesforce, org: Org) -> Found:
    body = {
        "compositeRequest": [
            {
                "method": "POST",
                "url": "/services/data/v59.0/sobjects/Contact",
                "referenceId": "c",
                "body": {"LastName": "B"},
            },
            {"method": "GET", "url": "/services/data/v59.0/sobjects/Contact/@{c.id}", "referenceId": "g"},
        ]
    }
    return [
        (r, COMPOSITE_ITEM) for r in sf.restful("composite", method="POST", json=body)["compositeResponse"]
    ]


def r_tree(sf: Salesforce, org: Org) -> Found:
    body = {"records": [{"attributes": {"type": "Account", "referenceId": "a"}, "Name": "Tree"}]}
    answer = sf.restful("composite/tree/Account", method="POST", json=body)
    return [(answer, TREE)] + [(r, TREE_ITEM) for r in answer["results"]]


def r_batch(sf: Salesforce, org: Org) -> Found:
    rid = contact(sf)
    body = {"batchRequests": [{"method": "GET", "url": f"v59.0/sobjects/Contact/{rid}"}]}
    answer = sf.restful("composite/batch", method="POST", json=body)
    return [(answer, {"hasErrors": "bool", "results": "list"})] + [(r, BATCH_ITEM) for r in answer["results"]]


def r_deleted(sf: Salesforce, org: Org) -> Found:
    sf.Contact.delete(contact(sf))
    answer = sf.Contact.deleted(*window())
    return [(answer, DELETED)] + [(d, DELETED_ITEM) for d in answer["deletedRecords"]]


def r_bulk2(sf: Salesforce, org: Org) -> Found:
    job = sf.restful(
        "jobs/ingest", method="POST", json={"object": "Contact", "operation": "insert", "lineEnding": "LF"}
    )
    return [(job, BULK2_JOB)]


def r_bulk1(sf: Salesforce, org: Org) -> Found:
    headers = {"X-SFDC-Session": sf.session_id, "Content-Type": "application/json"}
    base = f"{org.url}/services/async/59.0"
    job = requests.post(
        f"{base}/job",
        json={"operation": "insert", "object": "Contact", "contentType": "JSON"},
        headers=headers,
        timeout=5,
    ).json()
    batch = requests.post(
        f"{base}/job/{job['id']}/batch", json=[{"LastName": "C"}], headers=headers, timeout=5
    ).json()
    results = requests.get(
        f"{base}/job/{job['id']}/batch/{batch['id']}/result", headers=headers, timeout=5
    ).json()
    assert len(job["id"]) == len(batch["id"]) == 18  # Salesforce ids
    return [(job, BULK1_JOB), (batch, BULK1_BATCH)] + [(r, UPSERT_RESULT | {"id": "str?"}) for r in results]


# (resource, how to call it and find the objects it answers)
RESOURCES: list[tuple[str, Callable[[Salesforce, Org], Found]]] = [
    (
        "versions",
        lambda sf, org: [(v, VERSION) for v in requests.get(f"{org.url}/services/data", timeout=5).json()],
    ),
    (
        "oauth2/token",
        lambda sf, org: [
            (
                requests.post(
                    f"{org.url}/services/oauth2/token",
                    data={
                        "grant_type": "password",
                        "client_id": org.model.credentials.consumer_key,
                        "client_secret": org.model.credentials.consumer_secret,
                        "username": org.model.credentials.username,
                        "password": org.model.credentials.password,
                    },
                    timeout=5,
                ).json(),
                TOKEN,
            )
        ],
    ),
    ("limits", lambda sf, org: [(sf.limits()["DailyApiRequests"], LIMIT)]),
    ("query", r_query),
    ("queryAll", lambda sf, org: [(sf.query_all("SELECT Id FROM Contact", include_deleted=True), QUERY)]),
    ("sobjects (describeGlobal)", r_describe_global),
    ("sobjects/<Name>/describe", r_describe),
    ("sobjects/<Name> POST", lambda sf, org: [(sf.Contact.create({"LastName": "D"}), SAVE_RESULT)]),
    (
        "sobjects/<Name>/<Id>",
        lambda sf, org: [
            (
                sf.Contact.get(contact(sf)),
                RECORD | {"LastName": "str", "IsDeleted": "bool", "CreatedDate": "str"},
            )
        ],
    ),
    (
        "sobjects/<Name>/<Field>/<value> PATCH",
        lambda sf, org: [
            (
                sf.Contact.upsert("Participant_UID__c/U-9", {"LastName": "E"}, raw_response=True).json(),
                UPSERT_RESULT,
            )
        ],
    ),
    ("sobjects/<Name>/deleted", r_deleted),
    ("sobjects/<Name>/updated", lambda sf, org: [(sf.Contact.updated(*window()), UPDATED)]),
    (
        "search",
        lambda sf, org: [(sf.search("FIND {shape} RETURNING Contact(Id)"), {"searchRecords": "list"})],
    ),
    ("composite", r_composite),
    ("composite/sobjects", r_collections),
    ("composite/tree", r_tree),
    ("composite/batch", r_batch),
    ("jobs/ingest", r_bulk2),
    ("async job, batch, result (Bulk 1.0)", r_bulk1),
    (
        "error body",
        lambda sf, org: [
            (e, ERROR)
            for e in requests.get(
                f"{org.url}/services/data/v59.0/sobjects/Nope__c",
                headers={"Authorization": f"Bearer {sf.session_id}"},
                timeout=5,
            ).json()
        ],
    ),
]


@pytest.mark.parametrize(("resource", "call"), RESOURCES, ids=[r[0] for r in RESOURCES])
def test_resource_answers_in_the_documented_shape(
    resource: str, call: Callable[[Salesforce, Org], Found], sf: Salesforce, org: Org
) -> None:
    found = call(sf, org)
    assert found, resource
    for obj, shape in found:
        assert shape_errors(obj, shape) == [], obj
