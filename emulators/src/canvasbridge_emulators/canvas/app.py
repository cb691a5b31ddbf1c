"""The Canvas emulator's factory: model + routes + gate + control surface in one ASGI app.

::

    emu = create_app(tokens={"secret": None}, seed=lambda m: m.add_user("Ola", unique_id="ola"))
    server = ServerThread(emu.app).start()
    canvas = canvasapi.Canvas(server.url, "secret")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp

from canvasbridge_emulators.canvas.exceptions import CanvasError
from canvasbridge_emulators.canvas.gate import CanvasGate
from canvasbridge_emulators.canvas.models import CanvasModel
from canvasbridge_emulators.canvas.responses import CanvasResponses, canvas_error_handler
from canvasbridge_emulators.canvas.sis_import import SisImporter
from canvasbridge_emulators.canvas.throttle import Throttle
from canvasbridge_emulators.canvas.urls import routes
from canvasbridge_emulators.common import ControlMiddleware, EmulatorControl, control_routes

DEFAULT_TOKEN = "canvas-emulator-token"


@dataclass
class CanvasEmulator:
    app: ASGIApp
    model: CanvasModel
    control: EmulatorControl
    tokens: dict[str, int | None]
    throttle: Throttle
    sis: SisImporter

    def add_token(self, token: str, user_id: int | None = None) -> None:
        """Accept another bearer token (acting as ``user_id``; ``None`` is an admin)."""
        self.tokens[token] = user_id


def create_app(
    model: CanvasModel | None = None,
    tokens: Mapping[str, int | None] | Iterable[str] | None = None,
    seed: Callable[[CanvasModel], Any] | None = None,
) -> CanvasEmulator:
    """Build the emulator. ``seed(model)`` loads data now and again on every reset;
    without it, reset restores the model as it was when this was called."""
    model = model if model is not None else CanvasModel()
    if tokens is None:
        token_map: dict[str, int | None] = {DEFAULT_TOKEN: None}
    elif isinstance(tokens, Mapping):
        token_map = dict(tokens)
    else:
        token_map = dict.fromkeys(tokens)
    if seed is not None:
        seed(model)
    initial = model.snapshot() if seed is None else None
    throttle = Throttle()

    def reset() -> None:
        sis.wait()
        if seed is not None:
            model.clear()
            seed(model)
        elif initial is not None:
            model.restore(initial)
        throttle.reset()

    def state() -> dict[str, Any]:
        return {"emulator": "canvas", **model.counts()}

    control = EmulatorControl("canvas", reset=reset, state=state)

    def sis_delay() -> float:
        return float(control.faults.extra.get("sis_import_delay_s", 0.0) or 0.0)

    def sis_pause() -> float:
        return float(control.faults.extra.get("sis_import_pause_s", 0.0) or 0.0)

    sis = SisImporter(model, delay=sis_delay, pause=sis_pause)
    responses = CanvasResponses(model, sis)
    starlette = Starlette(
        routes=[*routes(responses), *control_routes(control)],  # the hot API routes match first
        exception_handlers={CanvasError: canvas_error_handler},
    )
    gate = CanvasGate(starlette, control, token_map, throttle)
    app = ControlMiddleware(gate, control)
    return CanvasEmulator(app, model, control, token_map, throttle, sis)
