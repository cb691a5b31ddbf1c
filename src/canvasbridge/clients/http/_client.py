"""The pooled, retrying, counting JSON client every own client (fs, sap, cerebrum) is built on."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

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


def _worth_retrying(error: BaseException) -> bool:
    return is_transient(error) and not (isinstance(error, HttpErrorInfo) and error.maybe_applied)


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
