"""A burst on the engine path: FS notifications → dispatcher → ledger (PostgreSQL) → Celery on
RabbitMQ → worker → one SIS import, every call settled in the ledger."""

from __future__ import annotations

import time

import pytest

from canvasbridge.engine import Envelope
from canvasbridge.engine.config import parse_config
from canvasbridge.engine.ledger import CallFilter, CallState
from canvasbridge.engine.runtime import Runtime
from canvasbridge_emulators.notify import fs_notification
from tests.provisioning.test_burst import enrollment_states, per_object_plan, structure, term_start
from tests.services import unique_name

TASKS = "canvasbridge.provisioning.tasks"


def notification(index: int, operation: str, key: str) -> Envelope:
    note = fs_notification("studentundervisning", operation, key, iss="FS-prod")
    return Envelope(body=note.payload(), source="fs", message_id=f"m{index}", routing_key=note.routing_key)


@pytest.mark.rabbitmq
@pytest.mark.slow
def test_a_backlog_of_enrolment_notifications_goes_as_one_sis_import(
    stack, rabbitmq_url, postgres_url, tmp_path
):
    stack.configure(bulk={"poll_interval_s": 0.05, "burst_threshold": 3})
    fs_ids = structure(stack)
    changes = term_start(stack, fs_ids)
    envelopes = []
    for unit, (leaver, newcomer) in changes.items():
        envelopes.append(notification(len(envelopes), "delete", f"{leaver},{unit}"))
        envelopes.append(notification(len(envelopes), "create", f"{newcomer},{unit}"))
    sections = stack.sections()
    runtime = Runtime(
        parse_config(
            {
                "backends": {
                    "data_dir": str(tmp_path),
                    "broker_url": rabbitmq_url,
                    "ledger_url": postgres_url,
                    "queue": unique_name("cb-burst"),
                },
                "worker": {"pool": "threads", "concurrency": 1},
                "log": {"level": "WARNING"},
                "sources": [{"type": "file", "name": "fs", "path": str(tmp_path / "unused.jsonl")}],
                "routes": [
                    {"name": "fs", "source": "fs", "parser": "canvasbridge.provisioning.parsers.fs:parse"}
                ],
                "tasks": {
                    "ensure_enrollments": {"path": f"{TASKS}.enrollments:ensure_enrollments"},
                    "ensure_course": {"path": f"{TASKS}.courses:ensure_course"},
                },
                "systems": sections["systems"],
                "provisioning": sections["provisioning"],
            }
        )
    )
    ledger = runtime.ledger()
    results = runtime.dispatcher().dispatch_many(envelopes)  # the backlog, before a worker runs
    ids = {c.id for r in results for c in r.calls}
    assert 3 <= len(ids) < len(envelopes)  # two notifications per unit: folded into one call
    stack.clear_stats()

    with runtime.in_process_worker(concurrency=1):
        deadline = time.monotonic() + 120
        waiting = (CallState.QUEUED, CallState.RETRYING, CallState.RUNNING)
        while ledger.count(CallFilter(states=waiting)) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # the skipped queue messages of the gathered calls are acknowledged

    assert {ledger.get(i).state for i in ids} == {CallState.SUCCEEDED}
    gathered = [i for i in ids if ledger.get(i).requeued_to is not None]
    assert len(gathered) == len(ids) - 1  # all but the call that gathered them
    control = stack.canvas.control
    stack.settle()
    assert control.count("POST", "sis_imports") == 1
    assert control.count("POST", "enrollments") == 0 and control.count("DELETE") == 0
    for unit in changes:  # the sections notified (an activity's section has its own notifications)
        assert per_object_plan(stack, unit) == [], unit
    for unit, (leaver, newcomer) in changes.items():
        assert enrollment_states(stack, unit, leaver) == {"completed"}
        assert "active" in enrollment_states(stack, unit, newcomer)
