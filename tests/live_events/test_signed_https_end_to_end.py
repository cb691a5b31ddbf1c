"""Canvas's signed HTTPS delivery end to end: the Live Events emulator signs each event with its
current key and POSTs it → the engine's HTTP source verifies it against the emulator's JWKS →
route → live_events parser → Celery (embedded) → record_live_event → the Salesforce emulator.
A forged or unsigned delivery is refused with 401 and leaves no trace."""

from __future__ import annotations

import base64
import datetime as dt
import json
import socket
import threading

import httpx
import pytest
import requests

from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallState
from canvasbridge.engine.runtime import Runtime
from canvasbridge_emulators.caliper_feed import GeneratedEvent, SigningKeys, WebhookSink, jwks_app
from canvasbridge_emulators.common import ServerThread
from tests.engine.helpers import wait_for
from tests.live_events.factories import envelope
from tests.live_events.org import Org


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def org(monkeypatch):
    org = Org(today=dt.datetime.now(dt.UTC).date())  # the worker uses the real date (UTC)
    for name, value in org.env().items():
        monkeypatch.setenv(name, value)
    yield org
    org.stop()


@pytest.mark.slow
def test_signed_events_over_https_become_salesforce_records_and_forgeries_are_refused(tmp_path, org):
    keys = SigningKeys()
    jwks = ServerThread(jwks_app(keys)).start()
    port = _free_port()
    config = parse_config(
        {
            "backends": {"data_dir": str(tmp_path)},
            "worker": {"pool": "threads", "concurrency": 4},
            "log": {"level": "WARNING"},
            "sources": [
                {
                    "type": "http",
                    "name": "canvas-https",
                    "path": "/live-events",
                    "port": port,
                    "jwt": {"jwks_url": f"{jwks.url}/jwks"},
                }
            ],
            "routes": [
                {
                    "name": "caliper",
                    "source": "canvas-https",
                    "parser": "canvasbridge.live_events.parser:parse",
                }
            ],
            "tasks": {"record_live_event": {"path": "canvasbridge.live_events.tasks:record_live_event"}},
            "systems": {"salesforce": org.settings()},
            "live_events": {"timezone": "UTC", "writer": {"flush_window_s": 0.2}},
        }
    )
    url = f"http://127.0.0.1:{port}/live-events"
    runtime = Runtime(config)
    stop = threading.Event()
    consumer = threading.Thread(target=runtime.consume, args=(stop,), daemon=True)
    login = envelope("logged_in", sis="S-IN", event_id="urn:uuid:5e5e5e5e-0000-4000-8000-000000000001")
    logout = envelope("logged_out", sis="S-IN")
    # Canvas sends no SQS attributes over HTTPS: the parser names the event from the body
    sink = WebhookSink(url, signer=keys, attribute_headers=False)
    try:
        with runtime.in_process_worker(concurrency=4):
            consumer.start()
            wait_for(lambda: _listening(port), timeout=30, what="the HTTP source to listen")
            sink.send([GeneratedEvent("logged_in", login)])
            forged = _forge(
                keys.sign(logout), {**login, "data": [{**login["data"][0], "id": "urn:uuid:forged"}]}
            )
            assert requests.post(url, data=forged, timeout=10).status_code == 401
            assert requests.post(url, data=json.dumps(logout), timeout=10).status_code == 401  # unsigned
            wait_for(lambda: len(org.activities()) >= 1, timeout=60, what="the activity record")
            wait_for(
                lambda: [c.state for c in runtime.ledger().calls(limit=10)] == [CallState.SUCCEEDED],
                timeout=60,
                what="the task call to succeed",
            )
    finally:
        stop.set()
        consumer.join(timeout=30)
        sink.close()
        jwks.stop()
    [record] = org.activities()
    assert record["Canvas_Activity__c"] == "Logged In"
    assert (
        record["Caliper_Event_Id__c"]
        == f"logged_in:101:20260304T101112Z/{org.ids['participant:S-IN:0']}"  # user and second
    )
    [call] = runtime.ledger().calls(limit=10)
    assert call.params["event"]["id"] == login["data"][0]["id"]
    assert runtime.ledger().parked() == []


def _listening(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _forge(token: str, claims: dict) -> str:
    """A real token's header and signature around other claims."""
    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"
