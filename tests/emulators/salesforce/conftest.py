"""A Salesforce emulator on a loopback port and simple-salesforce pointed at it over http."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from canvasbridge_emulators.common import EmulatorControl, ServerThread
from canvasbridge_emulators.salesforce import SalesforceModel, create_app

TODAY = dt.date(2026, 3, 2)


class RewriteToHttp(HTTPAdapter):
    """simple-salesforce always builds https URLs; send them to the emulator over http."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        parts = urlsplit(request.url)
        request.url = urlunsplit(("http", self.target, parts.path, parts.query, parts.fragment))
        return super().send(request, **kwargs)


class Org:
    def __init__(self, server: ServerThread, model: SalesforceModel, control: EmulatorControl) -> None:
        self.server = server
        self.model = model
        self.control = control
        self.url = server.url
        self.host = urlsplit(server.url).netloc

    def session(self) -> requests.Session:
        session = requests.Session()
        adapter = RewriteToHttp(self.host)
        session.mount(f"https://{self.host}/", adapter)
        session.mount("https://login.salesforce.com/", adapter)
        return session

    def client(self) -> Salesforce:
        """A client that logs in by the OAuth password flow (so it can log in again on a 401)."""

        c = self.model.credentials
        return Salesforce(
            username=c.username,
            password=c.password,
            consumer_key=c.consumer_key,
            consumer_secret=c.consumer_secret,
            session=self.session(),
        )

    def settled_count(self, method: str, template_contains: str) -> int:
        """Request count once the last answer has been recorded (the middleware counts after sending)."""

        deadline = time.monotonic() + 2.0
        count = self.control.count(method, template_contains)
        while time.monotonic() < deadline:
            time.sleep(0.02)
            again = self.control.count(method, template_contains)
            if again == count:
                return count
            count = again
        return count

    def faults(self, **extra: object) -> None:
        response = requests.put(f"{self.url}/_emulator/faults", json={"extra": extra}, timeout=5)
        response.raise_for_status()


@pytest.fixture(scope="module")
def _server() -> Iterator[tuple[ServerThread, SalesforceModel, EmulatorControl]]:
    app, model, control = create_app(today=TODAY, batch_size=3)
    model.mark_seed()
    with ServerThread(app) as server:
        yield server, model, control


@pytest.fixture
def org(_server: tuple[ServerThread, SalesforceModel, EmulatorControl]) -> Iterator[Org]:
    server, model, control = _server
    control.reset()
    yield Org(server, model, control)
    control.reset()


@pytest.fixture
def sf(org: Org) -> Salesforce:
    return org.client()


@pytest.fixture
def seed_programmes(org: Org) -> Callable[[], dict[str, str]]:
    def seed() -> dict[str, str]:
        m = org.model
        ids = {
            "active": m.insert(
                "TL_Programme__c",
                {
                    "Name": "Active",
                    "LMS_Start_Date__c": "2026-01-01",
                    "LMS_End_Date__c": "2026-07-31",
                    "LMS_Course_Id__c": 101,
                },
            ),
            "past": m.insert(
                "TL_Programme__c",
                {
                    "Name": "Past",
                    "LMS_Start_Date__c": "2025-01-01",
                    "LMS_End_Date__c": "2025-07-31",
                    "LMS_Course_Id__c": 102,
                },
            ),
            "future": m.insert(
                "TL_Programme__c",
                {
                    "Name": "Future",
                    "LMS_Start_Date__c": "2026-09-01",
                    "LMS_End_Date__c": "2027-07-31",
                    "LMS_Course_Id__c": 103,
                },
            ),
        }
        return ids

    return seed
