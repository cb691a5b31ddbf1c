"""SAPUiO requests → :class:`SapModel` → OData answers with ``sap-server: true``."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from canvasbridge_emulators.sap.exceptions import SAP_HEADERS, NotFound, SapError, Unauthorized
from canvasbridge_emulators.sap.models import SapModel

API_KEY_HEADER = "X-Gravitee-Api-Key"

Handler = Callable[[Request], Awaitable[Response]]


class SapResponses:
    def __init__(self, model: SapModel) -> None:
        self.model = model

    def _guarded(self, build: Callable[[Request, str], Any]) -> Handler:
        async def handler(request: Request) -> Response:
            try:
                key = request.headers.get(API_KEY_HEADER)
                if key is None:
                    raise Unauthorized("No API Key has been specified in headers or query parameters")
                if not hmac.compare_digest(key.encode(), self.model.api_key.encode()):
                    raise Unauthorized("Unauthorized")
                base = str(request.base_url)
                with self.model.university.lock:
                    body = build(request, base)
            except SapError as exc:
                return exc.response()
            return JSONResponse({"d": body}, headers=SAP_HEADERS)

        return handler

    def handlers(self) -> dict[str, Handler]:
        m = self.model
        uni = m.university

        def location(r: Request) -> int:
            return int(r.path_params["id"])

        def parent(r: Request, base: str) -> Any:
            unit = m.location(location(r))
            if unit.parent_id is None:
                raise NotFound(f"locations({unit.location_id}) has no parent")
            return m.render_location(m.location(unit.parent_id), base)

        return {
            "locations": self._guarded(
                lambda r, base: {"results": [m.render_location(o, base) for o in uni.org_units.values()]}
            ),
            "location": self._guarded(lambda r, base: m.render_location(m.location(location(r)), base)),
            "location_parent": self._guarded(parent),
            "location_children": self._guarded(
                lambda r, base: {
                    "results": [
                        m.render_location(o, base)
                        for o in uni.children_of(m.location(location(r)).location_id)
                    ]
                }
            ),
            "employee": self._guarded(
                lambda r, base: m.render_employee(m.employee(int(r.path_params["id"])), base)
            ),
            "employee_assignments": self._guarded(
                lambda r, base: {"results": m.render_assignments(m.employee(int(r.path_params["id"])), base)}
            ),
            "employee_roles": self._guarded(
                lambda r, base: {"results": m.render_roles(m.employee(int(r.path_params["id"])))}
            ),
        }
