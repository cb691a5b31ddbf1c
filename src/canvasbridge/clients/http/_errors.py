"""The typed errors of HTTP calls, on the shared tree of :mod:`canvasbridge.errors`.

"Could not talk to the server" and 5xx/408 are :class:`HttpTransientError`, 429 is
:class:`HttpRateLimitedError`, 404 :class:`HttpNotFoundError`, 401/403
:class:`AuthenticationError`, any other 4xx :class:`HttpPermanentError`. Each carries where
it came from (:class:`HttpErrorInfo`) and a message with no secrets in it.
"""

from __future__ import annotations

from typing import Any

import httpx
import requests

from canvasbridge.clients.http._redaction import Redactor
from canvasbridge.errors import NotFoundError, PermanentError, RateLimitedError, TransientError

BODY_EXCERPT_CHARS = 300  # how much of an error body an exception message shows


class HttpErrorInfo:
    """Where an HTTP error came from. Mixed into every error the clients raise."""

    system: str = ""
    method: str = ""
    endpoint: str = ""
    status: int | None = None
    body: Any = None
    maybe_applied: bool = False  # the request may have taken effect though no answer came

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


def transport_status(exc: BaseException) -> str:
    """Why no answer came, as the ``status`` of a call: ``timeout``, ``connect`` or ``error``."""
    if isinstance(exc, httpx.TimeoutException | requests.Timeout):
        return "timeout"
    if isinstance(exc, httpx.ConnectError | requests.ConnectionError):
        return "connect"
    return "error"


def transport_error(
    exc: Exception, *, system: str, method: str, endpoint: str, redactor: Redactor | None = None
) -> HttpTransientError:
    """A transient error for a failure to talk to the server at all (refused, reset, timeout)."""
    kind = type(exc).__name__
    detail = (redactor or Redactor()).clean(str(exc))[:BODY_EXCERPT_CHARS]
    error = HttpTransientError(f"{system} {method} {endpoint}: {kind}: {detail}")
    error._attach(system, method, endpoint, None, None)
    return error
