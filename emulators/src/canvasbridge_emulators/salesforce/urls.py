"""The Salesforce emulator's routes: path template, methods, handler, and how it is guarded.

``api`` routes need a live session and count against the daily allowance (``bulk1``
routes too, with the session in ``X-SFDC-Session``); ``auth`` routes are the logins;
``open`` routes need nothing. Trailing slashes are ignored, as Salesforce
ignores them (simple-salesforce sends ``query/`` and ``sobjects/Contact/``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from starlette.routing import Route, compile_path

from canvasbridge_emulators.salesforce.responses import SalesforceResponses

API = "/services/data/{version}"
ASYNC = "/services/async/{ver}"  # Bulk API 1.0

# (path template, methods, handler name on SalesforceResponses, kind)
ROUTES: list[tuple[str, tuple[str, ...], str, str]] = [
    ("/services/oauth2/token", ("POST",), "oauth_token", "auth"),
    ("/services/Soap/u/{ver}", ("POST",), "soap_login", "auth"),
    ("/services/data", ("GET",), "versions", "open"),
    (f"{API}/limits", ("GET",), "limits", "api"),
    (f"{API}/query", ("GET",), "query", "api"),
    (f"{API}/query/{{locator}}", ("GET",), "query_more", "api"),
    (f"{API}/queryAll", ("GET",), "query_all", "api"),
    (f"{API}/queryAll/{{locator}}", ("GET",), "query_more", "api"),
    (f"{API}/sobjects", ("GET",), "describe_global", "api"),
    (f"{API}/sobjects/{{sobject}}", ("GET", "POST"), "sobject_root", "api"),
    (f"{API}/sobjects/{{sobject}}/describe", ("GET",), "describe", "api"),
    (f"{API}/sobjects/{{sobject}}/deleted", ("GET",), "deleted", "api"),
    (f"{API}/sobjects/{{sobject}}/updated", ("GET",), "updated", "api"),
    (f"{API}/search", ("GET",), "search", "api"),
    (f"{API}/sobjects/{{sobject}}/{{record_id}}", ("GET", "PATCH", "DELETE"), "record", "api"),
    (
        f"{API}/sobjects/{{sobject}}/{{field}}/{{value:path}}",
        ("GET", "PATCH", "DELETE"),
        "by_external_id",
        "api",
    ),
    (f"{API}/composite", ("POST",), "composite", "api"),
    (f"{API}/composite/tree/{{sobject}}", ("POST",), "composite_tree", "api"),
    (f"{API}/composite/batch", ("POST",), "composite_batch", "api"),
    (f"{API}/composite/sobjects", ("POST", "PATCH", "DELETE"), "collections", "api"),
    (f"{API}/composite/sobjects/{{sobject}}", ("GET",), "collections_get", "api"),
    (f"{API}/composite/sobjects/{{sobject}}/{{field}}", ("PATCH",), "collections_upsert", "api"),
    (f"{API}/jobs/ingest", ("GET", "POST"), "jobs_ingest", "api"),
    (f"{API}/jobs/ingest/{{job_id}}", ("GET", "PATCH", "DELETE"), "job_ingest", "api"),
    (f"{API}/jobs/ingest/{{job_id}}/batches", ("PUT",), "job_ingest_batches", "api"),
    (f"{API}/jobs/ingest/{{job_id}}/{{kind}}", ("GET",), "job_ingest_results", "api"),
    (f"{API}/jobs/query", ("GET", "POST"), "jobs_query", "api"),
    (f"{API}/jobs/query/{{job_id}}", ("GET", "PATCH", "DELETE"), "job_query", "api"),
    (f"{API}/jobs/query/{{job_id}}/results", ("GET",), "job_query_results", "api"),
    (f"{ASYNC}/job", ("POST",), "bulk1_jobs", "bulk1"),
    (f"{ASYNC}/job/{{job_id}}", ("GET", "POST"), "bulk1_job", "bulk1"),
    (f"{ASYNC}/job/{{job_id}}/batch", ("GET", "POST"), "bulk1_batches", "bulk1"),
    (f"{ASYNC}/job/{{job_id}}/batch/{{batch_id}}", ("GET",), "bulk1_batch", "bulk1"),
    (f"{ASYNC}/job/{{job_id}}/batch/{{batch_id}}/{{part}}", ("GET",), "bulk1_batch_part", "bulk1"),
    (
        f"{ASYNC}/job/{{job_id}}/batch/{{batch_id}}/result/{{result_id}}",
        ("GET",),
        "bulk1_query_result",
        "bulk1",
    ),
]

_COMPILED = [(compile_path(path)[0], methods, name) for path, methods, name, _kind in ROUTES]


def routes(responses: SalesforceResponses) -> list[Route]:
    return [
        Route(path, responses.endpoint(name, kind), methods=list(methods))
        for path, methods, name, kind in ROUTES
    ]


def match(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The handler name and path parameters for a composite sub-request's URL."""

    path = path.rstrip("/") or "/"
    for regex, methods, name in _COMPILED:
        m: re.Match[str] | None = regex.match(path)
        if m and method in methods:
            return name, {k: unquote(v) for k, v in m.groupdict().items()}
    return None
