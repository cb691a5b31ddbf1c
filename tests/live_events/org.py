"""A seeded Ambition org in the Salesforce emulator, for the live-events integration tests.

People (participant UID → situation), relative to "today" (2026-03-04 unless given):

* S-IN     programme active (ends today), LMS course 565 (or the course given)
* S-OTHER  programme active, but LMS course 999
* S-OLD    programme ended 2026-03-03
* S-SOON   programme starts 2026-03-05
* S-TWO    two active programmes on course 565 (two records per event)
An attendee of S-IN on FLIP event "Module 1 Quiz" (cohort active, Send_to_LMS) waits to be marked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.salesforce import create_app
from canvasbridge_emulators.salesforce.schema import default_schema

TODAY = dt.date(2026, 3, 4)


def ambition_schema() -> Any:
    """The Ambition org with the Unique, case-sensitive event id field the docs ask for."""
    return default_schema()


def seed(model: Any, today: dt.date = TODAY, course: int = 565) -> dict[str, str]:
    ids: dict[str, str] = {}

    def day(offset: int) -> str:
        return (today + dt.timedelta(days=offset)).isoformat()

    def programme(name: str, start: str, end: str, course: float) -> str:
        return model.insert(
            "TL_Programme__c",
            {"Name": name, "LMS_Start_Date__c": start, "LMS_End_Date__c": end, "LMS_Course_Id__c": course},
        )

    active = programme("NPQ 2026", day(-62), day(0), course)  # ends today
    other = programme("Other course", day(-62), day(300), 999)
    ended = programme("Ended", day(-200), day(-1), course)
    future = programme("Future", day(1), day(300), course)
    second = programme("Second", day(-31), day(118), course)
    people = {
        "S-IN": [active],
        "S-OTHER": [other],
        "S-OLD": [ended],
        "S-SOON": [future],
        "S-TWO": [active, second],
    }
    for uid, programmes in people.items():
        contact = model.insert(
            "Contact", {"LastName": uid, "Email": f"{uid.lower()}@example.org", "Participant_UID__c": uid}
        )
        ids[f"contact:{uid}"] = contact
        for n, prog in enumerate(programmes):
            ids[f"participant:{uid}:{n}"] = model.insert(
                "Programme_Participant__c",
                {
                    "Participant_UID__c": uid,
                    "ParticipantName__c": f"Name of {uid} #{n}",
                    "Programme__c": prog,
                    "Contact__c": contact,
                },
            )
    flip = model.insert(
        "FLIP_Event__c",
        {"Name": "F1", "Event_Name__c": "Module 1 Quiz", "Send_to_LMS__c": True, "Cohort_lkp__c": active},
    )
    ids["attendee:S-IN"] = model.insert(
        "Attendees__c", {"Contact__c": ids["contact:S-IN"], "FLIP_Event__c": flip, "Event_Attended__c": False}
    )
    return ids


class Org:
    def __init__(self, today: dt.date = TODAY, course: int = 565) -> None:
        app, self.model, self.control = create_app(schema=ambition_schema(), today=today)
        self.ids = seed(self.model, today, course)
        self.model.mark_seed()
        self.server = ServerThread(app).start()
        self.url = self.server.url

    def settings(self) -> dict[str, Any]:
        c = self.model.credentials
        return {
            "login_url": self.url,
            "username": c.username,
            "password": {"env": "TEST_SF_PASSWORD"},
            "security_token": {"env": "TEST_SF_TOKEN"},
            "consumer_key": c.consumer_key,
            "consumer_secret": {"env": "TEST_SF_SECRET"},
            "plain_http": True,
        }

    def env(self) -> dict[str, str]:
        c = self.model.credentials
        return {
            "TEST_SF_PASSWORD": c.password,
            "TEST_SF_TOKEN": c.security_token,
            "TEST_SF_SECRET": c.consumer_secret,
        }

    def activities(self) -> list[dict[str, Any]]:
        return self.model.records("Canvas_Activitiy__c")

    def stop(self) -> None:
        self.server.stop()
