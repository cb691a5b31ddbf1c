"""Routes of the SAP emulator (OData style: ``locations(<id>)``)."""

from __future__ import annotations

from starlette.routing import Route

from canvasbridge_emulators.sap.responses import SapResponses


def routes(responses: SapResponses) -> list[Route]:
    h = responses.handlers()
    return [
        Route("/locations", h["locations"]),
        Route("/locations({id:int})", h["location"]),
        Route("/locations({id:int})/parent", h["location_parent"]),
        Route("/locations({id:int})/children", h["location_children"]),
        Route("/employees({id:int})", h["employee"]),
        Route("/employees({id:int})/assignments", h["employee_assignments"]),
        Route("/employees({id:int})/roles", h["employee_roles"]),
    ]
