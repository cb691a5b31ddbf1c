"""SAPUiO org and HR API emulator (OData style), over the synthetic university.

    from canvasbridge_emulators.sap import create_app
    app, model, control, changes = create_app(university, api_key="sap-key", publisher=None)

Routes (key in ``X-Gravitee-Api-Key``; every SAP answer carries ``sap-server: true``):
``/locations`` (``{"d": {"results": [...]}}``), ``/locations(<id>)`` (``{"d": {...}}``),
``/locations(<id>)/parent`` (404 at the root), ``/locations(<id>)/children``,
``/employees(<id>)``, ``/employees(<id>)/assignments``, ``/employees(<id>)/roles``. Links
are deferred: ``{"__deferred": {"uri": …}}``. A missing or wrong key gets the gateway's 401
(no ``sap-server`` header). Location ids are SAP location ids (``uni.org_units`` keys);
employee ids are ``Person.sap_employee_id``.

Control: ``/_emulator/faults|stats|reset|state`` and ``POST /_emulator/changes`` (kinds in
:mod:`canvasbridge_emulators.sap.changes`).
"""

from __future__ import annotations

from starlette.applications import Starlette

from canvasbridge_emulators.common import ControlMiddleware, EmulatorControl, control_routes
from canvasbridge_emulators.notify import MemoryPublisher, Publisher, change_routes
from canvasbridge_emulators.sap.changes import SapChanges
from canvasbridge_emulators.sap.models import SapModel
from canvasbridge_emulators.sap.responses import API_KEY_HEADER, SapResponses
from canvasbridge_emulators.sap.urls import routes
from canvasbridge_emulators.university import University

DEFAULT_API_KEY = "sap-key"  # the emulator's default gateway key


def create_app(
    university: University,
    *,
    api_key: str = DEFAULT_API_KEY,
    publisher: Publisher | None = None,
    iss: str = "sapuio",
) -> tuple[ControlMiddleware, SapModel, EmulatorControl, SapChanges]:
    model = SapModel(university, api_key=api_key)
    control = EmulatorControl("sap", reset=university.reset, state=model.state)
    changes = SapChanges(university, publisher or MemoryPublisher(), iss=iss)
    app = Starlette(routes=[*control_routes(control), *change_routes(changes), *routes(SapResponses(model))])
    return ControlMiddleware(app, control), model, control, changes


__all__ = ["API_KEY_HEADER", "DEFAULT_API_KEY", "SapChanges", "SapModel", "create_app"]
