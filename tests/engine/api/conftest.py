"""An admin API on a real PostgreSQL ledger and the embedded (SQLite) broker."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():  # starlette asks for httpx2, which we do not need
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from canvasbridge.engine.api import create_api
from canvasbridge.engine.config import AppConfig, parse_config
from canvasbridge.engine.runtime import Runtime
from tests.engine.helpers import sample_tasks

READ_TOKEN = "read-token-0123456789abcdef"
OPERATE_TOKEN = "operate-token-0123456789abcdef"
OPS = "tests.engine.api.operator_tasks"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


READ = bearer(READ_TOKEN)
OPERATE = bearer(OPERATE_TOKEN)


def api_document(tmp_path: Path, ledger_url: str, **overrides: Any) -> dict[str, Any]:
    quick = {"max_attempts": 2, "backoff_base_s": 0.1, "backoff_cap_s": 0.2, "jitter": False}
    document: dict[str, Any] = {
        "backends": {
            "data_dir": str(tmp_path / "data"),
            "ledger_url": ledger_url,
            "broker_url": f"sqla+sqlite:///{tmp_path / 'broker.db'}",
        },
        "worker": {"pool": "threads", "concurrency": 2},
        "log": {"level": "WARNING"},
        "admin": {
            "tokens": [
                {"name": "dashboard", "role": "read", "token": {"env": "CB_TEST_READ_TOKEN"}},
                {"name": "oncall", "role": "operate", "token": {"env": "CB_TEST_OPERATE_TOKEN"}},
            ]
        },
        "sources": [{"type": "file", "name": "replay", "path": str(tmp_path / "in.jsonl")}],
        "routes": [
            {
                "name": "json-tasks",
                "source": "replay",
                "match": {"routing_key": r"^task\."},
                "parser": "tests.engine.sample_tasks:parse_json",
            }
        ],
        "tasks": {
            **sample_tasks(max_attempts=2, backoff_base_s=0.1, backoff_cap_s=0.2),
            "mendable": {"path": f"{OPS}:mendable", "retry": quick},
            "touch_user": {"path": f"{OPS}:touch_user", "sync": {"kind": "user", "key": "username"}},
        },
        "systems": {"effects": {"dir": str(tmp_path / "effects")}},
    }
    document.update(overrides)
    return document


@pytest.fixture(autouse=True)
def _tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CB_TEST_READ_TOKEN", READ_TOKEN)
    monkeypatch.setenv("CB_TEST_OPERATE_TOKEN", OPERATE_TOKEN)


@dataclass
class Api:
    runtime: Runtime
    client: TestClient
    tmp: Path

    @property
    def config(self) -> AppConfig:
        return self.runtime.config


def build_api(tmp_path: Path, ledger_url: str, **overrides: Any) -> Api:
    runtime = Runtime(parse_config(api_document(tmp_path, ledger_url, **overrides)))
    return Api(runtime, TestClient(create_api(runtime)), tmp_path)


@pytest.fixture
def api(tmp_path: Path, postgres_url: str) -> Iterator[Api]:
    built = build_api(tmp_path, postgres_url)
    try:
        yield built
    finally:
        built.client.close()
        built.runtime.ledger().close()
