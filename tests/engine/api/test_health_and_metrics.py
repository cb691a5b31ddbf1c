"""Health checks need no token; metrics do. Targets are the URLs in ``systems``."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from canvasbridge.engine import metrics
from canvasbridge.engine.health import target_urls
from canvasbridge_emulators.common import ServerThread
from tests.engine.api import seeding
from tests.engine.api.conftest import OPERATE, READ, Api, build_api


@pytest.fixture
def target() -> Iterator[str]:
    """A target system that answers 401 to everything: reachable."""
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("login first", status_code=401))])
    server = ServerThread(app).start()
    try:
        yield server.url
    finally:
        server.stop()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_liveness_needs_no_token(api: Api) -> None:
    response = api.client.get("/health/live")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_ready_checks_ledger_broker_and_every_target(tmp_path: Path, postgres_url: str, target: str) -> None:
    systems = {
        "canvas": {"base_url": target + "/", "token": {"env": "X"}},
        "fs": {"url": target},
        "notes": {"x": 1},
    }
    api = build_api(tmp_path, postgres_url, systems=systems)
    response = api.client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert [c["name"] for c in body["checks"]] == ["ledger", "broker", "system:canvas", "system:fs"]
    assert all(c["ok"] for c in body["checks"])


def test_an_unreachable_target_makes_ready_503_with_details_only_for_token_holders(
    tmp_path: Path, postgres_url: str
) -> None:
    api = build_api(
        tmp_path, postgres_url, systems={"sap": {"base_url": f"http://127.0.0.1:{closed_port()}/"}}
    )
    api.client.app.state.readiness.cache_s = 0  # type: ignore[attr-defined]
    anonymous = api.client.get("/health/ready")
    assert anonymous.status_code == 503
    checks = {c["name"]: c for c in anonymous.json()["checks"]}
    assert checks["ledger"]["ok"] and checks["broker"]["ok"]
    assert not checks["system:sap"]["ok"] and checks["system:sap"]["detail"] is None
    trusted = {c["name"]: c for c in api.client.get("/health/ready", headers=READ).json()["checks"]}
    assert "ConnectError" in trusted["system:sap"]["detail"]


def test_an_unreachable_ledger_makes_ready_503(tmp_path: Path) -> None:
    api = build_api(tmp_path, f"postgresql+psycopg://nobody@127.0.0.1:{closed_port()}/none")
    response = api.client.get("/health/ready")
    assert response.status_code == 503
    assert {c["name"]: c["ok"] for c in response.json()["checks"]} == {"ledger": False, "broker": True}
    listing = api.client.get("/tasks", headers=READ)
    assert listing.status_code == 503
    assert listing.json()["error"] == "unavailable"
    assert "ledger database is unavailable (OperationalError)" in listing.json()["message"]


def test_target_urls_take_the_first_url_key_of_each_system() -> None:
    systems = {
        "canvas": {"base_url": "https://canvas.example/", "url": "https://ignored/"},
        "salesforce": {"instance_url": "https://sf.example"},
        "ftp": {"url": "ftp://files.example"},
        "broken": "not a mapping",
    }
    assert target_urls(systems) == {"canvas": "https://canvas.example/", "salesforce": "https://sf.example"}


def test_metrics_serve_engine_counters_external_calls_and_ledger_gauges(api: Api) -> None:
    ledger = api.runtime.ledger()
    seeding.succeeded(ledger, "record", key="a")
    seeding.dead(ledger, "broken", key="b")
    metrics.observe_external_call("canvas", "GET /api/v1/users/:id", 200, 0.12)
    metrics.observe_external_call("canvas", "GET /api/v1/users/:id", "timeout", 5.0)
    metrics.set_rate_limit_remaining("canvas", 612.5)

    response = api.client.get("/metrics", headers=READ)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert (
        'canvasbridge_external_calls_total{endpoint="GET /api/v1/users/:id",status="timeout",system="canvas"}'
        in text
    )
    assert 'canvasbridge_rate_limit_remaining{system="canvas"} 612.5' in text
    assert 'canvasbridge_task_calls{state="dead",task="broken"} 1.0' in text
    assert 'canvasbridge_task_seconds_since_last_success{task="record"}' in text
    assert 'canvasbridge_task_seconds_since_last_success{task="broken"}' not in text
    assert "canvasbridge_parked_messages 0.0" in text
    assert "canvasbridge_tasks_queued_total" in text  # the engine's own counters


def test_a_requeued_dead_letter_leaves_the_dead_gauge(api: Api) -> None:
    ledger = api.runtime.ledger()
    dead = seeding.dead(ledger, "broken", key="c")
    assert api.client.post(f"/tasks/{dead}/requeue", headers=OPERATE).status_code == 200
    text = api.client.get("/metrics", headers=READ).text
    assert 'canvasbridge_task_calls{state="dead",task="broken"}' not in text
    assert 'canvasbridge_task_calls{state="requeued",task="broken"} 1.0' in text
    assert 'canvasbridge_task_calls{state="queued",task="broken"} 1.0' in text
