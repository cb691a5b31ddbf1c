"""``/tasks``: listing with filters and pages, one call in full, discard, bulk requeue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from canvasbridge.engine.ledger import CallState
from tests.engine.api import seeding
from tests.engine.api.conftest import OPERATE, READ, Api


def test_list_filters_by_repeated_state_task_and_origin_with_a_total(api: Api) -> None:
    ledger = api.runtime.ledger()
    uio, sqs = seeding.message("uio", "m-uio"), seeding.message("live", "m-live")
    dead_ids = [seeding.dead(ledger, "record", uio, key=f"d{i}") for i in range(3)]
    done = seeding.succeeded(ledger, "flaky", sqs, key="s")
    waiting = seeding.queued(ledger, "record", sqs, key="q")

    both = api.client.get("/tasks", params=[("state", "dead"), ("state", "queued")], headers=READ).json()
    assert both["total"] == 4
    assert {item["id"] for item in both["items"]} == {*dead_ids, waiting}

    by_task = api.client.get("/tasks", params={"task": "flaky"}, headers=READ).json()
    assert [item["id"] for item in by_task["items"]] == [done]

    by_source = api.client.get("/tasks", params={"origin": "live"}, headers=READ).json()
    assert {item["id"] for item in by_source["items"]} == {done, waiting}
    by_message = api.client.get("/tasks", params={"origin": "m-uio"}, headers=READ).json()
    assert by_message["total"] == 3
    assert by_message["items"][0]["origin"] == {
        "source": "uio",
        "message_id": "m-uio",
        "routing_key": "task.user",
    }


def test_pages_are_newest_first_and_total_counts_all_pages(api: Api) -> None:
    ledger = api.runtime.ledger()
    ids = [seeding.queued(ledger, "record", key=f"k{i}") for i in range(7)]
    first = api.client.get("/tasks", params={"limit": 3}, headers=READ).json()
    third = api.client.get("/tasks", params={"limit": 3, "offset": 6}, headers=READ).json()
    assert first["total"] == third["total"] == 7
    assert [item["id"] for item in first["items"]] == ids[::-1][:3]
    assert [item["id"] for item in third["items"]] == [ids[0]]


def test_time_range_bounds_creation_time(api: Api) -> None:
    call_id = seeding.queued(api.runtime.ledger(), "record", key="now")
    now = datetime.now(UTC)
    inside = {
        "since": (now - timedelta(minutes=1)).isoformat(),
        "until": (now + timedelta(minutes=1)).isoformat(),
    }
    after = {"since": (now + timedelta(minutes=1)).isoformat()}
    naive_before = {"until": (now - timedelta(hours=1)).replace(tzinfo=None).isoformat()}
    assert [i["id"] for i in api.client.get("/tasks", params=inside, headers=READ).json()["items"]] == [
        call_id
    ]
    assert api.client.get("/tasks", params=after, headers=READ).json()["total"] == 0
    assert api.client.get("/tasks", params=naive_before, headers=READ).json()["total"] == 0


def test_malformed_filters_are_422_naming_the_field(api: Api) -> None:
    cases = {
        "state": {"state": "gone"},
        "since": {"since": "yesterday"},
        "limit": {"limit": 0},
        "offset": {"offset": -1},
        "task": {"task": "bad\x00name"},
    }
    for field, params in cases.items():
        response = api.client.get("/tasks", params=params, headers=READ)
        assert response.status_code == 422, (field, response.text)
        body = response.json()
        assert body["error"] == "invalid"
        assert [f["field"] for f in body["fields"]] == [field]
        assert body["message"].startswith(f"{field}: ")
    backwards = {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
    assert api.client.get("/tasks", params=backwards, headers=READ).json()["total"] == 0


def test_unknown_or_malformed_ids_are_json_errors(api: Api) -> None:
    missing = api.client.get("/tasks/424242", headers=READ)
    assert missing.status_code == 404
    assert missing.json() == {"error": "not_found", "message": "no task call with id 424242", "fields": []}
    for path in ("/tasks/424242/requeue", "/tasks/424242/discard"):
        assert api.client.post(path, headers=OPERATE).status_code == 404
    not_a_number = api.client.get("/tasks/abc", headers=READ)
    assert not_a_number.status_code == 422
    assert not_a_number.json()["fields"][0]["field"] == "call_id"
    assert api.client.get("/no/such/endpoint", headers=READ).json()["error"] == "not_found"


def test_show_gives_attempts_errors_and_the_originating_message(api: Api) -> None:
    ledger = api.runtime.ledger()
    origin = seeding.message("uio", "m-42", "task.user.olan")
    call_id = seeding.queued(ledger, "broken", origin, key="olan")
    first = ledger.claim(call_id, max_attempts=3)
    ledger.fail_attempt(
        call_id, attempt=first.attempt, error="TransientError: 503", traceback="tb1", retry_in=0.0
    )
    second = ledger.claim(call_id, max_attempts=3)
    ledger.fail_attempt(
        call_id, attempt=second.attempt, error="PermanentError: no such user", traceback="tb2", retry_in=None
    )

    detail = api.client.get(f"/tasks/{call_id}", headers=READ).json()
    assert detail["state"] == "dead"
    assert detail["params"] == {"key": "olan"}
    assert detail["attempts"] == 2
    assert detail["last_error"] == "PermanentError: no such user"
    assert detail["last_traceback"] == "tb2"
    assert [(a["number"], a["outcome"], a["error"]) for a in detail["attempt_log"]] == [
        (1, "retry", "TransientError: 503"),
        (2, "dead", "PermanentError: no such user"),
    ]
    assert detail["origin_message"]["message_id"] == "m-42"
    assert detail["origin_message"]["routing_key"] == "task.user.olan"
    assert '"task": "record"' in detail["origin_message"]["body"]
    assert detail["requeued_to"] is None


def test_discard_marks_a_dead_or_queued_call_and_refuses_a_finished_one(api: Api) -> None:
    ledger = api.runtime.ledger()
    dead_id = seeding.dead(ledger, "record", key="d")
    waiting = seeding.queued(ledger, "record", key="q")
    done = seeding.succeeded(ledger, "record", key="s")
    for call_id in (dead_id, waiting):
        response = api.client.post(f"/tasks/{call_id}/discard", headers=OPERATE)
        assert response.status_code == 200
        assert response.json()["state"] == "discarded"
        assert ledger.get(call_id).state is CallState.DISCARDED  # type: ignore[union-attr]
    refused = api.client.post(f"/tasks/{done}/discard", headers=OPERATE)
    assert refused.status_code == 409
    assert "succeeded" in refused.json()["message"]
    assert api.client.post(f"/tasks/{dead_id}/discard", headers=OPERATE).status_code == 409


def test_bulk_requeue_dry_run_only_counts(api: Api) -> None:
    ledger = api.runtime.ledger()
    for i in range(3):
        seeding.dead(ledger, "record", key=f"d{i}")
    seeding.dead(ledger, "flaky", key="other")
    response = api.client.post(
        "/tasks/requeue", params={"task": "record", "dry_run": "true"}, headers=OPERATE
    )
    assert response.status_code == 200
    assert response.json() == {
        "dry_run": True,
        "matched": 3,
        "already_requeued": 0,
        "requeued": [],
        "failed": {},
        "not_attempted": 0,
    }
    assert ledger.count() == 4  # nothing new was recorded


def test_bulk_requeue_makes_new_calls_once_and_skips_them_the_second_time(api: Api) -> None:
    ledger = api.runtime.ledger()
    dead_ids = {seeding.dead(ledger, "record", key=f"d{i}") for i in range(3)}
    body = api.client.post("/tasks/requeue", params={"task": "record"}, headers=OPERATE).json()
    assert body["matched"] == 3
    assert {r["requeued_from"] for r in body["requeued"]} == dead_ids
    for entry in body["requeued"]:
        new = ledger.get(entry["id"])
        assert (
            new is not None and new.state is CallState.QUEUED and new.requeued_from == entry["requeued_from"]
        )
    again = api.client.post("/tasks/requeue", params={"task": "record"}, headers=OPERATE).json()
    assert (again["matched"], again["already_requeued"], again["requeued"]) == (0, 3, [])


def test_bulk_requeue_honours_its_limit_and_refuses_live_states(api: Api) -> None:
    ledger = api.runtime.ledger()
    for i in range(4):
        seeding.dead(ledger, "record", key=f"d{i}")
    body = api.client.post("/tasks/requeue", params={"limit": 3}, headers=OPERATE).json()
    assert (len(body["requeued"]), body["not_attempted"]) == (3, 1)
    refused = api.client.post("/tasks/requeue", params={"state": "succeeded"}, headers=OPERATE)
    assert refused.status_code == 422
    assert refused.json()["fields"][0]["field"] == "state"


def test_param_filter_finds_every_call_for_one_object(api: Api) -> None:
    ledger = api.runtime.ledger()
    first = seeding.dead(ledger, "record", key="olan", effects_dir="x")
    second = seeding.succeeded(ledger, "record", key="olan", effects_dir="y")
    seeding.queued(ledger, "record", key="olana", effects_dir="x")  # a longer value must not match
    seeding.queued(ledger, "record", key="ol%n", effects_dir="x")  # LIKE wildcards are taken literally
    numbered = seeding.queued(ledger, "flaky", key="n", effects_dir="x", failures=3)

    def ids(*pairs: str) -> list[int]:
        body = api.client.get("/tasks", params=[("param", p) for p in pairs], headers=READ).json()
        assert body["total"] == len(body["items"])
        return [item["id"] for item in body["items"]]

    assert ids("key=olan") == [second, first]
    assert ids("key=olan", "effects_dir=x") == [first]
    assert ids("key=ol%n") != [] and first not in ids("key=ol%n")
    assert ids("failures=3") == [numbered]
    malformed = api.client.get("/tasks", params={"param": "no-equals-sign"}, headers=READ)
    assert malformed.status_code == 422
    assert malformed.json()["fields"][0]["field"] == "param"
