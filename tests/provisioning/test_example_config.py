"""examples/uio.yaml: valid for the engine and for provisioning, and its routes reach the parsers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from canvasbridge.engine import Envelope
from canvasbridge.engine.config import load_config
from canvasbridge.engine.routing import Router
from canvasbridge.provisioning.settings import ProvisioningSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "uio.yaml"


def test_the_example_config_validates():
    config = load_config(EXAMPLE)
    settings = ProvisioningSettings.model_validate(config.section("provisioning"))
    assert settings.roles.enrollments["GRUPPELÆRER"] == "ta"
    # the example an operator copies is safe: every SIS-id template has fixed text, so a
    # resync never takes other feeds' users, sub-accounts or courses for its own
    assert settings.warnings() == []
    assert {"ensure_user", "ensure_course", "ensure_enrollments", "ensure_account"} <= set(config.tasks)


@pytest.mark.parametrize(
    ("routing_key", "body", "task"),
    [
        (
            "no.uio.cerebrum.scim.accounts.modify",
            {"sub": "https://cerebrum-ws.uio.no/v1/accounts/olan"},
            "ensure_user",
        ),
        (
            "no.uio.cerebrum.scim.persons.create",
            {"sub": "https://cerebrum-ws.uio.no/v1/persons/12"},
            "ensure_user",
        ),
        (
            "no.uio.fs.FS-prod.undervisning.update",
            {"sub": "undervisning/185,IN1000,1,2026,H%C3%98ST,1", "iat": "1"},
            "ensure_course",
        ),
        (
            "no.uio.fs.FS-prod.studentundervisning.create",
            {"sub": "studentundervisning/5,185,IN1000,1,2026,H%C3%98ST,1"},
            "ensure_enrollments",
        ),
        (
            "no.uio.sap.scim.locations.modify",
            {"sub": "https://sap.uio.no/api/locations(50000003)"},
            "ensure_account",
        ),
    ],
)
def test_every_source_message_routes_to_its_task(routing_key, body, task):
    config = load_config(EXAMPLE)
    router = Router.from_specs(config.routes)
    envelope = Envelope(body=json.dumps(body).encode(), source="uio", message_id="1", routing_key=routing_key)
    route = router.match(envelope)
    assert route is not None
    calls = route.parser(envelope)
    assert [c.task for c in calls] == [task]
    assert all(c.task in config.tasks for c in calls)
