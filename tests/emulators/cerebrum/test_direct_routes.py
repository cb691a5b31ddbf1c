"""GET requests to the Cerebrum emulator's routes skip Starlette's app but reach the very
route Starlette's router would pick; everything else still goes through Starlette."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Match, Route

from canvasbridge_emulators.cerebrum import create_app
from canvasbridge_emulators.cerebrum.direct import DirectRoutes
from canvasbridge_emulators.university import University

PATHS = [
    "/v1/persons/10001",
    "/v1/persons/10001/accounts",
    "/v1/persons/10001/external-ids",
    "/v1/persons/10001/affiliations",
    "/v1/accounts/",
    "/v1/accounts/olan",
    "/v1/accounts/olan/quarantines",
    "/v1/accounts/olan/groups",
    "/v1/groups/g1",
    "/v1/groups/g1/members/",
    "/v1/ous/5",
    "/v1/search/persons/external-ids",
]
ELSEWHERE = [
    ("GET", "/v1/accounts"),  # Starlette redirects
    ("GET", "/v1/persons/x"),  # no route: the int convertor refuses
    ("GET", "/v1/groups/g1/members"),
    ("GET", "/v1/nothing"),
    ("GET", "/_emulator/stats"),
    ("HEAD", "/v1/accounts/olan"),
    ("POST", "/v1/accounts/olan"),
]


def _scope(method: str, path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }


@pytest.fixture(scope="module")
def direct() -> DirectRoutes:
    app, *_ = create_app(University.generate("tiny", seed=1))
    assert isinstance(app.app, DirectRoutes)
    return app.app


def _starlette_choice(direct: DirectRoutes, scope: dict[str, Any]) -> Route:
    for route in direct.app.routes:  # type: ignore[attr-defined]
        if route.matches(scope)[0] is Match.FULL:
            return route  # type: ignore[no-any-return]
    raise AssertionError(f"Starlette routes nothing for {scope['path']}")


@pytest.mark.parametrize("path", PATHS)
def test_a_get_of_a_route_goes_straight_to_the_route_starlette_picks(direct: DirectRoutes, path: str) -> None:
    scope = _scope("GET", path)
    route = direct.match(scope)
    chosen = _starlette_choice(direct, _scope("GET", path))
    assert route is chosen and scope["route"] is chosen
    assert scope["path_params"] == chosen.matches(_scope("GET", path))[1]["path_params"]
    assert scope["endpoint"] is chosen.endpoint


@pytest.mark.parametrize(("method", "path"), ELSEWHERE)
def test_everything_else_goes_to_starlette(direct: DirectRoutes, method: str, path: str) -> None:
    scope = _scope(method, path)
    assert direct.match(scope) is None and "route" not in scope
