"""Unique fields: a value another live record holds is refused with ``DUPLICATE_VALUE``."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from canvasbridge_emulators.salesforce import SalesforceModel
from canvasbridge_emulators.salesforce.exceptions import SalesforceError
from canvasbridge_emulators.salesforce.schema import schema_from_spec
from tests.emulators.salesforce.conftest import TODAY, Org

ACTIVITY = "Canvas_Activitiy__c"


def test_create_refuses_a_value_another_record_holds(sf: Salesforce, org: Org) -> None:
    first = sf.Canvas_Activitiy__c.create({"Caliper_Event_Id__c": "urn:uuid:K1"})
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Canvas_Activitiy__c.create({"Caliper_Event_Id__c": "urn:uuid:K1"})
    error = refused.value.content[0]
    assert error["errorCode"] == "DUPLICATE_VALUE"
    assert "Caliper_Event_Id__c" in error["message"]
    assert first["id"] in error["message"]
    # the field is case-sensitive: another case is another value
    assert sf.Canvas_Activitiy__c.create({"Caliper_Event_Id__c": "urn:uuid:k1"})["success"]
    assert sf.query("SELECT COUNT() FROM Canvas_Activitiy__c")["totalSize"] == 2


def test_collection_create_answers_duplicate_value_for_that_record_only(sf: Salesforce, org: Org) -> None:
    held = sf.Canvas_Activitiy__c.create({"Caliper_Event_Id__c": "A"})["id"]
    records = [{"attributes": {"type": ACTIVITY}, "Caliper_Event_Id__c": key} for key in ("B", "A", "B", "C")]
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in results] == [True, False, False, True]
    assert results[1]["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    assert held in results[1]["errors"][0]["message"]
    assert results[2]["errors"][0]["statusCode"] == "DUPLICATE_VALUE"
    assert results[0]["id"] in results[2]["errors"][0]["message"]
    assert sf.query("SELECT COUNT() FROM Canvas_Activitiy__c")["totalSize"] == 3


def test_describe_reports_unique_and_case_sensitive(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.Canvas_Activitiy__c.describe()["fields"]}
    assert fields["Caliper_Event_Id__c"]["unique"] is True
    assert fields["Caliper_Event_Id__c"]["caseSensitive"] is True
    assert fields["Time__c"]["unique"] is False


def test_case_insensitive_by_default_and_checked_on_update() -> None:
    spec = {"Thing__c": {"Code__c": {"type": "string", "unique": True}, "Other__c": "string"}}
    model = SalesforceModel(schema=schema_from_spec(spec), today=TODAY)
    first = model.insert("Thing__c", {"Code__c": "abc"})
    with pytest.raises(SalesforceError) as refused:
        model.insert("Thing__c", {"Code__c": "ABC"})
    assert refused.value.code == "DUPLICATE_VALUE"
    assert first in refused.value.message
    second = model.insert("Thing__c", {"Code__c": "xyz"})
    with pytest.raises(SalesforceError) as on_update:
        model.update("Thing__c", second, {"Code__c": "Abc"})
    assert on_update.value.code == "DUPLICATE_VALUE"
    model.update("Thing__c", first, {"Code__c": "ABC", "Other__c": "its own value is no duplicate"})
    model.delete("Thing__c", first)
    model.update("Thing__c", second, {"Code__c": "abc"})  # a deleted record holds nothing
    assert model.raw("Thing__c", second)["Code__c"] == "abc"
