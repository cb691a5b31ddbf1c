"""The HTTP base every client shares: pooling, timeouts, retries, typed errors, call counting.

What it does, in order, for each call of :meth:`HttpClient.request`:

1. sends the request through one pooled :class:`httpx.Client` (keep-alive, ``timeout_s``);
2. maps the outcome onto :mod:`canvasbridge.errors` - transport failures, timeouts, 5xx and
   408 are :class:`TransientError`, 429 is :class:`RateLimitedError` (with ``retry_after``),
   404 is :class:`NotFoundError`, 401/403 are :class:`AuthenticationError` (permanent), any
   other 4xx is :class:`PermanentError`;
3. retries transient errors only, by the shared rule of :mod:`canvasbridge.backoff`
   (exponential backoff with jitter; a server's ``Retry-After``, in seconds or as a date, is
   a floor, never past ``backoff_cap_s``);
4. records the call in a :class:`CallStats` (count, errors, seconds, status) keyed by system
   and endpoint template (``"fs GET personer/{id}"``).

Credentials never reach an error message or a log line: headers are never printed, query
parameters whose names look secret are masked, and every secret value the client was given
is replaced by ``***`` in any text it builds from a response::

    stats = CallStats()
    with HttpClient("https://fs.example.org/", system="fs", stats=stats,
                    headers={"X-Api-Key": key}, secrets=[key]) as http:
        person = http.get_json("personer/12345")
    stats.total, stats.by_endpoint["fs GET personer/{id}"].calls

What is public is what this module exports; the modules beside it (``_client``, ``_errors``,
``_redaction``, ``_endpoints``, ``_stats``, ``_settings``) each hold one job.
"""

from canvasbridge.backoff import RetryPolicy, parse_retry_after
from canvasbridge.clients.http._client import Auth, HttpClient, decode_json
from canvasbridge.clients.http._endpoints import endpoint_template
from canvasbridge.clients.http._errors import (
    BODY_EXCERPT_CHARS,
    AuthenticationError,
    HttpErrorInfo,
    HttpNotFoundError,
    HttpPermanentError,
    HttpRateLimitedError,
    HttpTransientError,
    error_for_status,
    transport_error,
    transport_status,
)
from canvasbridge.clients.http._redaction import REDACTED, RedactingFilter, Redactor
from canvasbridge.clients.http._settings import DEFAULT_TIMEOUT_S, ClientSettings
from canvasbridge.clients.http._stats import CallHook, CallStats, EndpointStats

__all__ = [
    "BODY_EXCERPT_CHARS",
    "DEFAULT_TIMEOUT_S",
    "REDACTED",
    "Auth",
    "AuthenticationError",
    "CallHook",
    "CallStats",
    "ClientSettings",
    "EndpointStats",
    "HttpClient",
    "HttpErrorInfo",
    "HttpNotFoundError",
    "HttpPermanentError",
    "HttpRateLimitedError",
    "HttpTransientError",
    "RedactingFilter",
    "Redactor",
    "RetryPolicy",
    "decode_json",
    "endpoint_template",
    "error_for_status",
    "parse_retry_after",
    "transport_error",
    "transport_status",
]
