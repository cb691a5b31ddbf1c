"""In-memory stand-ins for the Canvas lookups and the Salesforce client (unit tests only;
the integration tests use the emulators)."""

from __future__ import annotations

from collections import Counter
from typing import Any


class FakeLookups:
    def __init__(self, **answers: Any) -> None:
        self.answers = {
            "user_sis_id": "S-looked-up",
            "course_name": "Leading Teaching",
            "quiz_title": "Module 1 Quiz",
            "assignment_name": "Essay 1",
            "discussion_title": "Introductions",
            "quiz_score": "8/10",
            "submission_grade": "A",
        }
        self.answers.update(answers)
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        if name not in self.answers:
            raise AttributeError(name)

        def answer(*args: Any) -> Any:
            self.calls[name] += 1
            return self.answers[name]

        return answer


class FakeSalesforce:
    """Records calls; ``create_many`` stores records and refuses keys already stored."""

    def __init__(self, *, fail_with: Exception | None = None, refuse: set[str] | None = None) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.updates: list[tuple[str, dict[str, Any]]] = []
        self.calls: list[str] = []
        self.queries: list[str] = []
        self.fail_with = fail_with
        self.refuse = refuse or set()

    def query_all(self, soql: str) -> dict[str, Any]:
        self.calls.append("query")
        self.queries.append(soql)
        found = []
        for rows in self.records.values():
            for row in rows:
                key = row.get("Caliper_Event_Id__c")
                if key and f"'{key}'" in soql:
                    found.append({"Caliper_Event_Id__c": key})
        return {"records": found, "totalSize": len(found), "done": True}

    def create_many(self, sobject: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.calls.append("create_many")
        if self.fail_with:
            raise self.fail_with
        assert len(records) <= 200
        results = []
        for index, record in enumerate(records):
            if record.get("Caliper_Event_Id__c") in self.refuse:
                results.append(
                    {
                        "success": False,
                        "errors": [{"statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": "no"}],
                    }
                )
                continue
            self.records.setdefault(sobject, []).append(record)
            results.append({"id": f"a0X{len(self.records[sobject]):015d}", "success": True, "errors": []})
            del index
        return results

    def update_many(self, sobject: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.calls.append("update_many")
        for record in records:
            self.updates.append((sobject, record))
        return [{"id": r["Id"], "success": True, "errors": []} for r in records]
