"""A local Salesforce org: REST API, OAuth and SOAP logins, a SOQL subset, limits and faults.

Factory::

    from canvasbridge_emulators.salesforce import create_app
    app, model, control = create_app(today=datetime.date(2026, 3, 2), batch_size=200)
    server = ServerThread(app).start()          # emulators.common
    # OAuth password flow at {server.url}/services/oauth2/token with model.credentials

``model`` is a :class:`SalesforceModel` (seed it with ``model.insert(...)`` and call
``model.mark_seed()`` so ``/_emulator/reset`` returns to that data); ``control`` is the
shared :class:`EmulatorControl` (``/_emulator/faults|stats|reset|state``). Emulator-specific
faults go in ``Faults.extra``: see :mod:`.responses`. Full notes: docs/emulators-salesforce.md.
"""

from __future__ import annotations

import datetime as dt

from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from canvasbridge_emulators.common import ControlMiddleware, EmulatorControl, control_routes
from canvasbridge_emulators.salesforce import urls
from canvasbridge_emulators.salesforce.exceptions import SalesforceError
from canvasbridge_emulators.salesforce.models import (
    DEFAULT_API_MAX,
    DEFAULT_API_VERSION,
    DEFAULT_BATCH_SIZE,
    Credentials,
    SalesforceModel,
)
from canvasbridge_emulators.salesforce.responses import SalesforceResponses
from canvasbridge_emulators.salesforce.schema import Schema, default_schema, schema_from_spec
from canvasbridge_emulators.salesforce.soql import SoqlError

__all__ = [
    "DEFAULT_API_VERSION",
    "Credentials",
    "SalesforceError",
    "SalesforceModel",
    "Schema",
    "SoqlError",
    "create_app",
    "default_schema",
    "schema_from_spec",
]


class _IgnoreTrailingSlash:
    """Salesforce treats ``/query/`` as ``/query``; route both without a redirect."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope["path"] = path.rstrip("/") or "/"
                raw = scope.get("raw_path")
                if isinstance(raw, bytes):
                    scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


def create_app(
    model: SalesforceModel | None = None,
    *,
    schema: Schema | None = None,
    today: dt.date | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    api_max: int = DEFAULT_API_MAX,
    credentials: Credentials | None = None,
) -> tuple[ASGIApp, SalesforceModel, EmulatorControl]:
    """The ASGI app, its model and its control. Pass ``model`` to serve an existing one."""

    if model is None:
        model = SalesforceModel(
            schema, today=today, batch_size=batch_size, api_max=api_max, credentials=credentials
        )
    control = EmulatorControl("salesforce", reset=model.reset, state=model.state)
    responses = SalesforceResponses(model, control)
    starlette = Starlette(routes=[*control_routes(control), *urls.routes(responses)])
    app = ControlMiddleware(_IgnoreTrailingSlash(starlette), control)
    return app, model, control
