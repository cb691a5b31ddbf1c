"""Canvas client: Canvas's REST API with throttling, retries, typed errors, SIS and reports.

from canvasbridge.clients.canvas import CanvasSettings, sis_user
canvas = CanvasSettings(base_url="https://canvas.example.edu", token={"env": "CANVAS_TOKEN"}).build()
user = canvas.get(f"users/{sis_user('olan')}")
"""

from canvasbridge.clients.canvas.client import (
    REPORT_FINAL_STATES,
    SIS_IMPORT_FINAL_STATES,
    USER_AGENT,
    CanvasClient,
    CanvasSettings,
    flatten,
    parse_report_file,
    sis_account,
    sis_course,
    sis_integration,
    sis_login,
    sis_section,
    sis_term,
    sis_user,
)
from canvasbridge.clients.canvas.throttle import Throttle, ThrottledTransport, is_rate_limited, throttle_for

__all__ = [
    "REPORT_FINAL_STATES",
    "SIS_IMPORT_FINAL_STATES",
    "USER_AGENT",
    "CanvasClient",
    "CanvasSettings",
    "Throttle",
    "ThrottledTransport",
    "flatten",
    "is_rate_limited",
    "parse_report_file",
    "sis_account",
    "sis_course",
    "sis_integration",
    "sis_login",
    "sis_section",
    "sis_term",
    "sis_user",
    "throttle_for",
]
