"""``POST /composite/tree/<sObject>``: create a tree of records (parents with their children
nested under a child relationship name) in one all-or-nothing request.

At most 200 records in all and five levels deep; the top-level records must be of the type
in the URL; each record carries ``attributes: {type, referenceId}``. A child gets its lookup
to the parent filled in. Success is **201** ``{"hasErrors": false, "results":
[{"referenceId", "id"}]}`` for every record; any failure rolls everything back and answers
**400** ``{"hasErrors": true, "results": [{"referenceId", "errors": [...]}]}``.
"""

from __future__ import annotations

from typing import Any

from canvasbridge_emulators.salesforce.exceptions import SalesforceError, json_parser_error
from canvasbridge_emulators.salesforce.models import SalesforceModel
from canvasbridge_emulators.salesforce.schema import ObjectDef

MAX_TREE_RECORDS = 200
MAX_TREE_DEPTH = 5


def create_tree(model: SalesforceModel, sobject: str, body: Any) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body of a composite tree request."""

    top = model.object(sobject)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise json_parser_error('Expected {"records": [...]}')
    if _count(body["records"]) > MAX_TREE_RECORDS:
        raise SalesforceError(400, "LIMIT_EXCEEDED", f"A tree may hold at most {MAX_TREE_RECORDS} records")
    created: list[dict[str, Any]] = []
    with model.transaction() as rollback:
        try:
            for record in body["records"]:
                _create(model, top, record, None, 1, created)
        except _Failed as failed:
            rollback()
            return 400, {"hasErrors": True, "results": [failed.result]}
    return 201, {"hasErrors": False, "results": created}


class _Failed(Exception):
    def __init__(self, reference_id: str, error: SalesforceError) -> None:
        super().__init__(reference_id)
        self.result = {"referenceId": reference_id, "errors": [error.record_error()]}


def _count(records: Any) -> int:
    total = 0
    for record in records if isinstance(records, list) else []:
        total += 1
        if isinstance(record, dict):
            for value in record.values():
                if isinstance(value, dict) and isinstance(value.get("records"), list):
                    total += _count(value["records"])
    return total


def _create(
    model: SalesforceModel,
    expected: ObjectDef,
    record: Any,
    parent: tuple[str, str] | None,  # (lookup field on this record, parent id)
    depth: int,
    created: list[dict[str, Any]],
) -> None:
    attributes = record.get("attributes") if isinstance(record, dict) else None
    reference_id = str(attributes.get("referenceId", "")) if isinstance(attributes, dict) else ""
    if not reference_id:
        raise _Failed("", SalesforceError(400, "INVALID_INPUT", "Include a reference ID for each record"))
    if str(attributes.get("type", "")).lower() != expected.name.lower():  # type: ignore[union-attr]
        raise _Failed(
            reference_id,
            SalesforceError(400, "INVALID_TYPE", f"This record must be of type {expected.name}"),
        )
    if depth > MAX_TREE_DEPTH:
        raise _Failed(reference_id, SalesforceError(400, "INVALID_INPUT", "A tree may be 5 levels deep"))
    fields: dict[str, Any] = {}
    nested: list[tuple[str, Any]] = []
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, dict) and "records" in value:
            nested.append((key, value["records"]))
        else:
            fields[key] = value
    if parent is not None:
        fields[parent[0]] = parent[1]
    try:
        new_id = model.insert(expected.name, fields)
    except SalesforceError as err:
        raise _Failed(reference_id, err) from err
    created.append({"referenceId": reference_id, "id": new_id})
    for relationship, children in nested:
        child = expected.child(relationship)
        if child is None or not isinstance(children, list):
            raise _Failed(
                reference_id,
                SalesforceError(
                    400, "INVALID_FIELD", f"No such relationship '{relationship}' on {expected.name}"
                ),
            )
        child_obj = model.object(child[0])
        for child_record in children:
            _create(model, child_obj, child_record, (child[1], new_id), depth + 1, created)
