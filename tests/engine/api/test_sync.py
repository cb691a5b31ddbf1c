"""``/sync``: queue one object's sync by the kinds the configured tasks declare."""

from __future__ import annotations

import json

import pytest

from canvasbridge.engine.ledger import CallState
from tests.engine.api.conftest import OPERATE, READ, Api
from tests.engine.helpers import wait_state


def test_sync_kinds_come_from_the_task_configuration(api: Api) -> None:
    assert api.client.get("/sync", headers=READ).json() == [
        {"kind": "user", "task": "touch_user", "key_param": "username"}
    ]


def test_sync_queues_the_configured_task_with_the_key_and_records_who_asked(api: Api) -> None:
    response = api.client.post("/sync/user/olan", headers=OPERATE)
    assert response.status_code == 200
    body = response.json()
    assert body == {"kind": "user", "key": "olan", "task": "touch_user", "id": body["id"], "folded": False}
    record = api.runtime.ledger().get(body["id"])
    assert record is not None
    assert (record.task, record.params, record.origin_source) == ("touch_user", {"username": "olan"}, "admin")
    assert json.loads(record.origin_message["body"])["requested_by"] == "oncall"  # type: ignore[index]
    again = api.client.post("/sync/user/olan", headers=OPERATE).json()
    assert again["folded"] and again["id"] == body["id"]  # still pending: folded into the first


@pytest.mark.slow
def test_a_queued_sync_runs(api: Api) -> None:
    with api.runtime.in_process_worker():
        call_id = api.client.post("/sync/user/kari.nordmann", headers=OPERATE).json()["id"]
        assert (
            wait_state(api.runtime.ledger(), call_id, CallState.SUCCEEDED, CallState.DEAD)
            is CallState.SUCCEEDED
        )
    assert (api.tmp / "effects" / "synced.log").read_text() == "kari.nordmann\n"


def test_unknown_kinds_are_404_and_cannot_name_code(api: Api) -> None:
    for kind in ("course", "touch_user", "tests.engine.api.operator_tasks:touch_user", "os:system"):
        response = api.client.post(f"/sync/{kind}/olan", headers=OPERATE)
        assert response.status_code == 404, kind
        assert "configured kinds: ['user']" in response.json()["message"]
    assert api.runtime.ledger().count() == 0


def test_keys_may_hold_slashes_but_not_control_characters(api: Api) -> None:
    slashed = api.client.post("/sync/user/UE_185_INF1000/1/2026", headers=OPERATE)
    assert slashed.status_code == 200
    assert slashed.json()["key"] == "UE_185_INF1000/1/2026"
    assert api.client.post("/sync/user/bad%00key", headers=OPERATE).status_code == 422
