"""The ``systems:`` section: every client's settings validate from YAML and build their client."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from canvasbridge.clients.canvas import CanvasClient
from canvasbridge.clients.cerebrum import CerebrumClient
from canvasbridge.clients.fs import FsClient
from canvasbridge.clients.salesforce import SalesforceClient
from canvasbridge.clients.sap import SapClient
from canvasbridge.clients.systems import SystemsSettings

pytestmark = pytest.mark.filterwarnings("ignore:Canvas may respond unexpectedly")

CONFIG = """
systems:
  fs: {base_url: "http://127.0.0.1:9/", username: u, password: {env: T_FS}}
  cerebrum: {base_url: "http://127.0.0.1:9/v1/", api_key: {env: T_KEY}, api_key_header: X-Auth-Key}
  sap: {base_url: "http://127.0.0.1:9/", api_key: {env: T_KEY}}
  canvas: {base_url: "http://127.0.0.1:9", token: {env: T_KEY}, max_concurrency: 2}
  salesforce:
    login_url: "http://127.0.0.1:9"
    username: u
    password: {env: T_FS}
    consumer_key: ck
    consumer_secret: {env: T_KEY}
    plain_http: true
  sqs: {queue_url: "left to its owner"}
"""


def test_every_system_builds_its_client_from_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_FS", "s3cr3t-pw")
    monkeypatch.setenv("T_KEY", "s3cr3t-key")
    systems = SystemsSettings.model_validate(yaml.safe_load(CONFIG)["systems"])
    assert systems.fs and systems.cerebrum and systems.sap and systems.canvas and systems.salesforce
    built = [
        systems.fs.build(),
        systems.cerebrum.build(),
        systems.sap.build(),
        systems.canvas.build(),
        systems.salesforce.build(),
    ]
    kinds = (FsClient, CerebrumClient, SapClient, CanvasClient, SalesforceClient)
    assert all(isinstance(client, kind) for client, kind in zip(built, kinds, strict=True))
    assert "s3cr3t" not in repr(systems) + repr(built)


def test_an_inline_secret_is_refused_naming_the_key() -> None:
    with pytest.raises(ValidationError) as info:
        SystemsSettings.model_validate({"canvas": {"base_url": "http://x", "token": "abc"}})
    assert "canvas.token" in str(info.value)
    assert "{env: VARIABLE_NAME}" in str(info.value)


def test_unknown_keys_in_a_system_block_are_errors() -> None:
    with pytest.raises(ValidationError, match="tokn"):
        SystemsSettings.model_validate({"canvas": {"base_url": "http://x", "tokn": {"env": "X"}}})
