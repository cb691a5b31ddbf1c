"""Bulk API 1.0 (``/services/async/<version>/``) with JSON content, as ``sf.bulk`` uses it.

    POST job                          {"operation", "object", "contentType": "JSON", ...} → JobInfo
    POST job/<id>/batch               a JSON array of records (a SOQL string for query) → BatchInfo
    GET  job/<id>/batch/<batch>       BatchInfo
    GET  job/<id>/batch/<batch>/result        DML: [{"success","created","id","errors"}];
                                              query: [result id], then .../result/<result id>
    GET  job/<id>/batch/<batch>/request       the records the batch was given
    POST job/<id>                     {"state": "Closed" | "Aborted"} → JobInfo
    GET  job/<id>                     JobInfo

Authentication is the ``X-SFDC-Session`` header. A batch is processed when it is added, so
its first status read already says ``Completed`` (the client never has to wait).
Operations: insert, update, upsert, delete, hardDelete (deletes, as the emulator keeps no
recycle bin apart), query and queryAll. Not covered: CSV and XML content, PK chunking,
and ``Failed`` batches (a bad record fails alone, in its result row).
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from canvasbridge_emulators.salesforce.exceptions import SalesforceError
from canvasbridge_emulators.salesforce.models import SalesforceModel

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete", "query", "queryAll")


class BulkV1Error(SalesforceError):
    """Bulk API 1.0 answers errors as ``{"exceptionCode", "exceptionMessage"}``."""

    def body(self) -> Any:  # type: ignore[override]
        return {"exceptionCode": self.code, "exceptionMessage": self.message}


@dataclass
class Batch:
    id: str
    job_id: str
    created: str
    request: Any
    results: list[Any] = field(default_factory=list)
    query_rows: list[dict[str, Any]] | None = None
    failed: int = 0

    def info(self) -> dict[str, Any]:
        processed = len(self.query_rows) if self.query_rows is not None else len(self.results)
        return {
            "apexProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "createdDate": self.created,
            "id": self.id,
            "jobId": self.job_id,
            "numberRecordsFailed": self.failed,
            "numberRecordsProcessed": processed,
            "state": "Completed",
            "stateMessage": None,
            "systemModstamp": self.created,
            "totalProcessingTime": 0,
        }


@dataclass
class Job:
    id: str
    operation: str
    object: str
    created: str
    api_version: float
    concurrency: str
    external_id: str | None = None
    state: str = "Open"
    batches: dict[str, Batch] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        batches = list(self.batches.values())
        processed = sum(b.info()["numberRecordsProcessed"] for b in batches)
        return {
            "apexProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apiVersion": self.api_version,
            "assignmentRuleId": None,
            "concurrencyMode": self.concurrency,
            "contentType": "JSON",
            "createdById": "005Dn000000Emu1IAC",
            "createdDate": self.created,
            "externalIdFieldName": self.external_id,
            "id": self.id,
            "numberBatchesCompleted": len(batches),
            "numberBatchesFailed": 0,
            "numberBatchesInProgress": 0,
            "numberBatchesQueued": 0,
            "numberBatchesTotal": len(batches),
            "numberRecordsFailed": sum(b.failed for b in batches),
            "numberRecordsProcessed": processed,
            "numberRetries": 0,
            "object": self.object,
            "operation": self.operation,
            "state": self.state,
            "systemModstamp": self.created,
            "totalProcessingTime": 0,
        }


class BulkV1:
    """The jobs of one org; every method raises :class:`BulkV1Error` on bad input."""

    def __init__(self, model: SalesforceModel) -> None:
        self.model = model
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def _stamp(self) -> str:
        now = self.model.now()
        return now.strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}Dn000{next(self._ids):07d}AAA"  # 18 characters, as Salesforce ids are

    def reset(self) -> None:
        with self._lock:
            self._jobs.clear()

    def create_job(self, body: Any, version: str) -> Job:
        if not isinstance(body, dict):
            raise BulkV1Error(400, "InvalidJob", "Expected a JSON object describing the job")
        operation = str(body.get("operation", ""))
        if operation not in OPERATIONS:
            raise BulkV1Error(400, "InvalidJob", f"Invalid operation: {operation}")
        if str(body.get("contentType", "JSON")).upper() != "JSON":
            raise BulkV1Error(400, "InvalidJob", "The emulator's Bulk API 1.0 takes JSON content only")
        try:
            obj = self.model.object(str(body.get("object", "")))
        except SalesforceError as err:
            raise BulkV1Error(400, "InvalidJob", f"Unable to find object: {body.get('object')}") from err
        external = body.get("externalIdFieldName")
        if operation == "upsert" and not external:
            raise BulkV1Error(400, "InvalidJob", "External ID field is required for upsert")
        serial = body.get("concurrencyMode") in (1, "1", "Serial")
        job = Job(
            self._new_id("750"),
            operation,
            obj.name,
            self._stamp(),
            float(version),
            "Serial" if serial else "Parallel",
            str(external) if external else None,
        )
        with self._lock:
            self._jobs[job.id] = job
        return job

    def job(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise BulkV1Error(400, "InvalidJob", f"Invalid job id: {job_id}")
        return job

    def set_state(self, job_id: str, body: Any) -> Job:
        job = self.job(job_id)
        state = body.get("state") if isinstance(body, dict) else None
        if state not in ("Closed", "Aborted"):
            raise BulkV1Error(400, "InvalidJobState", f"Invalid state: {state}")
        job.state = state
        return job

    def batch(self, job_id: str, batch_id: str) -> Batch:
        batch = self.job(job_id).batches.get(batch_id)
        if batch is None:
            raise BulkV1Error(400, "InvalidBatch", f"Invalid batch id: {batch_id}")
        return batch

    def add_batch(self, job_id: str, raw: bytes, version: str) -> Batch:
        job = self.job(job_id)
        if job.state != "Open":
            raise BulkV1Error(400, "InvalidJobState", f"Job {job_id} is not open")
        batch = Batch(self._new_id("751"), job.id, self._stamp(), None)
        if job.operation in ("query", "queryAll"):
            soql = raw.decode("utf-8")
            batch.request = soql
            batch.query_rows = self._query(soql, job.operation == "queryAll", version)
        else:
            try:
                records = json.loads(raw or b"null")
            except ValueError as err:
                raise BulkV1Error(400, "InvalidBatch", f"Records are not JSON: {err}") from err
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise BulkV1Error(400, "InvalidBatch", "A batch is a JSON array of records")
            batch.request = records
            batch.results = [self._apply(job, record) for record in records]
            batch.failed = sum(1 for r in batch.results if not r["success"])
        job.batches[batch.id] = batch
        return batch

    def _apply(self, job: Job, record: dict[str, Any]) -> dict[str, Any]:
        m = self.model
        fields = {k: v for k, v in record.items() if k != "attributes"}
        record_id = next((str(v) for k, v in fields.items() if k.lower() == "id"), None)
        try:
            created = False
            if job.operation == "insert":
                record_id, created = m.insert(job.object, fields), True
            elif job.operation == "upsert":
                key = next((k for k in fields if k.lower() == str(job.external_id).lower()), None)
                if key is None:
                    raise SalesforceError(400, "MISSING_ARGUMENT", f"{job.external_id} not specified")
                record_id, created = m.upsert(job.object, str(job.external_id), str(fields[key]), fields)
            elif record_id is None:
                raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified", ["Id"])
            elif job.operation == "update":
                m.update(job.object, record_id, {k: v for k, v in fields.items() if k.lower() != "id"})
            else:  # delete, hardDelete
                m.delete(job.object, record_id)
            return {"success": True, "created": created, "id": record_id, "errors": []}
        except SalesforceError as err:
            return {"success": False, "created": False, "id": None, "errors": [err.record_error()]}

    def _query(self, soql: str, include_deleted: bool, version: str) -> list[dict[str, Any]]:
        try:
            page = self.model.query(soql, include_deleted=include_deleted, version=version)
            rows = list(page["records"])
            while not page["done"]:
                page = self.model.query_more(page["nextRecordsUrl"].rsplit("/", 1)[1], version=version)
                rows += page["records"]
        except SalesforceError as err:
            raise BulkV1Error(400, "InvalidBatch", f"Failed to process query: {err.message}") from err
        return rows

    def results(self, job_id: str, batch_id: str) -> list[Any]:
        batch = self.batch(job_id, batch_id)
        if batch.query_rows is not None:
            return [f"752{batch.id[3:]}"]  # one result set per query batch
        return batch.results

    def query_result(self, job_id: str, batch_id: str, result_id: str) -> list[dict[str, Any]]:
        batch = self.batch(job_id, batch_id)
        if batch.query_rows is None or result_id != f"752{batch.id[3:]}":
            raise BulkV1Error(400, "InvalidBatch", f"Invalid result id: {result_id}")
        return batch.query_rows
