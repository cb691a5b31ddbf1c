"""The pooled, retrying, counting JSON client every own client (fs, sap, cerebrum) is built on."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

try:
    import orjson

    _ORJSON = True
except ImportError:  # a venv installed before orjson became a dependency: the standard library
    _ORJSON = False

from canvasbridge.backoff import RetryPolicy, is_transient, parse_retry_after
from canvasbridge.clients.http._endpoints import endpoint_template
from canvasbridge.clients.http._errors import (
    BODY_EXCERPT_CHARS,
    HttpErrorInfo,
    HttpPermanentError,
    error_for_status,
    transport_error,
    transport_status,
)
from canvasbridge.clients.http._lean import LeanGets, LeanResponse, proxied
from canvasbridge.clients.http._redaction import Redactor
from canvasbridge.clients.http._settings import DEFAULT_TIMEOUT_S
from canvasbridge.clients.http._stats import CallStats

log = logging.getLogger("canvasbridge.clients")


Auth = Callable[[httpx.Request], None]


class HttpClient:
    """A pooled, retrying, counting JSON client for one system's base URL.

    ``auth`` (optional) is called on every outgoing request to set its credentials, and
    ``on_unauthorized`` (optional) is called once when a 401 arrives; if it returns true the
    request is sent again once (used for token renewal). ``check_response`` (optional) sees
    every response before its status is judged and may raise (SAP's ``sap-server`` check).
    ``lean_gets`` sends plain JSON GETs through :mod:`._lean` (a fraction of httpx's CPU per
    call; same retries, errors, redaction and counting) unless a ``transport``, ``auth``,
    ``on_unauthorized``, ``check_response`` or a proxy from the environment needs httpx.
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
        lean_gets: bool = False,
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
        self._lean = (
            LeanGets(
                self.base_url, headers=headers or {}, timeout_s=timeout_s, max_connections=max_connections
            )
            if lean_gets and transport is None and not proxied(self.base_url)
            else None
        )

    # -- lifecycle
    def close(self) -> None:
        self._http.close()
        if self._lean is not None:
            self._lean.close()

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
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        endpoint: str | None = None,
        auth: Auth | None = None,
        retry: bool = True,
        renew_on_401: bool = True,
        follow_redirects: bool = False,
    ) -> httpx.Response:
        """Send one request (with retries); return the successful response or raise typed.

        ``path`` is relative to the base URL, or absolute when the server gave a full URL
        (a followed ``href``). ``endpoint`` names the template for statistics; by default
        it is derived from the path. A 401 calls ``on_unauthorized`` once (unless
        ``renew_on_401`` is false) and, if it returns true, sends the request again.
        Redirects are refused unless ``follow_redirects`` (httpx then drops the credentials
        on a redirect to another host). A POST whose answer timed out is not sent again by
        the client, as it may have been applied; the error still goes up as transient.
        """
        template = endpoint or endpoint_template(self._relative(path))
        renewed = [False]
        body = {"params": params, "json": json, "data": data, "files": files, "headers": headers}

        def once() -> httpx.Response:
            response = self._send(method, path, body, template, auth, follow_redirects)
            if response.status_code == 401 and renew_on_401 and self.on_unauthorized and not renewed[0]:
                renewed[0] = True
                if self.on_unauthorized():
                    response = self._send(method, path, body, template, auth, follow_redirects)
            self._raise_for(response, method, template)
            return response

        if not retry:
            return once()
        return self.retry.run(once, retry_if=_worth_retrying)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET and decode JSON (``None`` for an empty body)."""
        lean = self._lean
        if (
            lean is not None
            and set(kwargs) <= {"params", "endpoint"}
            and (self.auth, self.on_unauthorized, self._check_response) == (None, None, None)
            and ("://" not in path or path.startswith(lean.origin + "/"))
        ):
            return self._lean_get_json(lean, path, kwargs.get("params"), kwargs.get("endpoint"))
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
    def _lean_get_json(
        self, lean: LeanGets, path: str, params: Mapping[str, Any] | None, endpoint: str | None
    ) -> Any:
        template = endpoint or endpoint_template(self._relative(path))
        target = lean.target(path, str(httpx.QueryParams(params)) if params else "")

        def once() -> LeanResponse:
            started = time.perf_counter()
            try:
                response = lean.get(target)
            except httpx.TransportError as exc:
                self.stats.record(
                    self.system, "GET", template, time.perf_counter() - started, transport_status(exc)
                )
                raise transport_error(
                    exc, system=self.system, method="GET", endpoint=template, redactor=self.redactor
                ) from None
            elapsed = time.perf_counter() - started
            self.stats.record(self.system, "GET", template, elapsed, response.status)
            if log.isEnabledFor(logging.DEBUG):
                url = self.redactor.url(lean.origin + target)
                log.debug("%s GET %s -> %d in %.1f ms", self.system, url, response.status, elapsed * 1000)
            if response.status >= 300:
                text = response.body.decode("utf-8", "replace")
                self._raise_status(
                    response.status,
                    "GET",
                    template,
                    response.headers.get,
                    text,
                    lambda: _maybe_json_text(text),
                )
            return response

        response = self.retry.run(once, retry_if=_worth_retrying)
        if not response.body:
            return None
        try:
            return loads(response.body)
        except ValueError:
            raise _not_json(self, "GET", template, response.body.decode("utf-8", "replace")) from None

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
        body: Mapping[str, Any],
        template: str,
        auth: Auth | None,
        follow_redirects: bool,
    ) -> httpx.Response:
        request = self._http.build_request(method, path, **body)
        (auth or self.auth or _no_auth)(request)
        started = time.perf_counter()
        try:
            response = self._http.send(request, follow_redirects=follow_redirects)
        except httpx.TransportError as exc:
            self.stats.record(
                self.system, method, template, time.perf_counter() - started, transport_status(exc)
            )
            error = transport_error(
                exc, system=self.system, method=method, endpoint=template, redactor=self.redactor
            )
            error.maybe_applied = method == "POST" and isinstance(exc, httpx.ReadTimeout)
            raise error from None
        elapsed = time.perf_counter() - started
        self.stats.record(self.system, method, template, elapsed, response.status_code)
        if log.isEnabledFor(
            logging.DEBUG
        ):  # redacting the URL costs more than the rest of a call's bookkeeping
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
        if response.status_code >= 300:
            self._raise_status(
                response.status_code,
                method,
                template,
                response.headers.get,
                response.text,
                lambda: _maybe_json(response),
            )

    def _raise_status(
        self,
        status: int,
        method: str,
        template: str,
        header: Callable[[str], str | None],
        text: str,
        body: Callable[[], Any],
    ) -> None:
        """Raise the typed error for a redirect or an error status (either path's answer)."""
        if 300 <= status < 400:
            location = self.redactor.url(header("Location") or "?")
            error = HttpPermanentError(
                f"{self.system} {method} {template}: HTTP {status} redirect to {location} "
                "(redirects are not followed: check base_url)"
            )
            error._attach(self.system, method, template, status, None)
            raise error
        if status >= 400:
            raise error_for_status(
                status,
                system=self.system,
                method=method,
                endpoint=template,
                text=text,
                body=body(),
                retry_after=parse_retry_after(header("Retry-After")),
                redactor=self.redactor,
            )


def _worth_retrying(error: BaseException) -> bool:
    return is_transient(error) and not (isinstance(error, HttpErrorInfo) and error.maybe_applied)


def _no_auth(request: httpx.Request) -> None:
    return None


def _maybe_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def loads(body: bytes) -> Any:
    """Decode JSON with orjson (several times the standard library's speed on FS's pages of a
    thousand items); what orjson refuses but JSON parsers commonly take (NaN, integers past
    64 bits, UTF-16) goes to the standard library, so both read the same answers."""
    if _ORJSON:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)


def _maybe_json_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _not_json(client: HttpClient, method: str, template: str, text: str) -> HttpPermanentError:
    excerpt = client.redactor.clean(text[:BODY_EXCERPT_CHARS])
    error = HttpPermanentError(f"{client.system} {method} {template}: answer is not JSON: {excerpt!r}")
    error._attach(client.system, method, "", None, None)
    return error


def decode_json(response: httpx.Response, client: HttpClient) -> Any:
    """The JSON body of a response, or a permanent error naming the endpoint if it is not JSON."""
    if not response.content:
        return None
    try:
        return loads(response.content)
    except ValueError:
        method = response.request.method
        template = endpoint_template(client._relative(str(response.request.url)))
        error = _not_json(client, method, template, response.text)
        error.status = response.status_code
        raise error from None
