"""End to end: an emulator change → its notification on real RabbitMQ → consume → route →
parse → Celery (embedded broker) → worker → ensure_* task → the Canvas emulator."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml

from canvasbridge.engine.config import parse_config
from canvasbridge.engine.runtime import Runtime
from canvasbridge.provisioning.tasks.accounts import ensure_account
from canvasbridge.provisioning.tasks.users import ensure_user
from canvasbridge_emulators.notify import AmqpPublisher
from tests.services import unique_name

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "uio.yaml"


def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.rabbitmq
@pytest.mark.slow
def test_source_changes_reach_canvas_through_rabbitmq_and_the_worker(
    stack, rabbitmq_url, tmp_path, monkeypatch
):
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    exchange, queue = unique_name("cb-prov"), unique_name("cb-prov-q")
    sections = stack.sections()
    parts = urlsplit(rabbitmq_url)
    monkeypatch.setenv("CB_TEST_AMQP_PASSWORD", parts.password or "")
    netloc = f"{parts.username}@{parts.hostname}:{parts.port or 5672}"
    source_url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    document = {
        "backends": {"data_dir": str(tmp_path)},
        "log": {"level": "WARNING"},
        "worker": {"pool": "threads", "concurrency": 2},
        "sources": [
            {
                "type": "amqp",
                "name": "uio",
                "url": source_url,
                "password": {"env": "CB_TEST_AMQP_PASSWORD"},
                "exchanges": [{"name": exchange, "type": "topic", "durable": False}],
                "queues": [
                    {"name": queue, "bindings": [{"exchange": exchange, "routing_keys": ["no.uio.#"]}]}
                ],
            }
        ],
        "routes": example["routes"],
        "tasks": example["tasks"],
        "systems": sections["systems"],
        "provisioning": sections["provisioning"],
    }
    # the org tree and the staff exist already (as after a resync)
    for location_id in stack.university.org_units:
        ensure_account(stack.ctx(), location_id)
    ensure_user(stack.ctx(), username="sindr")
    publisher = AmqpPublisher(rabbitmq_url, exchange, declare=False)
    stack.cerebrum.publisher = stack.fs.publisher = publisher
    runtime = Runtime(parse_config(document))
    stop = threading.Event()
    consumer = threading.Thread(target=runtime.consume, args=(stop,), daemon=True)
    m = stack.canvas.model
    try:
        with runtime.in_process_worker(concurrency=2):
            consumer.start()
            time.sleep(1.5)  # the source declares its exchange and queue
            stack.cerebrum.apply("account.quarantine", {"name": "solvh"})
            stack.fs.apply("unit.export", {"key": "185,MAT1001,1,2027,VÅR,1", "flag": True})
            wait_for(
                lambda: (
                    m.find_user_by_sis("solvh") is not None and m.is_suspended(m.find_user_by_sis("solvh").id)
                ),
                60,
                "solvh suspended",
            )
            wait_for(
                lambda: m.find_section_by_sis("UE_185_MAT1001_1_2027_VÅR") is not None, 60, "MAT1001 course"
            )
            course = m.find_course_by_sis("UE_185_MAT1001_1_2027_VÅR")
            wait_for(lambda: len(m.enrollments(course_id=course.id)) > 3, 60, "MAT1001 enrollments")
    finally:
        stop.set()
        consumer.join(timeout=30)
        publisher.close()
    stats = runtime.ledger().stats()
    assert stats["by_state"].get("succeeded", 0) >= 2, stats
