"""The Salesforce client: simple-salesforce plus batching, limits, one re-login, typed errors.

    sf = SalesforceSettings(login_url="https://login.salesforce.com", username="svc@org",
                            password={"env": "SF_PASSWORD"}, consumer_key="3MVG…",
                            consumer_secret={"env": "SF_SECRET"}).build()
    rows = sf.query_all(soql.format("SELECT Id FROM Contact WHERE Email = {e}", e=email))
    results = sf.create_many("Canvas_Activitiy__c", records)      # ≤200 per call, per-record results
    sf.api_usage                                                    # ApiUsage(used=18, max=5000)

Decisions (see docs/clients.md):

* The client logs in itself (OAuth username-password flow) and hands simple-salesforce the
  session id, so simple-salesforce never re-logs in on its own (its ``SFType`` methods can
  loop without limit). On ``INVALID_SESSION_ID`` we log in again **once** and retry the call
  once; a second refusal is an :class:`AuthenticationError`.
* ``REQUEST_LIMIT_EXCEEDED`` "TotalRequests" (the rolling 24-hour org allowance) raises
  :class:`ApiLimitExceededError`, a **permanent** error: retrying within minutes cannot help
  and only burns the allowance further, so the work is dead-lettered at once and can be
  re-queued when the allowance recovers. The concurrency variant ("ConcurrentPerOrgLongTxn")
  raises :class:`HttpRateLimitedError` (transient).
* ``plain_http: true`` lets it talk to a local emulator over http: simple-salesforce always
  builds ``https://`` URLs, so an adapter rewrites them back to ``http`` for that host.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
import tenacity
from pydantic import BaseModel, ConfigDict, Field, model_validator
from requests.adapters import HTTPAdapter
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceError

from canvasbridge.backoff import is_transient, parse_retry_after, retry_after_hint
from canvasbridge.clients.http import (
    DEFAULT_TIMEOUT_S,
    AuthenticationError,
    CallStats,
    HttpErrorInfo,
    HttpRateLimitedError,
    Redactor,
    RetryPolicy,
    endpoint_template,
    error_for_status,
    transport_error,
    transport_status,
)
from canvasbridge.errors import PermanentError
from canvasbridge.secrets import SecretRef

DEFAULT_VERSION = "59.0"
MAX_COLLECTION = 200  # records per sObject Collections request (Salesforce's limit)
MAX_COMPOSITE = 25  # subrequests per composite request
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
_RETRYABLE_STATUS = (502, 503, 504)


class ApiLimitExceededError(PermanentError, HttpErrorInfo):
    """The org's rolling 24-hour API allowance is used up (``REQUEST_LIMIT_EXCEEDED``)."""


@dataclass(frozen=True)
class ApiUsage:
    """From ``Sforce-Limit-Info: api-usage=used/max``."""

    used: int
    max: int

    @property
    def remaining(self) -> int:
        return self.max - self.used


@dataclass
class RecordResult:
    """The outcome of one record of a collection call, mapped back to its input."""

    index: int
    record: Mapping[str, Any]
    success: bool
    id: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    created: bool | None = None

    @property
    def error_codes(self) -> list[str]:
        return [str(e.get("statusCode") or e.get("errorCode")) for e in self.errors]

    @property
    def message(self) -> str:
        return "; ".join(
            f"{e.get('statusCode') or e.get('errorCode')}: {e.get('message')}" for e in self.errors
        )


def parse_limit_info(header: str | None) -> ApiUsage | None:
    """``api-usage=18/5000; api-bursts=1/750`` → ``ApiUsage(18, 5000)``."""
    match = _LIMIT_INFO.search(header or "")
    return ApiUsage(int(match.group(1)), int(match.group(2))) if match else None


class SalesforceSettings(BaseModel):
    """``systems.salesforce`` in the configuration.

    Give ``username`` + ``password`` (+ ``security_token``) + ``consumer_key`` +
    ``consumer_secret`` for the OAuth password flow, or ``instance_url`` + ``session_id``
    for a fixed session (no re-login possible).
    """

    model_config = ConfigDict(extra="forbid")

    login_url: str = "https://login.salesforce.com"
    instance_url: str | None = None
    username: str | None = None
    password: SecretRef | None = None
    security_token: SecretRef | None = None
    consumer_key: str | None = None
    consumer_secret: SecretRef | None = None
    session_id: SecretRef | None = None
    version: str = Field(default=DEFAULT_VERSION, pattern=r"^\d+\.\d$")
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    batch_size: int = Field(default=MAX_COLLECTION, ge=1, le=MAX_COLLECTION)
    plain_http: bool = Field(default=False, description="talk http to the instance (local emulator only)")

    @model_validator(mode="after")
    def _one_way_in(self) -> SalesforceSettings:
        password_flow = self.username and self.password and self.consumer_key and self.consumer_secret
        direct = self.instance_url and self.session_id
        if not (password_flow or direct):
            raise ValueError(
                "give username, password, consumer_key and consumer_secret (OAuth password flow), "
                "or instance_url and session_id"
            )
        return self

    def build(self, stats: CallStats | None = None) -> SalesforceClient:
        secrets: dict[str, str] = {}
        for name in ("password", "security_token", "consumer_secret", "session_id"):
            ref = getattr(self, name)
            if ref is not None:
                secrets[name] = ref.resolve().get_secret_value()
        return SalesforceClient(
            login_url=self.login_url,
            instance_url=self.instance_url,
            username=self.username,
            password=secrets.get("password"),
            security_token=secrets.get("security_token", ""),
            consumer_key=self.consumer_key,
            consumer_secret=secrets.get("consumer_secret"),
            session_id=secrets.get("session_id"),
            version=self.version,
            timeout_s=self.timeout_s,
            retry=self.retry,
            batch_size=self.batch_size,
            plain_http=self.plain_http,
            stats=stats,
        )


class _SalesforceAdapter(HTTPAdapter):
    """Counts calls, reads ``Sforce-Limit-Info``, sets a timeout, retries 502-504 and
    connection failures by the shared :class:`~canvasbridge.backoff.RetryPolicy`, and (for
    an emulator) rewrites ``https`` to ``http``."""

    def __init__(self, client: SalesforceClient) -> None:
        super().__init__(pool_maxsize=10)
        self.client = client

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        client = self.client
        parts = urlsplit(request.url or "")
        if client.plain_http and parts.scheme == "https":
            request.url = urlunsplit(("http", parts.netloc, parts.path, parts.query, parts.fragment))
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = client.timeout_s
        method = request.method or "GET"
        template = _template(parts.path)
        maybe_applied = [False]

        def attempt() -> requests.Response:
            started = time.perf_counter()
            try:
                response = HTTPAdapter.send(self, request, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                client.stats.record(
                    "salesforce", method, template, time.perf_counter() - started, transport_status(exc)
                )
                # a POST whose answer timed out may have been applied: do not send it twice
                maybe_applied[0] = isinstance(exc, requests.ReadTimeout) and method == "POST"
                raise transport_error(
                    exc, system="salesforce", method=method, endpoint=template, redactor=client.redactor
                ) from None
            client.stats.record(
                "salesforce", method, template, time.perf_counter() - started, response.status_code
            )
            usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
            if usage is not None:
                client.api_usage = usage
            return response

        # 502-504 are retried here and, if they persist, handed to simple-salesforce as they came
        retrying = client.retry.retrying(
            retry=tenacity.retry_if_exception(lambda e: is_transient(e) and not maybe_applied[0])
            | tenacity.retry_if_result(lambda r: r.status_code in _RETRYABLE_STATUS),
            hint=_retry_after,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        )
        response: requests.Response = retrying(attempt)
        return response


def _retry_after(state: tenacity.RetryCallState) -> float | None:
    outcome = state.outcome
    if outcome is None or outcome.failed:
        return retry_after_hint(outcome.exception() if outcome else None)
    response: requests.Response = outcome.result()
    return parse_retry_after(response.headers.get("Retry-After"))


def _template(path: str) -> str:
    path = re.sub(r"^/services/data/v\d+\.\d/", "", path)
    if path.startswith("/services/oauth2/"):
        return path.strip("/")
    for kind in ("query", "queryAll"):
        if path.rstrip("/") == kind:
            return kind
        if path.startswith(kind + "/"):
            return kind + "/{cursor}"
    return endpoint_template(path)


class SalesforceClient:
    """Salesforce REST through simple-salesforce. Build it with :meth:`SalesforceSettings.build`."""

    def __init__(
        self,
        *,
        login_url: str = "https://login.salesforce.com",
        instance_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        security_token: str = "",
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        session_id: str | None = None,
        version: str = DEFAULT_VERSION,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        batch_size: int = MAX_COLLECTION,
        plain_http: bool = False,
        stats: CallStats | None = None,
    ) -> None:
        self.login_url = login_url.rstrip("/")
        self.version = version
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.batch_size = min(batch_size, MAX_COLLECTION)
        self.plain_http = plain_http
        self.stats = stats if stats is not None else CallStats()
        self.api_usage: ApiUsage | None = None
        self.logins = 0  # successful logins, the first included
        self._username = username
        self._password = password
        self._security_token = security_token
        self._consumer_key = consumer_key
        self._consumer_secret = consumer_secret
        self.redactor = Redactor([s for s in (password, consumer_secret, session_id, security_token) if s])
        self.session = requests.Session()
        adapter = _SalesforceAdapter(self)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._lock = threading.Lock()
        self._instance_url = instance_url
        self._session_id = session_id
        self._sf: Salesforce | None = None
        if session_id and instance_url:
            self._sf = self._connect(instance_url, session_id)

    @property
    def can_login(self) -> bool:
        return bool(self._username and self._password and self._consumer_key and self._consumer_secret)

    @property
    def sf(self) -> Salesforce:
        """The simple-salesforce object of the current session (logging in if needed)."""
        with self._lock:
            if self._sf is None:
                self._login()
            assert self._sf is not None
            return self._sf

    @property
    def base_path(self) -> str:
        """``/services/data/vXX.X/``, as composite subrequest URLs need it."""
        return f"/services/data/v{self.version}/"

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ session

    def _connect(self, instance_url: str, session_id: str) -> Salesforce:
        return Salesforce(
            instance_url=instance_url, session_id=session_id, session=self.session, version=self.version
        )

    def _login(self) -> None:
        if not self.can_login:
            raise AuthenticationError(
                "salesforce: the session is invalid and no credentials are configured to log in"
            )
        form = {
            "grant_type": "password",
            "client_id": self._consumer_key or "",
            "client_secret": self._consumer_secret or "",
            "username": self._username or "",
            "password": (self._password or "") + self._security_token,
        }
        response = self.session.post(f"{self.login_url}/services/oauth2/token", data=form)
        if response.status_code >= 400:
            try:
                detail = response.json().get("error", "")
            except (ValueError, AttributeError):
                detail = ""
            error = AuthenticationError(
                f"salesforce: login refused for {self._username} (HTTP {response.status_code}"
                + (f", {detail}" if detail else "")
                + ")"
            )
            error._attach("salesforce", "POST", "services/oauth2/token", response.status_code, None)
            raise error
        body = response.json()
        token, instance_url = body.get("access_token"), body.get("instance_url")
        if not token or not instance_url:
            raise AuthenticationError("salesforce: the login answer lacks access_token or instance_url")
        self.redactor.add(token)
        self._session_id = token
        self._instance_url = instance_url
        self._sf = self._connect(instance_url, token)
        self.logins += 1

    def _relogin(self, stale: Salesforce) -> None:
        with self._lock:
            if self._sf is stale:  # another thread may have renewed already
                self._login()

    def _call(self, what: str, fn: Callable[[Salesforce], Any]) -> Any:
        """Run ``fn`` on the session; one re-login on INVALID_SESSION_ID; typed errors."""
        sf = self.sf
        try:
            return fn(sf)
        except SalesforceError as exc:
            if exc.status == 401 and _error_code(exc.content) == "INVALID_SESSION_ID" and self.can_login:
                self._relogin(sf)
            else:
                raise self._typed(exc, what) from None
        try:
            return fn(self.sf)
        except SalesforceError as exc:
            raise self._typed(exc, what) from None

    def _typed(self, exc: SalesforceError, what: str) -> Exception:
        status = int(exc.status or 0)
        code = _error_code(exc.content)
        message = _error_message(exc.content)
        text = f"{code}: {message}" if code else message
        if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
            if "concurrent" in message.lower():
                limited = HttpRateLimitedError(f"salesforce {what}: {text}", retry_after=None)
                limited._attach("salesforce", "", what, status, exc.content)
                return limited
            error = ApiLimitExceededError(
                f"salesforce {what}: the org's API request allowance is used up ({text}); "
                "re-queue after it recovers"
                + (f" (usage {self.api_usage.used}/{self.api_usage.max})" if self.api_usage else "")
            )
            error._attach("salesforce", "", what, status, exc.content)
            return error
        if status == 401:
            auth = AuthenticationError(f"salesforce {what}: {text or 'session refused'}")
            auth._attach("salesforce", "", what, status, exc.content)
            return auth
        if status == 300:
            status = 409  # several external-id matches: a conflict, permanent
        return error_for_status(
            status or 500,
            system="salesforce",
            method="",
            endpoint=what,
            text=text,
            body=exc.content,
            redactor=self.redactor,
        )

    # ------------------------------------------------------------------ queries

    def query(self, soql: str) -> dict[str, Any]:
        """One page of results: ``{"totalSize", "done", "records", "nextRecordsUrl"?}``."""
        result: dict[str, Any] = self._call("query", lambda sf: sf.query(soql))
        return result

    def iter_query(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every record, page after page (lazily)."""
        page = self.query(soql)
        while True:
            yield from page.get("records", [])
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._call("query_more", _query_more(str(next_url)))

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        """Every record of a query (following ``nextRecordsUrl``)."""
        return list(self.iter_query(soql))

    # ------------------------------------------------------------------ single records

    def get(self, sobject: str, record_id: str, fields: Sequence[str] | None = None) -> dict[str, Any]:
        params = {"fields": ",".join(fields)} if fields else None
        path = f"sobjects/{_name(sobject)}/{quote(record_id, safe='')}"
        result: dict[str, Any] = self._call(f"GET {sobject}", lambda sf: sf.restful(path, params=params))
        return result

    def create(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Create one record; returns its id."""
        body = self._call(
            f"create {sobject}",
            lambda sf: sf.restful(f"sobjects/{_name(sobject)}/", method="POST", json=dict(fields)),
        )
        return str(body["id"])

    def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        path = f"sobjects/{_name(sobject)}/{quote(record_id, safe='')}"
        self._call(f"update {sobject}", lambda sf: sf.restful(path, method="PATCH", json=dict(fields)))

    def upsert(self, sobject: str, external_id_field: str, value: str, fields: Mapping[str, Any]) -> bool:
        """Insert or update by external id; returns true when a record was created."""
        path = f"sobjects/{_name(sobject)}/{_name(external_id_field)}/{quote(str(value), safe='')}"
        body = self._call(f"upsert {sobject}", lambda sf: sf.restful(path, method="PATCH", json=dict(fields)))
        return bool(body.get("created", False)) if isinstance(body, dict) else False

    def delete(self, sobject: str, record_id: str) -> None:
        path = f"sobjects/{_name(sobject)}/{quote(record_id, safe='')}"
        self._call(f"delete {sobject}", lambda sf: sf.restful(path, method="DELETE"))

    # ------------------------------------------------------------------ collections

    def create_many(
        self, sobject: str, records: Iterable[Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[RecordResult]:
        """Create records through sObject Collections, ≤200 per request, results in input order.

        ``all_or_none`` applies per request of up to ``batch_size`` records.
        """
        return self._collection(
            "POST", "composite/sobjects", sobject, list(records), all_or_none, "create_many"
        )

    def update_many(
        self, sobject: str, records: Iterable[Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[RecordResult]:
        """Update records (each with ``Id``) through sObject Collections, ≤200 per request."""
        items = list(records)
        for i, record in enumerate(items):
            if not record.get("Id"):
                raise PermanentError(f"salesforce update_many: record {i} has no Id")
        return self._collection("PATCH", "composite/sobjects", sobject, items, all_or_none, "update_many")

    def upsert_many(
        self,
        sobject: str,
        external_id_field: str,
        records: Iterable[Mapping[str, Any]],
        *,
        all_or_none: bool = False,
    ) -> list[RecordResult]:
        """Upsert records by an external id field, ≤200 per request; results carry ``created``."""
        path = f"composite/sobjects/{_name(sobject)}/{_name(external_id_field)}"
        return self._collection("PATCH", path, sobject, list(records), all_or_none, "upsert_many")

    def _collection(
        self,
        method: str,
        path: str,
        sobject: str,
        records: list[Mapping[str, Any]],
        all_or_none: bool,
        what: str,
    ) -> list[RecordResult]:
        results: list[RecordResult] = []
        for start in range(0, len(records), self.batch_size):
            chunk = records[start : start + self.batch_size]
            payload = {
                "allOrNone": all_or_none,
                "records": [{"attributes": {"type": _name(sobject)}, **r} for r in chunk],
            }
            answer = self._call(what, _restful(path, method, payload))
            if not isinstance(answer, list) or len(answer) != len(chunk):
                raise PermanentError(f"salesforce {what}: expected {len(chunk)} results, got {answer!r:.200}")
            for offset, (record, outcome) in enumerate(zip(chunk, answer, strict=True)):
                results.append(
                    RecordResult(
                        index=start + offset,
                        record=record,
                        success=bool(outcome.get("success")),
                        id=outcome.get("id") or record.get("Id"),
                        errors=list(outcome.get("errors") or []),
                        created=outcome.get("created"),
                    )
                )
        return results

    def composite(
        self, subrequests: Sequence[Mapping[str, Any]], *, all_or_none: bool = False
    ) -> list[dict[str, Any]]:
        """One ``/composite`` call (≤25 subrequests); returns ``compositeResponse``.

        A subrequest ``url`` may be relative to the API root (``sobjects/Contact/…``); it is
        prefixed with ``/services/data/vXX.X/``.
        """
        if len(subrequests) > MAX_COMPOSITE:
            raise PermanentError(
                f"salesforce composite: {len(subrequests)} subrequests, at most {MAX_COMPOSITE}"
            )
        prepared = []
        for sub in subrequests:
            item = dict(sub)
            url = str(item.get("url", ""))
            if not url.startswith("/services/"):
                item["url"] = self.base_path + url.lstrip("/")
            prepared.append(item)
        payload = {"allOrNone": all_or_none, "compositeRequest": prepared}
        answer = self._call("composite", lambda sf: sf.restful("composite", method="POST", json=payload))
        responses = answer.get("compositeResponse") if isinstance(answer, dict) else None
        if not isinstance(responses, list):
            raise PermanentError("salesforce composite: the answer has no compositeResponse")
        return responses

    def describe(self, sobject: str) -> dict[str, Any]:
        """The object's describe: its ``fields`` (``name``, ``externalId``, ``referenceTo``…)."""
        path = f"sobjects/{_name(sobject)}/describe"
        result: dict[str, Any] = self._call(f"describe {sobject}", lambda sf: sf.restful(path))
        return result

    def limits(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("limits", lambda sf: sf.restful("limits"))
        return result


def _query_more(url: str) -> Callable[[Salesforce], Any]:
    return lambda sf: sf.query_more(url, identifier_is_url=True)


def _restful(path: str, method: str, payload: Any) -> Callable[[Salesforce], Any]:
    return lambda sf: sf.restful(path, method=method, json=payload)


def _name(name: str) -> str:
    if not re.match(r"^[A-Za-z][A-Za-z0-9_]*$", name):
        raise PermanentError(f"salesforce: not an object or field name: {name!r}")
    return name


def _first_error(content: Any) -> dict[str, Any]:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0]
    if isinstance(content, dict):
        return content
    return {}


def _error_code(content: Any) -> str:
    first = _first_error(content)
    return str(first.get("errorCode") or first.get("error") or "")


def _error_message(content: Any) -> str:
    first = _first_error(content)
    if first:
        return str(first.get("message") or first.get("error_description") or "")
    return str(content)[:300] if content else ""
