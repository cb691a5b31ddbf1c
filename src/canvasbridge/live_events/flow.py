"""The Live Events flow as a plug-in (entry point ``canvasbridge.flows: live_events``).

Owns the ``live_events`` section; reads ``systems.salesforce`` (required) and
``systems.canvas`` (optional: names and SIS ids the payload lacks); brings the Caliper
parser, the ``record_live_event`` task, ``canvasbridge events …`` and the
``canvasbridge_live_events_parsed_total`` metric.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from canvasbridge.engine import DoctorCheck, DoctorInput, Flow, SystemNeed
from canvasbridge.live_events.metrics import PARSED
from canvasbridge.live_events.settings import LiveEventsSettings


def systems(settings: Mapping[str, BaseModel]) -> dict[str, SystemNeed]:
    from canvasbridge.clients.canvas import CanvasSettings
    from canvasbridge.clients.salesforce import SalesforceSettings

    return {
        "salesforce": SystemNeed(SalesforceSettings),
        "canvas": SystemNeed(CanvasSettings, required=False),
    }


def doctor_checks(given: DoctorInput) -> Mapping[str, DoctorCheck]:
    from canvasbridge.live_events.doctor import doctor_checks as checks

    return checks(given)


FLOW = Flow(
    name="live_events",
    description="Canvas Live Events (Caliper on SQS) → Salesforce activity records and attendance",
    sections={"live_events": LiveEventsSettings},
    systems=systems,
    parsers={"caliper": "canvasbridge.live_events.parser:parse"},
    tasks={
        "record_live_event": {
            "path": "canvasbridge.live_events.tasks:record_live_event",
            "description": "create Canvas_Activitiy__c records and mark attended FLIP events for one Caliper event",
        }
    },
    commands=("canvasbridge.live_events.commands:register",),
    doctor_checks=doctor_checks,
    metrics=(PARSED,),
)
