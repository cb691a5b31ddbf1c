"""GET requests that one of the emulator's routes serves go straight to that route's
endpoint; every other request goes to the Starlette app, which answers it as before.

The Starlette app would find the same route (the same ``Route.matches``, first match in
order, and no control route serves a ``/v1`` path), but on the way it passes each request
through two middlewares and tries the routes one by one: that was about a third of the
emulator's CPU time per request. Here only the routes with the request path's depth and
first two segments are tried. ``scope["route"]`` is set as Starlette's router sets it, so
the control middleware counts the request under its template without looking for it.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send


class DirectRoutes:
    def __init__(self, app: ASGIApp, routes: Sequence[Route]) -> None:
        self.app = app  # the control middleware finds the route table down the .app chain
        self._by_shape: dict[tuple[int, str], list[Route]] = {}
        for route in routes:
            # a path parameter may hold "/", so its route would not have one depth; one among
            # the first two segments would match paths of any shape
            assert ":path}" not in route.path and "{" not in _start(route.path), route.path
            self._by_shape.setdefault(_shape(route.path), []).append(route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.match(scope)
        if route is None:
            await self.app(scope, receive, send)
        else:
            await route.handle(scope, receive, send)

    def match(self, scope: Scope) -> Route | None:
        """The route that serves ``scope`` directly, put in the scope with its path parameters
        as Starlette's router puts them; ``None`` leaves the request to the app."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            return None
        for route in self._by_shape.get(_shape(scope["path"]), ()):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                return route
        return None


def _start(path: str) -> str:
    """The first two segments: ``/v1/persons/1/accounts`` → ``/v1/persons``."""
    return "/".join(path.split("/", 3)[:3])


def _shape(path: str) -> tuple[int, str]:
    return path.count("/"), _start(path)
