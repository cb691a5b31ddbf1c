"""FS-API emulator (Felles Studentsystem REST API), over the synthetic university.

    from canvasbridge_emulators.fs import create_app
    app, model, control, changes = create_app(university, username="fs", password="fs-secret",
                                              token_ttl_s=3600, publisher=None, iss="FS-emulator")

``app`` is a Starlette app serving, at its root: ``POST /token`` (Basic credentials →
``{"token": "<JWT>"}``; the real path is **unverified**), and with Basic or Bearer auth
``GET /{resource}`` (a collection) and ``GET /{resource}/{id}`` for ``personer``,
``emner``, ``undervisning``, ``undervisningsaktiviteter``, ``personroller``,
``studentundervisning``, ``studentundervisningsaktiviteter``, ``organisasjonsenheter``,
``roller``, plus ``semestre/{år},{termin}`` and ``/version``. ids are FS's comma-separated
parts, URL-encoded (``undervisning/185,INF1000,1,2026,H%C3%98ST,1``); participation ids
are invented: ``studentundervisning/<lopenr>,<6-part unit>`` and
``studentundervisningsaktiviteter/<lopenr>,<7-part activity>``.

Control: the shared ``/_emulator/faults|stats|reset|state``; ``Faults.extra["token_ttl_s"]``
shortens the lifetime of every token; ``POST /_emulator/tokens/expire`` expires every
token issued so far; ``POST /_emulator/changes`` applies a change (see
:mod:`canvasbridge_emulators.fs.changes`) and publishes its notification through
``publisher`` (a :class:`~canvasbridge_emulators.notify.Publisher`; in memory when
``None``). ``model`` is the :class:`FsModel`, ``changes`` the :class:`FsChanges`.
"""

from __future__ import annotations

from starlette.applications import Starlette

from canvasbridge_emulators.common import ControlMiddleware, EmulatorControl, control_routes
from canvasbridge_emulators.fs.changes import FsChanges
from canvasbridge_emulators.fs.models import DEFAULT_PASSWORD, DEFAULT_TOKEN_TTL_S, FsModel
from canvasbridge_emulators.fs.responses import FsResponses
from canvasbridge_emulators.fs.urls import TOKEN_PATH, routes
from canvasbridge_emulators.notify import MemoryPublisher, Publisher, change_routes
from canvasbridge_emulators.university import University


def create_app(
    university: University,
    *,
    username: str = "fs",
    password: str = DEFAULT_PASSWORD,
    token_ttl_s: float = DEFAULT_TOKEN_TTL_S,
    publisher: Publisher | None = None,
    iss: str = "FS-emulator",
) -> tuple[ControlMiddleware, FsModel, EmulatorControl, FsChanges]:
    model = FsModel(university, username=username, password=password, token_ttl_s=token_ttl_s)
    control = EmulatorControl("fs", reset=university.reset, state=model.state)
    changes = FsChanges(university, publisher or MemoryPublisher(), iss=iss)
    responses = FsResponses(model, control)
    app = Starlette(routes=[*control_routes(control), *change_routes(changes), *routes(responses)])
    return ControlMiddleware(app, control), model, control, changes


__all__ = ["TOKEN_PATH", "FsChanges", "FsModel", "create_app"]
