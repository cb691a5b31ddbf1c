"""HTTP request → :class:`SalesforceModel` call → the answer in Salesforce's exact shape.

Each handler takes a :class:`Call` and returns a :class:`Reply`; the same handlers serve
real HTTP requests and the sub-requests of ``/composite``. Authentication, the daily
allowance and ``Sforce-Limit-Info`` are applied around them by :meth:`SalesforceResponses.run`.

Emulator settings read from ``Faults.extra`` (``PUT /_emulator/faults``), applied once each
time the faults are replaced:

``expire_sessions: true``    every live session answers 401 ``INVALID_SESSION_ID`` once
                             (it stays dead; a new login works)
``session_ttl_s: float``     sessions older than this many seconds expire
``daily_limit: {max, used}`` the daily API allowance and how much of it is spent
``today: "YYYY-MM-DD"``      the org's today for ``TODAY`` and friends
``batch_size: int``          rows per query page
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from canvasbridge_emulators.common import EmulatorControl, Faults
from canvasbridge_emulators.salesforce import describe, sosl, tree
from canvasbridge_emulators.salesforce import exceptions as exc
from canvasbridge_emulators.salesforce.bulk_v1 import BulkV1Error
from canvasbridge_emulators.salesforce.exceptions import SalesforceError
from canvasbridge_emulators.salesforce.models import ORG_ID, USER_ID, SalesforceModel
from canvasbridge_emulators.salesforce.schema import ObjectDef, normalize_id, parse_datetime

VERSION_RE = re.compile(r"^v(\d{2,3}\.\d)$")
MAX_COMPOSITE_SUBREQUESTS = 25
MAX_COLLECTION_RECORDS = 200
UPSERT_200_SINCE = 46.0  # API version from which an upsert that updates answers 200 with a body


@dataclass
class Call:
    method: str
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    base_url: str

    @property
    def version(self) -> str:
        return self.path_params.get("version", "v59.0")[1:]

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as err:
            raise exc.json_parser_error(f"Unexpected character in JSON body: {err}") from err


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    media_type: str = "application/json;charset=UTF-8"


class SalesforceResponses:
    def __init__(self, model: SalesforceModel, control: EmulatorControl) -> None:
        self.model = model
        self.control = control
        self._applied: Faults | None = None

    # ------------------------------------------------------------ plumbing

    def apply_faults(self) -> None:
        faults = self.control.faults
        if faults is self._applied:
            return
        self._applied = faults
        extra = faults.extra
        m = self.model
        if extra.get("expire_sessions"):
            m.expire_sessions()
        if "session_ttl_s" in extra:
            ttl = extra["session_ttl_s"]
            m.session_ttl_s = None if ttl is None else float(ttl)
        limit = extra.get("daily_limit")
        if isinstance(limit, dict):
            m.api_max = int(limit.get("max", m.api_max))
            if "used" in limit:
                m.api_used = int(limit["used"])
        if extra.get("today"):
            m.set_today(dt.date.fromisoformat(str(extra["today"])))
        if extra.get("batch_size"):
            m.batch_size = int(extra["batch_size"])

    def endpoint(self, name: str, kind: str) -> Callable[[Request], Any]:
        """A Starlette endpoint running handler ``name``; kind is ``api``, ``auth`` or ``open``."""

        handler: Callable[[Call], Reply] = getattr(self, name)

        async def run_endpoint(request: Request) -> Response:
            call = Call(
                method=request.method,
                path_params=dict(request.path_params),
                query=request.query_params,
                headers=request.headers,
                body=await request.body(),
                base_url=f"{request.url.scheme}://{request.url.netloc}",
            )
            reply = self.run(handler, call, kind)
            return to_response(reply)

        return run_endpoint

    def run(self, handler: Callable[[Call], Reply], call: Call, kind: str) -> Reply:
        self.apply_faults()
        try:
            if kind == "api":
                version = call.path_params.get("version", "")
                if not VERSION_RE.match(version):
                    raise exc.not_found()
                auth = call.headers.get("authorization", "")
                token = auth.split(None, 1)[1] if " " in auth else None
                self.model.authenticate(token)
                self.model.charge_api_call()
            elif kind == "bulk1":
                if not re.fullmatch(r"\d{2,3}\.\d", call.path_params.get("ver", "")):
                    raise BulkV1Error(404, "InvalidUrl", "Unknown API version")
                try:
                    self.model.authenticate(call.headers.get("x-sfdc-session"))
                except SalesforceError as err:
                    raise BulkV1Error(400, "InvalidSessionId", "Invalid session id") from err
                self.model.charge_api_call()
            reply = handler(call)
        except SalesforceError as err:
            reply = Reply(err.status, err.body())
        if kind in ("api", "bulk1"):
            reply.headers["Sforce-Limit-Info"] = self.model.limit_info()
        return reply

    # ------------------------------------------------------------ auth

    def oauth_token(self, call: Call) -> Reply:
        form = {k: v[0] for k, v in parse_qs(call.body.decode("utf-8", "replace")).items()}
        form.update({k: v for k, v in call.query.items() if k not in form})
        if form.get("grant_type") != "password":
            return Reply(400, exc.OAUTH_UNSUPPORTED)
        client_error = self.model.check_client(form.get("client_id", ""), form.get("client_secret", ""))
        if client_error == "invalid_client_id":
            return Reply(400, exc.OAUTH_BAD_CLIENT)
        if client_error is not None:
            return Reply(400, exc.OAUTH_BAD_SECRET)
        token = self.model.login(form.get("username", ""), form.get("password", ""))
        if token is None:
            return Reply(400, exc.OAUTH_FAILURE)
        issued = str(int(time.time() * 1000))
        ident = f"https://login.salesforce.com/id/{ORG_ID}/{USER_ID}"
        signature = base64.b64encode(hashlib.sha256(f"{ident}{issued}{token}".encode()).digest()).decode()
        return Reply(
            200,
            {
                "access_token": token,
                "instance_url": call.base_url,
                "id": ident,
                "token_type": "Bearer",
                "issued_at": issued,
                "signature": signature,
            },
        )

    def soap_login(self, call: Call) -> Reply:
        text = call.body.decode("utf-8", "replace")
        username = _xml_value(text, "username")
        password = _xml_value(text, "password")
        token = self.model.login(username or "", password or "") if username is not None else None
        if token is None:
            fault = exc.soap_fault(
                "INVALID_LOGIN", "Invalid username, password, security token; or user locked out."
            )
            return Reply(500, text=fault, media_type="text/xml;charset=UTF-8")
        ver = call.path_params.get("ver", "59.0")
        server = f"{call.base_url}/services/Soap/u/{ver}/{ORG_ID[:15]}"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com">'
            "<soapenv:Body><loginResponse><result>"
            f"<metadataServerUrl>{call.base_url}/services/Soap/m/{ver}/{ORG_ID[:15]}</metadataServerUrl>"
            "<passwordExpired>false</passwordExpired><sandbox>true</sandbox>"
            f"<serverUrl>{server}</serverUrl><sessionId>{html.escape(token)}</sessionId>"
            f"<userId>{USER_ID}</userId>"
            f"<userInfo><organizationId>{ORG_ID}</organizationId><userName>{html.escape(username or '')}</userName>"
            "</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
        )
        return Reply(200, text=body, media_type="text/xml;charset=UTF-8")

    # ------------------------------------------------------------ misc

    def versions(self, call: Call) -> Reply:
        return Reply(
            200,
            [
                {"label": f"Release {v}", "url": f"/services/data/v{v}", "version": v}
                for v in ("57.0", "58.0", "59.0", "60.0", "61.0", "62.0")
            ],
        )

    def limits(self, call: Call) -> Reply:
        return Reply(200, self.model.limits())

    # ------------------------------------------------------------ query

    def _batch_size(self, call: Call) -> int | None:
        options = call.headers.get("sforce-query-options", "")
        m = re.search(r"batchSize\s*=\s*(\d+)", options)
        return int(m.group(1)) if m else None

    def query(self, call: Call) -> Reply:
        return self._query(call, include_deleted=False)

    def query_all(self, call: Call) -> Reply:
        return self._query(call, include_deleted=True)

    def _query(self, call: Call, *, include_deleted: bool) -> Reply:
        text = call.query.get("q")
        if not text:
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        page = self.model.query(
            text, include_deleted=include_deleted, batch_size=self._batch_size(call), version=call.version
        )
        return Reply(200, page)

    def query_more(self, call: Call) -> Reply:
        return Reply(200, self.model.query_more(call.path_params["locator"], version=call.version))

    # ------------------------------------------------------------ describe

    def describe_global(self, call: Call) -> Reply:
        objects = [describe.basic(o, call.version) for o in self.model.schema.objects.values()]
        return Reply(200, {"encoding": "UTF-8", "maxBatchSize": MAX_COLLECTION_RECORDS, "sobjects": objects})

    def describe(self, call: Call) -> Reply:
        obj = self.model.object(call.path_params["sobject"])
        return Reply(200, describe.describe(obj, call.version))

    # ------------------------------------------------------------ changes and search

    def _window(self, call: Call) -> tuple[dt.datetime, dt.datetime]:
        try:
            start = parse_datetime(call.query["start"])
            end = parse_datetime(call.query["end"])
        except (KeyError, ValueError) as err:
            raise SalesforceError(
                400, "INVALID_REPLICATION_DATE", "start and end must both be ISO-8601 dateTimes"
            ) from err
        if start > end:
            raise SalesforceError(400, "INVALID_REPLICATION_DATE", "start must be before end")
        return start, end

    def _covered(self, end: dt.datetime) -> str:
        latest = min(end, self.model.now()).replace(second=0, microsecond=0)  # whole minutes
        return latest.strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    def deleted(self, call: Call) -> Reply:
        """``GET /sobjects/<Name>/deleted/?start=&end=`` (``sf.Contact.deleted(start, end)``)."""
        obj = self.model.object(call.path_params["sobject"])
        start, end = self._window(call)
        rows = self.model.changed_between(obj.name, start, end, deleted=True)
        return Reply(
            200,
            {
                "deletedRecords": [
                    {"id": r["Id"], "deletedDate": r["SystemModstamp"].strftime("%Y-%m-%dT%H:%M:%S.000+0000")}
                    for r in rows
                ],
                "earliestDateAvailable": start.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                "latestDateCovered": self._covered(end),
            },
        )

    def updated(self, call: Call) -> Reply:
        """``GET /sobjects/<Name>/updated/?start=&end=`` (``sf.Contact.updated(start, end)``)."""
        obj = self.model.object(call.path_params["sobject"])
        start, end = self._window(call)
        rows = self.model.changed_between(obj.name, start, end, deleted=False)
        return Reply(200, {"ids": [r["Id"] for r in rows], "latestDateCovered": self._covered(end)})

    def search(self, call: Call) -> Reply:
        text = call.query.get("q")
        if not text:
            raise sosl.malformed("A search string has to be specified")
        return Reply(200, sosl.search(self.model, text, call.version))

    # ------------------------------------------------------------ sobjects

    def sobject_root(self, call: Call) -> Reply:
        obj = self.model.object(call.path_params["sobject"])
        if call.method == "GET":
            return Reply(200, {"objectDescribe": describe.basic(obj, call.version), "recentItems": []})
        body = call.json()
        if not isinstance(body, dict):
            raise exc.json_parser_error("Expected a JSON object for the record")
        new_id = self.model.insert(obj.name, body)
        return Reply(
            201,
            {"id": new_id, "success": True, "errors": []},
            headers={"Location": self.model.url_for(obj.name, new_id, call.version)},
        )

    def record(self, call: Call) -> Reply:
        obj = self.model.object(call.path_params["sobject"])
        record_id = call.path_params["record_id"]
        if call.method == "GET":
            fields = [f.strip() for f in call.query.get("fields", "").split(",") if f.strip()]
            if fields and not any(f.lower() == "id" for f in fields):
                fields.append("Id")  # Salesforce adds the Id to the fields asked for
            rec = self.model.get(obj.name, record_id, fields or None)
            rec["attributes"]["url"] = self.model.url_for(obj.name, rec["Id"], call.version)
            return Reply(200, rec)
        if call.method == "DELETE":
            self.model.delete(obj.name, record_id)
            return Reply(204)
        body = call.json()
        if not isinstance(body, dict):
            raise exc.json_parser_error("Expected a JSON object for the record")
        self.model.update(obj.name, record_id, body)
        return Reply(204)

    def by_external_id(self, call: Call) -> Reply:
        obj = self.model.object(call.path_params["sobject"])
        field_name = call.path_params["field"]
        value = call.path_params["value"]
        if call.method == "GET":
            matches = self.model.find_by(obj.name, field_name, value)
            if not matches:
                raise exc.not_found()
            if len(matches) > 1:
                return Reply(300, [self.model.url_for(obj.name, m, call.version) for m in matches])
            return Reply(200, self.model.get(obj.name, matches[0]))
        if call.method == "DELETE":
            matches = self.model.find_by(obj.name, field_name, value)
            if not matches:
                raise exc.not_found()
            if len(matches) > 1:
                return Reply(300, [self.model.url_for(obj.name, m, call.version) for m in matches])
            self.model.delete(obj.name, matches[0])
            return Reply(204)
        body = call.json()
        if not isinstance(body, dict):
            raise exc.json_parser_error("Expected a JSON object for the record")
        try:
            record_id, created = self.model.upsert(obj.name, field_name, value, body)
        except SalesforceError as err:
            if err.status == 300:
                matches = self.model.find_by(obj.name, field_name, value)
                return Reply(300, [self.model.url_for(obj.name, m, call.version) for m in matches])
            raise
        result = {"id": record_id, "success": True, "errors": [], "created": created}
        if created:
            return Reply(
                201, result, headers={"Location": self.model.url_for(obj.name, record_id, call.version)}
            )
        if float(call.version) < UPSERT_200_SINCE:
            return Reply(204)
        return Reply(200, result)

    # ------------------------------------------------------------ sObject Collections

    def _collection_records(self, call: Call) -> tuple[list[Any], bool]:
        body = call.json()
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise exc.json_parser_error('Expected {"allOrNone": bool, "records": [...]}')
        records = body["records"]
        if len(records) > MAX_COLLECTION_RECORDS:
            raise SalesforceError(
                400,
                "EXCEEDED_ID_LIMIT",
                f"record limit reached. cannot submit more than {MAX_COLLECTION_RECORDS} records into this call",
            )
        return records, bool(body.get("allOrNone", False))

    def _record_type(self, record: Any) -> ObjectDef:
        if not isinstance(record, dict):
            raise exc.json_parser_error("each record must be a JSON object")
        attributes = record.get("attributes")
        name = attributes.get("type") if isinstance(attributes, dict) else None
        if not name:
            raise SalesforceError(400, "INVALID_TYPE", "Must send a concrete entity type.")
        obj = self.model.schema.get(str(name))
        if obj is None:
            raise SalesforceError(400, "INVALID_TYPE", f"sObject type '{name}' is not supported.")
        return obj

    def _run_collection(
        self, items: list[Any], all_or_none: bool, action: Callable[[Any], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        with self.model.transaction() as rollback:
            for item in items:
                try:
                    results.append({**action(item), "success": True, "errors": []})
                except SalesforceError as err:
                    results.append({"success": False, "errors": [err.record_error()]})
            if all_or_none and not all(r["success"] for r in results):
                rollback()
                results = [
                    r if not r["success"] else {"success": False, "errors": [exc.ROLLED_BACK.record_error()]}
                    for r in results
                ]
        return results

    def collections(self, call: Call) -> Reply:
        if call.method == "DELETE":
            ids = [i for i in call.query.get("ids", "").split(",") if i]
            if not ids or len(ids) > MAX_COLLECTION_RECORDS:
                raise SalesforceError(400, "INVALID_FIELD", "ids must list 1 to 200 record ids")
            all_or_none = call.query.get("allOrNone", "false").lower() == "true"

            def delete(rid: str) -> dict[str, Any]:
                obj = self.model.schema.by_prefix(normalize_id(rid) or "")
                if obj is None:
                    raise SalesforceError(400, "MALFORMED_ID", f"malformed id {rid}")
                self.model.delete(obj.name, rid)
                return {"id": normalize_id(rid)}

            return Reply(200, self._run_collection(ids, all_or_none, delete))

        records, all_or_none = self._collection_records(call)
        if call.method == "POST":

            def create(record: Any) -> dict[str, Any]:
                obj = self._record_type(record)
                return {"id": self.model.insert(obj.name, record)}

            return Reply(200, self._run_collection(records, all_or_none, create))

        def update(record: Any) -> dict[str, Any]:
            obj = self._record_type(record)
            rid = record.get("Id") or record.get("id")
            if not rid:
                raise SalesforceError(400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            fields = {k: v for k, v in record.items() if k.lower() != "id"}
            self.model.update(obj.name, str(rid), fields)
            return {"id": normalize_id(str(rid))}

        return Reply(200, self._run_collection(records, all_or_none, update))

    def collections_upsert(self, call: Call) -> Reply:
        obj = self.model.object(call.path_params["sobject"])
        field_name = call.path_params["field"]
        records, all_or_none = self._collection_records(call)

        def upsert(record: Any) -> dict[str, Any]:
            rec_obj = self._record_type(record)
            if rec_obj is not obj:
                raise SalesforceError(400, "INVALID_TYPE", f"records must all be of type {obj.name}")
            key = next((k for k in record if k.lower() == field_name.lower()), None)
            if key is None or record[key] in (None, ""):
                raise SalesforceError(
                    400, "MISSING_ARGUMENT", f"{field_name} not specified in an upsert call", [field_name]
                )
            rid, created = self.model.upsert(obj.name, field_name, str(record[key]), record)
            return {"id": rid, "created": created}

        return Reply(200, self._run_collection(records, all_or_none, upsert))

    def collections_get(self, call: Call) -> Reply:
        obj = self.model.object(call.path_params["sobject"])
        ids = [i for i in call.query.get("ids", "").split(",") if i]
        fields = [f.strip() for f in call.query.get("fields", "").split(",") if f.strip()]
        if not ids or not fields:
            raise SalesforceError(400, "MALFORMED_QUERY", "ids and fields are required")
        out: list[dict[str, Any] | None] = []
        for rid in ids:
            try:
                out.append(self.model.get(obj.name, rid, fields))
            except SalesforceError as err:
                if err.status != 404:
                    raise
                out.append(None)
        return Reply(200, out)

    # ------------------------------------------------------------ Bulk API 2.0

    def jobs_ingest(self, call: Call) -> Reply:
        return self._jobs(call, query=False)

    def _jobs(self, call: Call, *, query: bool) -> Reply:
        """List the ingest or query jobs, or create one from the JSON body."""
        bulk = self.model.bulk
        if call.method == "GET":
            jobs = [j.info(detail=False) for j in bulk.list(query=query)]
            return Reply(200, {"done": True, "records": jobs, "nextRecordsUrl": None})
        body = call.json()
        if not isinstance(body, dict):
            raise exc.json_parser_error("Expected a JSON object describing the job")
        create = bulk.create_query if query else bulk.create_ingest
        return Reply(200, create(body, call.version).info(detail=False))

    def job_ingest(self, call: Call) -> Reply:
        bulk = self.model.bulk
        job_id = call.path_params["job_id"]
        if call.method == "DELETE":
            bulk.delete(job_id, query=False)
            return Reply(204)
        if call.method == "PATCH":
            body = call.json()
            state = body.get("state") if isinstance(body, dict) else None
            return Reply(200, bulk.set_state(job_id, str(state)).info(detail=False))
        return Reply(200, bulk.poll(job_id, query=False).info())

    def job_ingest_batches(self, call: Call) -> Reply:
        self.model.bulk.upload(call.path_params["job_id"], call.body)
        return Reply(201)

    def job_ingest_results(self, call: Call) -> Reply:
        kind = call.path_params["kind"]
        if kind not in ("successfulResults", "failedResults", "unprocessedrecords"):
            raise exc.not_found()
        text = self.model.bulk.results(call.path_params["job_id"], kind)
        return Reply(200, text=text, media_type="text/csv")

    def jobs_query(self, call: Call) -> Reply:
        return self._jobs(call, query=True)

    def job_query(self, call: Call) -> Reply:
        bulk = self.model.bulk
        job_id = call.path_params["job_id"]
        if call.method == "DELETE":
            bulk.delete(job_id, query=True)
            return Reply(204)
        if call.method == "PATCH":
            job = bulk.get(job_id, query=True)
            job.state = "Aborted" if job.state != "JobComplete" else job.state
            return Reply(200, job.info(detail=False))
        return Reply(200, bulk.poll(job_id, query=True).info())

    def job_query_results(self, call: Call) -> Reply:
        max_records = call.query.get("maxRecords")
        text, count, locator = self.model.bulk.query_results(
            call.path_params["job_id"], call.query.get("locator"), int(max_records) if max_records else None
        )
        headers = {"Sforce-NumberOfRecords": str(count), "Sforce-Locator": locator}
        return Reply(200, text=text, media_type="text/csv", headers=headers)

    # ------------------------------------------------------------ Bulk API 1.0

    def bulk1_jobs(self, call: Call) -> Reply:
        return Reply(201, self.model.bulk_v1.create_job(call.json(), call.path_params["ver"]).info())

    def bulk1_job(self, call: Call) -> Reply:
        bulk = self.model.bulk_v1
        job_id = call.path_params["job_id"]
        if call.method == "POST":
            return Reply(200, bulk.set_state(job_id, call.json()).info())
        return Reply(200, bulk.job(job_id).info())

    def bulk1_batches(self, call: Call) -> Reply:
        bulk = self.model.bulk_v1
        job_id = call.path_params["job_id"]
        if call.method == "POST":
            return Reply(201, bulk.add_batch(job_id, call.body, call.path_params["ver"]).info())
        batches = [b.info() for b in bulk.job(job_id).batches.values()]
        return Reply(200, {"batchInfo": batches})

    def bulk1_batch(self, call: Call) -> Reply:
        return Reply(
            200, self.model.bulk_v1.batch(call.path_params["job_id"], call.path_params["batch_id"]).info()
        )

    def bulk1_batch_part(self, call: Call) -> Reply:
        bulk = self.model.bulk_v1
        job_id, batch_id, part = (call.path_params[k] for k in ("job_id", "batch_id", "part"))
        if part == "result":
            return Reply(200, bulk.results(job_id, batch_id))
        if part == "request":
            return Reply(200, bulk.batch(job_id, batch_id).request)
        raise BulkV1Error(404, "InvalidUrl", f"Unknown resource {part}")

    def bulk1_query_result(self, call: Call) -> Reply:
        params = call.path_params
        return Reply(
            200, self.model.bulk_v1.query_result(params["job_id"], params["batch_id"], params["result_id"])
        )

    # ------------------------------------------------------------ composite tree and batch

    def composite_tree(self, call: Call) -> Reply:
        status, body = tree.create_tree(self.model, call.path_params["sobject"], call.json())
        return Reply(status, body)

    def composite_batch(self, call: Call) -> Reply:
        """``POST /composite/batch``: up to 25 independent sub-requests (no references between
        them, no rollback); with ``haltOnError`` the ones after a failure answer 412."""
        body = call.json()
        subs = body.get("batchRequests") if isinstance(body, dict) else None
        if not isinstance(subs, list) or not subs:
            raise exc.json_parser_error("batchRequests must be a non-empty list")
        if len(subs) > MAX_COMPOSITE_SUBREQUESTS:
            raise SalesforceError(
                400, "LIMIT_EXCEEDED", f"A batch may contain at most {MAX_COMPOSITE_SUBREQUESTS} requests"
            )
        halt = bool(body.get("haltOnError", False))
        results: list[dict[str, Any]] = []
        halted = False
        for sub in subs:
            if halted:
                halted_body = [
                    {"errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted per request"}
                ]
                results.append({"statusCode": 412, "result": halted_body})
                continue
            if not isinstance(sub, dict):
                sub = {}
            url = str(sub.get("url", ""))
            if not url.startswith("/services/data/"):
                url = "/services/data/" + url.lstrip("/")  # batch urls are relative: "v59.0/sobjects/…"
            reply = self._subrequest(
                {"method": sub.get("method", ""), "url": url, "body": sub.get("richInput")}, {}, call
            )
            results.append({"statusCode": reply.status, "result": reply.body})
            halted = halt and reply.status >= 400
        has_errors = any(r["statusCode"] >= 400 for r in results)
        return Reply(200, {"hasErrors": has_errors, "results": results})

    # ------------------------------------------------------------ composite

    def composite(self, call: Call) -> Reply:
        body = call.json()
        subs = body.get("compositeRequest") if isinstance(body, dict) else None
        if not isinstance(subs, list) or not subs:
            raise exc.json_parser_error("compositeRequest must be a non-empty list")
        if len(subs) > MAX_COMPOSITE_SUBREQUESTS:
            raise SalesforceError(
                400,
                "LIMIT_EXCEEDED",
                f"Composite requests may contain at most {MAX_COMPOSITE_SUBREQUESTS} subrequests",
            )
        all_or_none = bool(body.get("allOrNone", False))
        results: dict[str, Any] = {}
        out: list[dict[str, Any]] = []
        failed_index: int | None = None
        with self.model.transaction() as rollback:
            for index, sub in enumerate(subs):
                ref = str(sub.get("referenceId", "")) if isinstance(sub, dict) else ""
                if failed_index is not None and all_or_none:
                    out.append(_sub_result(Reply(400, exc.PROCESSING_HALTED.body()), ref))
                    continue
                reply = self._subrequest(sub, results, call)
                out.append(_sub_result(reply, ref))
                if reply.status >= 400:
                    failed_index = index if failed_index is None else failed_index
                elif ref:
                    results[ref] = reply.body
            if failed_index is not None and all_or_none:
                rollback()
                for i, item in enumerate(out):
                    if i != failed_index:
                        out[i] = _sub_result(Reply(400, exc.PROCESSING_HALTED.body()), item["referenceId"])
        return Reply(200, {"compositeResponse": out})

    def _subrequest(self, sub: Any, results: dict[str, Any], call: Call) -> Reply:
        from canvasbridge_emulators.salesforce import urls

        if not isinstance(sub, dict) or "method" not in sub or "url" not in sub:
            return Reply(400, [{"errorCode": "JSON_PARSER_ERROR", "message": "method and url are required"}])
        try:
            url = _substitute(str(sub["url"]), results)
            body = _substitute(sub.get("body"), results)
        except KeyError as err:
            return Reply(
                400,
                [
                    {
                        "errorCode": "PROCESSING_HALTED",
                        "message": f"Invalid reference specified. No value for {err.args[0]} found",
                    }
                ],
            )
        parts = urlsplit(url)
        method = str(sub["method"]).upper()
        matched = urls.match(method, parts.path)
        if matched is None or matched[0] in ("composite", "versions") or matched[0].startswith("job"):
            return Reply(404, exc.not_found().body())
        name, params = matched
        sub_call = Call(
            method=method,
            path_params=params,
            query={k: v[0] for k, v in parse_qs(parts.query).items()},
            headers={k.lower(): str(v) for k, v in (sub.get("httpHeaders") or {}).items()},
            body=json.dumps(body).encode() if body is not None else b"",
            base_url=call.base_url,
        )
        try:
            if not VERSION_RE.match(params.get("version", "")):
                raise exc.not_found()
            handler: Callable[[Call], Reply] = getattr(self, name)
            return handler(sub_call)
        except SalesforceError as err:
            return Reply(err.status, err.body())


def _sub_result(reply: Reply, ref: str) -> dict[str, Any]:
    headers = {k: v for k, v in reply.headers.items() if k != "Sforce-Limit-Info"}
    return {"body": reply.body, "httpHeaders": headers, "httpStatusCode": reply.status, "referenceId": ref}


_REF_RE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")


def _substitute(value: Any, results: Mapping[str, Any]) -> Any:
    """Replace ``@{ref.path}`` references with values from earlier composite results."""

    if isinstance(value, str):

        def lookup(m: re.Match[str]) -> str:
            if m.group(1) not in results:
                raise KeyError(m.group(0))
            current: Any = results[m.group(1)]
            for step in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", m.group(2)):
                try:
                    current = current[step[0]] if step[0] else current[int(step[1])]
                except (KeyError, IndexError, TypeError):
                    raise KeyError(m.group(0)) from None
            return str(current)

        return _REF_RE.sub(lookup, value)
    if isinstance(value, list):
        return [_substitute(v, results) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, results) for k, v in value.items()}
    return value


def _xml_value(text: str, tag: str) -> str | None:
    m = re.search(rf"<(?:\w+:)?{tag}>(.*?)</(?:\w+:)?{tag}>", text, re.S)
    return html.unescape(m.group(1)) if m else None


def to_response(reply: Reply) -> Response:
    if reply.text is not None:
        return Response(
            reply.text, status_code=reply.status, headers=reply.headers, media_type=reply.media_type
        )
    if reply.body is None:
        return Response(status_code=reply.status, headers=reply.headers)
    payload = json.dumps(reply.body, separators=(",", ":"))
    return Response(payload, status_code=reply.status, headers=reply.headers, media_type=reply.media_type)
