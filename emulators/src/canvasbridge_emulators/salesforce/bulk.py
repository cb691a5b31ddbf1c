"""Bulk API 2.0: ingest and query jobs over the same records as the REST API.

Ingest: ``Open`` → (CSV uploaded with ``PUT …/batches``, answered 201) → ``PATCH
{"state": "UploadComplete"}`` → processed at once → ``JobComplete`` on the next GET (or
``Aborted``). Rows go through the model's own rules, so a bad row fails with the same
error code a REST call would get; results come back as CSV with ``sf__Id`` and
``sf__Created`` (successful) or ``sf__Error`` (failed) before the original columns. An
empty CSV value is "not set"; ``#N/A`` sets a field to null.

Query: ``POST /jobs/query`` runs the SOQL (the same subset) and the job is ``JobComplete``;
results are CSV pages of ``maxRecords`` rows with ``Sforce-NumberOfRecords`` and
``Sforce-Locator`` (``null`` on the last page). Parent paths become dotted columns.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from canvasbridge_emulators.salesforce.exceptions import SalesforceError, not_found
from canvasbridge_emulators.salesforce.schema import make_id

if TYPE_CHECKING:
    from canvasbridge_emulators.salesforce.models import SalesforceModel

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`"}
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
JOB_PREFIX = "750"
DEFAULT_MAX_RECORDS = 50_000
NULL_MARK = "#N/A"


@dataclass
class Job:
    id: str
    operation: str
    object: str | None
    version: str
    created: str
    external_id_field: str | None = None
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    query: str | None = None
    state: str = "Open"
    data: list[str] = field(default_factory=list)
    successful: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)  # query results
    processed: int = 0
    error_message: str | None = None

    @property
    def is_query(self) -> bool:
        return self.operation in ("query", "queryAll")

    def info(self, *, detail: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object or "",
            "createdById": "005Dn000000Emu1IAC",
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if self.is_query:
            out["jobType"] = "V2Query"
            out["query"] = self.query
        else:
            out["jobType"] = "V2Ingest"
            out["contentUrl"] = f"services/data/v{self.version}/jobs/ingest/{self.id}/batches"
            if self.external_id_field:
                out["externalIdFieldName"] = self.external_id_field
        if detail:
            out.update(
                numberRecordsProcessed=self.processed,
                numberRecordsFailed=len(self.failed),
                retries=0,
                totalProcessingTime=0,
            )
            if self.error_message:
                out["errorMessage"] = self.error_message
        return out


class BulkJobs:
    def __init__(self, model: SalesforceModel) -> None:
        self.model = model
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._counter = 0

    def clear(self) -> None:
        with self._lock:
            self._jobs.clear()

    def _new_id(self) -> str:
        self._counter += 1
        return make_id(JOB_PREFIX, self._counter)

    def get(self, job_id: str, *, query: bool) -> Job:
        job = self._jobs.get(job_id)
        if job is None or job.is_query != query:
            raise not_found()
        return job

    def list(self, *, query: bool) -> list[Job]:
        return [j for j in self._jobs.values() if j.is_query == query]

    # ------------------------------------------------------------ ingest

    def create_ingest(self, body: dict[str, Any], version: str) -> Job:
        operation = body.get("operation")
        if operation not in INGEST_OPERATIONS:
            raise SalesforceError(400, "INVALIDJOB", f"Invalid operation: {operation}")
        obj = self.model.object(str(body.get("object", "")))
        external = body.get("externalIdFieldName")
        if operation == "upsert":
            fdef = obj.field(str(external or ""))
            if fdef is None or not (fdef.external_id or fdef.name == "Id"):
                raise SalesforceError(
                    400, "INVALIDJOB", f"External ID field {external!r} is not valid for {obj.name}"
                )
        delimiter = str(body.get("columnDelimiter", "COMMA"))
        if delimiter not in DELIMITERS or body.get("contentType", "CSV") != "CSV":
            raise SalesforceError(400, "INVALIDJOB", "Unsupported content type or column delimiter")
        job = Job(
            self._new_id(),
            operation,
            obj.name,
            version,
            self.model.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            external_id_field=str(external) if external else None,
            column_delimiter=delimiter,
            line_ending=str(body.get("lineEnding", "LF")),
        )
        with self._lock:
            self._jobs[job.id] = job
        return job

    def upload(self, job_id: str, data: bytes) -> None:
        job = self.get(job_id, query=False)
        if job.state != "Open":
            raise SalesforceError(409, "INVALIDJOBSTATE", f"Job is {job.state}, not Open")
        job.data.append(data.decode("utf-8-sig"))

    def set_state(self, job_id: str, state: str) -> Job:
        job = self.get(job_id, query=False)
        if state == "Aborted":
            if job.state in ("JobComplete", "Failed"):
                raise SalesforceError(409, "INVALIDJOBSTATE", f"Job is already {job.state}")
            job.state = "Aborted"
            return job
        if state != "UploadComplete" or job.state != "Open":
            raise SalesforceError(409, "INVALIDJOBSTATE", f"Cannot move a {job.state} job to {state}")
        job.state = "UploadComplete"
        self._process(job)
        return job

    def poll(self, job_id: str, *, query: bool) -> Job:
        """The job as a GET sees it: an uploaded ingest job has finished by the time it is asked."""

        job = self.get(job_id, query=query)
        if job.state in ("UploadComplete", "InProgress"):
            job.state = "Failed" if job.error_message else "JobComplete"
        return job

    def _process(self, job: Job) -> None:
        delimiter = DELIMITERS[job.column_delimiter]
        rows: list[list[str]] = []
        header: list[str] | None = None
        for chunk in job.data:
            reader = list(csv.reader(io.StringIO(chunk), delimiter=delimiter))
            if not reader:
                continue
            if header is None:
                header = reader[0]
            elif reader[0] != header:
                job.error_message = "InvalidBatch : all uploads of a job must have the same header"
                return
            rows.extend(reader[1:])
        if header is None:
            job.error_message = "InvalidBatch : no data uploaded"
            return
        job.header = header
        for row in rows:
            if not any(row):
                continue
            values = dict(zip(header, row, strict=False))
            try:
                record_id, created = self._apply(job, values)
                job.successful.append([record_id, "true" if created else "false", *row])
            except SalesforceError as err:
                fields = ",".join(err.fields or [])
                job.failed.append(["", f"{err.code}:{err.message}:{fields}", *row])
            job.processed += 1

    def _apply(self, job: Job, values: dict[str, str]) -> tuple[str, bool]:
        fields = {k: (None if v == NULL_MARK else v) for k, v in values.items() if v != ""}
        assert job.object is not None
        model = self.model
        if job.operation == "insert":
            return model.insert(job.object, fields), True
        record_id = next((v for k, v in fields.items() if k.lower() == "id"), None)
        if job.operation in ("update", "delete", "hardDelete"):
            if not record_id:
                raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified", ["Id"])
            if job.operation == "update":
                model.update(job.object, record_id, {k: v for k, v in fields.items() if k.lower() != "id"})
            else:
                model.delete(job.object, record_id)
            return record_id, False
        key = next((k for k in fields if k.lower() == (job.external_id_field or "").lower()), None)
        if key is None or fields[key] is None:
            raise SalesforceError(
                400,
                "MISSING_ARGUMENT",
                f"{job.external_id_field} not specified",
                [str(job.external_id_field)],
            )
        try:
            return model.upsert(job.object, str(job.external_id_field), str(fields[key]), fields)
        except SalesforceError as err:
            if err.status == 300:
                raise SalesforceError(
                    400, "DUPLICATE_EXTERNAL_ID", "more than one record matches the external id"
                ) from err
            raise

    def results(self, job_id: str, kind: str) -> str:
        job = self.poll(job_id, query=False)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if kind == "successfulResults":
            writer.writerow(["sf__Id", "sf__Created", *job.header])
            writer.writerows(job.successful)
        elif kind == "failedResults":
            writer.writerow(["sf__Id", "sf__Error", *job.header])
            writer.writerows(job.failed)
        else:  # unprocessedrecords: everything is processed at UploadComplete
            writer.writerow(job.header)
        return out.getvalue()

    def delete(self, job_id: str, *, query: bool) -> None:
        job = self.get(job_id, query=query)
        if job.state in ("Open", "UploadComplete", "InProgress"):
            raise SalesforceError(409, "INVALIDJOBSTATE", "Abort the job before deleting it")
        with self._lock:
            del self._jobs[job_id]

    # ------------------------------------------------------------ query

    def create_query(self, body: dict[str, Any], version: str) -> Job:
        operation = body.get("operation", "query")
        if operation not in ("query", "queryAll"):
            raise SalesforceError(400, "INVALIDJOB", f"Invalid operation: {operation}")
        text = str(body.get("query") or "")
        page = self.model.query(
            text, include_deleted=operation == "queryAll", batch_size=10**9, version=version
        )
        from canvasbridge_emulators.salesforce import soql

        parsed = soql.parse(text)
        columns = [".".join(p) for p in parsed.fields]
        job = Job(
            self._new_id(),
            operation,
            parsed.sobject,
            version,
            self.model.now().strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        )
        job.query = text
        job.header = columns
        job.rows = [[_csv_value(_dig(record, path)) for path in parsed.fields] for record in page["records"]]
        job.processed = len(job.rows)
        job.state = "UploadComplete"
        with self._lock:
            self._jobs[job.id] = job
        return job

    def query_results(
        self, job_id: str, locator: str | None, max_records: int | None
    ) -> tuple[str, int, str]:
        job = self.poll(job_id, query=True)
        if job.state != "JobComplete":
            raise SalesforceError(400, "INVALIDJOBSTATE", f"Job is {job.state}")
        start = int(locator) if locator and locator.isdigit() else 0
        size = max(1, max_records or DEFAULT_MAX_RECORDS)
        chunk = job.rows[start : start + size]
        out = io.StringIO()
        writer = csv.writer(
            out, delimiter=DELIMITERS[job.column_delimiter], lineterminator="\n", quoting=csv.QUOTE_ALL
        )
        writer.writerow(job.header)
        writer.writerows(chunk)
        next_locator = str(start + size) if start + size < len(job.rows) else "null"
        return out.getvalue(), len(chunk), next_locator


def _dig(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    current: Any = record
    for part in path:
        if not isinstance(current, dict):
            return None
        key = next((k for k in current if k.lower() == part.lower()), None)
        if key is None:
            return None
        current = current[key]
    return current


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
