"""What every Canvas API request passes before a handler: User-Agent, token, throttle.

An ASGI middleware in front of the routes (behind the shared ``ControlMiddleware``):

* ``Faults.extra["require_user_agent"] = true``: a request without ``User-Agent`` gets 403
  (hosted Canvas enforces this since January 2026).
* Bearer token from ``Authorization: Bearer …`` or ``?access_token=``. None: 401
  ``user authorization required``; unknown, or listed in ``Faults.extra["expired_tokens"]``
  (``"*"`` expires all): 401 ``Invalid access token.``. Both carry ``WWW-Authenticate``.
* The throttle (``throttle.py``), with its headers on every token request.
* Paths: ``%2F`` inside a SIS id stays part of the id instead of splitting the path.

The acting user id of the token is put in ``scope["state"]["canvas_user_id"]``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canvasbridge_emulators.canvas.exceptions import (
    INVALID_TOKEN_BODY,
    THROTTLED_TEXT,
    UNAUTHENTICATED_BODY,
    WWW_AUTHENTICATE,
)
from canvasbridge_emulators.canvas.throttle import Throttle, ThrottleSettings
from canvasbridge_emulators.common import EmulatorControl, Faults

API_PREFIXES = ("/api/", "/files/")
SLASH_PLACEHOLDER = "%2F"
USER_AGENT_BODY = {"errors": [{"message": "A User-Agent header is required for API requests."}]}


class CanvasGate:
    def __init__(
        self,
        app: ASGIApp,
        control: EmulatorControl,
        tokens: Mapping[str, int | None],
        throttle: Throttle,
    ) -> None:
        self.app = app
        self.control = control
        self.tokens = tokens
        self.throttle = throttle
        self._faults: Faults | None = None
        self._settings = ThrottleSettings()
        self._expired: frozenset[str] = frozenset()
        self._require_ua = False

    def _refresh(self) -> None:
        faults = self.control.faults
        if faults is self._faults:
            return
        extra = faults.extra
        self._settings = ThrottleSettings.from_extra(extra.get("throttle"))
        expired = extra.get("expired_tokens") or []
        self._expired = frozenset([expired] if isinstance(expired, str) else expired)
        self._require_ua = bool(extra.get("require_user_agent"))
        self._faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        raw_path: bytes | None = scope.get("raw_path")
        if raw_path and b"%2" in raw_path:
            scope["path"] = _decode_keeping_slashes(raw_path.decode("latin-1"))
        self._refresh()
        token: str | None = None
        user_agent = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer":
                    token = rest.strip()
            elif name == b"user-agent":
                user_agent = bool(value)
        query: bytes = scope.get("query_string", b"")
        if token is None and b"access_token" in query:
            token = dict(parse_qsl(query.decode("latin-1"))).get("access_token")
        if self._require_ua and not user_agent:
            await _send_json(send, 403, USER_AGENT_BODY)
            return
        if token is None:
            if scope["path"].startswith("/files/") and b"verifier=" in query:
                await self.app(scope, receive, send)
                return
            await _send_json(send, 401, UNAUTHENTICATED_BODY, www_authenticate=True)
            return
        if token not in self.tokens or token in self._expired or "*" in self._expired:
            await _send_json(send, 401, INVALID_TOKEN_BODY, www_authenticate=True)
            return
        scope.setdefault("state", {})["canvas_user_id"] = self.tokens[token]
        settings = self._settings
        if not settings.enabled:
            await self.app(scope, receive, send)
            return
        if not self.throttle.begin(token, settings):
            body = THROTTLED_TEXT.encode()
            status = settings.status
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode()),
                        (b"x-rate-limit-remaining", b"0.0"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        finished = False

        async def send_with_cost(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.start":
                remaining = self.throttle.end(token, settings, settings.cost)
                finished = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-cost", repr(float(settings.cost)).encode()))
                headers.append((b"x-rate-limit-remaining", repr(round(remaining, 6)).encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_cost)
        finally:
            if not finished:
                self.throttle.end(token, settings, settings.cost)


def _decode_keeping_slashes(raw: str) -> str:
    from urllib.parse import unquote

    pieces = raw.replace("%2f", "%2F").split("%2F")
    return SLASH_PLACEHOLDER.join(unquote(piece) for piece in pieces)


async def _send_json(send: Send, status: int, body: Any, *, www_authenticate: bool = False) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if www_authenticate:
        headers.append((b"www-authenticate", WWW_AUTHENTICATE.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
