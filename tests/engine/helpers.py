"""Building engine configs and waiting for outcomes in tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from canvasbridge.engine.config import AppConfig, parse_config
from canvasbridge.engine.ledger import CallState, Ledger
from canvasbridge.engine.runtime import Runtime

SAMPLE = "tests.engine.sample_tasks"


def sample_tasks(**retry: Any) -> dict[str, Any]:
    policy = {"max_attempts": 4, "backoff_base_s": 0.2, "backoff_cap_s": 2.0, "jitter": False, **retry}
    return {
        "record": {"path": f"{SAMPLE}:record"},
        "hold": {"path": f"{SAMPLE}:hold"},
        "hold_object": {"path": f"{SAMPLE}:hold_object"},
        "flaky": {"path": f"{SAMPLE}:flaky", "retry": policy},
        "fail_once_at_gate": {"path": f"{SAMPLE}:fail_once_at_gate", "retry": policy},
        "broken": {"path": f"{SAMPLE}:broken", "retry": policy},
        "gather_and_fail": {"path": f"{SAMPLE}:gather_and_fail", "retry": {**policy, "max_attempts": 2}},
        "spin": {"path": f"{SAMPLE}:spin", "retry": {**policy, "max_attempts": 2}},
        "kill_worker": {"path": f"{SAMPLE}:kill_worker", "retry": {**policy, "max_attempts": 3}},
    }


def embedded_config(data_dir: Path, **overrides: Any) -> AppConfig:
    document: dict[str, Any] = {
        "backends": {"data_dir": str(data_dir)},
        "worker": {"pool": "threads", "concurrency": 2},
        "log": {"level": "WARNING"},
        "tasks": sample_tasks(),
    }
    document.update(overrides)
    return parse_config(document)


def production_runtime(rabbitmq_url: str, postgres_url: str, queue: str, source: dict[str, Any]) -> Runtime:
    """A runtime on PostgreSQL and RabbitMQ whose one route takes every message of ``source``."""
    return Runtime(
        parse_config(
            {
                "backends": {"broker_url": rabbitmq_url, "ledger_url": postgres_url, "queue": queue},
                "log": {"level": "WARNING"},
                "tasks": sample_tasks(),
                "sources": [source],
                "routes": [
                    {
                        "name": "all",
                        "source": source["name"],
                        "parser": "tests.engine.sample_tasks:parse_json",
                    }
                ],
            }
        )
    )


def wait_for(
    condition: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.05, what: str = ""
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


def wait_state(ledger: Ledger, call_id: int, *states: CallState, timeout: float = 30.0) -> CallState:
    def reached() -> CallState | None:
        record = ledger.get(call_id)
        return record.state if record is not None and record.state in states else None

    return wait_for(reached, timeout=timeout, what=f"call {call_id} to reach {states}")  # type: ignore[no-any-return]


def effect_lines(directory: Path) -> list[str]:
    log = directory / "effects.log"
    return log.read_text().splitlines() if log.exists() else []
