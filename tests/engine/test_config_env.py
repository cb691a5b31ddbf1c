"""Every configuration key can be overridden from the environment: CANVASBRIDGE__A__B=value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from canvasbridge.engine.config import load_config
from canvasbridge.errors import ConfigError


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "c.yaml"
    document = {
        "worker": {"concurrency": 2},
        "sources": [
            {"type": "file", "name": "a", "path": "a.jsonl"},
            {"type": "file", "name": "b", "path": "b.jsonl"},
        ],
        "live_events": {"timezone": "Europe/London"},
    }
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_variable_overrides_a_key_of_the_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_config(config_file).worker.concurrency == 2
    monkeypatch.setenv("CANVASBRIDGE__WORKER__CONCURRENCY", "8")
    monkeypatch.setenv("CANVASBRIDGE__WORKER__POOL", "threads")
    config = load_config(config_file)
    assert config.worker.concurrency == 8 and config.worker.pool == "threads"


def test_lists_by_index_new_keys_and_flow_sections(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANVASBRIDGE__SOURCES__1__PATH", "/var/replay/b.jsonl")
    monkeypatch.setenv("CANVASBRIDGE__BACKENDS__QUEUE", "cb-prod")
    monkeypatch.setenv("CANVASBRIDGE__LIVE_EVENTS__ENABLE", "[asset_accessed]")
    monkeypatch.setenv("CANVASBRIDGE__ADMIN__TOKENS", "[{name: ops, role: operate, token: {env: OPS_TOKEN}}]")
    config = load_config(config_file)
    assert [str(s.path) for s in config.sources] == ["a.jsonl", "/var/replay/b.jsonl"]
    assert config.backends.queue == "cb-prod"
    assert config.section("live_events") == {"timezone": "Europe/London", "enable": ["asset_accessed"]}
    [token] = config.admin.tokens
    assert token.token.env == "OPS_TOKEN" and token.role.value == "operate"


def test_overrides_apply_without_a_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CANVASBRIDGE_CONFIG", raising=False)
    monkeypatch.setenv("CANVASBRIDGE__LOG__LEVEL", "debug")
    assert load_config().log.level == "DEBUG"


def test_a_bad_value_names_the_key_and_the_variable(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANVASBRIDGE__WORKER__CONCURRENCY", "many")
    monkeypatch.setenv("CANVASBRIDGE__WORKER__CONCURENCY", "3")
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    message = str(caught.value)
    assert "worker.concurrency: Input should be a valid integer" in message
    assert "(set by CANVASBRIDGE__WORKER__CONCURRENCY)" in message
    assert (
        "worker.concurency: unknown key" in message and "(set by CANVASBRIDGE__WORKER__CONCURENCY)" in message
    )


def test_a_secret_cannot_be_given_inline_and_is_not_echoed(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANVASBRIDGE__BACKENDS__BROKER_PASSWORD", "hunter2-plain")
    with pytest.raises(ConfigError) as caught:
        load_config(config_file)
    assert "backends.broker_password" in str(caught.value)
    assert "CANVASBRIDGE__BACKENDS__BROKER_PASSWORD" in str(caught.value)
    assert "hunter2-plain" not in str(caught.value)


def test_a_path_that_cannot_be_followed_names_the_variable(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CANVASBRIDGE__SOURCES__5__PATH", "x")
    with pytest.raises(
        ConfigError, match=r"CANVASBRIDGE__SOURCES__5__PATH: sources is a list of 2 item\(s\)"
    ):
        load_config(config_file)
    monkeypatch.delenv("CANVASBRIDGE__SOURCES__5__PATH")
    monkeypatch.setenv("CANVASBRIDGE__WORKER__CONCURRENCY__MAX", "4")
    with pytest.raises(
        ConfigError, match="CANVASBRIDGE__WORKER__CONCURRENCY__MAX: worker.concurrency holds a single value"
    ):
        load_config(config_file)
