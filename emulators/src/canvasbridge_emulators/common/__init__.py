"""What every emulator shares: control surface, statistics, faults, server thread."""

from canvasbridge_emulators.common.control import EmulatorControl, Faults, control_routes
from canvasbridge_emulators.common.middleware import ControlMiddleware
from canvasbridge_emulators.common.server import ServerThread

__all__ = ["ControlMiddleware", "EmulatorControl", "Faults", "ServerThread", "control_routes"]
