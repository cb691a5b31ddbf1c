"""The HTTP base every client shares: pooling, timeouts, retries, typed errors, call counting.

What it does, in order, for each call of :meth:`HttpClient.request`:

1. sends the request through one pooled :class:`httpx.Client` (keep-alive, ``timeout_s``);
2. maps the outcome onto :mod:`canvasbridge.errors` - transport failures, timeouts, 5xx and
   408 are :class:`TransientError`, 429 is :class:`RateLimitedError` (with ``retry_after``),
   404 is :class:`NotFoundError`, 401/403 are :class:`AuthenticationError` (permanent), any
   other 4xx is :class:`PermanentError`;
3. retries transient errors only, with exponential backoff and jitter (tenacity), honouring
   a server's ``Retry-After`` up to ``backoff_cap_s``;
4. records the call in a :class:`CallStats` (count, errors, seconds) keyed by system and
   endpoint template (``"fs GET personer/{id}"``).

Credentials never reach an error message or a log line: headers are never printed, query
parameters whose names look secret are masked, and every secret value the client was given
is replaced by ``***`` in any text it builds from a response::

    stats = CallStats()
    with HttpClient("https://fs.example.org/", system="fs", stats=stats,
                    headers={"X-Api-Key": key}, secrets=[key]) as http:
        person = http.get_json("personer/12345")
    stats.total, stats.by_endpoint["fs GET personer/{id}"].calls
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import tenacity
from pydantic import BaseModel, ConfigDict, Field

from canvasbridge.errors import (
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)

log = logging.getLogger("canvasbridge.clients")

DEFAULT_TIMEOUT_S = 30.0  # seconds for connect, read and write of one request
DEFAULT_MAX_ATTEMPTS = 4  # tries of one call, counting the first
DEFAULT_BACKOFF_BASE_S = 0.5  # first retry waits about this long (seconds)
DEFAULT_BACKOFF_CAP_S = 10.0  # no single wait is longer (seconds)
BODY_EXCERPT_CHARS = 300  # how much of an error body an exception message shows
REDACTED = "***"

_SECRET_PARAM = re.compile(r"(token|key|secret|password|passwd|signature|auth|session)", re.I)
_SECRET_PATTERNS = [
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 ***"),
    (
        re.compile(
            r"(?i)((?:password|access_token|client_secret|session_?id|api_?key|token)\]?['\"]?\s*[:=,]\s*['\"]?)"
            r"[^'\"&,\s})\]]+"
        ),
        r"\1***",
    ),
]


# --------------------------------------------------------------------------- errors


class HttpErrorInfo:
    """Where an HTTP error came from. Mixed into every error the clients raise."""

    system: str = ""
    method: str = ""
    endpoint: str = ""
    status: int | None = None
    body: Any = None

    def _attach(self, system: str, method: str, endpoint: str, status: int | None, body: Any) -> None:
        self.system, self.method, self.endpoint, self.status, self.body = (
            system,
            method,
            endpoint,
            status,
            body,
        )


class HttpTransientError(TransientError, HttpErrorInfo):
    """Could not talk to the server, or it failed in a way worth retrying (5xx, timeout)."""


class HttpRateLimitedError(RateLimitedError, HttpErrorInfo):
    """The server throttled us (429, Canvas 403 "Rate Limit Exceeded")."""


class HttpPermanentError(PermanentError, HttpErrorInfo):
    """The server refused the request itself (4xx); retrying gives the same answer."""


class HttpNotFoundError(NotFoundError, HttpErrorInfo):
    """The server says the object does not exist (404)."""


class AuthenticationError(PermanentError, HttpErrorInfo):
    """The credentials were refused (401/403). Permanent: fix the secret, then re-queue."""


def error_for_status(
    status: int,
    *,
    system: str,
    method: str,
    endpoint: str,
    text: str = "",
    body: Any = None,
    retry_after: float | None = None,
    redactor: Redactor | None = None,
) -> Exception:
    """The typed error for an HTTP status (>= 400), with a redacted message."""
    excerpt = (redactor or Redactor()).clean(text[:BODY_EXCERPT_CHARS]).strip()
    message = f"{system} {method} {endpoint}: HTTP {status}" + (f": {excerpt}" if excerpt else "")
    error: Exception
    if status == 429:
        error = HttpRateLimitedError(message, retry_after=retry_after)
    elif status >= 500 or status == 408:
        error = HttpTransientError(message, retry_after=retry_after)
    elif status == 404:
        error = HttpNotFoundError(message)
    elif status in (401, 403):
        error = AuthenticationError(message)
    else:
        error = HttpPermanentError(message)
    assert isinstance(error, HttpErrorInfo)
    error._attach(system, method, endpoint, status, body)
    return error


def transport_error(
    exc: Exception, *, system: str, method: str, endpoint: str, redactor: Redactor | None = None
) -> HttpTransientError:
    """A transient error for a failure to talk to the server at all (refused, reset, timeout)."""
    kind = type(exc).__name__
    detail = (redactor or Redactor()).clean(str(exc))[:BODY_EXCERPT_CHARS]
    error = HttpTransientError(f"{system} {method} {endpoint}: {kind}: {detail}")
    error._attach(system, method, endpoint, None, None)
    return error


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds; ``None`` if absent or a date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


# --------------------------------------------------------------------------- redaction


class Redactor:
    """Removes secret values and credential-looking fragments from text and URLs."""

    def filter(self) -> logging.Filter:
        """A logging filter that redacts records (for libraries that log requests)."""
        return RedactingFilter(self)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _SECRET_PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def url(self, url: str) -> str:
        """The URL without user info and with secret-looking query values masked."""
        parts = urlsplit(url)
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        query = urlencode(
            [(k, REDACTED if _SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query, True)]
        )
        return self.clean(urlunsplit((parts.scheme, netloc, parts.path, query, "")))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through a :class:`Redactor` (never drops a record)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        record.msg, record.args = self.redactor.clean(message), None
        return True


# --------------------------------------------------------------------------- statistics


_ID_SEGMENT = re.compile(r"^(?=.*[\d,%:@])[^/]+$")
_VERSION_SEGMENT = re.compile(r"^v\d+(\.\d+)?$")
_PAREN_ID = re.compile(r"\(([^)]*)\)")


def endpoint_template(path: str) -> str:
    """A path with its identifiers replaced: ``personer/123`` → ``personer/{id}``.

    A segment counts as an identifier if it holds a digit, a comma, ``%``, ``:`` or ``@``
    (but not a version such as ``v1``); OData keys in parentheses become ``({id})``. Names
    without digits (``accounts/olan``) cannot be told from words: pass ``endpoint=``.
    """
    path = urlsplit(path).path.strip("/")
    out = []
    for segment in path.split("/"):
        if "(" in segment:
            out.append(_PAREN_ID.sub("({id})", segment))
        elif _ID_SEGMENT.match(segment) and not _VERSION_SEGMENT.match(segment):
            out.append("{id}")
        else:
            out.append(segment)
    return "/".join(out)


@dataclass
class EndpointStats:
    """Calls to one endpoint: how many, how many failed, total seconds spent."""

    calls: int = 0
    errors: int = 0
    seconds: float = 0.0

    @property
    def mean_ms(self) -> float:
        return 1000.0 * self.seconds / self.calls if self.calls else 0.0


#: ``hook(system, METHOD, template, seconds, ok)``, called after every HTTP request.
CallHook = Callable[[str, str, str, float, bool], None]


@dataclass
class CallStats:
    """Counts every HTTP call made through the clients that share it (thread-safe).

    ``total`` is the number of HTTP requests sent (retries count); ``by_endpoint`` maps
    ``"<system> <METHOD> <template>"`` to :class:`EndpointStats`; ``by_system`` sums them.
    ``hooks`` are called after each request (e.g. to feed Prometheus); a failing hook is
    logged, never raised.
    """

    total: int = 0
    by_endpoint: dict[str, EndpointStats] = field(default_factory=dict)
    hooks: list[CallHook] = field(default_factory=list, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, system: str, method: str, template: str, seconds: float, ok: bool) -> None:
        key = f"{system} {method.upper()} {template}"
        with self._lock:
            self.total += 1
            entry = self.by_endpoint.setdefault(key, EndpointStats())
            entry.calls += 1
            entry.seconds += seconds
            if not ok:
                entry.errors += 1
        for hook in self.hooks:
            try:
                hook(system, method.upper(), template, seconds, ok)
            except Exception:  # a metrics hook must never break a call
                log.exception("call hook %r failed", hook)

    @property
    def by_system(self) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for key, entry in self.by_endpoint.items():
                system = key.split(" ", 1)[0]
                out[system] = out.get(system, 0) + entry.calls
            return out

    def calls(self, system: str | None = None, contains: str = "") -> int:
        """Calls of one system (all when ``None``) whose key contains ``contains``."""
        with self._lock:
            return sum(
                e.calls
                for k, e in self.by_endpoint.items()
                if (system is None or k.startswith(system + " ")) and contains in k
            )

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_endpoint.clear()


# --------------------------------------------------------------------------- retries


class RetryPolicy(BaseModel):
    """How a client retries transient failures by itself before giving up to the engine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=DEFAULT_MAX_ATTEMPTS, ge=1, description="tries, counting the first")
    backoff_base_s: float = Field(default=DEFAULT_BACKOFF_BASE_S, ge=0.0, description="first wait, seconds")
    backoff_cap_s: float = Field(default=DEFAULT_BACKOFF_CAP_S, ge=0.0, description="longest wait, seconds")
    jitter: bool = True

    def wait_s(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.backoff_cap_s)
        wait = min(self.backoff_cap_s, self.backoff_base_s * (2 ** (attempt - 1)))
        return random.uniform(wait / 2, wait) if self.jitter else wait

    def run(self, call: Callable[[], Any]) -> Any:
        """Run ``call``, retrying :class:`TransientError` with backoff; re-raise the last one."""

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            retry_after = exc.retry_after if isinstance(exc, TransientError) else None
            return self.wait_s(state.attempt_number, retry_after)

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientError),
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=wait,
            reraise=True,
            before_sleep=_log_retry,
        )
        return retrying(call)


def _log_retry(state: tenacity.RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.info("retrying after attempt %d: %s", state.attempt_number, exc)


# --------------------------------------------------------------------------- settings


class ClientSettings(BaseModel):
    """What every system's settings share (``systems.<name>`` in the YAML)."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="the API's base URL, e.g. https://api.fellesstudentsystem.no/")
    timeout_s: float = Field(default=DEFAULT_TIMEOUT_S, gt=0, description="per request, seconds")
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    max_connections: int = Field(default=20, ge=1, description="pooled connections to the host")


# --------------------------------------------------------------------------- client


Auth = Callable[[httpx.Request], None]


class HttpClient:
    """A pooled, retrying, counting JSON client for one system's base URL.

    ``auth`` (optional) is called on every outgoing request to set its credentials, and
    ``on_unauthorized`` (optional) is called once when a 401 arrives; if it returns true the
    request is sent again once (used for token renewal). ``check_response`` (optional) sees
    every response before its status is judged and may raise (SAP's ``sap-server`` check).
    """

    def __init__(
        self,
        base_url: str,
        *,
        system: str,
        stats: CallStats | None = None,
        headers: Mapping[str, str] | None = None,
        auth: Auth | None = None,
        on_unauthorized: Callable[[], bool] | None = None,
        secrets: Iterable[str] = (),
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        max_connections: int = 20,
        transport: httpx.BaseTransport | None = None,
        check_response: Callable[[httpx.Response], None] | None = None,
    ) -> None:
        self.system = system
        self.stats = stats if stats is not None else CallStats()
        self.retry = retry or RetryPolicy()
        self.redactor = Redactor(secrets)
        self.auth = auth
        self.on_unauthorized = on_unauthorized
        self._check_response = check_response
        self.base_url = base_url.rstrip("/") + "/"
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=dict(headers or {}),
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            transport=transport,
            follow_redirects=False,
        )

    # -- lifecycle
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- calls
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        endpoint: str | None = None,
        auth: Auth | None = None,
        retry: bool = True,
        renew_on_401: bool = True,
    ) -> httpx.Response:
        """Send one request (with retries); return the successful response or raise typed.

        ``path`` is relative to the base URL, or absolute when the server gave a full URL
        (a followed ``href``). ``endpoint`` names the template for statistics; by default
        it is derived from the path. A 401 calls ``on_unauthorized`` once (unless
        ``renew_on_401`` is false) and, if it returns true, sends the request again.
        """
        template = endpoint or endpoint_template(self._relative(path))
        renewed = [False]

        def once() -> httpx.Response:
            response = self._send(method, path, params, json, data, headers, template, auth)
            if response.status_code == 401 and renew_on_401 and self.on_unauthorized and not renewed[0]:
                renewed[0] = True
                if self.on_unauthorized():
                    response = self._send(method, path, params, json, data, headers, template, auth)
            self._raise_for(response, method, template)
            return response

        if not retry:
            return once()
        result: httpx.Response = self.retry.run(once)
        return result

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET and decode JSON (``None`` for an empty body)."""
        return decode_json(self.request("GET", path, **kwargs), self)

    def post_json(self, path: str, **kwargs: Any) -> Any:
        return decode_json(self.request("POST", path, **kwargs), self)

    def check_origin(self, url: str) -> None:
        """Refuse an absolute URL on another host than ours (our credentials would go there)."""
        if "://" not in url:
            return
        ours, theirs = urlsplit(self.base_url), urlsplit(url)
        if (ours.scheme, ours.netloc) != (theirs.scheme, theirs.netloc):
            error = HttpPermanentError(
                f"{self.system}: refusing to follow a link to {theirs.scheme}://{theirs.netloc}: "
                "not the configured host (credentials would leak)"
            )
            error._attach(self.system, "GET", "", None, None)
            raise error

    def follow_json(self, href: str, **kwargs: Any) -> Any:
        """GET an ``href`` the server gave us (absolute or relative), on our host only."""
        self.check_origin(href)
        return self.get_json(href, **kwargs)

    # -- internals
    def _relative(self, path: str) -> str:
        if path.startswith(self.base_url):
            return path[len(self.base_url) :]
        if "://" in path:
            return urlsplit(path).path
        return path

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        template: str,
        auth: Auth | None,
    ) -> httpx.Response:
        request = self._http.build_request(method, path, params=params, json=json, data=data, headers=headers)
        (auth or self.auth or _no_auth)(request)
        started = time.perf_counter()
        try:
            response = self._http.send(request)
        except httpx.TransportError as exc:
            self.stats.record(self.system, method, template, time.perf_counter() - started, ok=False)
            raise transport_error(
                exc, system=self.system, method=method, endpoint=template, redactor=self.redactor
            ) from None
        elapsed = time.perf_counter() - started
        self.stats.record(self.system, method, template, elapsed, ok=response.status_code < 400)
        log.debug(
            "%s %s %s -> %d in %.1f ms",
            self.system,
            method,
            self.redactor.url(str(request.url)),
            response.status_code,
            elapsed * 1000,
        )
        return response

    def _raise_for(self, response: httpx.Response, method: str, template: str) -> None:
        if self._check_response is not None:
            self._check_response(response)
        if 300 <= response.status_code < 400:
            location = self.redactor.url(response.headers.get("Location", "?"))
            error = HttpPermanentError(
                f"{self.system} {method} {template}: HTTP {response.status_code} redirect to {location} "
                "(redirects are not followed: check base_url)"
            )
            error._attach(self.system, method, template, response.status_code, None)
            raise error
        if response.status_code >= 400:
            raise error_for_status(
                response.status_code,
                system=self.system,
                method=method,
                endpoint=template,
                text=response.text,
                body=_maybe_json(response),
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
                redactor=self.redactor,
            )


def _no_auth(request: httpx.Request) -> None:
    return None


def _maybe_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def decode_json(response: httpx.Response, client: HttpClient) -> Any:
    """The JSON body of a response, or a permanent error naming the endpoint if it is not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        excerpt = client.redactor.clean(response.text[:BODY_EXCERPT_CHARS])
        error = HttpPermanentError(
            f"{client.system} {response.request.method} {endpoint_template(client._relative(str(response.request.url)))}: "
            f"answer is not JSON: {excerpt!r}"
        )
        error._attach(client.system, response.request.method, "", response.status_code, None)
        raise error from None
