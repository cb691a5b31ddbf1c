"""Lean GETs: many small reads on kept-alive ``http.client`` connections.

A full resync asks Cerebrum tens of thousands of small questions. Through httpx each costs
0.6-0.9 ms of CPU here (its URL model, httpcore, h11), through the standard library's
``http.client`` about 0.15 ms. :class:`LeanGets` only sends a GET and hands back status,
headers and body; :class:`~canvasbridge.clients.http.HttpClient` keeps everything else
(the retry policy, typed errors, redaction, call counting). Its failures are raised as
httpx's transport exceptions, so both paths report them alike.

TLS is httpx's own default context (:func:`httpx.create_ssl_context`). A client that must
go through a proxy from the environment does not use this path (:func:`proxied`).
"""

from __future__ import annotations

import http.client
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from urllib.parse import quote, urlsplit

import httpx

#: what may stay as it is in a request target (reserved characters and escapes already made)
_TARGET_SAFE = "/?&=:@,;+!$'()*~%"


@dataclass(frozen=True)
class LeanResponse:
    status: int
    headers: Message
    body: bytes


def proxied(base_url: str) -> bool:
    """Whether the environment sends ``base_url``'s host through a proxy (httpx's ``trust_env``)."""
    parts = urlsplit(base_url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.hostname or "")


class LeanGets:
    """GETs against one origin on a pool of at most ``max_connections`` kept-alive connections."""

    def __init__(
        self, base_url: str, *, headers: Mapping[str, str], timeout_s: float, max_connections: int
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) base URL: {base_url!r}")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.base_path = parts.path if parts.path.endswith("/") else parts.path + "/"
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, parts.port
        self._headers = {"Accept": "application/json", **headers}
        self._timeout = timeout_s
        self._tls = httpx.create_ssl_context() if parts.scheme == "https" else None
        self._slots = threading.BoundedSemaphore(max_connections)
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def target(self, path: str, query: str = "") -> str:
        """The request target for ``path`` (relative to the base, or absolute on our origin)."""
        if "://" in path:
            parts = urlsplit(path)
            path, query = parts.path, "&".join(q for q in (parts.query, query) if q)
        else:
            path = self.base_path + path.lstrip("/")
        path = quote(path, safe=_TARGET_SAFE)
        return f"{path}?{quote(query, safe=_TARGET_SAFE)}" if query else path

    def get(self, target: str) -> LeanResponse:
        """GET ``target``; a kept-alive connection the server closed meanwhile is redialled once."""
        with self._slots:
            connection, reused = self._take()
            try:
                try:
                    return self._exchange(connection, target)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    if not reused:
                        raise
                    connection.close()  # a GET may be sent again: redial
                    return self._exchange(connection, target)
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                raise _as_httpx(exc) from exc
            except BaseException:
                connection.close()
                raise

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    # -- internals
    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        if self._tls is not None:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._tls
            ), False
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout), False

    def _exchange(self, connection: http.client.HTTPConnection, target: str) -> LeanResponse:
        if connection.sock is None:
            try:
                connection.connect()
            except TimeoutError as exc:
                raise httpx.ConnectTimeout(str(exc) or "timed out connecting") from exc
            except OSError as exc:
                raise httpx.ConnectError(str(exc)) from exc
        connection.request("GET", target, headers=self._headers)
        response = connection.getresponse()
        body = response.read()
        if response.will_close:
            connection.close()
        else:
            with self._lock:
                self._idle.append(connection)
        return LeanResponse(response.status, response.headers, body)


def _as_httpx(exc: BaseException) -> httpx.TransportError:
    """httpx's transport exception for a failure of ``http.client`` or the socket."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, TimeoutError):
        return httpx.ReadTimeout(detail)
    if isinstance(exc, http.client.HTTPException):
        return httpx.RemoteProtocolError(detail)
    return httpx.ReadError(detail)
