"""The ``status`` label of canvasbridge_external_calls_total, seen against a real server: the
HTTP status of each answer, or ``timeout`` / ``connect`` when none came back."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from canvasbridge.clients.cerebrum import CerebrumClient, CerebrumSettings
from canvasbridge.clients.http import CallStats
from canvasbridge.engine import metrics
from canvasbridge.errors import NotFoundError, TransientError
from canvasbridge_emulators.cerebrum import DEFAULT_API_KEY, create_app
from canvasbridge_emulators.common import ServerThread
from canvasbridge_emulators.university import University
from tests.clients.conftest import FAST_RETRY, EmulatorHandle

SYSTEM = "cerebrum"


@pytest.fixture(scope="module")
def uni() -> University:
    return University.generate("tiny", seed=1)


@pytest.fixture(scope="module")
def server(uni: University) -> Iterator[ServerThread]:
    app, _model, _control, _changes = create_app(uni, header="X-Auth-Key")
    with ServerThread(app) as server:
        yield server


@pytest.fixture
def emu(server: ServerThread) -> Iterator[EmulatorHandle]:
    handle = EmulatorHandle(server.url)
    handle.reset()
    yield handle
    handle.reset()


def client(base_url: str, monkeypatch: pytest.MonkeyPatch, timeout_s: float = 5.0) -> CerebrumClient:
    monkeypatch.setenv("CEREBRUM_KEY", DEFAULT_API_KEY)
    settings = CerebrumSettings.model_validate(
        {
            "base_url": base_url,
            "api_key": {"env": "CEREBRUM_KEY"},
            "api_key_header": "X-Auth-Key",
            "timeout_s": timeout_s,
            "retry": FAST_RETRY.model_dump(),
        }
    )
    return settings.build(stats=CallStats(hooks=[metrics.external_call_hook]))


def calls(status: str) -> float:
    """canvasbridge_external_calls_total of our system with this status, over all endpoints."""
    total = 0.0
    for family in REGISTRY.collect():
        if family.name != "canvasbridge_external_calls":
            continue
        for sample in family.samples:
            labels = sample.labels
            if sample.name.endswith("_total") and labels["system"] == SYSTEM and labels["status"] == status:
                total += sample.value
    return total


def test_answers_are_labelled_with_their_http_status(
    server: ServerThread, emu: EmulatorHandle, uni: University, monkeypatch: pytest.MonkeyPatch
) -> None:
    cerebrum = client(f"{server.url}/v1/", monkeypatch)
    person_id = next(iter(uni.persons))
    before = {status: calls(status) for status in ("200", "404", "503")}
    cerebrum.person(person_id)
    with pytest.raises(NotFoundError):
        cerebrum.account("no-such-account")
    emu.faults(errors=[{"path": "/persons/", "status": 503}])
    with pytest.raises(TransientError):
        cerebrum.person(person_id)
    assert calls("200") - before["200"] == 1
    assert calls("404") - before["404"] == 1
    assert calls("503") - before["503"] == FAST_RETRY.max_attempts  # every try is counted
    assert calls("ok") == calls("error") == 0  # the old labels are gone


def test_a_timeout_is_labelled_timeout(
    server: ServerThread, emu: EmulatorHandle, uni: University, monkeypatch: pytest.MonkeyPatch
) -> None:
    cerebrum = client(f"{server.url}/v1/", monkeypatch, timeout_s=0.1)
    person_id = next(iter(uni.persons))
    before = calls("timeout")
    emu.faults(latency_ms=400)
    with pytest.raises(TransientError, match="Timeout"):
        cerebrum.person(person_id)
    assert calls("timeout") - before == FAST_RETRY.max_attempts


def test_a_refused_connection_is_labelled_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    cerebrum = client(f"http://127.0.0.1:{port}/v1/", monkeypatch)
    before = calls("connect")
    with pytest.raises(TransientError, match="ConnectError"):
        cerebrum.person(1)
    assert calls("connect") - before == FAST_RETRY.max_attempts
