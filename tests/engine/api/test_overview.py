"""``/routes``, ``/stats`` and ``/parked``: what an operator looks at first."""

from __future__ import annotations

from datetime import datetime

from canvasbridge.engine import Envelope
from tests.engine.api import seeding
from tests.engine.api.conftest import READ, Api


def test_routes_lists_the_routing_table_in_match_order(api: Api) -> None:
    table = api.client.get("/routes", headers=READ).json()
    assert table == {
        "routes": [
            {
                "order": 0,
                "name": "json-tasks",
                "source": "replay",
                "match": {"routing_key": r"^task\.", "attributes": {}},
                "parser": "tests.engine.sample_tasks:parse_json",
            }
        ],
        "unmatched_default": "park",
        "unmatched_by_source": {},
    }


def test_stats_count_per_state_and_task_with_freshness_and_queue_depth(api: Api) -> None:
    ledger = api.runtime.ledger()
    seeding.dead(ledger, "record", key="a")
    seeding.succeeded(ledger, "record", key="b")
    oldest = seeding.queued(ledger, "flaky", key="c")
    api.runtime.enqueue([seeding.TaskCall("record", {"key": "d", "effects_dir": "x"})])  # published: depth 1

    stats = api.client.get("/stats", headers=READ).json()
    assert stats["by_state"] == {
        "queued": 2,
        "running": 0,
        "retrying": 0,
        "succeeded": 1,
        "dead": 1,
        "discarded": 0,
        "requeued": 0,
    }
    assert stats["by_task"] == {"record": {"dead": 1, "succeeded": 1, "queued": 1}, "flaky": {"queued": 1}}
    assert stats["queue_depth"] == 1
    created = ledger.get(oldest).created_at  # type: ignore[union-attr]
    assert datetime.fromisoformat(stats["oldest_pending_at"]) == created
    assert stats["oldest_pending_age_s"] >= 0
    freshness = {entry["task"]: entry for entry in stats["freshness"]}
    assert set(freshness) == set(api.config.tasks)  # every configured task, even those never run
    assert freshness["record"]["last_success_at"] is not None and freshness["record"]["seconds_since"] < 60
    assert freshness["flaky"] == {"task": "flaky", "last_success_at": None, "seconds_since": None}


def test_parked_messages_are_listed_with_their_reasons(api: Api) -> None:
    ledger = api.runtime.ledger()
    ledger.park(
        Envelope(b"\xff not utf-8", "replay", "m-1", "task.x"), reason="body is not valid UTF-8 (byte 0)"
    )
    ledger.park(Envelope(b"{}", "replay", "m-2", "other", {"event_name": "x"}), reason="no route matched")
    page = api.client.get("/parked", params={"limit": 1}, headers=READ).json()
    assert page["total"] == 2 and page["limit"] == 1
    [newest] = page["items"]
    assert (newest["message_id"], newest["reason"], newest["attributes"]) == (
        "m-2",
        "no route matched",
        {"event_name": "x"},
    )
    older = api.client.get("/parked", params={"offset": 1}, headers=READ).json()["items"][0]
    assert older["body"] == "\ufffd not utf-8" and older["body_bytes"] == 11
