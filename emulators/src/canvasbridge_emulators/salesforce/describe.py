"""The ``describe`` answers: an sObject's basic info, its fields, child relationships and
record types, in the shape of the REST API's DescribeSObjectResult.

Lengths follow Salesforce's defaults where the schema gives none: Text 255, Long Text Area
32,768, Email 80, Phone 40, ids and lookups 18; numbers, dates and booleans have length 0.
Every object has exactly one record type, the Master one.
"""

from __future__ import annotations

from typing import Any

from canvasbridge_emulators.salesforce.schema import FieldDef, ObjectDef

MASTER_RECORD_TYPE_ID = "012000000000000AAA"  # the id Salesforce gives every object's Master type
DEFAULT_LENGTHS = {
    "id": 18,
    "reference": 18,
    "string": 255,
    "textarea": 32768,
    "email": 80,
    "phone": 40,
    "url": 255,
    "picklist": 255,
}
SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}  # every other (text) type is xsd:string


def label(name: str) -> str:
    return name.removesuffix("__c").replace("_", " ")


def basic(obj: ObjectDef, version: str) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "name": obj.name,
        "label": label(obj.name),
        "labelPlural": label(obj.name) + "s",
        "custom": obj.custom,
        "keyPrefix": obj.key_prefix,
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "searchable": True,
        "retrieveable": True,
        "replicateable": True,
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
    }


def describe_field(f: FieldDef) -> dict[str, Any]:
    length = f.length if f.length is not None else DEFAULT_LENGTHS.get(f.type, 0)
    return {
        "name": f.name,
        "type": f.type,
        "label": label(f.name),
        "soapType": SOAP_TYPES.get(f.type, "xsd:string"),
        "length": length,
        "byteLength": length * 3,
        "digits": 9 if f.type == "int" else 0,
        "precision": 18 if f.type in ("double", "currency", "percent") else 0,
        "scale": 0,
        "externalId": f.external_id,
        "idLookup": f.external_id or f.name == "Id",
        "nillable": not f.required and not f.system and f.type != "boolean",
        "createable": f.writable,
        "updateable": f.writable,
        "custom": f.name.endswith("__c"),
        "autoNumber": f.autonumber is not None and f.autonumber != "{name}",
        "calculated": f.autonumber == "{name}",
        "unique": f.unique or f.name == "Id",
        "caseSensitive": f.case_sensitive,
        "filterable": f.type != "textarea",
        "sortable": f.type != "textarea",
        "groupable": f.type not in ("textarea", "double", "currency", "percent", "datetime"),
        "defaultedOnCreate": f.system or f.type == "boolean",
        "defaultValue": False if f.type == "boolean" and not f.system else None,
        "picklistValues": [
            {"active": True, "defaultValue": i == 0, "label": v, "validFor": None, "value": v}
            for i, v in enumerate(f.values)
        ],
        "referenceTo": [f.reference_to] if f.reference_to else [],
        "relationshipName": f.relationship_name,
        "cascadeDelete": False,
        "restrictedDelete": False,
    }


def describe(obj: ObjectDef, version: str) -> dict[str, Any]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        **basic(obj, version),
        "fields": [describe_field(f) for f in obj.fields.values()],
        "childRelationships": [
            {
                "childSObject": child,
                "field": field_name,
                "relationshipName": rel,
                "cascadeDelete": False,
                "restrictedDelete": False,
                "deprecatedAndHidden": False,
                "junctionIdListNames": [],
                "junctionReferenceTo": [],
            }
            for child, field_name, rel in obj.children
        ],
        "recordTypeInfos": [
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": MASTER_RECORD_TYPE_ID,
                "urls": {"layout": f"{base}/describe/layouts/{MASTER_RECORD_TYPE_ID}"},
            }
        ],
    }
