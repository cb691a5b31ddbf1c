"""The Canvas client: Canvas's REST API on the shared HTTP base, with SIS imports and reports.

    canvas = CanvasSettings(base_url="https://canvas.example.edu",
                            token={"env": "CANVAS_TOKEN"}).build()
    canvas.get(f"courses/{sis_course('IN1000-2026H')}")        # one object as JSON
    canvas.request("POST", "accounts/1/users", data={"user": {"name": "Kari"}})
    for login in canvas.paginate("users/42/logins"): ...
    imp = canvas.wait_for_sis_import(canvas.create_sis_import(zip_bytes, diffing_data_set_identifier="uio")["id"])
    csvs = canvas.provisioning_report(users=True, courses=True)   # {"users.csv": [row, …], …}

Every call goes through one :class:`~canvasbridge.clients.http.HttpClient` (httpx) whose
transport is the token's :class:`Throttle`, so all share pacing, the retry policy of
:mod:`canvasbridge.backoff`, the User-Agent, call counting (``canvas.stats``) and typed errors
(:mod:`canvasbridge.errors`). Form fields are encoded by canvasapi's public
``canvasapi.util.combine_kwargs``, as canvasapi itself sends them.

Why not canvasapi's objects: canvasapi builds its own ``requests.Session`` inside a private
requester and has no public way to pass one in (the pull request that proposed it, #556, was
closed unmerged), so its calls could be throttled, retried and counted only through its
private attributes. The service needs none of its objects; canvasapi itself is checked
against the emulator in tests/emulators/canvas.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from canvasapi.util import combine_kwargs
from pydantic import Field

from canvasbridge.clients.canvas.throttle import (
    DEFAULT_LOW_WATER,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_MAX_PAUSE_S,
    Throttle,
    ThrottledTransport,
    raise_if_rate_limited,
    throttle_for,
)
from canvasbridge.clients.http import (
    BODY_EXCERPT_CHARS,
    CallStats,
    ClientSettings,
    HttpClient,
    HttpPermanentError,
    HttpTransientError,
    Redactor,
    RetryPolicy,
)
from canvasbridge.errors import PermanentError
from canvasbridge.secrets import SecretRef

USER_AGENT = "canvasbridge/0.1 (+https://github.com/canvasbridge)"
DEFAULT_PER_PAGE = 100  # Canvas's maximum page size
DEFAULT_POLL_S = 2.0  # seconds between polls of a SIS import or report
DEFAULT_WAIT_TIMEOUT_S = 3600.0  # give up waiting for a SIS import or report after this

#: SIS import states after which nothing more happens (reference §1).
SIS_IMPORT_FINAL_STATES = frozenset(
    {
        "imported",
        "imported_with_messages",
        "aborted",
        "failed",
        "failed_with_messages",
        "restored",
        "partially_restored",
    }
)
#: Account report states after which nothing more happens.
REPORT_FINAL_STATES = frozenset({"complete", "error", "deleted", "aborted"})


def _sis(prefix: str, value: str | int) -> str:
    return f"{prefix}:{quote(str(value), safe='')}"


def sis_user(sis_user_id: str | int) -> str:
    """``sis_user_id:<id>`` with the id URL-escaped, usable wherever Canvas takes a user id."""
    return _sis("sis_user_id", sis_user_id)


def sis_login(unique_id: str) -> str:
    return _sis("sis_login_id", unique_id)


def sis_course(sis_course_id: str | int) -> str:
    return _sis("sis_course_id", sis_course_id)


def sis_section(sis_section_id: str | int) -> str:
    return _sis("sis_section_id", sis_section_id)


def sis_account(sis_account_id: str | int) -> str:
    return _sis("sis_account_id", sis_account_id)


def sis_term(sis_term_id: str | int) -> str:
    return _sis("sis_term_id", sis_term_id)


def sis_integration(integration_id: str | int) -> str:
    return _sis("sis_integration_id", integration_id)


class CanvasSettings(ClientSettings):
    """``systems.canvas`` in the configuration. ``base_url`` is the host, without ``/api/v1``."""

    token: SecretRef
    account_id: int | str = Field(default="self", description="root account: SIS imports, reports")
    user_agent: str = USER_AGENT
    per_page: int = Field(default=DEFAULT_PER_PAGE, ge=1, le=100)
    max_concurrency: int = Field(default=DEFAULT_MAX_CONCURRENCY, ge=1, description="in flight per token")
    low_water: float = Field(default=DEFAULT_LOW_WATER, ge=0, description="X-Rate-Limit-Remaining to slow at")
    max_pause_s: float = Field(
        default=DEFAULT_MAX_PAUSE_S, ge=0, description="pause when the bucket is empty"
    )
    poll_s: float = Field(default=DEFAULT_POLL_S, gt=0, description="between SIS import/report polls")
    wait_timeout_s: float = Field(default=DEFAULT_WAIT_TIMEOUT_S, gt=0)

    def build(self, stats: CallStats | None = None) -> CanvasClient:
        return CanvasClient(
            self.base_url,
            self.token.resolve().get_secret_value(),
            stats=stats,
            account_id=self.account_id,
            user_agent=self.user_agent,
            per_page=self.per_page,
            timeout_s=self.timeout_s,
            retry=self.retry,
            max_concurrency=self.max_concurrency,
            low_water=self.low_water,
            max_pause_s=self.max_pause_s,
            poll_s=self.poll_s,
            wait_timeout_s=self.wait_timeout_s,
            pool_maxsize=self.max_connections,
        )


class CanvasClient:
    """Canvas's REST API with throttling, retries, typed errors, SIS imports and reports."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        stats: CallStats | None = None,
        account_id: int | str = "self",
        user_agent: str = USER_AGENT,
        per_page: int = DEFAULT_PER_PAGE,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        low_water: float = DEFAULT_LOW_WATER,
        max_pause_s: float = DEFAULT_MAX_PAUSE_S,
        poll_s: float = DEFAULT_POLL_S,
        wait_timeout_s: float = DEFAULT_WAIT_TIMEOUT_S,
        pool_maxsize: int = 10,
        throttle: Throttle | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        if self.base_url.endswith("/api/v1"):
            self.base_url = self.base_url[: -len("/api/v1")]
        self.api_url = self.base_url + "/api/v1/"
        self.account_id = account_id
        self.per_page = per_page
        self.poll_s = poll_s
        self.wait_timeout_s = wait_timeout_s
        policy = retry or RetryPolicy()
        # one throttle per token in the process, unless the caller brings its own
        self.throttle = throttle or throttle_for(
            self.base_url,
            token,
            max_concurrency=max_concurrency,
            low_water=low_water,
            max_pause_s=max_pause_s,
        )
        limits = httpx.Limits(max_connections=pool_maxsize, max_keepalive_connections=pool_maxsize)
        self._token = token
        self.http = HttpClient(
            self.api_url,
            system="canvas",
            stats=stats,
            headers={"User-Agent": user_agent},
            auth=self._authorize,
            secrets=[token],
            timeout_s=timeout_s,
            retry=policy,
            max_connections=pool_maxsize,
            transport=ThrottledTransport(self.throttle, policy, httpx.HTTPTransport(limits=limits)),
            check_response=raise_if_rate_limited,
        )

    @property
    def stats(self) -> CallStats:
        return self.http.stats

    @property
    def redactor(self) -> Redactor:
        return self.http.redactor

    def close(self) -> None:
        self.http.close()

    def _authorize(self, request: httpx.Request) -> None:
        """The token goes to our Canvas only (a report file may live on another host)."""
        ours, theirs = httpx.URL(self.base_url), request.url
        if (theirs.scheme, theirs.host, theirs.port) == (ours.scheme, ours.host, ours.port):
            request.headers["Authorization"] = f"Bearer {self._token}"

    # ------------------------------------------------------------------ raw JSON

    def _url(self, path: str) -> str:
        if "://" in path:
            ours, theirs = urlsplit(self.base_url), urlsplit(path)
            if (ours.scheme, ours.netloc) != (theirs.scheme, theirs.netloc):
                raise PermanentError(f"canvas: refusing to send the token to {theirs.netloc}")
            return path
        return path.lstrip("/")

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
    ) -> Any:
        """Send one call (``path`` relative to ``/api/v1/``) and return its JSON (or ``None``).

        ``data`` is form-encoded; nested dicts are flattened Canvas-style
        (``{"user": {"name": "x"}}`` → ``user[name]=x``), booleans become ``true``/``false``.
        """
        response = self.http.request(
            method,
            self._url(path),
            params=flatten(params) if params else None,
            data=form(flatten(data)) if data else None,
            files=files,
            json=json,
        )
        return _json(response, self.redactor)

    def get(self, path: str, **params: Any) -> Any:
        """GET one object (or one page) as JSON."""
        return self.request("GET", path, params=params or None)

    def paginate(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a list, following ``Link: rel="next"``; unwraps ``{"key": [...]}``."""
        query: Any = flatten({"per_page": self.per_page, **params})
        url: str | None = path
        while url is not None:
            response = self.http.request("GET", self._url(url), params=query)
            query = None  # the next link carries every parameter
            body = _json(response, self.redactor)
            if isinstance(body, dict):
                lists = [v for v in body.values() if isinstance(v, list)]
                body = lists[0] if len(lists) == 1 else None
            if not isinstance(body, list):
                raise HttpPermanentError(f"canvas GET {path}: expected a list")
            yield from body
            nxt = response.links.get("next", {}).get("url")
            url = nxt if nxt else None

    # ------------------------------------------------------------------ SIS imports

    def create_sis_import(
        self,
        data: bytes,
        *,
        filename: str = "sis_import.zip",
        account_id: int | str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Upload a SIS CSV or zip (multipart ``attachment``); returns the ``SisImport``.

        ``options`` are Canvas's (``diffing_data_set_identifier``, ``batch_mode``,
        ``batch_mode_term_id``, ``change_threshold``, ``override_sis_stickiness``…).
        """
        account = account_id if account_id is not None else self.account_id
        content_type = "application/zip" if data[:2] == b"PK" else "text/csv"
        form = {"import_type": "instructure_csv", **options}
        result = self.request(
            "POST",
            f"accounts/{account}/sis_imports",
            data=form,
            files={"attachment": (filename, data, content_type)},
        )
        if not isinstance(result, dict) or "id" not in result:
            raise HttpPermanentError("canvas: the SIS import answer has no id")
        return result

    def sis_import(self, import_id: int, *, account_id: int | str | None = None) -> dict[str, Any]:
        account = account_id if account_id is not None else self.account_id
        result = self.get(f"accounts/{account}/sis_imports/{int(import_id)}")
        assert isinstance(result, dict)
        return result

    def wait_for_sis_import(
        self,
        import_id: int,
        *,
        account_id: int | str | None = None,
        poll_s: float | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Poll until the import reaches a final state (see :data:`SIS_IMPORT_FINAL_STATES`).

        Returns the final ``SisImport`` whatever the state; check ``workflow_state``.
        Raises :class:`TransientError` if it is still running after ``timeout_s``.
        """
        return self._wait(
            lambda: self.sis_import(import_id, account_id=account_id),
            SIS_IMPORT_FINAL_STATES,
            "workflow_state",
            f"SIS import {import_id}",
            poll_s,
            timeout_s,
        )

    # ------------------------------------------------------------------ account reports

    def start_report(
        self, report: str, *, account_id: int | str | None = None, **parameters: Any
    ) -> dict[str, Any]:
        """Start an account report (``provisioning_csv``…) with ``parameters[...]``."""
        account = account_id if account_id is not None else self.account_id
        result = self.request("POST", f"accounts/{account}/reports/{report}", data={"parameters": parameters})
        if not isinstance(result, dict) or "id" not in result:
            raise HttpPermanentError(f"canvas: the {report} report answer has no id")
        return result

    def report_status(
        self, report: str, report_id: int, *, account_id: int | str | None = None
    ) -> dict[str, Any]:
        account = account_id if account_id is not None else self.account_id
        result = self.get(f"accounts/{account}/reports/{report}/{int(report_id)}")
        assert isinstance(result, dict)
        return result

    def wait_for_report(
        self,
        report: str,
        report_id: int,
        *,
        account_id: int | str | None = None,
        poll_s: float | None = None,
        timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """Poll a report until ``status`` is final; raises a permanent error if it failed."""
        final = self._wait(
            lambda: self.report_status(report, report_id, account_id=account_id),
            REPORT_FINAL_STATES,
            "status",
            f"report {report} {report_id}",
            poll_s,
            timeout_s,
        )
        if final.get("status") != "complete":
            raise PermanentError(f"canvas: report {report} {report_id} ended as {final.get('status')!r}")
        return final

    def download_report(self, report: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
        """The CSVs of a finished report as ``{filename: [row dict, …]}`` (a zip holds several)."""
        attachment = report.get("attachment") or {}
        url = attachment.get("url") or report.get("file_url")
        if not isinstance(url, str) or not url:
            raise HttpPermanentError("canvas: the report has no file to download")
        name = str(attachment.get("filename") or attachment.get("display_name") or "report.csv")
        response = self.http.request("GET", url, endpoint="report file", follow_redirects=True)
        return parse_report_file(name, response.content)

    def provisioning_report(
        self, *, account_id: int | str | None = None, poll_s: float | None = None, **parameters: Any
    ) -> dict[str, list[dict[str, str]]]:
        """Run the provisioning report and return its CSVs as row dicts.

        ``parameters`` are Canvas's (``users=True``, ``courses=True``, ``sections=True``,
        ``enrollments=True``, ``accounts=True``, ``enrollment_term_id=…``, ``include_deleted=True``).
        """
        started = self.start_report("provisioning_csv", account_id=account_id, **parameters)
        final = self.wait_for_report(
            "provisioning_csv", int(started["id"]), account_id=account_id, poll_s=poll_s
        )
        return self.download_report(final)

    # ------------------------------------------------------------------ internals

    def _wait(
        self,
        fetch: Any,
        final_states: frozenset[str],
        key: str,
        what: str,
        poll_s: float | None,
        timeout_s: float | None,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + (timeout_s or self.wait_timeout_s)
        interval = poll_s if poll_s is not None else self.poll_s
        while True:
            state: dict[str, Any] = fetch()
            if state.get(key) in final_states:
                return state
            if time.monotonic() > deadline:
                raise HttpTransientError(f"canvas: {what} still {state.get(key)!r} after waiting")
            time.sleep(interval)


def parse_report_file(name: str, content: bytes) -> dict[str, list[dict[str, str]]]:
    """Split a report download into CSV files of row dicts (a zip, or one CSV)."""
    if content[:2] == b"PK":
        out: dict[str, list[dict[str, str]]] = {}
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            for member in archive.namelist():
                if member.lower().endswith(".csv"):
                    out[member.rsplit("/", 1)[-1]] = _rows(archive.read(member))
        return out
    return {name: _rows(content)}


def _rows(data: bytes) -> list[dict[str, str]]:
    """The rows as :class:`csv.DictReader` gives them (a report's enrollments file has a row
    per enrollment: 250,000 for a university, read here without DictReader's per-row work)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
    header = next(reader, None)
    if header is None:
        return []
    width = len(header)
    rows: list[dict[Any, Any]] = []
    for row in reader:
        if not row:
            continue  # an empty line
        record: dict[Any, Any] = dict(zip(header, row, strict=False))
        if len(row) > width:  # extra fields under None, missing ones None, as DictReader does
            record[None] = row[width:]
        elif len(row) < width:
            record.update(dict.fromkeys(header[len(row) :]))
        rows.append(record)
    return rows


def flatten(value: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Canvas-style fields by canvasapi's ``combine_kwargs`` (``a[b]``, ``a[]``), as text.

    The values are then written as canvasapi's requester writes them: booleans as
    ``true``/``false``, dates in ISO 8601, ``None`` as an empty value (clears a field).
    """
    return [(key, _text(item)) for key, item in combine_kwargs(**value)]


def form(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form fields for httpx, which takes repeated keys (``a[]``) as a list per key."""
    out: dict[str, list[str]] = {}
    for key, item in fields:
        out.setdefault(key, []).append(item)
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _json(response: httpx.Response, redactor: Redactor) -> Any:
    if not response.content or response.status_code == 204:
        return None
    try:
        return response.json()
    except ValueError:
        excerpt = redactor.clean(response.text[:BODY_EXCERPT_CHARS])
        raise HttpPermanentError(f"canvas: answer is not JSON: {excerpt!r}") from None
