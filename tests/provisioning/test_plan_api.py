"""``GET /provisioning/plan``: the plan ``resync --dry-run --output json`` prints, over the admin API."""

from __future__ import annotations

import json
import warnings

import pytest
import yaml
from typer.testing import CliRunner

with warnings.catch_warnings():  # starlette asks for httpx2, which we do not need
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from canvasbridge.cli.main import app as cli
from canvasbridge.engine.api import create_api
from canvasbridge.engine.config import parse_config
from canvasbridge.engine.runtime import Runtime
from tests.engine.api.conftest import OPERATE_TOKEN
from tests.provisioning.changed_sources import LEAVING, QUARANTINED, RENAMED, provision_then_change

READ_TOKEN = "read-token-0123456789abcdef"


@pytest.fixture
def document(stack, tmp_path, monkeypatch):
    monkeypatch.setenv("CB_TEST_READ_TOKEN", READ_TOKEN)
    monkeypatch.setenv("CB_TEST_OPERATE_TOKEN", OPERATE_TOKEN)  # the one the shared fuzz helper sends
    tokens = [
        {"name": "dashboard", "role": "read", "token": {"env": "CB_TEST_READ_TOKEN"}},
        {"name": "oncall", "role": "operate", "token": {"env": "CB_TEST_OPERATE_TOKEN"}},
    ]
    return {
        "backends": {"data_dir": str(tmp_path / "data")},
        "log": {"level": "WARNING"},
        "admin": {"tokens": tokens},
        **stack.sections(),
    }


@pytest.fixture
def client(document):
    runtime = Runtime(parse_config(document))
    with TestClient(create_api(runtime)) as client:
        client.headers["Authorization"] = f"Bearer {READ_TOKEN}"
        yield client
    runtime.ledger().close()


def test_a_read_token_gets_the_same_plan_as_the_command_line(stack, document, client, tmp_path):
    provision_then_change(stack)
    answer = client.get("/provisioning/plan", params={"kind": ["users", "enrollments"]})
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert [(c["action"], c["key"].split(" in ")[0]) for c in plan["changes"]] == [
        ("update", RENAMED),
        ("suspend", QUARANTINED),
        ("conclude", f"student {LEAVING}"),
        ("conclude", f"student {LEAVING}"),
    ]
    path = tmp_path / "canvasbridge.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    printed = CliRunner().invoke(
        cli, ["resync", "users", "enrollments", "--dry-run", "--output", "json", "--config", str(path)]
    )
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == plan


def test_the_plan_needs_a_token_and_a_known_kind(stack, client):
    assert client.get("/provisioning/plan", headers={"Authorization": ""}).status_code == 401
    wrong = client.get("/provisioning/plan", params={"kind": "widgets"})
    assert wrong.status_code == 422 and wrong.json()["fields"][0]["field"] == "kind"
    assert stack.calls() == 0  # refused before reading anything


def test_a_plan_canvas_refuses_to_make_is_a_503_naming_why(stack, document, monkeypatch):
    monkeypatch.setenv("CB_TEST_CANVAS_TOKEN", "not-the-canvas-token")
    runtime = Runtime(parse_config(document))
    with TestClient(create_api(runtime)) as client:
        answer = client.get("/provisioning/plan", headers={"Authorization": f"Bearer {READ_TOKEN}"})
    runtime.ledger().close()
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["error"] == "unavailable" and "401" in body["message"], body
    assert "not-the-canvas-token" not in answer.text


def test_one_plan_at_a_time(stack, client):
    lock = client.app.state.provisioning_plan_lock
    with lock:
        busy = client.get("/provisioning/plan")
    assert busy.status_code == 409 and busy.json()["error"] == "conflict"
    assert stack.calls() == 0


def test_the_endpoint_is_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert "/provisioning/plan" in paths and "get" in paths["/provisioning/plan"]


@pytest.mark.slow
def test_no_generated_request_to_the_plan_causes_a_server_error(stack, client):
    """schemathesis over /provisioning/plan: valid kinds get a plan in the documented shape,
    anything else a documented 4xx, never a 5xx."""
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import negative_data_rejection

    from tests.engine.api.test_openapi_fuzz import fuzz

    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app, headers=dict(client.headers))
    operation = schema.include(path="/provisioning/plan").get_all_operations()
    (plan,) = [result.ok() for result in operation]
    fuzz(plan, GenerationMode.POSITIVE, excluded=[])
    assert stack.canvas.control.count("POST", "reports") > 1  # plans were made, not refused
    fuzz(plan, GenerationMode.NEGATIVE, excluded=[negative_data_rejection])
