"""HTTP webhook source: messages arrive as POST requests; 202 once dispatched.

:func:`webhook_app` builds a Starlette app with one ``POST`` route per configured
``path``. A request becomes an :class:`~canvasbridge.engine.envelope.Envelope`:

* ``body``: the request body, refused with **413** above ``max_body_bytes``;
* ``routing_key``: the ``X-Routing-Key`` header, if any;
* ``attributes``: every ``X-Attribute-<name>`` header as ``<name>`` (HTTP header names
  are case-insensitive, so names arrive in lower case), plus ``content_type``;
* ``message_id``: the ``X-Message-Id`` header, or a new UUID;
* ``delivery_count``: 1.

Header values are read as UTF-8 (bytes that are not UTF-8 kept with ``surrogateescape``).
Then ``dispatch`` runs (in a worker thread, it blocks) and the answer is **202**
``{"queued": true, "message_id": ...}``. A message the dispatcher parked (an
``X-Message-Id`` longer than 200 bytes, an ``X-Routing-Key`` longer than 500, a NUL or
bytes that are not UTF-8 in a header it reads, or a body its parser refused) is kept in
the ledger, so it is accepted too: **202** ``{"queued": false, "parked": true, "reason":
...}``. It is never answered 503: a sender would repeat it for ever. When ``dispatch`` raises, nothing was made
durable: the answer is **503** with ``Retry-After`` so the sender tries again. With
``token`` configured, requests need ``Authorization: Bearer <token>`` (else **401**).
With ``jwt: {jwks_url: ...}`` configured, the body must be a compact JWS that verifies with a
key of that JWKS (jws.py); the message body is then its claims as JSON (``content_type``
``application/json``), as an unsigned delivery would carry them. A body that does not verify
is answered **401** with the reason and never dispatched; when no key can be had to check it
(the JWKS endpoint down and the key not cached) the answer is **503** with ``Retry-After``.
Every 401 is counted in ``canvasbridge_requests_refused_total{source, reason}`` and logged
with its reason. ``GET /healthz`` answers 200 for load balancers.

:class:`WebhookSource` serves the app with uvicorn on ``host:port``; setting the stop
event makes uvicorn stop accepting, finish the requests in progress, and return.
"""

from __future__ import annotations

import hmac
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from canvasbridge.engine import metrics
from canvasbridge.engine.admission import safe_text
from canvasbridge.engine.dispatch import DispatchOutcome, DispatchResult
from canvasbridge.engine.envelope import Envelope
from canvasbridge.engine.sources.base import Dispatch, stringify_attribute
from canvasbridge.engine.sources.config import WebhookSourceConfig
from canvasbridge.engine.sources.jws import JwsVerifier, KeysUnavailable, Rejected
from canvasbridge.errors import ConfigError

log = logging.getLogger(__name__)

ATTRIBUTE_PREFIX = "x-attribute-"
RETRY_AFTER_S = 5  # seconds a sender is asked to wait after a 503
GRACEFUL_SHUTDOWN_S = 30  # seconds uvicorn waits for requests in progress on stop
STOP_POLL_INTERVAL_S = 0.2  # how often the server thread looks at the stop event, seconds


class _TooLarge(Exception):
    pass


def webhook_app(configs: Sequence[WebhookSourceConfig], dispatch: Dispatch) -> Starlette:
    """A Starlette app accepting POSTs on each config's ``path`` and dispatching them."""
    paths = [c.path for c in configs]
    if len(set(paths)) != len(paths):
        raise ValueError(f"webhook paths must be unique: {paths}")
    routes = [Route(c.path, _endpoint(c, dispatch), methods=["POST"]) for c in configs]
    routes.append(Route("/healthz", _health, methods=["GET"]))
    return Starlette(routes=routes)


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def _endpoint(config: WebhookSourceConfig, dispatch: Dispatch) -> Callable[[Request], Awaitable[Response]]:
    token: bytes | None = None
    if config.token is not None:
        try:
            token = config.token.resolve().get_secret_value().encode()
        except LookupError as exc:
            raise ConfigError(f"sources.{config.name}.token: {exc}") from exc
    verifier = JwsVerifier(config.jwt) if config.jwt is not None else None

    async def receive(request: Request) -> Response:
        if token is not None:
            given = request.headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token):
                return _refused(
                    config.name,
                    request,
                    "bearer_token",
                    "missing or wrong bearer token",
                    {"WWW-Authenticate": "Bearer"},
                )
        try:
            body = await _read_body(request, config.max_body_bytes)
        except _TooLarge:
            return JSONResponse(
                {"queued": False, "error": f"body larger than {config.max_body_bytes} bytes"},
                status_code=413,
            )
        signed = verifier is not None
        if verifier is not None:
            try:
                body = await run_in_threadpool(verifier.body, body)
            except Rejected as exc:
                return _refused(config.name, request, exc.code, str(exc))
            except KeysUnavailable as exc:
                log.warning("webhook source %s: cannot verify a signed body now (503): %s", config.name, exc)
                return JSONResponse(
                    {"queued": False, "error": "signing keys unavailable; retry later"},
                    status_code=503,
                    headers={"Retry-After": str(RETRY_AFTER_S)},
                )
        envelope = _envelope(config, request, body, signed=signed)
        message_id = safe_text(envelope.message_id)  # printable, for the answer and the log
        try:
            result = await run_in_threadpool(dispatch, envelope)
        except Exception:
            log.warning(
                "webhook source %s: dispatch of %s failed; answering 503",
                config.name,
                message_id,
                exc_info=True,
            )
            return JSONResponse(
                {"queued": False, "message_id": message_id, "error": "not queued; retry later"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        if isinstance(result, DispatchResult) and result.outcome is DispatchOutcome.PARKED:
            return JSONResponse(
                {
                    "queued": False,
                    "parked": True,
                    "message_id": message_id,
                    "reason": safe_text(result.reason),
                },
                status_code=202,
            )
        return JSONResponse({"queued": True, "message_id": message_id}, status_code=202)

    return receive


def _refused(
    source: str, request: Request, code: str, reason: str, headers: dict[str, str] | None = None
) -> Response:
    """401, counted by reason and logged; nothing is dispatched."""
    metrics.REQUESTS_REFUSED.labels(source, code).inc()
    client = request.client.host if request.client else "unknown"
    log.warning("webhook source %s: refused a request from %s (401, %s): %s", source, client, code, reason)
    return JSONResponse({"queued": False, "error": reason}, status_code=401, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _envelope(
    config: WebhookSourceConfig, request: Request, body: bytes, *, signed: bool = False
) -> Envelope:
    # Starlette reads header values as latin-1; senders write UTF-8.
    headers: dict[str, str] = {}
    for raw_name, raw_value in request.headers.raw:
        name = stringify_attribute(raw_name).lower()
        value = stringify_attribute(raw_value)
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    attributes = {
        key[len(ATTRIBUTE_PREFIX) :]: value
        for key, value in headers.items()
        if key.startswith(ATTRIBUTE_PREFIX) and len(key) > len(ATTRIBUTE_PREFIX)
    }
    if signed:  # the body is now the verified claims
        attributes["content_type"] = "application/json"
    elif "content-type" in headers:
        attributes.setdefault("content_type", headers["content-type"])
    return Envelope(
        body=body,
        source=config.name,
        message_id=headers.get("x-message-id") or str(uuid.uuid4()),
        routing_key=headers.get("x-routing-key") or None,
        attributes=attributes,
    )


class WebhookSource:
    """A :class:`~canvasbridge.engine.sources.base.Source` serving :func:`webhook_app`
    with uvicorn on the configured host and port. ``started`` is set once it listens."""

    def __init__(self, config: WebhookSourceConfig, dispatch: Dispatch) -> None:
        self.config = config
        self.app = webhook_app([config], dispatch)
        self.started = threading.Event()

    @property
    def name(self) -> str:
        return self.config.name

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set; requests in progress are finished first."""
        server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host=self.config.host,
                port=self.config.port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
            )
        )
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                if server.started:
                    self.started.set()
                if stop.wait(STOP_POLL_INTERVAL_S if self.started.is_set() else 0.02):
                    server.should_exit = True
                    return

        watcher = threading.Thread(target=watch, name=f"http-{self.name}-stop", daemon=True)
        watcher.start()
        log.info(
            "webhook source %s listening on %s:%d%s",
            self.name,
            self.config.host,
            self.config.port,
            self.config.path,
        )
        try:
            server.run()
        except SystemExit as exc:  # uvicorn exits when it cannot bind
            raise ConfigError(
                f"sources.{self.name}: cannot listen on {self.config.host}:{self.config.port}"
            ) from exc
        finally:
            done.set()
            self.started.clear()
            watcher.join()
