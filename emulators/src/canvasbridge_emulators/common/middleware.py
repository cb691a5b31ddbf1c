"""ASGI middleware that counts requests per route template and injects faults.

Control requests (``/_emulator/...``) are neither counted nor faulted, so a test can
read the statistics without changing them. Latency is applied before the request is
handled; a matching error rule answers instead of the emulator.
"""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from canvasbridge_emulators.common.control import CONTROL_PREFIX, EmulatorControl


class ControlMiddleware:
    def __init__(self, app: ASGIApp, control: EmulatorControl, *, seed: int | None = None) -> None:
        self.app = app
        self.control = control
        self._random = random.Random(seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        faults = self.control.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000.0)
        rule = self.control.take_error_rule(method, scope["path"], self._random.random())
        if rule is not None:
            body = rule.body
            payload = body if isinstance(body, str) else json.dumps(body)
            await _send_simple(send, rule.status, payload.encode(), rule.content_type)
            # the app never saw the request, so find its route here: counted under the same
            # template as the answers the emulator itself gives
            self.control.record(method, self._route_of(scope), rule.status)
            return

        status_box: dict[str, int] = {"status": 500}

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            # an answer given before routing (a gate's throttle or auth refusal) has no route
            # in the scope: find the one it would have reached
            template = _template(scope)
            if template == "(unrouted)":
                template = self._route_of(scope)
            self.control.record(method, template, status_box["status"])

    def _route_of(self, scope: Scope) -> str:
        """The template of the route that would serve ``scope``: the routes are found on the
        first app down the ``.app`` chain (gates, slash-trimmers) that has any."""
        app: Any = self.app
        while app is not None and not hasattr(app, "routes"):
            app = getattr(app, "app", None)
        probe = dict(scope)
        probe["path"] = scope["path"].rstrip("/") or "/"  # as the emulators ignore a trailing slash
        for route in getattr(app, "routes", ()):
            match, _child = route.matches(probe)
            if match == Match.FULL:
                return scope.get("root_path", "") + str(route.path)
        return "(unrouted)"


def _template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return scope.get("root_path", "") + path
    return "(unrouted)"


async def _send_simple(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
