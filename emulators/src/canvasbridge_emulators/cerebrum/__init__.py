"""Cerebrum REST API v1 emulator (identity management), over the synthetic university.

    from canvasbridge_emulators.cerebrum import create_app
    app, model, control, changes = create_app(university, api_key="cerebrum-key",
                                              header="X-API-Key", publisher=None)

Routes (every one needs the key in ``header``; missing or wrong key → **403**
``{"message": "Missing|Invalid API key in header", "api-key-header": "<header>"}``, as
Cerebrum's ``HeaderAuth``): ``/v1/persons/{id}`` (+ ``/accounts`` with the ``primary``
flag, ``/external-ids``, ``/affiliations``), ``/v1/accounts/`` (the list, with filters ``name``,
``context``, ``owner_id``, ``owner_type``, ``expire_start``, ``expire_stop``; items carry
``href``, ``name``, ``id``, ``owner``, ``expire_date`` and ``np_type`` only, as Cerebrum's),
``/v1/accounts/{name}`` (+ ``/quarantines``
``{"locked", "quarantines"}``, ``/groups``), ``/v1/groups/{name}``,
``/v1/groups/{name}/members/``, ``/v1/ous/{id}``, ``/v1/search/persons/external-ids``
(envelope ``external_ids``).

Control: ``/_emulator/faults|stats|reset|state`` and ``POST /_emulator/changes`` (kinds in
:mod:`canvasbridge_emulators.cerebrum.changes`), publishing through ``publisher`` (in memory
when ``None``). ``api_keys`` may map several keys to client names instead of ``api_key``.
"""

from __future__ import annotations

from starlette.applications import Starlette

from canvasbridge_emulators.cerebrum.changes import CerebrumChanges
from canvasbridge_emulators.cerebrum.direct import DirectRoutes
from canvasbridge_emulators.cerebrum.models import DEFAULT_API_KEY_HEADER, CerebrumModel
from canvasbridge_emulators.cerebrum.responses import CerebrumResponses
from canvasbridge_emulators.cerebrum.urls import routes
from canvasbridge_emulators.common import ControlMiddleware, EmulatorControl, control_routes
from canvasbridge_emulators.notify import MemoryPublisher, Publisher, change_routes
from canvasbridge_emulators.university import University

DEFAULT_API_KEY = "cerebrum-key"  # the emulator's default API key


def create_app(
    university: University,
    *,
    api_key: str = DEFAULT_API_KEY,
    api_keys: dict[str, str] | None = None,
    header: str = DEFAULT_API_KEY_HEADER,
    publisher: Publisher | None = None,
    iss: str = "cerebrum",
) -> tuple[ControlMiddleware, CerebrumModel, EmulatorControl, CerebrumChanges]:
    model = CerebrumModel(university, api_keys=api_keys or {api_key: "canvasbridge"}, header=header)
    control = EmulatorControl("cerebrum", reset=university.reset, state=model.state)
    changes = CerebrumChanges(university, publisher or MemoryPublisher(), iss=iss)
    api = routes(CerebrumResponses(model))
    app = Starlette(routes=[*control_routes(control), *change_routes(changes), *api])
    return ControlMiddleware(DirectRoutes(app, api), control), model, control, changes


__all__ = ["DEFAULT_API_KEY", "CerebrumChanges", "CerebrumModel", "create_app"]
